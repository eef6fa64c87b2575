"""The variational Bayesian mixture against scikit-learn's BayesianGaussianMixture.

Each comparison fits both from the same ``random_state`` (so the same k-means, or
random, start) and asks for the same iteration count and every fitted attribute to
1e-9 relative to its largest magnitude (the issue's tolerance; they agree to ~1e-14 on
the generated data and ~2e-11 on MNIST PCA-2, whose 500-iteration fits carry rounding
further). A pass that drops the responsibilities' entropy, or the means' uncertainty
term of the E-step, fails every comparison by far more.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGM
from sklearn.utils.estimator_checks import check_estimator

from pcagmm import PCA, BayesianGaussianMixture, datasets

TYPES = ("full", "tied", "diag", "spherical")
PRIORS = ("dirichlet_process", "dirichlet_distribution")
TOLERANCE = 1e-9
ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_cholesky_", "mean_precision_",
              "degrees_of_freedom_")  # fmt: skip


def blobs(seed=0, n=600, d=3, K=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(K, d)) * 6
    X = np.vstack([c + rng.normal(size=(n // K, d)) * rng.uniform(0.5, 2) for c in centres])
    return X[rng.permutation(len(X))]


def relative(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def quietly(estimator, X, **fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, **fit)


def assert_same_as_sklearn(X, tolerance=TOLERANCE, **params):
    ours = quietly(BayesianGaussianMixture(**params), X)
    theirs = quietly(SklearnBGM(**params), X)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    for name in ATTRIBUTES:
        assert relative(getattr(ours, name), getattr(theirs, name)) < tolerance, name
    concentration = np.ravel(theirs.weight_concentration_)
    assert relative(np.ravel(ours.weight_concentration_), concentration) < tolerance
    bound = float(np.ravel(theirs.lower_bound_)[0])  # an array of one for tied
    assert abs(ours.lower_bound_ - bound) < tolerance * abs(bound)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0,
                               atol=tolerance)  # fmt: skip
    assert relative(ours.score_samples(X), theirs.score_samples(X)) < tolerance
    return ours, theirs


@pytest.mark.parametrize("prior_type", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_generated_data_same_as_sklearn(prior_type, covariance_type, seed):
    assert_same_as_sklearn(
        blobs(seed, d=3, K=3),
        n_components=6,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        random_state=seed,
        max_iter=300,
    )


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialisation_same_as_sklearn(init_params, covariance_type):
    # k-means++ and random_from_data assign only some rows at the start: scikit-learn's
    # tied covariance still sums every row there (GaussianMixture keeps that; so must this)
    assert_same_as_sklearn(blobs(3, d=2, K=4), n_components=5, init_params=init_params,
                           covariance_type=covariance_type, random_state=4, n_init=2)  # fmt: skip


@pytest.mark.parametrize("covariance_type", TYPES)
def test_given_priors_same_as_sklearn(covariance_type):
    d = 3
    covariance_prior = {
        "full": np.diag([2.0, 1.0, 0.5]) + 0.1, "tied": np.diag([2.0, 1.0, 0.5]) + 0.1,
        "diag": np.array([2.0, 1.0, 0.5]), "spherical": 1.5,
    }[covariance_type]  # fmt: skip
    assert_same_as_sklearn(
        blobs(5, d=d),
        n_components=5,
        covariance_type=covariance_type,
        weight_concentration_prior=0.01,
        mean_precision_prior=0.5,
        mean_prior=np.array([1.0, -1.0, 0.0]),
        degrees_of_freedom_prior=d + 2.5,
        covariance_prior=covariance_prior,
        random_state=2,
    )


def test_warm_start_same_as_sklearn():
    X = blobs(6)
    params = dict(n_components=4, warm_start=True, max_iter=5, random_state=0)
    ours, theirs = BayesianGaussianMixture(**params), SklearnBGM(**params)
    for _ in range(3):
        quietly(ours, X)
        quietly(theirs, X)
    assert relative(ours.means_, theirs.means_) < TOLERANCE
    assert abs(ours.lower_bound_ - theirs.lower_bound_) < TOLERANCE * abs(theirs.lower_bound_)


def test_sample_same_as_sklearn():
    X = blobs(7)
    ours, theirs = assert_same_as_sklearn(X, n_components=3, random_state=5)
    a, la = ours.sample(50)
    b, lb = theirs.sample(50)
    np.testing.assert_array_equal(la, lb)
    np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.fixture(scope="module")
def mnist_pca2(shared_mnist, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PCAGMM_CACHE", str(tmp_path_factory.mktemp("cache")))
        X = datasets.load("mnist", folder=shared_mnist).X
    return PCA(2).fit_transform(X)


@pytest.mark.parametrize("prior_type", PRIORS)
def test_mnist_pca2_ten_components_same_as_sklearn(mnist_pca2, prior_type):
    assert_same_as_sklearn(mnist_pca2, n_components=10, weight_concentration_prior_type=prior_type,
                           random_state=42)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("prior_type", PRIORS)
def test_mnist_pca2_thirty_components_same_as_sklearn(mnist_pca2, prior_type):
    assert_same_as_sklearn(mnist_pca2, n_components=30, weight_concentration_prior_type=prior_type,
                           random_state=42)  # fmt: skip


# ----------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("prior_type", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_lower_bound_never_falls(prior_type, covariance_type):
    gmm = BayesianGaussianMixture(
        6, covariance_type=covariance_type, weight_concentration_prior_type=prior_type, tol=0,
        max_iter=80, init_params="random", random_state=1,
    )  # fmt: skip
    bounds = np.array(quietly(gmm, blobs(8, d=4, K=4)).lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_squarem_reaches_the_same_optimum_in_fewer_passes(covariance_type):
    X = blobs(9, d=3, K=3)
    # as many components as groups: one optimum near the start (with more, an extrapolation
    # can cross into another basin of the bound, where a component dies sooner or later)
    settings = dict(n_components=3, covariance_type=covariance_type, stopping="relative",
                    tol=1e-12, max_iter=20_000, random_state=3, init_params="random")  # fmt: skip
    plain = quietly(BayesianGaussianMixture(**settings), X)
    fast = quietly(BayesianGaussianMixture(acceleration="squarem", **settings), X)
    assert plain.converged_ and fast.converged_
    assert fast.n_iter_ < plain.n_iter_
    assert fast.extrapolations_[0] > 0
    # the same optimum: bounds to 1e-9, parameters to 1e-5 (a flat bound moves them more)
    assert abs(fast.lower_bound_ - plain.lower_bound_) < 1e-9 * abs(plain.lower_bound_)
    assert relative(fast.means_, plain.means_) < 1e-5
    bounds = np.array(fast.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_chunks_and_memory_maps_equal_in_memory(covariance_type, tmp_path):
    X = blobs(10, n=900, d=3)
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    whole = quietly(BayesianGaussianMixture(4, covariance_type=covariance_type, random_state=0), X)
    for data, rows in ((X, 37), (mapped, 100), (mapped, None)):
        part = quietly(
            BayesianGaussianMixture(4, covariance_type=covariance_type, random_state=0,
                                    chunk_rows=rows), data,
        )  # fmt: skip
        assert part.n_iter_ == whole.n_iter_
        for name in ATTRIBUTES:
            assert relative(getattr(part, name), getattr(whole, name)) < TOLERANCE, name
        assert abs(part.lower_bound_ - whole.lower_bound_) < TOLERANCE * abs(whole.lower_bound_)
    np.testing.assert_array_equal(part.predict(mapped), whole.predict(X))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_many_features_use_the_direct_pass_and_agree(covariance_type):
    # 20 features > 16: the per-component pass instead of quadratic features
    assert_same_as_sklearn(blobs(11, n=450, d=20), n_components=4,
                           covariance_type=covariance_type, random_state=0)  # fmt: skip


@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    """From the same parameters (a warm start of one copy), weighting a row by a count
    equals repeating it: the priors' defaults (weighted mean and covariance), the sums
    and the bound's entropy all count it that many times."""
    rng = np.random.default_rng(12)
    X = blobs(12, n=300)
    counts = rng.integers(0, 4, size=len(X))
    start = quietly(BayesianGaussianMixture(3, covariance_type=covariance_type, max_iter=2,
                                            random_state=0, warm_start=True), X)  # fmt: skip
    weighted, repeated = copy.deepcopy(start), copy.deepcopy(start)
    weighted.set_params(max_iter=40, tol=0)
    repeated.set_params(max_iter=40, tol=0)
    quietly(weighted, X, sample_weight=counts)
    quietly(repeated, np.repeat(X, counts, axis=0))
    for name in ATTRIBUTES:
        assert relative(getattr(weighted, name), getattr(repeated, name)) < TOLERANCE, name
    assert relative(weighted.covariance_prior_, repeated.covariance_prior_) < 1e-12
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=TOLERANCE)


