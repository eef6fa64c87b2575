"""The variational Bayesian Gaussian mixture: EM's passes with other constants.

scikit-learn's :class:`sklearn.mixture.BayesianGaussianMixture`, on the row engine.
Each iteration is one pass of :class:`~pcagmm.mixture.em_pass.EMPass` (in memory,
streamed over chunks of a memory map, or summed on Dask's workers) under the
variational E-step's model, then the variational M-step from the pass's sums
(:func:`pcagmm.mixture.variational.update`) and the lower bound, also from sums
(:func:`pcagmm.mixture.variational.lower_bound`). Nothing row-sized is kept between
passes.

The fitting loop is :func:`pcagmm.mixture.convergence.iterate`, as EM's. The quantity
it watches is the lower bound after each variational M-step, which coordinate ascent
never lowers: so the stopping rules apply, on the *total* bound (scikit-learn's rule
for this model is ``|change| < tol`` on the total, not the mean), and SQUAREM's
safeguard (keep an extrapolation only when the bound the next pass reports has not
fallen) is valid. SQUAREM extrapolates every variational parameter: the weights'
concentrations, the means' precisions, the degrees of freedom, the means and the
(normalised) covariances; an extrapolation that leaves one of them outside its domain
is dropped.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..rows import validate_rows
from ..rows.chunks import blas_threads, check_chunk_rows, first_rows_mean
from . import convergence, kernels, variational
from .covariance import IllConditionedError, covariance_type
from .em_pass import EMPass
from .gaussian_mixture import (
    _FLOATS,
    GaussianMixture,
    _check_int,
    _check_number,
    _check_weights,
)
from .initialization import INIT_PARAMS, initial_sums
from .kernels import LOG_2PI, Model

#: the covariance types with a conjugate (Wishart) variational update: scikit-learn's
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: a component whose weight is below this is reported as switched off (a run's default)
KEPT_WEIGHT = 0.01


class BayesianGaussianMixture(GaussianMixture):
    """Variational Bayesian Gaussian mixture, one pass of chunk statistics per iteration.

    The parameters, attributes and results of
    :class:`sklearn.mixture.BayesianGaussianMixture` (same start, same updates, same
    stopping rule), so the two agree to rounding. Given more components than the
    data need, the weights' prior (a Dirichlet process by default) drives the weights
    of those not needed towards zero.

    Parameters
    ----------
    n_components : int, default=1
        The most components; the fit may use fewer.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        The covariance structure (scikit-learn's four; its Wishart prior has no other).
    tol : float, default=1e-3
        The tolerance of the stopping rule, on the total lower bound.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
        Iterations at most.
    n_init : int, default=1
        Initialisations tried; the one with the best final lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "hierarchical"}
        The starting responsibilities, as :class:`~pcagmm.GaussianMixture`'s.
    weight_concentration_prior_type : {"dirichlet_process", "dirichlet_distribution"}
        The weights' prior: the stick-breaking Dirichlet process (few components kept)
        or a Dirichlet distribution (scikit-learn's default is the process).
    weight_concentration_prior : float, optional
        The weights' concentration (gamma, or alpha); default ``1 / n_components``.
        Smaller keeps fewer components. Must be > 0.
    mean_precision_prior : float, optional
        The precision scale of the means' prior (beta_0); default 1. Must be > 0.
    mean_prior : array-like of shape (n_features,), optional
        The means' prior mean; default the (weighted) mean of the rows.
    degrees_of_freedom_prior : float, optional
        The Wishart's degrees of freedom (nu_0); default n_features. Must be
        > n_features - 1.
    covariance_prior : float or array-like, optional
        The Wishart's scale: (n_features, n_features) for full and tied,
        (n_features,) for diag, a float for spherical; default the rows' covariance
        (ddof=1; weighted as repeated rows with ``sample_weight``).
    random_state : int, RandomState or None
        Seeds the initialisation, as :class:`~pcagmm.GaussianMixture`'s.
    warm_start : bool, default=False
        Start a new fit from the last one's parameters (one initialisation).
    verbose : int, default=0
        Print a line per initialisation (1), and also every ``verbose_interval``-th
        iteration (2 or more).
    verbose_interval : int, default=10
        Iterations between two printed iterations.
    chunk_rows : int, optional
        Rows per chunk in each pass.
    stopping : {"absolute", "relative", "aitken"}, default="absolute"
        As :class:`~pcagmm.GaussianMixture`'s, on the total lower bound:
        ``"absolute"`` is scikit-learn's rule for this model.
    acceleration : {None, "squarem"}, default=None
        SQUAREM over all variational parameters, with the monotone safeguard.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        As scikit-learn's: the weights' posterior means, the means' posterior means,
        and the Wishart scale divided by its degrees of freedom.
    weight_concentration_ : ndarray or tuple of ndarray
        The Dirichlet's concentrations (K,), or the stick-breaking Beta's pair.
    mean_precision_ : ndarray of shape (K,)
    degrees_of_freedom_ : ndarray of shape (K,) (a float for tied)
    weight_concentration_prior_, mean_precision_prior_, mean_prior_,
    degrees_of_freedom_prior_, covariance_prior_
        The priors as used (the defaults resolved).
    converged_, n_iter_, lower_bound_, lower_bounds_, extrapolations_, n_features_in_
        As :class:`~pcagmm.GaussianMixture`'s; ``lower_bound_`` is the total
        variational lower bound, as scikit-learn's.
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
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        chunk_rows=None,
        stopping="absolute",
        acceleration=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_rows = chunk_rows
        self.stopping = stopping
        self.acceleration = acceleration

    # scikit-learn's BayesianGaussianMixture has no information criteria: its score is
    # not a likelihood. hasattr() is False for these, as there.
    @property
    def bic(self):
        """No BIC: the variational score is not a likelihood (``hasattr`` is False)."""
        raise AttributeError(
            "BayesianGaussianMixture has no bic: compare lower_bound_, or fit "
            "GaussianMixture for BIC"
        )

    @property
    def aic(self):
        """No AIC: the variational score is not a likelihood (``hasattr`` is False)."""
        raise AttributeError(
            "BayesianGaussianMixture has no aic: compare lower_bound_, or fit "
            "GaussianMixture for AIC"
        )

    # ------------------------------------------------------------------------- fitting

    def _fit(self, X, sample_weight):
        """Fit; returns ``X`` validated and its row engine driver."""
        X, rows = validate_rows(self, X, reset=True, dtype=_FLOATS, ensure_min_samples=2)
        n, d = X.shape
        self._check_parameters(n, d)
        if sample_weight is not None:
            rows.check_sample_weight(sample_weight)
            sample_weight = _check_weights(sample_weight, X)
        shift = first_rows_mean(X)
        chunk_rows = check_chunk_rows(self.chunk_rows)
        kind = self.covariance_type
        em = EMPass(
            shift,
            kind,
            self.n_components,
            chunk_rows,
            threads=rows.threads,
            keep_features=rows.keeps_row_data,
        )
        random_state = check_random_state(self.random_state)
        with em, blas_threads(1):
            prior = self._resolve_prior(X, rows, sample_weight, shift, chunk_rows)

            def initial(init):
                """The ``init``-th start: the variational M-step from its responsibilities."""
                start = initial_sums(
                    X,
                    rows,
                    init_params=self.init_params,
                    n_components=self.n_components,
                    kind=kind,
                    shift=shift,
                    random_state=random_state,
                    chunk_rows=self._chunk_rows(d),
                    sample_weight=sample_weight,
                    init_index=init,
                )
                return self._from_sums(start, shift, prior)

            def variational_pass(params):
                """One pass: the lower bound after the next variational M-step, and
                the parameters that M-step gives."""
                model = _e_step_model(params, shift, prior, kind)
                sums = rows.reduce(em.sums, X, model, sample_weight)
                following = self._from_sums(sums, shift, prior)
                return _lower_bound(sums, model, following, prior, kind), following

            self._fit_from_starts(
                initial,
                variational_pass,
                d=d,
                weight=1.0,  # the rules read the total bound
                valid=lambda partial: _complete(partial, prior, kind),
                end_at_evaluated=False,
            )
        return X, rows

    def _from_sums(self, sums: kernels.Sums, shift, prior: variational.Prior) -> tuple:
        """The variational M-step: parameters (packed) from a pass's sums."""
        nk, xk, sk = kernels.parameters_from_sums(sums, shift, self.reg_covar, self.covariance_type)
        posterior = variational.update(nk, xk, sk, prior, self.covariance_type)
        factor = kernels.precision_cholesky(posterior.covariances, self.covariance_type)
        return _pack(posterior, factor)

    def _resolve_prior(self, X, rows, sample_weight, shift, chunk_rows) -> variational.Prior:
        """The priors, the defaults from one pass over the rows where not given (their
        weighted mean and covariance, ``ddof=1``); sets the ``*_prior_`` attributes."""
        kind = self.covariance_type
        data_mean = data_covariance = None
        if self.mean_prior is None or self.covariance_prior is None:
            data_mean, data_covariance = _mean_and_covariance(
                X, rows, sample_weight, shift, chunk_rows, kind
            )
        prior = variational.resolve_prior(
            self.weight_concentration_prior_type,
            self.n_components,
            X.shape[1],
            kind,
            data_mean=data_mean,
            data_covariance=data_covariance,
            weight_concentration=self.weight_concentration_prior,
            mean_precision=self.mean_precision_prior,
            mean=self.mean_prior,
            degrees_of_freedom=self.degrees_of_freedom_prior,
            covariance=self.covariance_prior,
        )
        self.weight_concentration_prior_ = prior.weight_concentration
        self.mean_precision_prior_ = prior.mean_precision
        self.mean_prior_ = prior.mean
        self.degrees_of_freedom_prior_ = prior.degrees_of_freedom
        self.covariance_prior_ = prior.covariance
        return prior

    # ------------------------------------------------------------------------- parameters

    def _posterior(self) -> variational.Posterior:
        """The fitted variational posterior."""
        return variational.Posterior(
            self.weight_concentration_,
            self.mean_precision_,
            self.means_,
            self.degrees_of_freedom_,
            self.covariances_,
        )

    def _get_parameters(self):
        return _pack(self._posterior(), self.precisions_cholesky_)

    def _set_parameters(self, params):
        posterior, factor = _unpack(
            params, self.weight_concentration_prior_type, self.covariance_type
        )
        self.weight_concentration_ = posterior.weight_concentration
        self.mean_precision_ = posterior.mean_precision
        self.means_ = posterior.means
        self.degrees_of_freedom_ = posterior.degrees_of_freedom
        self.covariances_ = posterior.covariances
        self.precisions_cholesky_ = factor
        self.precisions_ = kernels.precisions_from_cholesky(factor, self.covariance_type)
        self.weights_ = posterior_weights(
            posterior.weight_concentration, self.weight_concentration_prior_type
        )

    def _inference_model(self, shift) -> Model:
        """The variational E-step's model: what scikit-learn's ``predict``,
        ``predict_proba`` and ``score_samples`` evaluate."""
        return _model(
            self._posterior(),
            self.precisions_cholesky_,
            shift,
            self.weight_concentration_prior_type,
            self.covariance_type,
        )

    def kept(self, threshold: float = KEPT_WEIGHT) -> np.ndarray:
        """Return the components the data kept, heaviest first.

        Parameters
        ----------
        threshold : float, default=0.01
            The smallest weight of a kept component.

        Returns
        -------
        ndarray of int
            The indices of the components whose weight is at least ``threshold``.
        """
        weights = np.asarray(self.weights_)
        order = np.argsort(-weights, kind="stable")
        return order[weights[order] >= threshold]

    def switched_off(self, threshold: float = KEPT_WEIGHT) -> np.ndarray:
        """Return the components the prior switched off, in increasing order.

        Parameters
        ----------
        threshold : float, default=0.01
            The smallest weight of a kept component.

        Returns
        -------
        ndarray of int
            The indices of the components below ``threshold`` (those :meth:`kept`
            leaves out).
        """
        return np.flatnonzero(np.asarray(self.weights_) < threshold)

    # ------------------------------------------------------------------------- checks

    def _check_parameters(self, n: int, d: int) -> None:
        _check_int("n_components", self.n_components, 1)
        _check_int("max_iter", self.max_iter, 0)
        _check_int("n_init", self.n_init, 1)
        _check_int("verbose_interval", self.verbose_interval, 1)
        _check_number("tol", self.tol, 0.0)
        _check_number("reg_covar", self.reg_covar, 0.0)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)} for the "
                f"variational mixture (the Wishart prior's), got {self.covariance_type!r}"
            )
        if self.weight_concentration_prior_type not in variational.PRIOR_TYPES:
            raise ValueError(
                "weight_concentration_prior_type must be one of "
                f"{', '.join(variational.PRIOR_TYPES)}, got "
                f"{self.weight_concentration_prior_type!r}"
            )
        for name in ("weight_concentration_prior", "mean_precision_prior"):
            value = getattr(self, name)
            if value is not None:
                _check_positive(name, value)
        if self.degrees_of_freedom_prior is not None:
            _check_number("degrees_of_freedom_prior", self.degrees_of_freedom_prior, -np.inf)
            if not self.degrees_of_freedom_prior > d - 1:
                raise ValueError(
                    f"degrees_of_freedom_prior must be greater than n_features - 1 = {d - 1}, "
                    f"got {self.degrees_of_freedom_prior}"
                )
        if self.mean_prior is not None:
            _prior_array("mean_prior", self.mean_prior, (d,))
        if self.covariance_prior is not None:
            _check_covariance_prior(self.covariance_prior, self.covariance_type, d)
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
        if self.init_params not in INIT_PARAMS:
            raise ValueError(
                f"init_params must be one of {', '.join(INIT_PARAMS)}, got {self.init_params!r}"
            )
        if n < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n}; use fewer components"
            )


