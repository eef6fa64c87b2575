"""Model selection: fit a mixture for each number of components and covariance type,
score each with an information criterion, keep the best.

What scikit-learn leaves to a hand-written loop over :class:`GaussianMixture`, in the
style of :class:`sklearn.model_selection.GridSearchCV`: :class:`GaussianMixtureSelection`
fits every cell of the grid (in parallel, on threads or on a Dask cluster), records one
row per fitted model in ``results_`` and keeps ``best_estimator_``.

The criteria (lower is better, scikit-learn's sign; ``log L`` is the log-likelihood
of the rows, ``p`` the number of free parameters, ``n`` the rows):

* ``bic = -2 log L + p log n`` (:meth:`GaussianMixture.bic`);
* ``aic = -2 log L + 2 p`` (:meth:`GaussianMixture.aic`);
* ``icl = bic - 2 sum_i log z_i``, where ``z_i`` is the posterior probability of the
  component row ``i`` is assigned to (its largest): BIC plus twice the entropy of the
  hard assignment, as mclust defines ICL (Biernacki, Celeux and Govaert 2000). It
  penalises overlapping components that BIC accepts.

R's mclust reports BIC with the other sign and without the factor: its
``BIC = 2 log L - p log n`` is ``-bic`` here, and there higher is better.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..rows.chunks import first_rows_mean, limit_row_threads
from . import CRITERIA
from .covariance import choices, expand_all
from .covariance import names as covariance_type_names
from .em_pass import EMPass
from .gaussian_mixture import INNER, GaussianMixture, _check_int
from .initialization import SharedStarts, sharing_starts
from .kernels import Model
from .refit import FIT_FAILURES, failure_reason
from .side_by_side import Task, fit_side_by_side

#: the columns of a row of ``results_``, in order
RESULT_COLUMNS = (
    "n_components",
    "covariance_type",
    "log_likelihood",
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "n_iter",
    "converged",
    "time",
    "status",
    "error",
)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One model of the grid: ``n_components`` components of ``covariance_type``, fitted
    on the data set ``data`` (a key of the sweep's data; None when there is one)."""

    n_components: int
    covariance_type: str
    data: object = None


def information_criteria(gmm, X) -> dict:
    """Log-likelihood, parameter count, BIC, AIC and ICL of a fitted mixture on ``X``.

    One E-step over ``X`` (the fit's own pass, :meth:`EMPass.scores`, without the
    M-step sums): each row's log-likelihood (log-sum-exp of its weighted
    log-densities) and the log-posterior of its most probable component.
    """
    n = X.shape[0]
    shift = first_rows_mean(X)  # the point the fit's passes were taken about
    model = Model.build(
        gmm.covariance_type, gmm.weights_, gmm.means_ - shift, gmm.precisions_cholesky_
    )
    log_likelihood, log_assigned = EMPass(
        shift, gmm.covariance_type, gmm.n_components, None
    ).scores(X, model)
    p = gmm._n_parameters()
    bic = -2.0 * log_likelihood + p * np.log(n)
    return {
        "log_likelihood": log_likelihood,
        "n_parameters": int(p),
        "bic": float(bic),
        "aic": float(-2.0 * log_likelihood + 2 * p),
        "icl": float(bic - 2.0 * log_assigned),
    }