def test_float32_input_is_accumulated_in_float64():
    X = blobs(13, d=4)
    # the k-means start in float32 is scikit-learn's float32 k-means: start both copies
    # from the same parameters instead
    start = quietly(BayesianGaussianMixture(3, max_iter=1, random_state=0, warm_start=True), X)
    as32, as64 = copy.deepcopy(start), copy.deepcopy(start)
    as32.set_params(max_iter=50)
    as64.set_params(max_iter=50)
    quietly(as32, X.astype(np.float32))
    quietly(as64, X.astype(np.float32).astype(np.float64))
    assert as32.means_.dtype == np.float64
    assert relative(as32.means_, as64.means_) < 1e-12


def test_unneeded_components_are_switched_off():
    X = blobs(14, n=900, d=2, K=3)
    gmm = quietly(BayesianGaussianMixture(12, weight_concentration_prior=1e-3, max_iter=500,
                                          random_state=0), X)  # fmt: skip
    assert len(gmm.kept()) == 3
    assert list(gmm.kept()) == list(np.argsort(-gmm.weights_)[:3])
    assert sorted([*gmm.kept(), *gmm.switched_off()]) == list(range(12))
    assert np.sort(gmm.weights_)[:-3].sum() < 0.01
    # a switched-off component falls back to the priors, never to NaN
    for name in ATTRIBUTES:
        assert np.all(np.isfinite(getattr(gmm, name))), name
    # (their weights keep the prior's pseudo-count, about 1 / n; their means the prior's)
    off = gmm.weights_ < 0.01
    spread = np.abs(X - gmm.mean_prior_).max()
    assert np.abs(gmm.means_[off] - gmm.mean_prior_).max() < 0.01 * spread


