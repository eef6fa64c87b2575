"""The table of covariance types: a type registered here, in the test, works with the
estimator, the model file and the figures with no other change to pcagmm.

The throwaway type is "isotropic with one variance shared by every component"
(covariance_k = s I for all k): one free parameter.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from pcagmm import PCA, GaussianMixture
from pcagmm.mixture import covariance
from pcagmm.mixture.covariance import CovarianceType, ill_conditioned


class SharedIsotropic(CovarianceType):
    """covariance_k = s I, one s for all components."""

    name = "shared-isotropic"

    def shape(self, K, d):
        return ()

    def n_covariance_parameters(self, K, d):
        return 1

    def precision_cholesky(self, covariances):
        if not (np.isfinite(covariances) and covariances > 0):
            raise ill_conditioned(self.name)
        return np.asarray(1.0 / np.sqrt(covariances))

    def precision_cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions_from_cholesky(self, factor):
        return factor**2

    def log_det_cholesky(self, factor, d):
        return d * np.log(factor)

    def check_precisions(self, precisions):
        if precisions <= 0:
            raise ValueError("'shared-isotropic precision' should be positive")

    def mahalanobis(self, U, M, factor):
        return ((U[:, np.newaxis, :] - M[np.newaxis]) ** 2).sum(axis=2) * factor**2

    def second_moments(self, U, wr, sample_weight):
        return np.asarray(wr.sum(axis=1) @ np.einsum("nd,nd->n", U, U))

    def covariances(self, second, mass, nk, offsets, reg_covar):
        d = offsets.shape[1]
        about_means = second - np.sum((2 * nk - mass) * np.sum(offsets**2, axis=1))
        return np.asarray(about_means / (nk.sum() * d) + reg_covar)

    def variances(self, covariances, K, d):
        return np.full((K, d), float(covariances))

    def plane(self, covariances, K):
        return np.broadcast_to(np.eye(2) * covariances, (K, 2, 2))

    def sample(self, rng, means, covariances, counts):
        d = means.shape[1]
        return np.vstack(
            [
                m + rng.standard_normal((c, d)) * np.sqrt(covariances)
                for m, c in zip(means, counts, strict=True)
            ]
        )


@pytest.fixture
def shared_isotropic():
    kind = covariance.register(SharedIsotropic())
    yield kind
    covariance.unregister(kind.name)


def shared_isotropic_data(seed=0, n=3000, d=3, K=3, variance=0.8):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 6, size=(K, d))
    labels = rng.integers(0, K, n)
    return means[labels] + rng.normal(0, np.sqrt(variance), size=(n, d)), means


def test_one_em_step_equals_explicit_loops(shared_isotropic):
    """From given parameters, one EM iteration of the estimator equals an E-step with
    scipy's densities and an M-step written out by hand."""
    X, true_means = shared_isotropic_data()
    K, (_n, d) = 3, X.shape
    weights0 = np.array([0.2, 0.3, 0.5])
    means0 = true_means + 0.5
    variance0 = 2.0
    gmm = GaussianMixture(
        K,
        covariance_type="shared-isotropic",
        max_iter=1,
        tol=0,
        weights_init=weights0,
        means_init=means0,
        precisions_init=np.asarray(1 / variance0),
    )
    with pytest.warns(Warning):  # one iteration does not converge
        gmm.fit(X)
    density = np.column_stack(
        [multivariate_normal(means0[k], variance0 * np.eye(d)).pdf(X) for k in range(K)]
    )
    resp = density * weights0
    resp /= resp.sum(axis=1, keepdims=True)
    nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
    means = resp.T @ X / nk[:, None]
    spread = sum((resp[:, k] * ((X - means[k]) ** 2).sum(axis=1)).sum() for k in range(K))
    np.testing.assert_allclose(gmm.weights_, nk / nk.sum(), rtol=1e-10)
    np.testing.assert_allclose(gmm.means_, means, rtol=1e-10)
    np.testing.assert_allclose(gmm.covariances_, spread / (nk.sum() * d) + 1e-6, rtol=1e-10)
    assert gmm.lower_bound_ == pytest.approx(
        np.log((density * weights0).sum(axis=1)).mean(), rel=1e-12
    )