def fit_cell(X, cell: Cell, mixture_params: dict, threads: int | None = 1, starts=None):
    """Fit one cell's mixture to ``X``; ``(row, gmm)``, or ``(row, None)`` when the fit fails.

    A failure (e.g. a component that collapses onto too few rows for its covariance)
    is recorded in the row (``status="failed"`` and the reason in ``error``) instead of
    raised, so a sweep goes on. ``threads`` limits the fit's passes (None: as many as
    the row engine uses); ``starts`` (a
    :class:`~pcagmm.mixture.initialization.SharedStarts` of ``X``) shares the k-means
    (or other) start with the fits of the other covariance types.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    grid = {"n_components": cell.n_components, "covariance_type": cell.covariance_type}
    started = time.perf_counter()
    gmm = GaussianMixture(cell.n_components, covariance_type=cell.covariance_type, **mixture_params)
    try:
        with warnings.catch_warnings(), limit_row_threads(threads), sharing_starts(starts):
            warnings.simplefilter("ignore", ConvergenceWarning)  # recorded as `converged`
            gmm.fit(X)
            criteria = information_criteria(gmm, X)
        if not np.isfinite(criteria["log_likelihood"]):
            raise FloatingPointError("the log-likelihood is not finite")
    except FIT_FAILURES as exc:
        reason = failure_reason(exc)
        nan = float("nan")
        failed = {
            **grid,
            **dict(log_likelihood=nan, n_parameters=None, bic=nan, aic=nan, icl=nan),
            **dict(n_iter=None, converged=False, time=time.perf_counter() - started),
            **dict(status="failed", error=reason),
        }
        return failed, None
    fitted = {
        **grid,
        **criteria,
        **dict(n_iter=int(gmm.n_iter_), converged=bool(gmm.converged_)),
        **dict(time=time.perf_counter() - started, status="ok", error=""),
    }
    return fitted, gmm


def sweep(
    data: dict,
    cells: list[Cell],
    mixture_params: dict,
    *,
    n_jobs: int | None = None,
    client=None,
) -> Iterator[tuple[int, dict, object]]:
    """Fit every cell; yield ``(index, row, gmm)`` as each fit finishes.

    ``data`` maps each cell's ``data`` key to its rows (a NumPy array in this
    process). With a Dask ``client`` every array is sent to the workers once and each
    fit is one task; else the fits run on ``n_jobs`` threads of this process (None:
    one per core), each fit's passes on one thread (with ``n_jobs=1``, one fit at a
    time, each on every core).
    """
    # the costliest fits first, so no long fit starts last while the other workers idle
    order = sorted(range(len(cells)), key=lambda i: -_expected_cost(cells[i], data))
    if client is None:  # each start drawn once per data set and K, shared by the types
        starts = {key: SharedStarts() for key in data}
        fit = {key: functools.partial(fit_cell, starts=starts[key]) for key in data}
    else:  # the workers draw their own
        fit = dict.fromkeys(data, fit_cell)
    tasks = [Task(cell.data, fit[cell.data], (cell, mixture_params)) for cell in cells]
    for index, (row, gmm) in fit_side_by_side(
        data, tasks, order=order, n_jobs=n_jobs, client=client
    ):
        yield index, row, gmm


def fit_grid(
    data: dict,
    cells: list[Cell],
    mixture_params: dict,
    *,
    n_jobs: int | None = None,
    client=None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict], list[object]]:
    """:func:`sweep` collected: the rows and the fitted models (None where a fit
    failed), in the order of ``cells``; ``progress(done, total)`` after each fit."""
    results: list[dict | None] = [None] * len(cells)
    models: list[object] = [None] * len(cells)
    fits = sweep(data, cells, mixture_params, n_jobs=n_jobs, client=client)
    for done, (index, row, gmm) in enumerate(fits, 1):
        results[index], models[index] = row, gmm
        if progress is not None:
            progress(done, len(cells))
    return results, models


def _expected_cost(cell: Cell, data: dict) -> float:
    """A fit's relative cost: rows x components x the work of one log-density (d^2 for
    the types that hold matrices, d for the others)."""
    from .covariance import covariance_type

    n, d = data[cell.data].shape
    per_row = d * d if covariance_type(cell.covariance_type).holds_matrices else d
    return float(n) * cell.n_components * per_row


def best_index(results: list[dict], criterion: str) -> int | None:
    """The row with the lowest ``criterion`` among the fits that worked (the first of
    equals: fewer components, then the covariance types in the order given); None if
    every fit failed."""
    best, best_value = None, np.inf
    for index, row in enumerate(results):
        value = row[criterion]
        if row["status"] == "ok" and np.isfinite(value) and value < best_value:
            best, best_value = index, value
    return best


class GaussianMixtureSelection(DensityMixin, BaseEstimator):
    """Choose a Gaussian mixture's number of components and covariance type by a criterion.

    The criterion is BIC, AIC or ICL. Fits :class:`~pcagmm.GaussianMixture` for every
    pair of ``n_components`` and ``covariance_types`` with the same start
    (``init_params``, ``random_state``), scores each on the training rows, and keeps
    the one with the lowest ``criterion``. Each
    cell equals ``sklearn.mixture.GaussianMixture(K, covariance_type=t,
    random_state=...)`` fitted to the same rows, and its BIC and AIC equal that
    model's ``bic(X)`` and ``aic(X)``.

    Parameters
    ----------
    n_components : int or iterable of int, default=range(1, 10)
        The numbers of components tried (an int ``k`` means ``1..k``).
    covariance_types : str or iterable of str, default=("full", "tied", "diag", "spherical")
        Names of the covariance types; ``"all"`` is mclust's fourteen structures.
    criterion : {"bic", "aic", "icl"}, default="bic"
        Lower is better for each (scikit-learn's sign; mclust's BIC is ``-bic``).
    n_init : int, default=1
        Passed to every :class:`~pcagmm.GaussianMixture`, as are the parameters below
        but ``random_state``, ``n_jobs`` and ``client``. With
        ``init_params="hierarchical"``, ``stopping="relative"``, ``tol=1e-5``,
        ``reg_covar=0`` and ``covariance_types="all"`` the grid is mclust's
        ``Mclust(X, G = n_components)``.
    init_params : str, default="kmeans"
        The start of every fit.
    random_state : int, RandomState or None
        The seed every cell's fit starts from. An int is given to every fit as it is
        (so a cell is the same fit as scikit-learn's with that ``random_state``); a
        RandomState or None draws one int seed per call to ``fit``.
    tol : float, default=1e-3
        The tolerance of the stopping rule.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
        EM iterations at most.
    stopping : {"absolute", "relative", "aitken"}, default="absolute"
        When EM stops.
    inner_tol : float, default=1.49e-8
        The tolerance of mclust's iterative M-steps.
    inner_max_iter : int, default=2147483647
        Their iteration limit per M-step.
    n_jobs : int or None, default=None
        Fits run side by side on this many threads (None: one per core).
    client : distributed.Client or None
        Run each fit as a task on this Dask cluster instead (the rows are sent to
        every worker once).

    Attributes
    ----------
    results_ : list of dict
        One row per fitted model, in the order of the grid (``n_components`` outer,
        ``covariance_types`` inner): ``n_components``, ``covariance_type``,
        ``log_likelihood`` (of all rows), ``n_parameters``, ``bic``, ``aic``, ``icl``,
        ``n_iter``, ``converged``, ``time`` (seconds), ``status`` ("ok" or "failed")
        and ``error`` (why it failed). ``pandas.DataFrame(results_)`` makes a table.
    best_index_ : int
        The row of ``results_`` chosen.
    best_params_ : dict
        ``{"n_components": K, "covariance_type": t}`` of the chosen model.
    best_estimator_ : GaussianMixture
        The chosen model, fitted.
    best_score_ : float
        Its criterion.
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components=range(1, 10),
        *,
        covariance_types=("full", "tied", "diag", "spherical"),
        criterion="bic",
        n_init=1,
        init_params="kmeans",
        random_state=None,
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        stopping="absolute",
        inner_tol=INNER.tol,
        inner_max_iter=INNER.max_iter,
        n_jobs=None,
        client=None,
    ):
        self.n_components = n_components
        self.covariance_types = covariance_types
        self.criterion = criterion
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.stopping = stopping
        self.inner_tol = inner_tol
        self.inner_max_iter = inner_max_iter
        self.n_jobs = n_jobs
        self.client = client

    def fit(self, X, y=None, *, progress: Callable[[int, int], None] | None = None):
        """Fit every model of the grid to ``X`` and keep the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored (scikit-learn's API).
        progress : callable, optional
            ``progress(done, total)`` is called as each fit finishes.

        Returns
        -------
        GaussianMixtureSelection
            The fitted estimator itself.

        Raises
        ------
        ValueError
            For a setting no fit can use (an empty or unknown grid, a criterion
            not ``"bic"``, ``"aic"`` or ``"icl"``), or when every fit failed (with the
            first reason).
        """
        from sklearn.utils.validation import validate_data

        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        counts = components_grid(self.n_components)
        kinds = covariance_types_grid(self.covariance_types)
        check_criterion(self.criterion)
        params = self._mixture_params()
        # settings every fit would refuse: refused once here, not recorded in every row
        GaussianMixture(max(counts), **params)._check_parameters(*X.shape)
        cells = [Cell(K, kind) for K in counts for kind in kinds]
        results, models = fit_grid(
            {None: X}, cells, params, n_jobs=self.n_jobs, client=self.client, progress=progress
        )
        best = best_index(results, self.criterion)
        if best is None:
            raise ValueError(
                f"{every_fit_failed(results)}; try fewer components or a larger reg_covar"
            )
        self.results_ = results
        self.best_index_ = best
        self.best_params_ = {
            "n_components": results[best]["n_components"],
            "covariance_type": results[best]["covariance_type"],
        }
        self.best_estimator_ = models[best]
        self.best_score_ = results[best][self.criterion]
        return self

    def _mixture_params(self) -> dict:
        """The options every cell's GaussianMixture gets (with one int seed)."""
        seed = self.random_state
        if seed is None or isinstance(seed, np.random.RandomState):
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        return {
            "n_init": self.n_init,
            "init_params": self.init_params,
            "random_state": seed,
            "tol": self.tol,
            "reg_covar": self.reg_covar,
            "max_iter": self.max_iter,
            "stopping": self.stopping,
            "inner_tol": self.inner_tol,
            "inner_max_iter": self.inner_max_iter,
        }

    # the chosen model's inference
    def predict(self, X):
        """Predict the most probable component of each row, under the chosen model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        ndarray of shape (n_samples,)
            The component of each row.
        """
        return self._best().predict(X)

    def predict_proba(self, X):
        """Compute each component's posterior probability for each row, under the chosen model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            The probabilities, each row summing to 1.
        """
        return self._best().predict_proba(X)

    def score_samples(self, X):
        """Compute each row's log-likelihood under the chosen model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        ndarray of shape (n_samples,)
            The log density of each row.
        """
        return self._best().score_samples(X)

    def score(self, X, y=None):
        """Compute the mean log-likelihood of the rows under the chosen model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored (scikit-learn's API).

        Returns
        -------
        float
            The mean of :meth:`score_samples`.
        """
        return self._best().score(X)

    def bic(self, X):
        """Compute the Bayesian information criterion of the chosen model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        float
            ``-2 log L + p log n`` (lower is better).
        """
        return self._best().bic(X)

    def aic(self, X):
        """Compute the Akaike information criterion of the chosen model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        float
            ``-2 log L + 2 p`` (lower is better).
        """
        return self._best().aic(X)

    def _best(self) -> GaussianMixture:
        check_is_fitted(self)
        return self.best_estimator_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.non_deterministic = self.random_state is None
        return tags


