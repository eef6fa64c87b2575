"""Rows in this process: an array in memory, or a memory map streamed from its file.

Here the whole array is one block: a statistics function gets it and reads it in
chunks (:mod:`pcagmm.rows.chunks`), on :data:`~pcagmm.rows.chunks.THREADS` threads
where it helps. The two drivers differ in what a pass may keep: data in memory may
keep per-row work between passes (the mixture's quadratic features), a memory map
is streamed (its pages released behind the reader) and nothing row-sized is kept.
"""

from __future__ import annotations

import numpy as np

from .chunks import check_mapped_file, memory_mapping, row_threads


class InMemoryRows:
    """The driver for a NumPy array in memory."""

    name = "in memory"

    @property
    def threads(self) -> int:
        """Threads a statistics function may work on (:func:`.chunks.row_threads`)."""
        return row_threads()

    #: whether a pass may keep row-sized results for the next pass
    keeps_row_data = True

    def validate(self, estimator, X, *, reset: bool, **checks):
        """``X`` checked as scikit-learn does (``validate_data``; never copied)."""
        from sklearn.utils.validation import validate_data

        return validate_data(estimator, X, reset=reset, copy=False, **checks)

    def reduce(self, function, X, *args):
        """``function(X, *args)``: the whole array is one block."""
        return function(X, *args)

    def map(self, function, X, n_columns, dtype, *args):
        """``function(X, *args)``: the rows' results (one value or ``n_columns`` per row)."""
        return function(X, *args)

    def gather(self, X) -> np.ndarray:
        """The rows as one array in this process (they are here already)."""
        return X

    def take(self, X, rows: np.ndarray) -> np.ndarray:
        """The given rows (sorted row numbers) in this process."""
        check_mapped_file(X)  # a file cut by another program would end in SIGBUS
        return X[rows]

    def check_sample_weight(self, sample_weight) -> None:
        """Refuse row weights this driver cannot use (every driver but Dask takes them)."""


class MemoryMapRows(InMemoryRows):
    """The driver for a memory-mapped file: read in chunks, pages released as read."""

    name = "memory map"
    keeps_row_data = False


IN_MEMORY = InMemoryRows()
MEMORY_MAP = MemoryMapRows()


def local_rows(X) -> InMemoryRows:
    """The local driver for an array: :data:`MEMORY_MAP` if a read-only map backs it."""
    return MEMORY_MAP if isinstance(X, np.memmap) or memory_mapping(X) is not None else IN_MEMORY