def test_fit_predict_score_sample_and_criteria(shared_isotropic):
    X, true_means = shared_isotropic_data(seed=1)
    gmm = GaussianMixture(3, covariance_type="shared-isotropic", random_state=0).fit(X)
    assert gmm.converged_
    assert np.all(np.diff(gmm.lower_bounds_) >= -1e-12)  # EM never lowers the likelihood
    assert float(gmm.covariances_) == pytest.approx(0.8, rel=0.05)
    order = np.argsort(gmm.means_[:, 0])
    np.testing.assert_allclose(
        gmm.means_[order], true_means[np.argsort(true_means[:, 0])], atol=0.15
    )
    np.testing.assert_array_equal(gmm.fit_predict(X), gmm.predict(X))
    reference = np.log(
        sum(
            w * multivariate_normal(m, float(gmm.covariances_) * np.eye(3)).pdf(X)
            for w, m in zip(gmm.weights_, gmm.means_, strict=False)
        )
    )
    np.testing.assert_allclose(gmm.score_samples(X), reference, rtol=1e-10)
    np.testing.assert_allclose(gmm.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)
    n_parameters = 1 + 3 * 3 + 2  # one variance, K d means, K - 1 weights
    assert gmm.bic(X) == pytest.approx(-2 * gmm.score(X) * len(X) + n_parameters * np.log(len(X)))
    drawn, components = gmm.sample(500)
    assert drawn.shape == (500, 3) and set(np.unique(components)) <= {0, 1, 2}


def test_model_file_round_trip(shared_isotropic, tmp_path):
    from pcagmm.model_file import load_model, save_model

    X, _ = shared_isotropic_data(seed=2, d=5)
    pca = PCA(2).fit(X)
    Z = pca.transform(X)
    gmm = GaussianMixture(3, covariance_type="shared-isotropic", random_state=0).fit(Z)
    save_model(tmp_path / "model.npz", pca, gmm)
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.gmm.covariance_type == "shared-isotropic"
    np.testing.assert_array_equal(loaded.gmm.covariances_, gmm.covariances_)
    np.testing.assert_array_equal(loaded.gmm.predict_proba(Z), gmm.predict_proba(Z))


def test_an_unknown_type_is_an_error_not_a_fall_through():
    X, _ = shared_isotropic_data()
    with pytest.raises(ValueError, match="must be one of scikit-learn.s full .= VVV., tied"):
        GaussianMixture(2, covariance_type="shared-isotropic").fit(X)  # not registered here
    with pytest.raises(ValueError, match="got 'round'"):
        covariance.covariance_type("round")


def test_a_run_draws_writes_and_prints_it(shared_isotropic, tmp_path, capsys):
    """The whole run with the registered type: the figure's ellipses are circles of
    radius sigma * sqrt(s), clusters.csv and model.npz hold it, and the command line
    accepts it as a --covariance-type."""
    from matplotlib.patches import Ellipse

    from pcagmm import run
    from pcagmm.cli import main
    from pcagmm.model_file import load_model

    X, _ = shared_isotropic_data(seed=3, n=1500, d=4)
    result = run(
        X,
        components=2,
        clusters=3,
        covariance_type="shared-isotropic",
        out=tmp_path / "run",
        plots=True,
    )
    s = float(result.gmm.covariances_)
    drawn = [p for p in result.plot_clusters().axes[0].patches if isinstance(p, Ellipse)]
    assert len(drawn) == 3 * 3  # three sigmas a component
    for ellipse in drawn:
        assert ellipse.width == pytest.approx(ellipse.height)
        assert ellipse.width / (2 * np.sqrt(s)) == pytest.approx(
            round(ellipse.width / (2 * np.sqrt(s)))
        )
    assert (tmp_path / "run" / "gmm_clusters.png").stat().st_size > 10_000
    csv_rows = (tmp_path / "run" / "clusters.csv").read_text().splitlines()
    assert float(csv_rows[1].split(",")[-1]) == pytest.approx(np.sqrt(s), rel=1e-12)
    assert load_model(tmp_path / "run" / "model.npz").gmm.covariance_type == "shared-isotropic"

    np.save(tmp_path / "x.npy", X)
    code = main(
        [
            "run",
            "--data",
            str(tmp_path / "x.npy"),
            "--clusters",
            "3",
            "--covariance-type",
            "shared-isotropic",
            "--no-plots",
            "--out",
            str(tmp_path / "cli"),
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
