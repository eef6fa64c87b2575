"""The variational updates (pcagmm.mixture.variational) against scikit-learn's
BayesianGaussianMixture's own steps, on the same responsibilities: the M-step's
posterior, the E-step's log-probabilities and weights, and the lower bound, for both
weight priors and the four covariance types (1e-12 relative: the same formulas, in
another order of operations); and the entropy of the responsibilities from sums alone."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.mixture import BayesianGaussianMixture
from sklearn.mixture._gaussian_mixture import (
    _compute_log_det_cholesky,
    _estimate_gaussian_parameters,
    _estimate_log_gaussian_prob,
)

from pcagmm.mixture import variational

TYPES = ("full", "tied", "diag", "spherical")


def sklearn_state(covariance_type, prior_type, seed=0):
    """A BayesianGaussianMixture a few iterations in, the data, and its responsibilities."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(c, 1.0, size=(120, 3)) for c in ((0, 0, 0), (5, 1, 0), (2, 6, 3))])
    model = BayesianGaussianMixture(
        n_components=5, covariance_type=covariance_type, random_state=seed, max_iter=3,
        weight_concentration_prior_type=prior_type,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    _, log_resp = model._estimate_log_prob_resp(X)
    return model, X, log_resp


def prior_of(model) -> variational.Prior:
    return variational.Prior(
        model.weight_concentration_prior_type,
        model.weight_concentration_prior_,
        model.mean_precision_prior_,
        model.mean_prior_,
        model.degrees_of_freedom_prior_,
        model.covariance_prior_,
    )


@pytest.mark.parametrize("prior_type", variational.PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_update_is_scikit_learns_m_step(covariance_type, prior_type):
    model, X, log_resp = sklearn_state(covariance_type, prior_type)
    nk, xk, sk = _estimate_gaussian_parameters(
        X, np.exp(log_resp), model.reg_covar, covariance_type
    )
    ours = variational.update(nk, xk, sk, prior_of(model), covariance_type)
    model._m_step(X, log_resp)
    np.testing.assert_allclose(ours.mean_precision, model.mean_precision_, rtol=1e-12)
    np.testing.assert_allclose(ours.means, model.means_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.degrees_of_freedom, model.degrees_of_freedom_, rtol=1e-12)
    np.testing.assert_allclose(ours.covariances, model.covariances_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        np.hstack(ours.weight_concentration), np.hstack(model.weight_concentration_), rtol=1e-12
    )


@pytest.mark.parametrize("prior_type", variational.PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_e_step_and_the_bound_are_scikit_learns(covariance_type, prior_type):
    model, X, log_resp = sklearn_state(covariance_type, prior_type)
    d = X.shape[1]
    posterior = variational.Posterior(
        model.weight_concentration_, model.mean_precision_, model.means_,
        model.degrees_of_freedom_, model.covariances_,
    )  # fmt: skip
    log_gauss = _estimate_log_gaussian_prob(
        X, model.means_, model.precisions_cholesky_, covariance_type
    )
    np.testing.assert_allclose(
        log_gauss + variational.log_offsets(posterior, d), model._estimate_log_prob(X),
        rtol=1e-12,
    )  # fmt: skip
    np.testing.assert_allclose(
        variational.expected_log_weights(model.weight_concentration_, prior_type),
        model._estimate_log_weights(),
        rtol=1e-12,
    )
    log_prob_norm, log_resp = model._estimate_log_prob_resp(X)
    log_det = _compute_log_det_cholesky(model.precisions_cholesky_, covariance_type, d)
    entropy_sum = float(np.sum(np.exp(log_resp) * log_resp))
    ours = variational.lower_bound(posterior, log_det, entropy_sum, covariance_type, prior_type, d)
    assert ours == pytest.approx(model._compute_lower_bound(log_resp, log_prob_norm), rel=1e-12)


@pytest.mark.parametrize("prior_type", variational.PRIOR_TYPES)
def test_the_entropy_of_the_responsibilities_follows_from_sums(prior_type):
    """``sum_i sum_k r log r`` from the masses, the per-component constants and the
    weighted scatters about the means (full covariances), as a pass can sum them,
    equals the direct sum over rows to 1e-10 relative."""
    model, X, _ = sklearn_state("full", prior_type)
    d = X.shape[1]
    posterior = variational.Posterior(
        model.weight_concentration_, model.mean_precision_, model.means_,
        model.degrees_of_freedom_, model.covariances_,
    )  # fmt: skip
    log_det = _compute_log_det_cholesky(model.precisions_cholesky_, "full", d)
    constants = (
        variational.expected_log_weights(model.weight_concentration_, prior_type)
        + variational.log_offsets(posterior, d)
        - 0.5 * d * np.log(2 * np.pi)
        + log_det
    )
    log_prob_norm, log_resp = model._estimate_log_prob_resp(X)
    r = np.exp(log_resp)
    nk = r.sum(axis=0)
    precisions = model.precisions_cholesky_ @ np.transpose(model.precisions_cholesky_, (0, 2, 1))
    quadratic = np.empty(len(nk))
    for k in range(len(nk)):
        U = X - model.means_[k]
        scatter = (r[:, k, None] * U).T @ U
        quadratic[k] = np.trace(precisions[k] @ scatter)
    weighted = variational.sum_of_weighted_log_probs(nk, constants, quadratic)
    from_sums = weighted - float(np.sum(log_prob_norm))  # minus each row's log-sum-exp
    direct = float(np.sum(r * log_resp))
    assert from_sums == pytest.approx(direct, rel=1e-10)
