"""Is K components supported against K - 1? The bootstrap likelihood-ratio test.

mclust's ``mclustBootstrapLRT`` (McLachlan 1987): for K = 1, 2, ... compare the fitted
K-component mixture (the null hypothesis, H0) with the fitted K + 1 (H1). The statistic
is twice the gain in log-likelihood, ``LRTS = 2 (log L_{K+1} - log L_K)``. Its
distribution under H0 is not chi-squared (the regularity conditions fail at the edge of
the parameter space), so it is simulated: draw ``B`` data sets of ``n`` rows from the
fitted K-component model, refit both models on each (from their fitted parameters, as
mclust does), and take the p-value ``(1 + #{LRTS_b >= LRTS}) / (B + 1)``. The sequence
stops at the first K whose p-value is above the level: K + 1 components are not
supported against K.

Each replicate (a draw and its two refits) is an independent task: side by side on the
cores, or as tasks on a Dask cluster. Replicate ``b`` of step K is drawn from
``numpy.random.default_rng([seed, K, b, attempt])``; a replicate whose refit fails
(a singular covariance) is drawn again (``attempt`` + 1), as mclust redraws, and the
failures are counted in :attr:`Step.redrawn`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

import numpy as np

from .bootstrap import check_level, check_resamples
from .refit import FIT_FAILURES, fit_one, started_from
from .side_by_side import Task, fit_side_by_side

#: replicates by default (mclust's mclustBootstrapLRT takes 999)
RESAMPLES = 99
#: the test's level by default (mclust's)
LEVEL = 0.05
#: draws of one replicate before it is given up (each failure redraws)
ATTEMPTS = 10
#: how the replicates' refits run EM: mclust's relative rule, to 1e-8 (the statistic is
#: a difference of log-likelihoods, which settle long before the flat directions of the
#: parameters do), accelerated by SQUAREM
LRT_REFIT = {"stopping": "relative", "tol": 1e-8, "acceleration": "squarem", "max_iter": 100_000}


@dataclasses.dataclass
class Step:  # numpydoc ignore=PR01
    """One test of the sequence: K components against K + 1.

    Attributes
    ----------
    n_components : int
        K, the null hypothesis.
    statistic : float
        The observed ``2 (log L_{K+1} - log L_K)`` on the data.
    bootstrap : (B,) ndarray
        The statistic on each replicate (NaN where a replicate was given up).
    p_value : float
        ``(1 + r) / (1 + B')``: ``r`` of the ``B'`` replicates not given up have a
        statistic at least the observed one.
    redrawn : int
        Replicates drawn again because a refit failed.
    time : float
        Seconds for the step.
    """

    n_components: int
    statistic: float
    bootstrap: np.ndarray
    p_value: float
    redrawn: int
    time: float

    def record(self) -> dict:
        return {
            "n_components": self.n_components,
            "against": self.n_components + 1,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "redrawn": self.redrawn,
            "time": self.time,
        }


@dataclasses.dataclass
class LikelihoodRatioTest:  # numpydoc ignore=PR01
    """The sequence of bootstrap likelihood-ratio tests, as far as it went.

    Attributes
    ----------
    covariance_type : str
        The covariance type tested.
    level : float
        The significance level of each step.
    resamples : int
        Replicates per step (B).
    seed : int
        The seed the replicates are drawn from.
    steps : list of Step
        K = first, first + 1, ... up to where the sequence stopped.
    supported : int
        The number of components the test supports: the K of the first step whose
        p-value is above ``level``, or the largest K fitted when every step rejected.
    stopped : bool
        Whether a step's p-value was above ``level`` (False: the sequence reached the
        largest K fitted without stopping, and more may be supported).
    """

    covariance_type: str
    level: float
    resamples: int
    seed: int
    steps: list
    supported: int
    stopped: bool

    def record(self) -> dict:
        return {
            "covariance_type": self.covariance_type,
            "level": self.level,
            "resamples": self.resamples,
            "seed": self.seed,
            "supported": self.supported,
            "stopped": self.stopped,
            "steps": [step.record() for step in self.steps],
        }


def draw(gmm, n: int, rng) -> np.ndarray:
    """``n`` rows drawn from the fitted mixture ``gmm`` with ``rng`` (a NumPy Generator):
    the count of each component multinomial, then each component's rows."""
    from .covariance import covariance_type

    counts = rng.multinomial(n, gmm.weights_ / gmm.weights_.sum())
    kind = covariance_type(gmm.covariance_type)
    return kind.sample(rng, gmm.means_, gmm.covariances_, counts)


def log_likelihood(gmm, X) -> float:
    """The total log-likelihood of the rows ``X`` under ``gmm`` (one E-step pass)."""
    return float(np.sum(gmm.score_samples(X)))


