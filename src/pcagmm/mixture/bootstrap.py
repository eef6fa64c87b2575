"""Standard errors and intervals of a fitted mixture's parameters, by the bootstrap.

What mclust's ``MclustBootstrap`` does: refit the model on ``B`` resamples of the rows
and read each parameter's spread over the refits. Each refit starts from the fitted
parameters (so every component keeps its number: no label switching to undo) and runs
EM to convergence (:data:`~pcagmm.mixture.refit.REFIT`).

Two kinds of resample, each given to the refit as ``sample_weight`` (the rows are never
copied, and the same arrays serve every refit):

* ``"nonparametric"`` (mclust's ``"bs"``): ``n`` rows drawn with replacement, each row
  weighted by how many times it was drawn (multinomial counts that sum to ``n``);
* ``"weighted"`` (mclust's ``"wlbs"``, the weighted likelihood bootstrap of Newton &
  Raftery 1994): each row weighted by a draw of a Gamma(1) (exponential) variable,
  scaled to sum to ``n``, i.e. ``n`` times a flat Dirichlet draw. No row gets weight 0,
  so no component loses all its rows.

Resample ``b`` of seed ``s`` is drawn from ``numpy.random.default_rng([s, b])``
(:func:`resample_weights`): the same whatever the number of resamples, in whichever
process or Dask worker refits it, without holding ``B`` weight vectors in memory.

A refit that fails (a covariance that is singular) or in which a component keeps
less weight than ``d + 1`` rows (too few to determine its covariance) has *collapsed*:
it is counted and named in :attr:`Bootstrap.collapsed`, and left out of the errors.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from .refit import FIT_FAILURES, REFIT, failure_reason, fit_one, started_from
from .side_by_side import Task, fit_side_by_side

#: the kinds of resample (mclust's names: "bs" and "wlbs")
KINDS = ("nonparametric", "weighted")
#: mclust's name of each kind
MCLUST_KINDS = {"nonparametric": "bs", "weighted": "wlbs"}
#: resamples by default (mclust's MclustBootstrap takes 999)
RESAMPLES = 199
#: the interval's coverage by default (mclust's summary(..., what = "ci"))
LEVEL = 0.95
#: the parameters whose spread a bootstrap reports, in order
PARAMETERS = ("weights", "means", "standard_deviations", "covariances")


@dataclasses.dataclass(frozen=True)
class Collapse:
    """A resample whose refit was left out, and why."""

    resample: int
    reason: str


@dataclasses.dataclass
class Bootstrap:  # numpydoc ignore=PR01
    """The parameters of every refit that did not collapse.

    Attributes
    ----------
    estimate : GaussianMixture
        The fit whose errors these are (the refits started from it).
    kind : str
        "nonparametric" or "weighted".
    seed : int
        The seed resample ``b`` is drawn from.
    requested : int
        Resamples drawn (``B``), the collapsed among them.
    resample_numbers : (B_kept,) int ndarray
        The resamples kept, in order.
    weights : (B_kept, K) ndarray
        Each refit's weights.
    means : (B_kept, K, d) ndarray
        Each refit's means.
    covariances : (B_kept, K, d, d) ndarray
        Each refit's covariances: full matrices whatever the covariance type.
    n_iter : (B_kept,) int ndarray
        Passes of each refit.
    converged : (B_kept,) bool ndarray
        Whether each refit converged.
    collapsed : list of Collapse
        The resamples left out (``resample``) and why (``reason``).
    time : float
        Seconds for all refits.
    """

    estimate: object
    kind: str
    seed: int
    requested: int
    resample_numbers: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    collapsed: list
    time: float

    @property
    def kept(self) -> int:
        """Refits the errors are computed from."""
        return int(self.weights.shape[0])

    @property
    def standard_deviations(self) -> np.ndarray:
        """(B_kept, K, d): the square roots of each refit's covariance diagonals."""
        return np.sqrt(np.diagonal(self.covariances, axis1=2, axis2=3))

    def values(self, name: str) -> np.ndarray:
        """Return every kept refit's values of one parameter.

        Parameters
        ----------
        name : {"weights", "means", "standard_deviations", "covariances"}
            The parameter.

        Returns
        -------
        ndarray
            The values, one refit per row of the first axis.
        """
        if name not in PARAMETERS:
            raise ValueError(f"unknown parameter {name!r}; choose one of {', '.join(PARAMETERS)}")
        return getattr(self, name)

    def standard_errors(self) -> dict[str, np.ndarray]:
        """Compute each parameter's standard error: its standard deviation over the refits.

        With ``ddof=1``, as R's ``sd`` in mclust's ``summary(..., what = "se")``.

        Returns
        -------
        dict of str to ndarray
            Per parameter (weights, means, standard_deviations, covariances), the
            errors shaped as the parameter.

        Raises
        ------
        ValueError
            When fewer than two refits did not collapse.
        """
        self._check_enough(2)
        return {name: np.std(self.values(name), axis=0, ddof=1) for name in PARAMETERS}

    def intervals(self, level: float = LEVEL) -> dict[str, np.ndarray]:
        """Compute each parameter's percentile interval over the refits.

        The ends are the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles
        (interpolated linearly: R's ``quantile`` type 7, as mclust's
        ``summary(..., what = "ci")``).

        Parameters
        ----------
        level : float, default=0.95
            The interval's coverage.

        Returns
        -------
        dict of str to ndarray
            Per parameter, an array of shape ``(2, ...)``: the lower and the upper ends.
        """
        check_level(level)
        self._check_enough(1)
        probabilities = [(1 - level) / 2, (1 + level) / 2]
        return {
            name: np.quantile(self.values(name), probabilities, axis=0, method="linear")
            for name in PARAMETERS
        }

    def _check_enough(self, at_least: int) -> None:
        if self.kept < at_least:
            raise ValueError(
                f"only {self.kept} of {self.requested} bootstrap refits did not collapse; "
                "draw more resamples, or fit fewer components"
            )

    def record(self, level: float = LEVEL) -> dict:
        """Summarise the bootstrap for JSON: settings, counts, and each parameter's numbers.

        Parameters
        ----------
        level : float, default=0.95
            The intervals' coverage.

        Returns
        -------
        dict
            The settings, the counts, and per parameter its estimate, standard error
            and interval (nested lists).
        """
        errors, ends = self.standard_errors(), self.intervals(level)
        estimate = fitted_parameters(self.estimate)
        return {
            "kind": self.kind,
            "resamples": self.requested,
            "kept": self.kept,
            "collapsed": [dataclasses.asdict(c) for c in self.collapsed],
            "seed": self.seed,
            "level": level,
            "time": self.time,
            "parameters": {
                name: {
                    "estimate": estimate[name].tolist(),
                    "standard_error": errors[name].tolist(),
                    "lower": ends[name][0].tolist(),
                    "upper": ends[name][1].tolist(),
                }
                for name in PARAMETERS
            },
        }