# ----------------------------------------------------------------------------- pure parts


def posterior_weights(concentration, prior_type: str) -> np.ndarray:
    """The weights' posterior means (scikit-learn's ``weights_``)."""
    if prior_type == "dirichlet_process":
        a, b = concentration
        total = a + b
        weights = a / total * np.hstack((1, np.cumprod(b / total)[:-1]))
        return weights / np.sum(weights)
    return concentration / np.sum(concentration)


def _pack(posterior: variational.Posterior, factor) -> tuple:
    """``(positive scalars, means, covariances, factor)``: the first three are what
    SQUAREM extrapolates (every variational parameter)."""
    concentration = posterior.weight_concentration
    if isinstance(concentration, tuple):
        concentration = np.concatenate(concentration)
    scalars = np.concatenate(
        [
            np.ravel(concentration),
            np.ravel(posterior.mean_precision),
            np.ravel(posterior.degrees_of_freedom),
        ]
    )
    return scalars, posterior.means, posterior.covariances, factor


def _unpack(params, prior_type: str, kind: str) -> tuple[variational.Posterior, np.ndarray]:
    """The posterior and the precisions' Cholesky factor of :func:`_pack`'s tuple."""
    scalars, means, covariances, factor = params
    K = means.shape[0]
    parts = 2 if prior_type == "dirichlet_process" else 1
    concentration = (
        scalars[:K].copy() if parts == 1 else (scalars[:K].copy(), scalars[K : 2 * K].copy())
    )
    mean_precision = scalars[parts * K : (parts + 1) * K].copy()
    dof = scalars[(parts + 1) * K :]
    dof = float(dof[0]) if kind == "tied" else dof.copy()
    return variational.Posterior(concentration, mean_precision, means, dof, covariances), factor


