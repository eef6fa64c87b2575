"""The row engine: every pass of every fit is "map a function over row blocks, add the
results in a fixed order".

A statistics function takes a block of rows (and the fit's current state) and
returns sums with an in-place ``add``; a map function returns one result per row.
Three drivers feed the blocks:

* in memory (:class:`~pcagmm.rows.local.InMemoryRows`): the array is one block;
* a memory map (:class:`~pcagmm.rows.local.MemoryMapRows`): the file is one block,
  streamed in chunks with its pages released behind the reader;
* Dask (:class:`~pcagmm.rows.dask.DaskRows`): each block's function runs on the
  worker that holds it and the sums are added in a fixed tree on the workers, so
  only sums travel.

Inside a block, functions read their rows with :mod:`pcagmm.rows.chunks` (reused
float buffers, page release, progress counting). Estimators call
:func:`validate_rows` once and use the driver it returns; they do not look at the
array type again.
"""

from __future__ import annotations

from .local import IN_MEMORY, MEMORY_MAP, InMemoryRows, MemoryMapRows, local_rows


def is_dask_array(X) -> bool:
    """True for a ``dask.array.Array`` (without importing Dask when it is not loaded)."""
    return type(X).__module__.startswith("dask.") and hasattr(X, "to_delayed")


def driver_for(X):
    """The driver for ``X``: Dask for a Dask array, else in memory or memory map."""
    if is_dask_array(X):
        from .dask import DASK

        return DASK
    return local_rows(X)


def validate_rows(estimator, X, *, reset: bool, **checks):
    """``(X, driver)``: ``X`` validated for ``estimator`` and the driver that feeds it.

    ``checks`` are scikit-learn's ``validate_data`` options (for local arrays; a Dask
    array's shape and dtype are checked without computing it). ``reset`` (a fit)
    records ``n_features_in_``; otherwise the width must match it.
    """
    driver = driver_for(X)
    X = driver.validate(estimator, X, reset=reset, **checks)
    return X, driver_for(X)


__all__ = [
    "IN_MEMORY",
    "MEMORY_MAP",
    "InMemoryRows",
    "MemoryMapRows",
    "driver_for",
    "is_dask_array",
    "validate_rows",
]
