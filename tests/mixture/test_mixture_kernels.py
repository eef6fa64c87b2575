"""Mixture kernels against slow, obvious references (scipy.stats, explicit loops)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from pcagmm.mixture import em_pass, kernels
from pcagmm.mixture.kernels import Model

TYPES = ("full", "tied", "diag", "spherical")


def random_parameters(rng, K, d, covariance_type):
    means = rng.normal(size=(K, d)) * 3
    weights = rng.dirichlet(np.ones(K))
    if covariance_type == "full":
        A = rng.normal(size=(K, d, d))
        covariances = A @ np.transpose(A, (0, 2, 1)) + np.eye(d)
    elif covariance_type == "tied":
        A = rng.normal(size=(d, d))
        covariances = A @ A.T + np.eye(d)
    elif covariance_type == "diag":
        covariances = rng.random((K, d)) + 0.5
    else:
        covariances = rng.random(K) + 0.5
    return weights, means, covariances


def dense_covariance(covariances, covariance_type, k, d):
    return {
        "full": lambda: covariances[k],
        "tied": lambda: covariances,
        "diag": lambda: np.diag(covariances[k]),
        "spherical": lambda: np.eye(d) * covariances[k],
    }[covariance_type]()


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("d", [1, 3, 20])
def test_log_density_and_responsibilities_against_scipy(covariance_type, d):
    rng = np.random.default_rng(d)
    K = 4
    weights, means, covariances = random_parameters(rng, K, d, covariance_type)
    factor = kernels.precision_cholesky(covariances, covariance_type)
    shift = rng.normal(size=d)
    X = rng.normal(size=(300, d)) * 3
    model = Model.build(covariance_type, weights, means - shift, factor)
    reference = np.column_stack(
        [
            multivariate_normal(means[k], dense_covariance(covariances, covariance_type, k, d))
            .logpdf(X)
            .reshape(len(X))
            for k in range(K)
        ]
    )
    np.testing.assert_allclose(kernels.log_gaussian(X - shift, model), reference, rtol=1e-10)

    weighted = reference + np.log(weights)
    resp, log_norm = kernels.responsibilities(X - shift, model)
    np.testing.assert_allclose(log_norm, np.logaddexp.reduce(weighted, axis=1), rtol=1e-10)
    np.testing.assert_allclose(resp, np.exp(weighted - log_norm[:, None]), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)

    if d <= em_pass.FEATURES_MAX_D:
        layout = em_pass.QuadraticFeatures(covariance_type, d)
        A, _ = layout.coefficients(model)
        np.testing.assert_allclose((A @ layout.build(X - shift)).T, weighted, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("d", [2, 20])
def test_m_step_against_explicit_loops(covariance_type, d):
    rng = np.random.default_rng(10 + d)
    n, K = 500, 3
    X = rng.normal(size=(n, d)) + 50.0
    resp = rng.dirichlet(np.ones(K), size=n)
    shift = X[:10].mean(axis=0)
    sums = kernels.weighted_sums(X - shift, resp, None, covariance_type)
    nk, means, covariances = kernels.parameters_from_sums(sums, shift, 1e-6, covariance_type)
    # explicit loops, as the textbook writes them (scikit-learn's eps included)
    nk_ref = resp.sum(axis=0) + 10 * np.finfo(float).eps
    means_ref = np.array([(resp[:, k, None] * X).sum(axis=0) / nk_ref[k] for k in range(K)])
    full = np.array(
        [
            sum(resp[i, k] * np.outer(X[i] - means_ref[k], X[i] - means_ref[k]) for i in range(n))
            / nk_ref[k]
            for k in range(K)
        ]
    )
    expected = {
        "full": full + 1e-6 * np.eye(d),
        "tied": (full * nk_ref[:, None, None]).sum(axis=0) / nk_ref.sum() + 1e-6 * np.eye(d),
        "diag": np.diagonal(full, axis1=1, axis2=2) + 1e-6,
        "spherical": np.diagonal(full, axis1=1, axis2=2).mean(axis=1) + 1e-6,
    }[covariance_type]
    np.testing.assert_allclose(nk, nk_ref, rtol=1e-12)
    np.testing.assert_allclose(means, means_ref, rtol=1e-12)
    np.testing.assert_allclose(covariances, expected, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_feature_pass_equals_direct_pass(covariance_type):
    rng = np.random.default_rng(20)
    d, K = 3, 4
    weights, means, covariances = random_parameters(rng, K, d, covariance_type)
    factor = kernels.precision_cholesky(covariances, covariance_type)
    X = rng.normal(size=(1000, d)) * 3
    shift = X[:50].mean(axis=0)
    model = Model.build(covariance_type, weights, means - shift, factor)
    w = rng.random(len(X))
    with em_pass.EMPass(shift, covariance_type, K, 128, threads=2) as run:
        features = run.sums(X, model, w)
        direct = run._direct_pass(X, model, w)
    for name in ("mass", "linear", "second"):
        np.testing.assert_allclose(getattr(features, name), getattr(direct, name), rtol=1e-9)
    assert features.log_likelihood == pytest.approx(direct.log_likelihood, rel=1e-12)
    assert features.weight == pytest.approx(w.sum())


def test_full_second_moments_skip_only_negligible_rows():
    rng = np.random.default_rng(21)
    U = rng.normal(size=(400, 20))
    resp = rng.dirichlet(np.ones(3), size=400)
    resp[::2, 0] = 1e-30  # negligible: may be left out
    second = kernels.weighted_sums(U, resp, None, "full").second
    exact = np.einsum("nk,ni,nj->kij", resp, U, U)
    np.testing.assert_allclose(second, exact, rtol=1e-12, atol=1e-25)


def test_ill_conditioned_covariance_says_what_to_do():
    with pytest.raises(kernels.IllConditionedError, match="larger reg_covar"):
        kernels.precision_cholesky(np.zeros((1, 2, 2)), "full")
    with pytest.raises(kernels.IllConditionedError, match="try fewer components"):
        kernels.precision_cholesky(np.array([[1.0, 0.0]]), "diag")


def test_parameter_counts():
    from sklearn.mixture import GaussianMixture as SklearnGMM

    X = np.random.default_rng(0).normal(size=(50, 4))
    for covariance_type in TYPES:
        reference = SklearnGMM(3, covariance_type=covariance_type).fit(X)
        assert kernels.n_parameters(3, 4, covariance_type) == reference._n_parameters()
    # by hand: full = K d(d+1)/2 + K d + K - 1
    assert kernels.n_parameters(3, 4, "full") == 3 * 10 + 12 + 2