def components_grid(n_components) -> list[int]:
    """The numbers of components of the grid: ``1..k`` for an int, else the values given
    (each a positive int, no repeats, in increasing order)."""
    if isinstance(n_components, int | np.integer) and not isinstance(n_components, bool):
        _check_int("n_components", n_components, 1)
        return list(range(1, int(n_components) + 1))
    if isinstance(n_components, str) or not isinstance(n_components, Iterable):
        raise TypeError(f"n_components must be an int or an iterable of ints, got {n_components!r}")
    counts = list(n_components)
    if not counts:
        raise ValueError("n_components is empty; give at least one number of components")
    for value in counts:
        _check_int("n_components", value, 1)
    if len(set(counts)) != len(counts):
        raise ValueError(f"n_components repeats a value: {counts}")
    return sorted(int(value) for value in counts)


def covariance_types_grid(covariance_types) -> list[str]:
    """The covariance types of the grid (a name or names from the table, no repeats;
    ``"all"`` is mclust's fourteen structures)."""
    kinds = [covariance_types] if isinstance(covariance_types, str) else list(covariance_types)
    kinds = expand_all(kinds)
    if not kinds:
        raise ValueError("covariance_types is empty; give at least one covariance type")
    known = covariance_type_names()
    for kind in kinds:
        if kind not in known:
            raise ValueError(
                f"unknown covariance type {kind!r}; choose from {choices()}, "
                "or 'all' (mclust's fourteen)"
            )
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"covariance_types repeats a type: {kinds}")
    return kinds


def check_criterion(criterion) -> None:
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; choose from {', '.join(CRITERIA)}")


def every_fit_failed(results: list[dict], where: str = "") -> str:
    """What went wrong when no fit of ``results`` worked (``where``: e.g. " on 2
    components"): how many, and the first one's reason."""
    first = results[0]
    return (
        f"every one of the {len(results)} fits{where} failed (the first, "
        f"{first['n_components']} {first['covariance_type']} components: {first['error']})"
    )
