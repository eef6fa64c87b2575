"""The variational Bayesian Gaussian mixture's updates, as pure functions of the sums.

scikit-learn's ``BayesianGaussianMixture`` (Bishop 2006, ch. 10; Blei & Jordan 2006 for
the Dirichlet process) alternates two steps, and both read the data only through the
per-component sums the row engine already makes for EM:

* the *variational M-step* (:func:`update`) turns the responsibility mass ``nk``, the
  weighted means ``xk`` and the weighted covariances ``sk`` (scikit-learn's
  ``_estimate_gaussian_parameters``, ``reg_covar`` on the diagonal: what
  :func:`pcagmm.mixture.kernels.parameters_from_sums` gives) into the posterior's
  parameters: the weights' Dirichlet (or stick-breaking Beta) concentrations, the
  means' precision scale, the Wishart degrees of freedom and the covariances (divided
  by the degrees of freedom, as scikit-learn stores them);
* the *variational E-step* is EM's E-step with other constants: each component's
  log-density under its expected precision, plus :func:`log_offsets` (the Wishart's
  expected log-determinant, the means' uncertainty) and :func:`expected_log_weights`
  in place of ``log weight``. So a pass of :class:`~pcagmm.mixture.em_pass.EMPass`
  with those as the model's log-weights gives the next sums unchanged.

The lower bound (:func:`lower_bound`) needs, beyond scikit-learn's terms, the entropy of
the responsibilities, ``-sum_i sum_k r_ik log r_ik``. It too follows from sums:
``sum_i sum_k r_ik log r_ik = sum_k sum_i r_ik log p_ik - sum_i log sum_k p_ik``, where
the second term is the pass's log-likelihood and the first is ``sum_k [nk_k c_k - tr(P_k
S_k) / 2]`` for the per-component constant ``c_k`` and the weighted scatter ``S_k`` of
the rows about the component's mean (:func:`sum_of_weighted_log_probs`).

The estimator over them is :class:`pcagmm.mixture.bayesian.BayesianGaussianMixture`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import betaln, digamma, gammaln

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


@dataclasses.dataclass(frozen=True)
class Prior:
    """The priors, resolved as scikit-learn resolves them in ``fit`` (its trailing-``_``
    attributes): ``weight_concentration`` (a float), ``mean_precision`` (a float),
    ``mean`` (d,), ``degrees_of_freedom`` (a float > d - 1), ``covariance`` (shaped by
    the covariance type: (d, d) full and tied, (d,) diag, a float spherical)."""

    weight_concentration_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: object


@dataclasses.dataclass
class Posterior:
    """The variational posterior's parameters, named as scikit-learn's attributes."""

    weight_concentration: object  # (K,), or a pair of (K,) for the Dirichlet process
    mean_precision: np.ndarray  # (K,)
    means: np.ndarray  # (K, d)
    degrees_of_freedom: np.ndarray  # (K,), or a float for tied
    covariances: np.ndarray  # normalised by the degrees of freedom


def resolve_prior(
    prior_type: str,
    n_components: int,
    n_features: int,
    covariance_type: str,
    *,
    data_mean=None,
    data_covariance=None,
    weight_concentration=None,
    mean_precision=None,
    mean=None,
    degrees_of_freedom=None,
    covariance=None,
) -> Prior:
    """The priors, scikit-learn's defaults for those not given (None): weight
    concentration 1 / K, mean precision 1, the data's mean, d degrees of freedom, the
    data's covariance in the form of ``covariance_type`` (``data_mean`` and
    ``data_covariance``, needed only where ``mean`` or ``covariance`` is not given)."""
    mean = data_mean if mean is None else mean
    covariance = data_covariance if covariance is None else covariance
    return Prior(
        weight_concentration_type=prior_type,
        weight_concentration=float(
            1.0 / n_components if weight_concentration is None else weight_concentration
        ),
        mean_precision=float(1.0 if mean_precision is None else mean_precision),
        mean=np.asarray(mean, dtype=np.float64),
        degrees_of_freedom=float(n_features if degrees_of_freedom is None else degrees_of_freedom),
        covariance=float(covariance)
        if covariance_type == "spherical"
        else np.asarray(covariance, dtype=np.float64),
    )


def weight_concentration(nk: np.ndarray, prior: Prior):
    """The weights' posterior: Beta pairs of the stick-breaking (Dirichlet process), or
    the Dirichlet concentrations."""
    if prior.weight_concentration_type == "dirichlet_process":
        tail = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0))  # mass of the later components
        return (1.0 + nk, prior.weight_concentration + tail)
    return prior.weight_concentration + nk


def update(nk, xk, sk, prior: Prior, covariance_type: str) -> Posterior:
    """The variational M-step from the sums (scikit-learn's ``_m_step`` after
    ``_estimate_gaussian_parameters``)."""
    nk = np.asarray(nk, dtype=np.float64)
    K = nk.shape[0]
    mean_precision = prior.mean_precision + nk
    means = (prior.mean_precision * prior.mean + nk[:, None] * xk) / mean_precision[:, None]
    diff = xk - prior.mean
    shrink = prior.mean_precision / mean_precision  # (K,)
    if covariance_type == "full":
        dof = prior.degrees_of_freedom + nk
        covariances = (
            prior.covariance
            + nk[:, None, None] * sk
            + (nk * shrink)[:, None, None] * diff[:, :, None] * diff[:, None, :]
        )
        covariances = covariances / dof[:, None, None]
    elif covariance_type == "tied":
        dof = prior.degrees_of_freedom + nk.sum() / K
        covariances = (
            prior.covariance
            + sk * nk.sum() / K
            + prior.mean_precision / K * np.dot((nk / mean_precision) * diff.T, diff)
        )
        covariances = covariances / dof
    elif covariance_type == "diag":
        dof = prior.degrees_of_freedom + nk
        covariances = prior.covariance + nk[:, None] * (sk + shrink[:, None] * diff**2)
        covariances = covariances / dof[:, None]
    elif covariance_type == "spherical":
        dof = prior.degrees_of_freedom + nk
        covariances = prior.covariance + nk * (sk + shrink * np.mean(diff**2, axis=1))
        covariances = covariances / dof
    else:
        raise ValueError(
            f"covariance_type={covariance_type!r} has no variational update; choose full, "
            "tied, diag or spherical"
        )
    return Posterior(weight_concentration(nk, prior), mean_precision, means, dof, covariances)


def expected_log_weights(concentration, prior_type: str) -> np.ndarray:
    """``E[log pi_k]`` under the weights' posterior (scikit-learn's
    ``_estimate_log_weights``)."""
    if prior_type == "dirichlet_process":
        a, b = concentration
        digamma_sum = digamma(a + b)
        return digamma(a) - digamma_sum + np.hstack((0, np.cumsum(digamma(b) - digamma_sum)[:-1]))
    return digamma(concentration) - digamma(np.sum(concentration))


def log_offsets(posterior: Posterior, n_features: int) -> np.ndarray:
    """What the variational E-step adds to each component's log-density under its
    normalised precision: ``-d/2 log nu_k + (E[log |Lambda_k|] - d / beta_k) / 2`` (the
    terms of scikit-learn's ``_estimate_log_prob`` beyond the Gaussian's), (K,)."""
    dof = np.asarray(posterior.degrees_of_freedom, dtype=np.float64)
    K = posterior.mean_precision.shape[0]
    dof_k = np.broadcast_to(dof, (K,))
    log_lambda = n_features * np.log(2.0) + np.sum(
        digamma(0.5 * (dof_k - np.arange(n_features)[:, None])), axis=0
    )
    return -0.5 * n_features * np.log(dof_k) + 0.5 * (
        log_lambda - n_features / posterior.mean_precision
    )


def log_wishart_norm(dof, log_det_precision_cholesky, n_features: int):
    """The Wishart's log-normaliser without the ``log pi`` term (scikit-learn's
    ``_log_wishart_norm``)."""
    dof = np.asarray(dof, dtype=np.float64)
    return -(
        dof * log_det_precision_cholesky
        + dof * n_features * 0.5 * np.log(2.0)
        + np.sum(gammaln(0.5 * (dof - np.arange(n_features)[:, None])), axis=0)
    )


def lower_bound(
    posterior: Posterior,
    log_det_precision_cholesky,
    entropy_sum: float,
    covariance_type: str,
    prior_type: str,
    n_features: int,
) -> float:
    """scikit-learn's ``_compute_lower_bound`` from the posterior and ``entropy_sum =
    sum_i sum_k r_ik log r_ik`` (computed from sums: :func:`sum_of_weighted_log_probs`).
    ``log_det_precision_cholesky`` is the log-determinant of the normalised precisions'
    Cholesky factors ((K,), or a float for tied)."""
    K = posterior.mean_precision.shape[0]
    dof = posterior.degrees_of_freedom
    log_det = np.asarray(log_det_precision_cholesky) - 0.5 * n_features * np.log(dof)
    if covariance_type == "tied":
        log_wishart = K * float(np.sum(log_wishart_norm(dof, log_det, n_features)))
    else:
        log_wishart = float(np.sum(log_wishart_norm(dof, log_det, n_features)))
    if prior_type == "dirichlet_process":
        a, b = posterior.weight_concentration
        log_norm_weight = -float(np.sum(betaln(a, b)))
    else:
        concentration = posterior.weight_concentration
        log_norm_weight = float(gammaln(np.sum(concentration)) - np.sum(gammaln(concentration)))
    return (
        -entropy_sum
        - log_wishart
        - log_norm_weight
        - 0.5 * n_features * float(np.sum(np.log(posterior.mean_precision)))
    )


def sum_of_weighted_log_probs(nk, constants, quadratic_sums) -> float:
    """``sum_i sum_k r_ik log p_ik`` from sums, where ``log p_ik = c_k - q_ik / 2`` with a
    per-component constant ``c_k`` (``constants``) and the quadratic form ``q_ik`` of
    row i about component k's mean under its precision; ``quadratic_sums[k] = sum_i r_ik
    q_ik = tr(P_k S_k)``, S_k the responsibility-weighted scatter about the mean."""
    return float(np.sum(np.asarray(nk) * np.asarray(constants)) - 0.5 * np.sum(quadratic_sums))


__all__ = [
    "PRIOR_TYPES",
    "Posterior",
    "Prior",
    "expected_log_weights",
    "log_offsets",
    "log_wishart_norm",
    "lower_bound",
    "resolve_prior",
    "sum_of_weighted_log_probs",
    "update",
    "weight_concentration",
]