def _model(posterior, factor, shift, prior_type: str, kind: str) -> Model:
    d = posterior.means.shape[1]
    log_weights = variational.expected_log_weights(
        posterior.weight_concentration, prior_type
    ) + variational.log_offsets(posterior, d)
    log_det = covariance_type(kind).log_det_cholesky(factor, d)
    return Model(kind, log_weights, posterior.means - shift, factor, log_det)


def _e_step_model(params, shift, prior: variational.Prior, kind: str) -> Model:
    posterior, factor = _unpack(params, prior.weight_concentration_type, kind)
    return _model(posterior, factor, shift, prior.weight_concentration_type, kind)


def _lower_bound(sums: kernels.Sums, model: Model, following, prior, kind: str) -> float:
    """The bound after a pass: the pass's responsibilities (from ``model``) with the
    posterior its sums gave (``following``), as scikit-learn's loop computes it."""
    d = model.means.shape[1]
    constants = model.log_weights + model.log_det - 0.5 * d * LOG_2PI
    weighted_log_probs = variational.sum_of_weighted_log_probs(
        sums.mass, constants, quadratic_sums(sums, model, kind)
    )
    entropy_sum = weighted_log_probs - sums.log_likelihood  # sum_i sum_k r log r
    posterior, factor = _unpack(following, prior.weight_concentration_type, kind)
    log_det = covariance_type(kind).log_det_cholesky(factor, d)
    return variational.lower_bound(
        posterior, log_det, entropy_sum, kind, prior.weight_concentration_type, d
    )


