"""The fits of a stability study: one mixture per seed and per bootstrap resample of
the rows, fitted side by side (on threads, or as tasks on a Dask cluster).

A bootstrap resample draws ``n`` rows with replacement; it is given to the fit as
``sample_weight`` = how many times each row was drawn (multinomial counts that sum to
``n``), so the rows are never copied and the same arrays serve every fit.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .refit import fit_all, fit_one


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


__all__ = ["Fit", "bootstrap_counts", "fit_all", "fit_one"]
