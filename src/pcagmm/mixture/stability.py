"""The fits of a stability study: one mixture per seed and per bootstrap resample of
the rows, fitted side by side (on threads, or as tasks on a Dask cluster).

A bootstrap resample draws ``n`` rows with replacement; it is given to the fit as
``sample_weight`` = how many times each row was drawn (multinomial counts that sum to
``n``), so the rows are never copied and the same arrays serve every fit.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np

from ..rows.chunks import limit_row_threads
from .side_by_side import Task, fit_side_by_side


@dataclasses.dataclass(frozen=True)
class Fit:
    """One fit of a study: ``kind`` "seed" (all rows) or "bootstrap" (resample number
    ``resample``, counted from 0), started from ``seed``."""

    kind: str
    seed: int
    resample: int | None = None


def bootstrap_counts(n: int, resamples: int, seed: int) -> list[np.ndarray]:
    """How many times each of ``n`` rows is drawn in each of ``resamples`` resamples.

    Each resample draws ``n`` row numbers uniformly with replacement from
    ``numpy.random.RandomState(seed)`` (the resamples in turn, so resample ``b`` is the
    same whatever the number of resamples after it); its counts are multinomial and
    sum to ``n``.

    Returns
    -------
    list of (n,) int64 arrays
    """
    random = np.random.RandomState(seed)
    return [np.bincount(random.randint(0, n, size=n), minlength=n) for _ in range(resamples)]


def fit_one(Z: np.ndarray, gmm, sample_weight=None, threads: int | None = 1):
    """Fit the (unfitted) mixture ``gmm`` to ``Z``; ``(gmm, row)``.

    ``row`` holds ``log_likelihood`` (the final mean log-likelihood per unit of weight,
    ``gmm.lower_bound_``), ``n_iter``, ``converged`` and ``time``. ``threads`` limits
    the fit's passes (None: as many as the row engine uses). A fit that does not
    converge is kept (``converged`` False), not warned about.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    started = time.perf_counter()
    with warnings.catch_warnings(), limit_row_threads(threads):
        warnings.simplefilter("ignore", ConvergenceWarning)  # recorded as `converged`
        gmm.fit(Z, sample_weight=sample_weight)
    return gmm, {
        "log_likelihood": float(gmm.lower_bound_),
        "n_iter": int(gmm.n_iter_),
        "converged": bool(gmm.converged_),
        "time": time.perf_counter() - started,
    }


def fit_all(
    Z: np.ndarray,
    mixtures: Sequence,
    weights: Sequence[np.ndarray | None],
    *,
    n_jobs: int | None = None,
    client=None,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[object, dict]]:
    """Fit every mixture of ``mixtures`` (unfitted estimators) to ``Z`` with its
    ``weights`` (None: every row once); ``(gmm, row)`` per fit, in the order given
    whatever order they finish in.

    With a Dask ``client`` ``Z`` is sent to every worker once and each fit is a task;
    else the fits run on ``n_jobs`` threads of this process (None: one per core), each
    fit's passes and BLAS on one thread (``n_jobs=1``: one fit at a time on every core).
    ``progress(done, total)`` is called after each fit.
    """
    tasks = [
        Task("Z", fit_one, (gmm, weight)) for gmm, weight in zip(mixtures, weights, strict=True)
    ]
    fits = fit_side_by_side({"Z": Z}, tasks, n_jobs=n_jobs, client=client)
    results: list[tuple[object, dict] | None] = [None] * len(mixtures)
    for done, (index, result) in enumerate(fits, 1):
        results[index] = result
        if progress is not None:
            progress(done, len(mixtures))
    return results  # type: ignore[return-value]


__all__ = ["Fit", "bootstrap_counts", "fit_all", "fit_one"]