def quadratic_sums(sums: kernels.Sums, model: Model, kind: str) -> np.ndarray:
    """``sum_i r_ik (u_i - m_k)^T P_k (u_i - m_k)`` for each component (a total for
    tied), from the pass's sums about the shift point and the model it ran under."""
    M, L = model.means, model.factor
    mass, linear, second = sums.mass, sums.linear, sums.second
    if kind == "full":
        cross = linear[:, :, None] * M[:, None, :]
        scatter = (
            second
            - cross
            - cross.transpose(0, 2, 1)
            + mass[:, None, None] * M[:, :, None] * M[:, None, :]
        )
        precisions = np.einsum("kij,klj->kil", L, L)
        return np.einsum("kij,kij->k", precisions, scatter)
    if kind == "tied":
        cross = linear.T @ M
        scatter = second - cross - cross.T + (M.T * mass) @ M
        return np.atleast_1d(np.sum((L @ L.T) * scatter))
    if kind == "diag":
        scatter = second - 2 * M * linear + mass[:, None] * M**2
        return np.sum(L**2 * scatter, axis=1)
    if kind == "spherical":
        scatter = second - 2 * np.sum(M * linear, axis=1) + mass * np.sum(M**2, axis=1)
        return L**2 * scatter
    raise ValueError(f"no variational update for covariance_type={kind!r}")


