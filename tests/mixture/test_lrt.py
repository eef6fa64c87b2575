"""The bootstrap likelihood-ratio test (pcagmm.mixture.lrt): its statistic, its p-value,
where it stops on data of a known number of components, and its observed statistics
against R's mclust (mclustBootstrapLRT) on the same fits."""

from __future__ import annotations

import numpy as np
import pytest

from mclust_r import run_mclust
from pcagmm import GaussianMixture
from pcagmm.mixture.lrt import draw, likelihood_ratio_test

CENTRES = np.array([[0.0, 0.0], [7.0, 0.0], [3.5, 6.0]])


def three_groups(n: int, seed: int) -> np.ndarray:
    """``n`` rows of three round, well-separated 2-D groups of equal size."""
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 3, size=n)
    return CENTRES[groups] + rng.normal(0, 1.0, size=(n, 2))


def mclust_fits(X, counts) -> dict:
    """mclust's fits (VVV from its hierarchical start, its stopping rule, no
    regularisation), one per K."""
    return {
        K: GaussianMixture(
            K,
            init_params="hierarchical",
            stopping="relative",
            tol=1e-5,
            reg_covar=0.0,
            random_state=0,
        ).fit(X)
        for K in counts
    }


def test_the_statistic_is_twice_the_gain_in_log_likelihood_and_the_p_value_counts():
    X = three_groups(240, 1)
    fits = mclust_fits(X, range(1, 4))
    test = likelihood_ratio_test(X, fits, resamples=9, seed=4, sequential=False, converge=False)
    assert [step.n_components for step in test.steps] == [1, 2]
    for step in test.steps:
        K = step.n_components
        gain = X.shape[0] * (fits[K + 1].score(X) - fits[K].score(X))
        assert step.statistic == pytest.approx(2 * gain, rel=1e-12)
        assert step.p_value == (1 + np.sum(step.bootstrap >= step.statistic)) / (9 + 1)
        assert np.all(np.isfinite(step.bootstrap))


def test_replicates_are_the_same_from_the_same_seed_in_any_order_of_work():
    X = three_groups(200, 2)
    fits = mclust_fits(X, range(2, 5))
    threads = likelihood_ratio_test(X, fits, resamples=6, seed=9, n_jobs=2, sequential=False)
    one = likelihood_ratio_test(X, fits, resamples=6, seed=9, n_jobs=1, sequential=False)
    for a, b in zip(threads.steps, one.steps, strict=True):
        np.testing.assert_allclose(a.bootstrap, b.bootstrap, rtol=1e-9)
    other = likelihood_ratio_test(X, fits, resamples=6, seed=10, sequential=False)
    assert not np.allclose(other.steps[-1].bootstrap, one.steps[-1].bootstrap)


def test_replicates_are_drawn_from_the_null_model():
    """A replicate's rows are the null model's: a draw of 20,000 rows has its weights,
    means and covariances to within sampling error (a few hundredths here)."""
    X = three_groups(300, 3)
    null = mclust_fits(X, [3])[3]
    rows = draw(null, 20_000, np.random.default_rng(0))
    again = GaussianMixture(
        3, weights_init=null.weights_, means_init=null.means_,
        precisions_init=null.precisions_, tol=1e-8, max_iter=500,
    ).fit(rows)  # fmt: skip
    np.testing.assert_allclose(again.weights_, null.weights_, atol=0.02)
    np.testing.assert_allclose(again.means_, null.means_, atol=0.06)
    np.testing.assert_allclose(again.covariances_, null.covariances_, atol=0.08)


@pytest.mark.slow
def test_on_data_of_three_groups_the_test_stops_at_three_for_most_seeds():
    """Ten data sets of three groups, 19 replicates a step at level 0.05: the sequence
    rejects 1 and 2 (their statistics are far beyond every replicate) and stops at 3 for
    at least 8 of the 10 (it may reject 3 by chance with probability about 0.05, and a
    p-value of 19 replicates moves in steps of 0.05)."""
    stops = []
    for seed in range(10):
        X = three_groups(300, 100 + seed)
        fits = mclust_fits(X, range(1, 6))
        test = likelihood_ratio_test(X, fits, resamples=19, seed=seed)
        assert [step.p_value for step in test.steps[:2]] == [0.05, 0.05]
        stops.append(test.supported if test.stopped else None)
    assert sum(stop == 3 for stop in stops) >= 8, stops


def test_the_observed_statistics_equal_mclusts_on_the_same_fits(tmp_path):
    """R's mclustBootstrapLRT(X, "VVV", maxG = 3) fits G = 1..4 by its BIC sweep
    (hierarchical start on all 300 rows, its EM to 1e-5); pcagmm's fits from the same
    start and rule reach the same optima, so the observed statistics agree to 1e-6
    relative (the fits' log-likelihoods agree to 1e-8 in the mclust tests; a
    statistic is a difference of two of them)."""
    X = three_groups(300, 5)
    code = """
    set.seed(1)
    test <- mclustBootstrapLRT(X, modelName = "VVV", nboot = 1, maxG = 3, verbose = FALSE)
    out("obs", test$obs)
    """
    obs = run_mclust(code, tmp_path, X=X)["obs"]
    fits = mclust_fits(X, range(1, 5))
    test = likelihood_ratio_test(X, fits, resamples=3, sequential=False, converge=False)
    ours = np.array([step.statistic for step in test.steps])
    np.testing.assert_allclose(ours, obs, rtol=1e-6)


def test_fits_that_are_not_consecutive_or_of_several_types_are_refused():
    X = three_groups(120, 6)
    fits = mclust_fits(X, [1, 2, 4])
    with pytest.raises(ValueError, match=r"consecutive numbers of components, got \[1, 2, 4\]"):
        likelihood_ratio_test(X, fits)
    mixed = {1: fits[1], 2: GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)}
    with pytest.raises(ValueError, match="different covariance types"):
        likelihood_ratio_test(X, mixed)
    with pytest.raises(ValueError, match="level=1.5 is not a level"):
        likelihood_ratio_test(X, {1: fits[1], 2: fits[2]}, level=1.5)
    with pytest.raises(ValueError, match="resamples=0 is not a number of resamples"):
        likelihood_ratio_test(X, {1: fits[1], 2: fits[2]}, resamples=0)


def test_no_fits_are_refused():
    with pytest.raises(ValueError, match="fits is empty; give a fitted model for each K"):
        likelihood_ratio_test(three_groups(30, 0), {})
