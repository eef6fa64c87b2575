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
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..distributed import is_dask_array
from ..stats import (
    blas_threads,
    check_chunk_rows,
    default_chunk_rows,
    first_rows_mean,
    iter_row_chunks,
)
from . import kernels
from .em_pass import EMPass
from .kernels import COVARIANCE_TYPES, Model, Sums

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
#: above this many rows the k-means start runs on a uniform sample of
#: KMEANS_SAMPLE_ROWS rows, then refines its centres by chunked Lloyd passes over every
#: row (scikit-learn's KMeans on all rows copies them and holds several row-sized
#: arrays: ~0.8 GB at 8.4 million rows of 2 columns). Up to this size the start is
#: scikit-learn's exactly.
KMEANS_SAMPLE_ABOVE = 1_000_000
KMEANS_SAMPLE_ROWS = 200_000
#: the full Lloyd passes that refine the sample's centres stop when the centres move
#: less than this fraction of the mean feature variance (scikit-learn's KMeans tol), or
#: after this many passes
KMEANS_TOL = 1e-4
KMEANS_MAX_FULL_PASSES = 100
#: below this many features the k-means start runs on one thread: thread start-up
#: costs more than the small products gain. EM passes always run BLAS on one thread
#: and parallelise over chunks themselves (see em_pass).
SINGLE_THREAD_BELOW_FEATURES = 16


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by EM, one pass of chunk statistics per iteration.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        EM stops when the mean log-likelihood gains less than this.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
    n_init : int, default=1
        Initialisations tried; the one with the best final bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        As scikit-learn's (k-means is scikit-learn's KMeans, so the start is identical).
    weights_init, means_init, precisions_init : array-like, optional
        Starting parameters, overriding those from the initialisation.
    random_state : int, RandomState or None
        Seeds the initialisation (turned into a RandomState once per fit).
    warm_start : bool, default=False
        Start a new fit from the last one's parameters (one initialisation).
    verbose : int, default=0
    verbose_interval : int, default=10
    chunk_rows : int, optional
        Rows per chunk in each pass; by default about 32 MiB of working arrays.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        As in scikit-learn.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood (per unit of sample weight) of the best initialisation.
    lower_bounds_ : list of float
        The bound after each iteration of the best initialisation.
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

    # ------------------------------------------------------------------------- fitting

    def fit(self, X, y=None, sample_weight=None):
        """Fit the mixture to ``X`` by EM; ``sample_weight`` weights each row's statistics.

        ``X`` may be a Dask array: each EM pass then sums the blocks' statistics on
        the workers, and only the sums travel. The k-means start needs the rows in one
        process up to :data:`KMEANS_SAMPLE_ABOVE` rows (scikit-learn's k-means, so the
        start is the in-memory one); above, it runs on a sample and then Lloyd passes on
        the workers. The other ``init_params`` gather the rows at any size, once per
        initialisation.
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most probable component of each row of ``X``."""
        X = self._fit(X, sample_weight)
        if is_dask_array(X):
            return self.predict(X)
        return self._predict_validated(X)

    def _fit(self, X, sample_weight):
        dask_input = is_dask_array(X)
        X = self._validate_dask(X, reset=True) if dask_input else self._validate_fit_input(X)
        n, d = X.shape
        self._check_parameters(n, d)
        if sample_weight is not None:
            if dask_input:
                raise ValueError(
                    "sample_weight is not supported with a Dask array; "
                    "fit on a NumPy array or memory map to weight the rows"
                )
            sample_weight = _check_weights(sample_weight, X)
        shift = first_rows_mean(X)
        if dask_input:
            em_pass = DaskEMPass(X, shift, self.covariance_type, self.n_components,
                                 check_chunk_rows(self.chunk_rows))  # fmt: skip
        else:
            em_pass = EMPass(
                X, shift, self.covariance_type, self.n_components,
                check_chunk_rows(self.chunk_rows), sample_weight,
            )  # fmt: skip
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        best, best_bound, best_bounds, best_n_iter = None, -np.inf, [], 0
        self.converged_ = False
        with em_pass, blas_threads(1):
            for init in range(n_init):
                if self.verbose:
                    print(f"Initialization {init}")
                started = time.perf_counter()
                if do_init:
                    # k-means gains from threads only on wider data (measured: 22 ms on
                    # one thread, 137 ms on two, for MNIST-PCA-2)
                    with blas_threads(1 if d < SINGLE_THREAD_BELOW_FEATURES else None):
                        params = self._initial_parameters(X, sample_weight, random_state, shift)
                    bound = -np.inf
                else:
                    params = self._get_parameters()
                    bound = self.lower_bound_
                bounds, converged, n_iter = [], False, 0
                for n_iter in range(1, self.max_iter + 1):
                    previous = bound
                    weights, means, _, factor = params
                    sums = em_pass(
                        Model.build(self.covariance_type, weights, means - shift, factor)
                    )
                    bound = sums.log_likelihood / sums.weight
                    params = self._m_step(sums, shift)
                    bounds.append(bound)
                    change = bound - previous
                    if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
                        print(
                            f"  Iteration {n_iter}\t time lapse "
                            f"{time.perf_counter() - started:.5f}s\t ll change {change:.5f}"
                        )
                    if abs(change) < self.tol:
                        converged = True
                        break
                if self.verbose:
                    print(
                        f"Initialization {'converged' if converged else 'did not converge'}."
                        f" time lapse {time.perf_counter() - started:.5f}s\t lower bound "
                        f"{bound:.5f}"
                    )
                if best is None or bound > best_bound or best_bound == -np.inf:
                    best, best_bound, best_bounds, best_n_iter = params, bound, bounds, n_iter
                    self.converged_ = converged
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._set_parameters(best)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = best_bound
        self.lower_bounds_ = best_bounds
        return X

    def _m_step(self, sums: Sums, shift):
        nk, means, covariances = kernels.parameters_from_sums(
            sums, shift, self.reg_covar, self.covariance_type
        )
        factor = kernels.precision_cholesky(covariances, self.covariance_type)
        return nk / nk.sum(), means, covariances, factor

    def _initial_parameters(self, X, sample_weight, random_state, shift):
        """Responsibilities as scikit-learn draws them, then parameters from their sums."""
        total = self._initial_sums(X, sample_weight, random_state, shift)
        nk, means, covariances = kernels.parameters_from_sums(
            total, shift, self.reg_covar, self.covariance_type
        )
        weights = nk / total.weight  # as scikit-learn: not renormalised before the first E-step
        if self.weights_init is not None:
            weights = np.asarray(self.weights_init, dtype=np.float64)
        if self.means_init is not None:
            means = np.asarray(self.means_init, dtype=np.float64)
        if self.precisions_init is None:
            factor = kernels.precision_cholesky(covariances, self.covariance_type)
        else:
            factor = kernels.precision_cholesky_from_precisions(
                np.asarray(self.precisions_init, dtype=np.float64), self.covariance_type
            )
        return weights, means, covariances, factor

    def _initial_sums(self, X, sample_weight, random_state, shift) -> Sums:
        """The M-step sums of the starting responsibilities."""
        n, d = X.shape
        K = self.n_components
        labels = dense = None
        if self.init_params == "kmeans" and n > KMEANS_SAMPLE_ABOVE:
            return self._kmeans_start_at_scale(X, sample_weight, random_state, shift)
        if is_dask_array(X):
            from ..distributed import gather

            X = gather(X)  # scikit-learn's start needs every row in one process
            if not np.all(np.isfinite(X)):
                raise ValueError("Input X contains NaN or infinity")
        if self.init_params == "kmeans":
            from sklearn.cluster import KMeans

            labels = (
                KMeans(n_clusters=K, n_init=1, random_state=random_state)
                .fit(X, sample_weight=sample_weight)
                .labels_
            )
        elif self.init_params == "k-means++":
            from sklearn.cluster import kmeans_plusplus

            _, indices = kmeans_plusplus(
                X, K, random_state=random_state, sample_weight=sample_weight
            )
            labels = np.full(n, -1)
            labels[indices] = np.arange(K)
        elif self.init_params == "random":
            dense = random_state.uniform(size=(n, K))
            dense /= dense.sum(axis=1)[:, np.newaxis]
        else:  # random_from_data
            indices = random_state.choice(n, size=K, replace=False)
            labels = np.full(n, -1)
            labels[indices] = np.arange(K)

        chunk_rows = self._chunk_rows(d)
        total = Sums.zeros(K, d, self.covariance_type)
        for start, chunk in iter_row_chunks(X, chunk_rows, shift):
            stop = start + len(chunk)
            if dense is not None:
                resp = dense[start:stop]
            else:
                resp = np.zeros((len(chunk), K))
                part = labels[start:stop]
                hit = part >= 0
                resp[np.flatnonzero(hit), part[hit]] = 1.0
            w = None if sample_weight is None else sample_weight[start:stop]
            total.add(kernels.weighted_sums(chunk, resp, w, self.covariance_type))
        return total

    def _kmeans_start_at_scale(self, X, sample_weight, random_state, shift) -> Sums:
        """k-means for many rows: on a uniform sample, then Lloyd passes over every row.

        scikit-learn's KMeans (k-means++ seeding, then Lloyd) runs on
        :data:`KMEANS_SAMPLE_ROWS` rows drawn from ``random_state``; its centres are then
        refined by full passes, each assigning every row to its nearest centre and
        moving the centres to their rows' means, until they move less than
        scikit-learn's tolerance (1e-4 of the mean variance of the sample's features,
        squared distance summed over centres) or after :data:`KMEANS_MAX_FULL_PASSES`.
        The starting responsibilities are the last pass's assignment, so the start needs
        no row-sized array, and a Dask array's passes run on its workers.
        """
        centres, variance = _kmeans_centres_on_a_sample(
            X, self.n_components, sample_weight, random_state
        )
        centres = centres - shift
        tolerance = KMEANS_TOL * variance
        for _ in range(KMEANS_MAX_FULL_PASSES):
            sums = self._nearest_centre_pass(X, centres, shift, sample_weight, moments=False)
            filled = sums.mass > 0  # an emptied centre stays where it was
            moved = centres.copy()
            moved[filled] = sums.linear[filled] / sums.mass[filled, np.newaxis]
            shift_squared = float(np.sum((moved - centres) ** 2))
            centres = moved
            if shift_squared <= tolerance:
                break
        return self._nearest_centre_pass(X, centres, shift, sample_weight, moments=True)

    def _nearest_centre_pass(self, X, centres, shift, sample_weight, moments: bool) -> Sums:
        """Sums of every row given to its nearest centre: counts and sums only (a Lloyd
        pass), or with the second moments the M-step needs."""
        kind = self.covariance_type if moments else None
        if is_dask_array(X):
            from ..distributed import reduce_blocks

            return reduce_blocks(_block_centre_sums, X, shift, centres, kind)
        d = X.shape[1]
        total = Sums.zeros(self.n_components, d, kind or "spherical")
        for start, chunk in iter_row_chunks(X, self._chunk_rows(d), shift):
            w = None if sample_weight is None else sample_weight[start : start + len(chunk)]
            total.add(nearest_centre_sums(chunk, centres, kind, w))
        return total

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
        model = Model.build(
            self.covariance_type, self.weights_, self.means_ - shift, self.precisions_cholesky_
        )
        for start, chunk in iter_row_chunks(X, self._chunk_rows(X.shape[1]), shift):
            yield start, kernels.log_gaussian(chunk, model) + model.log_weights

    def _validated(self, X):
        check_is_fitted(self)
        if is_dask_array(X):
            return self._validate_dask(X, reset=False)
        return validate_data(self, X, reset=False, dtype=_FLOATS, copy=False)

    def _validate_dask(self, X, reset: bool):
        from ..distributed import validate_dask_array

        return validate_dask_array(self, X, reset)

    def _map_blocks(self, function, X, n_columns, dtype):
        from ..distributed import map_row_blocks

        return map_row_blocks(function, X, n_columns, dtype, self)

    def score_samples(self, X):
        """Log-likelihood of each row of ``X`` under the mixture (lazy for a Dask array)."""
        X = self._validated(X)
        if is_dask_array(X):
            return self._map_blocks(_score_block, X, None, np.float64)
        out = np.empty(X.shape[0])
        for start, wlp in self._weighted_log_prob(X):
            out[start : start + len(wlp)] = logsumexp(wlp, axis=1)
        return out

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of ``X``."""
        return float(self.score_samples(X).mean())

    def predict(self, X):
        """The most probable component of each row of ``X`` (lazy for a Dask array)."""
        X = self._validated(X)
        if is_dask_array(X):
            return self._map_blocks(_predict_block, X, None, np.int64)
        return self._predict_validated(X)

    def _predict_validated(self, X):
        out = np.empty(X.shape[0], dtype=np.int64)
        for start, wlp in self._weighted_log_prob(X):
            out[start : start + len(wlp)] = wlp.argmax(axis=1)
        return out

    def predict_proba(self, X):
        """Posterior probability of each component for each row of ``X`` (lazy for Dask)."""
        X = self._validated(X)
        if is_dask_array(X):
            return self._map_blocks(_proba_block, X, self.n_components, np.float64)
        out = np.empty((X.shape[0], self.n_components))
        for start, wlp in self._weighted_log_prob(X):
            out[start : start + len(wlp)] = np.exp(wlp - logsumexp(wlp, axis=1)[:, np.newaxis])
        return out

    def sample(self, n_samples=1):
        """Draw ``n_samples`` rows and their components (scikit-learn's procedure)."""
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples}. The sampling requires at "
                "least one sample."
            )
        _, d = self.means_.shape
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        if self.covariance_type == "full":
            X = np.vstack(
                [
                    rng.multivariate_normal(mean, covariance, int(count))
                    for (mean, covariance, count) in zip(
                        self.means_, self.covariances_, counts, strict=True
                    )
                ]
            )
        elif self.covariance_type == "tied":
            X = np.vstack(
                [
                    rng.multivariate_normal(mean, self.covariances_, int(count))
                    for (mean, count) in zip(self.means_, counts, strict=True)
                ]
            )
        else:
            X = np.vstack(
                [
                    mean + rng.standard_normal(size=(count, d)) * np.sqrt(covariance)
                    for (mean, covariance, count) in zip(
                        self.means_, self.covariances_, counts, strict=True
                    )
                ]
            )
        y = np.concatenate([np.full(count, j, dtype=int) for j, count in enumerate(counts)])
        return X, y

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better)."""
        X = self._validated(X)
        n = X.shape[0]
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better)."""
        X = self._validated(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()

    # ------------------------------------------------------------------------- checks

    def _validate_fit_input(self, X):
        return validate_data(self, X, dtype=_FLOATS, ensure_min_samples=2, copy=False)

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
        check_chunk_rows(self.chunk_rows)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, "
                f"got {self.covariance_type!r}"
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
            shape = {"full": (K, d, d), "tied": (d, d), "diag": (K, d), "spherical": (K,)}
            precisions = _array(
                "precisions_init", self.precisions_init, shape[self.covariance_type]
            )
            _check_precisions(precisions, self.covariance_type)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


_FLOATS = [np.float64, np.float32]


def _kmeans_centres_on_a_sample(X, K, sample_weight, random_state):
    """k-means (scikit-learn's: k-means++ seeding, then Lloyd) on a uniform sample of rows,
    and the mean variance of the sample's features (the scale of k-means' tolerance).

    The sample is drawn from ``random_state``, so the start is reproducible; for a
    Dask array only the sampled rows come to the client.
    """
    from sklearn.cluster import KMeans

    n = X.shape[0]
    sample = np.sort(random_state.choice(n, size=KMEANS_SAMPLE_ROWS, replace=False))
    weights = None if sample_weight is None else sample_weight[sample]
    rows = X[sample]
    if is_dask_array(rows):
        rows = rows.compute()
    rows = np.asarray(rows, dtype=np.float64)
    kmeans = KMeans(n_clusters=K, n_init=1, random_state=random_state)
    centres = kmeans.fit(rows, sample_weight=weights).cluster_centers_
    return centres, float(np.mean(np.var(rows, axis=0)))


def nearest_centre_sums(U, centres, covariance_type, sample_weight=None) -> Sums:
    """M-step sums of rows ``U`` each given wholly to its nearest centre.

    ``U`` and ``centres`` are relative to the same shift point. With
    ``covariance_type=None`` only the counts and the sums of the rows are made (what a
    Lloyd step needs; the second moments are left as zeros of the spherical shape).
    """
    K, d = centres.shape
    # argmin |u - c|^2 = argmin |c|^2 - 2 u.c
    distances = U @ (-2.0 * centres.T)
    distances += np.einsum("kd,kd->k", centres, centres)
    nearest = distances.argmin(axis=1)
    if covariance_type is not None:
        resp = np.zeros((len(U), K))
        resp[np.arange(len(U)), nearest] = 1.0
        return kernels.weighted_sums(U, resp, sample_weight, covariance_type)
    w = sample_weight
    mass = np.bincount(nearest, weights=w, minlength=K).astype(np.float64)
    linear = np.empty((K, d))
    for j in range(d):
        column = U[:, j] if w is None else U[:, j] * w
        linear[:, j] = np.bincount(nearest, weights=column, minlength=K)
    weight = float(len(U) if w is None else w.sum())
    return Sums(mass, linear, np.zeros(K), 0.0, weight)


def _block_centre_sums(block, shift, centres, covariance_type) -> Sums:
    U = np.asarray(block, dtype=np.float64) - shift
    return nearest_centre_sums(U, centres, covariance_type)


class DaskEMPass:
    """EM passes over a Dask array: each block's sums on the workers, added there."""

    def __init__(self, X, shift, covariance_type, n_components, chunk_rows):
        self.X = X
        self.args = (shift, covariance_type, n_components, chunk_rows)

    def __enter__(self) -> DaskEMPass:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __call__(self, model: Model) -> Sums:
        from ..distributed import reduce_blocks

        sums = reduce_blocks(_block_em_sums, self.X, model, *self.args)
        if not np.isfinite(sums.log_likelihood):
            # the rows are not checked up front (that would cost a pass): NaN or inf in
            # the data show here first
            raise ValueError("Input X contains NaN or infinity (or rows with zero density)")
        return sums


def _block_em_sums(block, model, shift, covariance_type, n_components, chunk_rows) -> Sums:
    """One block's EM sums (chunks one after another: the workers run blocks side by side)."""
    em_pass = EMPass(block, shift, covariance_type, n_components, chunk_rows, keep_features=False)
    return em_pass(model)


def _predict_block(block, gmm) -> np.ndarray:
    return gmm._predict_validated(np.asarray(block))


def _proba_block(block, gmm) -> np.ndarray:
    return gmm.predict_proba(np.asarray(block))


def _score_block(block, gmm) -> np.ndarray:
    return gmm.score_samples(np.asarray(block))


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


def _check_precisions(precisions: np.ndarray, covariance_type: str) -> None:
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0):
            raise ValueError(f"'{covariance_type} precision' should be positive")
        return
    matrices = precisions[np.newaxis] if covariance_type == "tied" else precisions
    for matrix in matrices:
        if not np.allclose(matrix, matrix.T) or np.any(np.linalg.eigvalsh(matrix) <= 0):
            raise ValueError(
                f"'{covariance_type} precision' should be symmetric, positive-definite"
            )