def replicate(starts, n: int, seed: int, step: int, number: int, threads: int | None = 1):
    """One replicate: draw ``n`` rows from the null model, refit both models on them;
    ``(statistic, redrawn)`` (NaN after :data:`ATTEMPTS` failed draws).

    ``starts`` is ``(null, null_start, alternative_start)``: the fitted null model (drawn
    from), and the unfitted copies of both models that start from their parameters
    (:func:`~pcagmm.mixture.refit.started_from`, with the refit rule set on them).
    """
    from sklearn.base import clone

    null, null_start, alternative_start = starts
    for attempt in range(ATTEMPTS):
        rng = np.random.default_rng([int(seed), int(step), int(number), attempt])
        X = draw(null, n, rng)
        try:
            gmm0, _ = fit_one(X, clone(null_start), threads=threads)
            gmm1, _ = fit_one(X, clone(alternative_start), threads=threads)
            statistic = 2.0 * (log_likelihood(gmm1, X) - log_likelihood(gmm0, X))
        except FIT_FAILURES:
            continue
        if np.isfinite(statistic):
            return statistic, attempt
    return float("nan"), ATTEMPTS


def likelihood_ratio_test(
    X,
    fits: Mapping[int, object],
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
    sequential: bool = True,
    converge: bool = True,
    settings: dict | None = None,
    n_jobs: int | None = None,
    client=None,
    progress: Callable[[int, int], None] | None = None,
) -> LikelihoodRatioTest:
    """The sequential bootstrap likelihood-ratio test on the fitted models ``fits``.

    Parameters
    ----------
    X : (n, d) array
        The rows the models were fitted to.
    fits : mapping of int to GaussianMixture
        A fitted model of one covariance type for each number of components K, for
        consecutive K (mclust's ``mclustBootstrapLRT`` takes them from its BIC sweep;
        ``pcagmm select --lrt`` from its own).
    resamples : int, default=99
        Replicates per step (B).
    level : float, default=0.05
    seed : int
    sequential : bool, default=True
        Stop at the first step whose p-value is above ``level`` (mclust without
        ``maxG``); False tests every K to the largest fitted (mclust with ``maxG``).
    converge : bool, default=True
        First run EM from each model's parameters to convergence on ``X`` by the
        replicates' rule, so the observed statistic and the simulated ones are taken
        at the same precision (a sweep stopped by scikit-learn's rule is far from its
        optima on MNIST). False: the statistic of ``fits`` as they are (to compare
        with mclust's, whose fits these are).
    settings : dict, optional
        The refits' rule (default :data:`LRT_REFIT`).
    n_jobs, client
        The replicates run side by side on threads (None: one per core), or as tasks
        on this Dask cluster.
    progress : callable, optional
        ``progress(done, total)`` after each replicate (total: every step's).

    Returns
    -------
    LikelihoodRatioTest
    """
    resamples = check_resamples(resamples)
    level = check_level(level)
    if not fits:
        raise ValueError("fits is empty; give a fitted model for each K, e.g. 1 to 10")
    counts = sorted(fits)
    if len(counts) < 2 or counts != list(range(counts[0], counts[-1] + 1)):
        raise ValueError(
            f"the test needs fitted models for consecutive numbers of components, got "
            f"{counts}; fit at least two, e.g. 1 to 10"
        )
    kinds = {fits[K].covariance_type for K in counts}
    if len(kinds) > 1:
        raise ValueError(
            f"the models are of different covariance types ({', '.join(sorted(kinds))}); "
            "test one type at a time"
        )
    rule = {**LRT_REFIT, **(settings or {})}
    n = X.shape[0]
    if converge:
        fits = {K: fit_one(X, started_from(fits[K], **rule), threads=None)[0] for K in counts}
    starts = {K: started_from(fits[K], **rule) for K in counts}
    logs = {K: log_likelihood(fits[K], X) for K in counts}
    total = resamples * (len(counts) - 1)
    done = 0
    steps = []
    stopped = False
    for K in counts[:-1]:
        started = time.perf_counter()
        tasks = [Task(K, replicate, (n, int(seed), K, b)) for b in range(resamples)]
        statistics = np.full(resamples, np.nan)
        redrawn = 0
        data = {K: (fits[K], starts[K], starts[K + 1])}
        for index, (statistic, attempts) in fit_side_by_side(
            data, tasks, n_jobs=n_jobs, client=client
        ):
            statistics[index] = statistic
            redrawn += attempts
            done += 1
            if progress is not None:
                progress(done, total)
        observed = 2.0 * (logs[K + 1] - logs[K])
        valid = statistics[np.isfinite(statistics)]
        p_value = (1.0 + np.sum(valid >= observed)) / (valid.size + 1.0)
        steps.append(
            Step(K, observed, statistics, float(p_value), redrawn, time.perf_counter() - started)
        )
        if p_value > level:
            stopped = True
            if sequential:
                break
    supported = next((step.n_components for step in steps if step.p_value > level), counts[-1])
    return LikelihoodRatioTest(
        covariance_type=fits[counts[0]].covariance_type,
        level=level,
        resamples=resamples,
        seed=int(seed),
        steps=steps,
        supported=supported,
        stopped=stopped,
    )


__all__ = ["LikelihoodRatioTest", "Step", "draw", "likelihood_ratio_test", "replicate"]