def _complete(partial, prior: variational.Prior, kind: str):
    """Extrapolated ``(scalars, means, covariances)`` with the Cholesky factor, or None
    where one is outside its domain (for SQUAREM's safeguard)."""
    scalars, means, covariances = partial
    K, d = means.shape
    if not (np.all(np.isfinite(scalars)) and np.all(scalars > 0) and np.all(np.isfinite(means))):
        return None
    dof = scalars[-1:] if kind == "tied" else scalars[-K:]
    if not np.all(dof > d - 1) or not np.all(np.isfinite(covariances)):
        return None
    try:
        factor = kernels.precision_cholesky(covariances, kind)
    except IllConditionedError:
        return None
    return scalars, means, covariances, factor


def _mean_and_covariance(X, rows, sample_weight, shift, chunk_rows, kind: str):
    """The rows' (weighted) mean and their covariance in the form ``kind``'s prior
    takes (ddof=1, as ``np.cov``; with weights, as repeated rows), in one pass."""
    d = X.shape[1]
    one = EMPass(shift, kind, 1, chunk_rows, threads=rows.threads)
    identity = {
        "full": np.eye(d)[None],
        "tied": np.eye(d),
        "diag": np.ones((1, d)),
        "spherical": np.ones(1),
    }[kind]
    model = Model.build(
        kind, np.ones(1), np.zeros((1, d)), kernels.precision_cholesky(identity, kind)
    )
    with one:
        sums = rows.reduce(one.sums, X, model, sample_weight)
    total = sums.weight
    offset = sums.linear[0] / total
    if kind in ("full", "tied"):
        second = sums.second.reshape(d, d)
        covariance = (second - total * np.outer(offset, offset)) / (total - 1)
    elif kind == "diag":
        covariance = (sums.second[0] - total * offset**2) / (total - 1)
    else:
        covariance = float((sums.second[0] - total * offset @ offset) / (total - 1) / d)
    return shift + offset, covariance


def _check_positive(name, value) -> None:
    _check_number(name, value, -np.inf)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def _prior_array(name, value, shape) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers of shape {shape}") from None
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def _check_covariance_prior(value, kind: str, d: int) -> None:
    name = "covariance_prior"
    if kind == "spherical":
        if np.ndim(value) != 0:
            raise ValueError(f"{name} must be a number for spherical, got shape {np.shape(value)}")
        _check_positive(name, value)
        return
    if kind == "diag":
        array = _prior_array(name, value, (d,))
        if np.any(array <= 0):
            raise ValueError(f"{name} must be positive for diag")
        return
    array = _prior_array(name, value, (d, d))
    if not np.allclose(array, array.T):
        raise ValueError(f"{name} must be symmetric for {kind}")
    if np.any(np.linalg.eigvalsh(array) <= 0):
        raise ValueError(f"{name} must be positive definite for {kind}")


__all__ = ["COVARIANCE_TYPES", "KEPT_WEIGHT", "BayesianGaussianMixture", "posterior_weights"]
