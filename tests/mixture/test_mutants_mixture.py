"""The mixture's kernels, passes, hierarchical start and messages: what mutation testing
(tools/mutation.md) found untested. Each is checked against a computation by hand
(numpy on the definitions) or an invariant."""

from __future__ import annotations

import numpy as np
import pytest

import pcagmm.mixture
from pcagmm import GaussianMixture
from pcagmm.mixture import kernels
from pcagmm.mixture.convergence import still_rising
from pcagmm.mixture.hierarchical import scaled_svd
from pcagmm.mixture.selection import every_fit_failed
from pcagmm.progress import reporting_rows


def test_scaled_svd_is_mclusts_partial_whitening():
    """Standardised columns projected on the right singular vectors, each coordinate
    divided by the square root of its singular value (computed here by hand)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4)) * (1.0, 10.0, 0.1, 3.0)
    standard = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    _, singular, vt = np.linalg.svd(standard, full_matrices=False)
    np.testing.assert_allclose(scaled_svd(X), standard @ vt.T / np.sqrt(singular), rtol=1e-10)


def test_scaled_svd_of_one_row_is_one_zero():
    np.testing.assert_array_equal(scaled_svd(np.array([[1.0, 2.0, 3.0]])), np.zeros((1, 1)))


def test_a_row_impossible_under_the_model_has_log_likelihood_minus_infinity():
    """Where every component has weight 0 the row's log p(u) is -inf (not NaN): the
    log-sum-exp leaves a top of -inf out of the shift."""
    factor = kernels.precision_cholesky(np.ones((2, 3)), "diag")
    model = kernels.Model.build("diag", np.zeros(2), np.zeros((2, 3)), factor)
    with np.errstate(invalid="ignore", divide="ignore"):
        _, log_norm = kernels.responsibilities(np.ones((4, 3)), model)
    assert np.all(log_norm == -np.inf)


def test_the_direct_pass_counts_each_row_once_per_pass():
    """More than 16 features: the pass goes direct, in chunks; the progress bar gets
    every row of every pass once (a whole number of passes over the rows)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(210, 17))
    counted = []
    with reporting_rows(counted.append):
        GaussianMixture(2, chunk_rows=100, max_iter=3, tol=10.0, random_state=0).fit(X)
    assert sum(counted) > 0 and sum(counted) % len(X) == 0


def test_still_rising_from_the_second_value():
    assert still_rising([]) == (None, None)
    assert still_rising([-3.0]) == (None, None)
    change, _ = still_rising([-3.0, -2.5])
    assert change == 0.5


def test_every_fit_failed_names_the_first_failure():
    results = [
        {"n_components": 2, "covariance_type": "full", "error": "first reason"},
        {"n_components": 3, "covariance_type": "diag", "error": "second reason"},
    ]
    assert every_fit_failed(results, " on 2 components") == (
        "every one of the 2 fits on 2 components failed "
        "(the first, 2 full components: first reason)"
    )


def test_an_unknown_name_in_the_package_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="module 'pcagmm.mixture' has no attribute 'nope'"):
        pcagmm.mixture.nope  # noqa: B018


@pytest.mark.parametrize("d", [2, 17])
def test_information_criteria_by_hand_with_few_and_many_features(d):
    """ICL = BIC - 2 sum log max_k p(k | x); with more than 16 features the scores take
    the direct pass. The reference is the estimator's own probabilities."""
    from pcagmm.mixture.selection import information_criteria

    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(80, d)), rng.normal(size=(60, d)) + 3.0])
    gmm = GaussianMixture(2, random_state=0).fit(X)
    criteria = information_criteria(gmm, X)
    assert criteria["log_likelihood"] == pytest.approx(gmm.score(X) * len(X), rel=1e-10)
    assert criteria["bic"] == pytest.approx(gmm.bic(X), rel=1e-10)
    log_assigned = np.log(gmm.predict_proba(X).max(axis=1)).sum()
    assert criteria["icl"] == pytest.approx(gmm.bic(X) - 2 * log_assigned, rel=1e-9)


def test_bootstrap_counts_are_draws_with_replacement_from_the_seed():
    from pcagmm.mixture.stability import bootstrap_counts

    counts = bootstrap_counts(50, 3, seed=7)
    random = np.random.RandomState(7)
    for resample in counts:
        expected = np.bincount(random.randint(0, 50, size=50), minlength=50)
        np.testing.assert_array_equal(resample, expected)
    # resample b does not depend on how many come after it
    np.testing.assert_array_equal(bootstrap_counts(50, 1, seed=7)[0], counts[0])


def test_fit_all_fits_each_mixture_with_its_weights_in_order():
    """Side by side on threads, each result is the fit of its own mixture and weights
    (compared with the same fit done here), and progress counts every fit."""
    from pcagmm.mixture.stability import fit_all

    rng = np.random.default_rng(4)
    Z = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 4.0])
    weights = [None, np.arange(len(Z)) % 3]
    mixtures = [GaussianMixture(2, random_state=seed) for seed in (0, 1)]
    seen = []
    results = fit_all(Z, mixtures, weights, n_jobs=2, progress=lambda *a: seen.append(a))
    assert seen == [(1, 2), (2, 2)]
    for (gmm, row), weight, seed in zip(results, weights, (0, 1), strict=True):
        alone = GaussianMixture(2, random_state=seed).fit(Z, sample_weight=weight)
        np.testing.assert_allclose(gmm.means_, alone.means_, rtol=1e-10)
        assert row["n_iter"] == alone.n_iter_ and row["converged"] == alone.converged_
        assert row["log_likelihood"] == pytest.approx(alone.lower_bound_, rel=1e-12)
