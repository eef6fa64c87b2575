"""The GaussianMixture estimator: EM as passes of chunk statistics.

A thin shell over :mod:`pcagmm.mixture.kernels`. Its parameters, attributes and
results follow :class:`sklearn.mixture.GaussianMixture` (same initialisation, same
random numbers, same stopping rule), so the two agree to rounding; what it adds is
chunked passes (memory maps, bounded memory), ``sample_weight`` and float64
accumulation for float32 input.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..rows import validate_rows
from ..rows.chunks import (
    blas_threads,
    check_chunk_rows,
    default_chunk_rows,
    first_rows_mean,
    iter_row_chunks,
)
from . import convergence, kernels
from .covariance import MCLUST_NAMES, IllConditionedError, InnerIteration, covariance_type
from .em_pass import EMPass
from .initialization import INIT_PARAMS, initial_sums
from .kernels import Model

#: the iterative M-steps' defaults (mclust's emControl())
INNER = InnerIteration()
#: mclust's structures with an orientation (third letter E or V), which one feature
#: does not have (mclust refuses them on univariate data); VVV and EEE are left out:
#: they are scikit-learn's full and tied, which fit one feature as scikit-learn does
ORIENTED = tuple(name for name in MCLUST_NAMES if name[2] != "I" and name not in ("VVV", "EEE"))

#: below this many features the k-means start runs on one thread: thread start-up
#: costs more than the small products gain. EM passes always run BLAS on one thread
#: and parallelise over chunks themselves (see em_pass).
SINGLE_THREAD_BELOW_FEATURES = 16


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by EM, one pass of chunk statistics per iteration.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : str, default="full"
        The covariance structure: scikit-learn's "full", "tied", "diag" or "spherical",
        or one of mclust's fourteen structures ``lambda_k D_k A_k D_k^T``: "EII", "VII",
        "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV",
        "VVV" (see ``pcagmm.mixture.covariance``). "VVV" is "full", "EEE" "tied", "VVI"
        "diag" and "VII" "spherical" (each pair one implementation); the other ten
        store their covariances as (n_components, n_features, n_features) matrices
        and take mclust's M-step.
    tol : float, default=1e-3
        The tolerance of the stopping rule.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
        EM iterations at most.
    n_init : int, default=1
        Initialisations tried; the one with the best final bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "hierarchical"}
        The start, default "kmeans". The first four as scikit-learn's (k-means is
        scikit-learn's KMeans, so the start is identical).
        ``"hierarchical"`` as mclust: model-based (VVV) agglomeration on a random subset
        of at most 2,000 rows, then one M-step and EM on all rows (``sample_weight`` is
        ignored by the agglomeration).
    weights_init, means_init, precisions_init : array-like, optional
        Starting parameters, overriding those from the initialisation.
    random_state : int, RandomState or None
        Seeds the initialisation (turned into a RandomState once per fit).
    warm_start : bool, default=False
        Start a new fit from the last one's parameters (one initialisation).
    verbose : int, default=0
        Print a line per initialisation (1), and also every ``verbose_interval``-th
        iteration with its time and change of log-likelihood (2 or more).
    verbose_interval : int, default=10
        Iterations between two printed iterations.
    chunk_rows : int, optional
        Rows per chunk in each pass; by default about 32 MiB of working arrays.
    stopping : {"absolute", "relative", "aitken"}, default="absolute"
        When EM stops (see ``pcagmm.mixture.convergence``): ``"absolute"`` is
        scikit-learn's rule, the mean log-likelihood gaining less than ``tol``;
        ``"relative"`` is mclust's, ``|L_t - L_{t-1}| <= tol (1 + |L_t|)`` on the total
        log-likelihood; ``"aitken"`` stops when Aitken's extrapolated limit of the mean
        log-likelihood is within ``tol`` of its current value.
    acceleration : {None, "squarem"}, default=None
        ``"squarem"``: Varadhan & Roland's SQUAREM over the EM map, with a monotone
        safeguard (an extrapolation that lowers the log-likelihood or leaves a
        covariance not positive definite falls back to the plain EM step). Fewer
        passes to the same optimum; ``n_iter_`` then counts passes.
    inner_tol : float, default=1.49e-8
        The tolerance of the iterative M-steps (mclust's VEI, VEE, EVE, VVE, VEV),
        mclust's ``emControl()$tol[2]`` (the square root of double precision); the
        other structures ignore it.
    inner_max_iter : int, default=2147483647
        Their iteration limit per M-step (mclust's ``itmax[2]``); stopping there
        warns (:class:`~pcagmm.mixture.covariance.InnerConvergenceWarning`).

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        As in scikit-learn.
    converged_ : bool
        Whether the stopping rule stopped EM (False: ``max_iter`` did).
    n_iter_ : int
        Passes over the rows (EM iterations) of the best initialisation.
    lower_bound_ : float
        Mean log-likelihood (per unit of sample weight) of the best initialisation.
    lower_bounds_ : list of float
        The bound after each iteration of the best initialisation (with SQUAREM: of
        each iterate, three passes apart at most; never decreasing).
    extrapolations_ : tuple of int
        SQUAREM's extrapolations taken and dropped by the safeguard ((0, 0) without).
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        chunk_rows=None,
        stopping="absolute",
        acceleration=None,
        inner_tol=INNER.tol,
        inner_max_iter=INNER.max_iter,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_rows = chunk_rows
        self.stopping = stopping
        self.acceleration = acceleration
        self.inner_tol = inner_tol
        self.inner_max_iter = inner_max_iter

    # ------------------------------------------------------------------------- fitting

    def fit(self, X, y=None, sample_weight=None):
        """Fit the mixture to ``X`` by EM; ``sample_weight`` weights each row's statistics.

        ``X`` may be a Dask array: each EM pass then sums the blocks' statistics on
        the workers, and only the sums travel. The k-means start needs the rows in one
        process up to ``KMEANS_SAMPLE_ABOVE`` (a million) rows (scikit-learn's k-means,
        so the start is the in-memory one); above, it runs on a sample and then Lloyd
        passes on the workers. The other ``init_params`` gather the rows at any size,
        once per initialisation.

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored (scikit-learn's API).
        sample_weight : array-like of shape (n_samples,), optional
            Each row's weight; integer weights equal repeated rows.

        Returns
        -------
        GaussianMixture
            The fitted estimator itself.
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most probable component of each row of ``X``.

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored (scikit-learn's API).
        sample_weight : array-like of shape (n_samples,), optional
            Each row's weight; integer weights equal repeated rows.

        Returns
        -------
        ndarray or Dask array of shape (n_samples,)
            The component of each row, as ``fit(X).predict(X)`` gives it.
        """
        X, rows = self._fit(X, sample_weight)
        return rows.map(_predict_block, X, None, np.int64, self)

    def _fit(self, X, sample_weight):
        """Fit; returns ``X`` validated and its row engine driver."""
        X, rows = validate_rows(self, X, reset=True, dtype=_FLOATS, ensure_min_samples=2)
        n, d = X.shape
        self._check_parameters(n, d)
        if sample_weight is not None:
            rows.check_sample_weight(sample_weight)
            sample_weight = _check_weights(sample_weight, X)
        shift = first_rows_mean(X)
        em = EMPass(
            shift,
            self.covariance_type,
            self.n_components,
            check_chunk_rows(self.chunk_rows),
            threads=rows.threads,
            keep_features=rows.keeps_row_data,
        )
        random_state = check_random_state(self.random_state)

        def em_pass(params):
            """One pass: the mean log-likelihood at ``params`` and the next parameters."""
            weights, means, _, factor = params
            model = Model.build(self.covariance_type, weights, means - shift, factor)
            sums = rows.reduce(em.sums, X, model, sample_weight)
            return sums.log_likelihood / sums.weight, self._m_step(sums, shift, params[2])

        with em, blas_threads(1):
            self._fit_from_starts(
                lambda init: self._initial_parameters(
                    X, rows, sample_weight, random_state, shift, init
                ),
                em_pass,
                d=d,
                weight=float(n if sample_weight is None else sample_weight.sum()),
                valid=self._complete,
            )
        return X, rows

    def _fit_from_starts(self, initial, em_pass, *, d, weight, valid, end_at_evaluated=None):
        """Iterate ``em_pass`` to its stop from each of the ``n_init`` starts
        (``initial(init)`` makes the ``init``-th start's parameters), or once from the
        fitted parameters on a warm start; keep the start with the best final bound and
        set the fitted attributes from it, warning as scikit-learn does where it did not
        converge. ``weight``, ``valid`` and ``end_at_evaluated`` go to
        :func:`~pcagmm.mixture.convergence.iterate`."""
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        best = None
        self.converged_ = False
        for init in range(self.n_init if do_init else 1):
            if self.verbose:
                print(f"Initialization {init}")
            started = time.perf_counter()
            if do_init:
                # k-means gains from threads only on wider data (measured: 22 ms on one
                # thread, 137 ms on two, for MNIST-PCA-2)
                with blas_threads(1 if d < SINGLE_THREAD_BELOW_FEATURES else None):
                    params = initial(init)
                bound = -np.inf
            else:
                params, bound = self._get_parameters(), self.lower_bound_
            trace = convergence.iterate(
                em_pass,
                params,
                stopping=self.stopping,
                tol=self.tol,
                max_iter=self.max_iter,
                weight=weight,
                acceleration=self.acceleration,
                valid=valid,
                bound=bound,
                on_pass=self._verbose_pass(started) if self.verbose >= 2 else None,
                end_at_evaluated=end_at_evaluated,
            )
            if self.verbose:
                print(
                    f"Initialization {'converged' if trace.converged else 'did not converge'}."
                    f" time lapse {time.perf_counter() - started:.5f}s\t lower bound "
                    f"{trace.bound:.5f}"
                )
            if best is None or trace.bound > best.bound or best.bound == -np.inf:
                best = trace
                self.converged_ = trace.converged
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=4,
            )
        self._set_parameters(best.params)
        self.n_iter_ = best.passes
        self.lower_bound_ = best.bound
        self.lower_bounds_ = best.bounds
        self.extrapolations_ = (best.extrapolations, best.rejected)

    def _verbose_pass(self, started):
        previous = [-np.inf]

        def show(passes, bound):
            if passes % self.verbose_interval == 0:
                print(
                    f"  Iteration {passes}\t time lapse "
                    f"{time.perf_counter() - started:.5f}s\t ll change {bound - previous[0]:.5f}"
                )
            previous[0] = bound

        return show

    def _complete(self, partial):
        """Extrapolated ``(weights, means, covariances)`` with their Cholesky factors, or
        None where they are not a valid mixture (for SQUAREM's safeguard)."""
        weights, means, covariances = partial
        if not (np.all(weights > 0) and np.all(weights <= 1) and np.all(np.isfinite(means))):
            return None
        if not np.all(np.isfinite(covariances)):
            return None
        try:
            factor = kernels.precision_cholesky(covariances, self.covariance_type)
        except IllConditionedError:
            return None
        return weights / weights.sum(), means, covariances, factor

    def _inner_iteration(self) -> InnerIteration:
        """The iterative M-steps' tolerance and limit, as set."""
        return InnerIteration(self.inner_tol, self.inner_max_iter)

    def _m_step(self, sums: kernels.Sums, shift, previous=None):
        nk, means, covariances = kernels.parameters_from_sums(
            sums,
            shift,
            self.reg_covar,
            self.covariance_type,
            previous=previous,
            inner=self._inner_iteration(),
        )
        factor = kernels.precision_cholesky(covariances, self.covariance_type)
        return nk / nk.sum(), means, covariances, factor

    def _initial_parameters(self, X, rows, sample_weight, random_state, shift, init_index=0):
        """Responsibilities as scikit-learn draws them, then parameters from their sums.

        With all three of ``weights_init``, ``means_init`` and ``precisions_init`` given
        no responsibilities are drawn (scikit-learn draws them and overrides every
        parameter they give; skipping saves a refit its k-means pass).
        """
        if self._starts_from_parameters():
            return self._given_parameters()
        total = initial_sums(
            X,
            rows,
            init_params=self.init_params,
            n_components=self.n_components,
            kind=self.covariance_type,
            shift=shift,
            random_state=random_state,
            chunk_rows=self._chunk_rows(X.shape[1]),
            sample_weight=sample_weight,
            init_index=init_index,
        )
        nk, means, covariances = kernels.parameters_from_sums(
            total,
            shift,
            self.reg_covar,
            self.covariance_type,
            inner=self._inner_iteration(),
        )
        weights = nk / total.weight  # as scikit-learn: not renormalised before the first E-step
        if self.weights_init is not None:
            weights = np.asarray(self.weights_init, dtype=np.float64)
        if self.means_init is not None:
            means = np.asarray(self.means_init, dtype=np.float64)
        if self.precisions_init is None:
            factor = kernels.precision_cholesky(covariances, self.covariance_type)
        else:
            covariances, factor = self._given_covariances()
        return weights, means, covariances, factor

    def _starts_from_parameters(self) -> bool:
        return not any(
            value is None for value in (self.weights_init, self.means_init, self.precisions_init)
        )

    def _given_parameters(self):
        """``(weights, means, covariances, factor)`` of the three ``*_init``."""
        weights = np.asarray(self.weights_init, dtype=np.float64)
        means = np.asarray(self.means_init, dtype=np.float64)
        return (weights, means, *self._given_covariances())

    def _given_covariances(self):
        """The covariances ``precisions_init`` stands for (an iterative M-step starts
        from them) and the Cholesky factor of the precisions."""
        precisions = np.asarray(self.precisions_init, dtype=np.float64)
        factor = kernels.precision_cholesky_from_precisions(precisions, self.covariance_type)
        if covariance_type(self.covariance_type).holds_matrices:
            covariances = np.linalg.inv(precisions)
        else:
            covariances = 1.0 / precisions
        return covariances, factor

    # ------------------------------------------------------------------------- parameters

    def _get_parameters(self):
        return self.weights_, self.means_, self.covariances_, self.precisions_cholesky_

    def _set_parameters(self, params):
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        self.precisions_ = kernels.precisions_from_cholesky(
            self.precisions_cholesky_, self.covariance_type
        )

    def _n_parameters(self) -> int:
        return kernels.n_parameters(self.n_components, self.means_.shape[1], self.covariance_type)

    # ------------------------------------------------------------------------- inference

    def _weighted_log_prob(self, X):
        """Chunks of log(weight_k) + log N(x | k), as (start, array) pairs."""
        shift = self.means_.mean(axis=0)
        model = self._inference_model(shift)
        for start, chunk in iter_row_chunks(X, self._chunk_rows(X.shape[1]), shift):
            yield start, kernels.log_gaussian(chunk, model) + model.log_weights

    def _inference_model(self, shift) -> Model:
        """The fitted model an E-step evaluates, about ``shift``."""
        return Model.build(
            self.covariance_type, self.weights_, self.means_ - shift, self.precisions_cholesky_
        )

    def _validated(self, X):
        """``(X, driver)`` for inference on a fitted model."""
        check_is_fitted(self)
        return validate_rows(self, X, reset=False, dtype=_FLOATS)

    def score_samples(self, X):
        """Compute the log-likelihood of each row of ``X`` under the mixture.

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        ndarray or Dask array of shape (n_samples,)
            The log density of each row (lazy for a Dask array).
        """
        X, rows = self._validated(X)
        return rows.map(_score_block, X, None, np.float64, self)

    def score(self, X, y=None):
        """Compute the mean log-likelihood of the rows of ``X``.

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows.
        y : None
            Ignored (scikit-learn's API).

        Returns
        -------
        float
            The mean of :meth:`score_samples`.
        """
        return float(self.score_samples(X).mean())

    def predict(self, X):
        """Predict the most probable component of each row of ``X``.

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        ndarray or Dask array of shape (n_samples,)
            The component of each row (lazy for a Dask array).
        """
        X, rows = self._validated(X)
        return rows.map(_predict_block, X, None, np.int64, self)

    def predict_proba(self, X):
        """Compute the posterior probability of each component for each row of ``X``.

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        ndarray or Dask array of shape (n_samples, n_components)
            The probabilities, each row summing to 1 (lazy for a Dask array).
        """
        X, rows = self._validated(X)
        return rows.map(_proba_block, X, self.n_components, np.float64, self)

    def sample(self, n_samples=1):
        """Draw ``n_samples`` rows and their components (scikit-learn's procedure).

        Parameters
        ----------
        n_samples : int, default=1
            The number of rows to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The rows drawn, component by component.
        y : ndarray of shape (n_samples,)
            The component of each row.
        """
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples}. The sampling requires at "
                "least one sample."
            )
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        kind = covariance_type(self.covariance_type)
        X = kind.sample(rng, self.means_, self.covariances_, counts)
        y = np.concatenate([np.full(count, j, dtype=int) for j, count in enumerate(counts)])
        return X, y

    def bic(self, X):
        """Compute the Bayesian information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        float
            ``-2 log L + p log n``, with ``p`` the number of free parameters.
        """
        n = self._validated(X)[0].shape[0]
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Compute the Akaike information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like, memory map or Dask array of shape (n_samples, n_features)
            The rows.

        Returns
        -------
        float
            ``-2 log L + 2 p``, with ``p`` the number of free parameters.
        """
        n = self._validated(X)[0].shape[0]
        return -2 * self.score(X) * n + 2 * self._n_parameters()

    # ------------------------------------------------------------------------- checks

    def _chunk_rows(self, d: int) -> int:
        K = self.n_components
        per_row = K * (d + 3) + (d * (d + 1)) // 2 + d
        return check_chunk_rows(self.chunk_rows) or default_chunk_rows(d, per_row)

    def _check_parameters(self, n: int, d: int) -> None:
        _check_int("n_components", self.n_components, 1)
        _check_int("max_iter", self.max_iter, 0)
        _check_int("n_init", self.n_init, 1)
        _check_int("verbose_interval", self.verbose_interval, 1)
        _check_number("tol", self.tol, 0.0)
        _check_number("reg_covar", self.reg_covar, 0.0)
        if self.stopping not in convergence.STOPPING_RULES:
            raise ValueError(
                f"stopping must be one of {', '.join(convergence.STOPPING_RULES)}, "
                f"got {self.stopping!r}"
            )
        if self.acceleration not in convergence.ACCELERATIONS:
            raise ValueError(f"acceleration must be None or 'squarem', got {self.acceleration!r}")
        if self.acceleration == "squarem" and self.stopping == "aitken":
            raise ValueError(convergence.AITKEN_WITH_SQUAREM)
        check_chunk_rows(self.chunk_rows)
        kind = covariance_type(self.covariance_type)
        _check_number("inner_tol", self.inner_tol, 0.0)
        _check_int("inner_max_iter", self.inner_max_iter, 1)
        if d == 1 and self.covariance_type in ORIENTED:
            raise ValueError(
                f"covariance_type {self.covariance_type!r} has an orientation, which one "
                "feature does not have; use EII or VII (mclust's E and V), or full"
            )
        if self.init_params not in INIT_PARAMS:
            raise ValueError(
                f"init_params must be one of {', '.join(INIT_PARAMS)}, got {self.init_params!r}"
            )
        K = self.n_components
        if n < K:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {K}, "
                f"n_samples = {n}; use fewer components"
            )
        if self.weights_init is not None:
            weights = _array("weights_init", self.weights_init, (K,))
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError("weights_init must lie in [0, 1]")
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(f"weights_init must sum to 1, got sum {weights.sum():.6f}")
        if self.means_init is not None:
            _array("means_init", self.means_init, (K, d))
        if self.precisions_init is not None:
            precisions = _array("precisions_init", self.precisions_init, kind.shape(K, d))
            kind.check_precisions(precisions)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


_FLOATS = [np.float64, np.float32]


def _predict_block(block, gmm) -> np.ndarray:
    """The most probable component of each row of a block."""
    out = np.empty(block.shape[0], dtype=np.int64)
    for start, wlp in gmm._weighted_log_prob(block):
        out[start : start + len(wlp)] = wlp.argmax(axis=1)
    return out


def _proba_block(block, gmm) -> np.ndarray:
    """The components' posterior probabilities for each row of a block."""
    out = np.empty((block.shape[0], gmm.n_components))
    for start, wlp in gmm._weighted_log_prob(block):
        out[start : start + len(wlp)] = np.exp(wlp - logsumexp(wlp, axis=1)[:, np.newaxis])
    return out


def _score_block(block, gmm) -> np.ndarray:
    """The log-likelihood of each row of a block."""
    out = np.empty(block.shape[0])
    for start, wlp in gmm._weighted_log_prob(block):
        out[start : start + len(wlp)] = logsumexp(wlp, axis=1)
    return out


def _check_weights(sample_weight, X) -> np.ndarray:
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight must be finite")
    if weights.sum() <= 0:
        raise ValueError("sample_weight must not be all zero")
    return weights


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")


def _check_number(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not value >= minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _array(name, value, shape) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array
