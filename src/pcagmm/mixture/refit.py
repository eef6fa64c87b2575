"""Refits: "fit again from this start on these weights", the one helper of every study.

A stability study refits from new seeds and on bootstrap resamples, the bootstrap of
standard errors refits on resamples from the fitted parameters, the likelihood-ratio
test refits on data drawn from a fitted model: each is an unfitted
:class:`~pcagmm.mixture.GaussianMixture` (:func:`started_from` makes one that starts
where a fitted one ended) fitted by :func:`fit_one`, many of them side by side on
threads or as Dask tasks (:func:`fit_all`, over
:func:`~pcagmm.mixture.side_by_side.fit_side_by_side`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from ..rows.chunks import limit_row_threads
from .convergence import CONVERGED
from .side_by_side import Task, fit_side_by_side

#: how a refit runs EM unless told otherwise: to convergence (mclust's relative rule at
#: 1e-12, accelerated by SQUAREM; :data:`~pcagmm.mixture.convergence.CONVERGED`). On
#: MNIST PCA-2 the likelihood is so flat that a looser rule stops refits far from their
#: optimum: bootstrap standard errors at mclust's 1e-5 came out 5 times too small, at
#: 1e-8 up to 66% off, at 1e-10 up to 19% (BENCHMARKS.md, "Standard errors")
REFIT = dict(CONVERGED)


#: what a fit raises when its rows cannot be fitted from its start (a covariance that
#: is singular, a log-likelihood that is not finite): a study records it and goes on
FIT_FAILURES = (ValueError, ArithmeticError, np.linalg.LinAlgError)


def failure_reason(exc: BaseException) -> str:
    """Why a fit failed, in one line: its error's first line (its type's name when the
    error has no message)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def started_from(gmm, **settings):
    """An unfitted :class:`~pcagmm.mixture.GaussianMixture` with ``gmm``'s options that
    starts from ``gmm``'s fitted weights, means and precisions (one start: no k-means,
    no random numbers), so each component keeps its number; ``settings`` override
    options (e.g. the stopping rule)."""
    from .gaussian_mixture import GaussianMixture

    params = gmm.get_params()
    params.update(
        n_init=1,
        warm_start=False,
        weights_init=gmm.weights_,
        means_init=gmm.means_,
        precisions_init=gmm.precisions_,
        **settings,
    )
    return GaussianMixture(**params)


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


__all__ = ["FIT_FAILURES", "REFIT", "failure_reason", "fit_all", "fit_one", "started_from"]