def test_information_criteria_are_not_offered():
    gmm = quietly(BayesianGaussianMixture(2, random_state=0), blobs(15))
    assert not hasattr(gmm, "bic") and not hasattr(gmm, "aic")
    assert not hasattr(SklearnBGM(), "bic")


def test_scikit_learn_estimator_checks():
    # Not run: check_array_api_input (array-API inputs are not supported).
    results = check_estimator(BayesianGaussianMixture(), on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    assert not failed, [(r["check_name"], str(r["exception"])) for r in failed]


# ----------------------------------------------------------------------------- bad input


def test_a_prior_that_is_not_a_number_is_a_type_error():
    with pytest.raises(TypeError, match="degrees_of_freedom_prior must be a number, got 'x'"):
        BayesianGaussianMixture(degrees_of_freedom_prior="x").fit(blobs(16))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"weight_concentration_prior": 0.0}, "weight_concentration_prior must be > 0"),
        ({"weight_concentration_prior": -1}, "weight_concentration_prior must be > 0"),
        ({"mean_precision_prior": 0}, "mean_precision_prior must be > 0"),
        ({"degrees_of_freedom_prior": 1.5}, "greater than n_features - 1 = 2"),
        ({"mean_prior": [0.0, 1.0]}, r"mean_prior must have shape \(3,\)"),
        ({"covariance_prior": np.eye(2)}, r"covariance_prior must have shape \(3, 3\)"),
        ({"covariance_prior": -np.eye(3)}, "covariance_prior must be positive definite"),
        ({"covariance_type": "diag", "covariance_prior": [1.0, -1.0, 1.0]},
         "covariance_prior must be positive for diag"),
        ({"covariance_type": "spherical", "covariance_prior": 0.0},
         "covariance_prior must be > 0"),
        ({"covariance_type": "spherical", "covariance_prior": [1.0, 2.0]},
         "covariance_prior must be a number for spherical"),
        ({"covariance_prior": [[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]},
         "covariance_prior must be symmetric for full"),
        ({"mean_prior": [0.0, np.nan, 0.0]}, "mean_prior must be finite"),
        ({"mean_prior": ["a", "b", "c"]},
         r"mean_prior must be an array of numbers of shape \(3,\)"),
        ({"covariance_type": "VEV"}, "covariance_type must be one of full, tied, diag"),
        ({"weight_concentration_prior_type": "pitman_yor"},
         "weight_concentration_prior_type must be one of"),
        ({"n_components": 700}, "n_components = 700, n_samples = 600; use fewer components"),
    ],
)  # fmt: skip
def test_bad_input(params, message):
    with pytest.raises(ValueError, match=message) as raised:
        BayesianGaussianMixture(**params).fit(blobs(16))
    assert "\n" not in str(raised.value)