def check_resamples(resamples, name: str = "resamples") -> int:
    """``resamples`` as an int, or a ValueError naming ``name``."""
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise ValueError(
            f"{name}={resamples!r} is not a number of resamples; give a whole number >= 1 "
            f"(e.g. {RESAMPLES})"
        )
    return int(resamples)


def check_level(level, name: str = "level") -> float:
    """``level`` as a float strictly between 0 and 1, or a ValueError naming ``name``."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(level, bool) or not 0 < value < 1:
        raise ValueError(f"{name}={level!r} is not a level; give a number between 0 and 1")
    return value


def check_kind(kind) -> str:
    """``kind`` if it is one of :data:`KINDS`, or a ValueError naming it."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not a kind of bootstrap; choose {' or '.join(KINDS)}")
    return kind


def bootstrap_seed(seed: int | None) -> int:
    """``seed``, or a fresh one from the operating system's entropy when it is None (to
    be recorded with the bootstrap, so that it can be drawn again)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(seed)


def resample_weights(n: int, kind: str, seed: int, resample: int) -> np.ndarray:
    """The weight of each of ``n`` rows in resample number ``resample``.

    ``"nonparametric"``: how many times each row is drawn in ``n`` draws with
    replacement; ``"weighted"``: independent exponential draws scaled to sum to ``n``.
    Both from ``numpy.random.default_rng([seed, resample])``.

    Returns
    -------
    (n,) float64 ndarray
    """
    rng = np.random.default_rng([int(seed), int(resample)])
    if check_kind(kind) == "nonparametric":
        return np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
    weights = rng.standard_exponential(n)
    return weights * (n / weights.sum())


def fitted_parameters(gmm) -> dict[str, np.ndarray]:
    """A fitted mixture's parameters as :class:`Bootstrap` holds them (covariances as
    full matrices)."""
    from .covariance import covariance_type

    K, d = gmm.means_.shape
    covariances = covariance_type(gmm.covariance_type).block(gmm.covariances_, K, d)
    return {
        "weights": np.asarray(gmm.weights_, dtype=np.float64),
        "means": np.asarray(gmm.means_, dtype=np.float64),
        "standard_deviations": np.sqrt(np.diagonal(covariances, axis1=1, axis2=2)),
        "covariances": np.asarray(covariances, dtype=np.float64),
    }


def refit_resample(X, start, kind: str, seed: int, resample: int, threads: int | None = 1):
    """Refit ``start`` (unfitted, started from the fitted parameters) on resample
    ``resample``; a dict with the parameters (``fitted_parameters``), ``n_iter``,
    ``converged`` and ``error`` (the reason it collapsed, or "")."""
    from sklearn.base import clone

    n, d = X.shape
    weights = resample_weights(n, kind, seed, resample)
    row = {"resample": resample, "error": ""}
    if kind == "nonparametric" and type(X) is np.ndarray:
        # a row drawn 0 times adds nothing to any sum: a third of the rows (1/e) need
        # no pass at all (the projection is small: copying the rest costs less than one)
        drawn = weights > 0
        X, weights = X[drawn], weights[drawn]
    try:
        gmm, fit = fit_one(X, clone(start), sample_weight=weights, threads=threads)
    except FIT_FAILURES as exc:
        row["error"] = failure_reason(exc)
        return row
    thin = gmm.weights_ * weights.sum()
    if thin.min() < d + 1:
        k = int(np.argmin(thin))
        row["error"] = (
            f"component {k} kept a weight of {thin[k]:.3g}, less than the {d + 1} rows "
            "(d + 1) a covariance needs"
        )
        return row
    row.update(fitted_parameters(gmm), n_iter=fit["n_iter"], converged=fit["converged"])
    return row


def bootstrap(
    gmm,
    X,
    *,
    resamples: int = RESAMPLES,
    kind: str = "nonparametric",
    seed: int = 0,
    converge: bool = True,
    settings: dict | None = None,
    n_jobs: int | None = None,
    client=None,
    progress: Callable[[int, int], None] | None = None,
) -> Bootstrap:
    """Refit the fitted mixture ``gmm`` on ``resamples`` resamples of the rows ``X``.

    Parameters
    ----------
    gmm : GaussianMixture
        Fitted to ``X``.
    X : (n, d) array
        The rows it was fitted to (a NumPy array or a memory map).
    resamples : int, default=199
    kind : {"nonparametric", "weighted"}
    seed : int
        Resample ``b`` is :func:`resample_weights` ``(n, kind, seed, b)``.
    converge : bool, default=True
        First run EM from ``gmm``'s parameters to convergence on all rows (by the
        refits' rule): the errors then belong to that fit (``Bootstrap.estimate``), the
        maximum-likelihood estimate the refits converge to. A fit stopped early (the
        notebook's, on MNIST) is not one, and refits from it would measure how far it
        is from one. False: ``gmm`` is the estimate as it is.
    settings : dict, optional
        The refits' stopping rule, tolerance, acceleration and iteration limit
        (default :data:`~pcagmm.mixture.refit.REFIT`).
    n_jobs, client
        The refits run side by side on threads (None: one per core), or as tasks on
        this Dask cluster (``X`` is sent to every worker once).
    progress : callable, optional
        ``progress(done, total)`` after each refit.

    Returns
    -------
    Bootstrap
    """
    resamples = check_resamples(resamples)
    check_kind(kind)
    rule = {**REFIT, **(settings or {})}
    X = np.asarray(X) if not hasattr(X, "dask") else X
    started = time.perf_counter()
    estimate = gmm
    if converge:
        estimate, _ = fit_one(X, started_from(gmm, **rule), threads=None)
    start = started_from(estimate, **rule)
    tasks = [Task("X", refit_resample, (start, kind, int(seed), b)) for b in range(resamples)]
    rows: list[dict | None] = [None] * resamples
    for done, (index, row) in enumerate(
        fit_side_by_side({"X": X}, tasks, n_jobs=n_jobs, client=client), 1
    ):
        rows[index] = row
        if progress is not None:
            progress(done, resamples)
    kept = [row for row in rows if not row["error"]]
    collapsed = [Collapse(row["resample"], row["error"]) for row in rows if row["error"]]
    K, d = estimate.means_.shape

    def stack(name, shape):
        if not kept:
            return np.empty((0, *shape))
        return np.stack([row[name] for row in kept])

    return Bootstrap(
        estimate=estimate,
        kind=kind,
        seed=int(seed),
        requested=resamples,
        resample_numbers=np.array([row["resample"] for row in kept], dtype=np.int64),
        weights=stack("weights", (K,)),
        means=stack("means", (K, d)),
        covariances=stack("covariances", (K, d, d)),
        n_iter=np.array([row["n_iter"] for row in kept], dtype=np.int64),
        converged=np.array([row["converged"] for row in kept], dtype=bool),
        collapsed=collapsed,
        time=time.perf_counter() - started,
    )


__all__ = [
    "KINDS",
    "PARAMETERS",
    "Bootstrap",
    "Collapse",
    "bootstrap",
    "bootstrap_seed",
    "check_level",
    "check_resamples",
    "fitted_parameters",
    "resample_weights",
]
