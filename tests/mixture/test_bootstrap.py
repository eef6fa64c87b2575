"""Bootstrap standard errors (pcagmm.mixture.bootstrap) against brute-force references:
the same resamples refitted by a direct loop, the intervals' coverage of known
parameters over repeated draws, and the spread of the estimates over those draws."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pcagmm import GaussianMixture
from pcagmm.mixture.bootstrap import (
    Bootstrap,
    bootstrap,
    check_level,
    check_resamples,
    fitted_parameters,
    resample_weights,
)
from pcagmm.mixture.refit import REFIT, started_from

#: a mixture of two well-separated 2-D Gaussians: the truth the coverage is checked on
TRUE_WEIGHTS = np.array([0.4, 0.6])
TRUE_MEANS = np.array([[0.0, 0.0], [6.0, 2.0]])
TRUE_COVARIANCES = np.array([[[1.0, 0.3], [0.3, 0.8]], [[1.5, -0.4], [-0.4, 1.0]]])


def draw(n: int, rng) -> np.ndarray:
    counts = rng.multinomial(n, TRUE_WEIGHTS)
    return np.vstack(
        [
            rng.multivariate_normal(mean, covariance, count)
            for mean, covariance, count in zip(TRUE_MEANS, TRUE_COVARIANCES, counts, strict=True)
        ]
    )


def fit_from_truth(X, **settings) -> GaussianMixture:
    """The maximum-likelihood fit reached from the true parameters (so component k is
    the true component k)."""
    gmm = GaussianMixture(
        2,
        weights_init=TRUE_WEIGHTS,
        means_init=TRUE_MEANS,
        precisions_init=np.linalg.inv(TRUE_COVARIANCES),
        **{**REFIT, **settings},
    )
    return gmm.fit(X)


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(7)
    X = draw(400, rng)
    return X, fit_from_truth(X)


@pytest.mark.parametrize("kind", ["nonparametric", "weighted"])
def test_the_same_resamples_give_the_same_numbers_as_a_direct_loop_of_refits(sample, kind):
    """Each refit equals a GaussianMixture fitted by hand on the same weights from the
    same start, to 1e-7 absolute (the data's scale is 1 to 6). Both stop on a relative
    change of the log-likelihood of 1e-12; the bootstrap drops the rows drawn 0 times, so
    its sums add the same terms in another grouping, and that (or another BLAS kernel)
    can stop it a pass earlier or later, which moved a mean by 1.2e-9 under OpenBLAS's
    Nehalem kernel (1e-15 here). Another resample moves them by about 0.05."""
    X, gmm = sample
    study = bootstrap(gmm, X, resamples=6, kind=kind, seed=3, converge=False, n_jobs=2)
    assert study.kept == 6 and not study.collapsed
    for index, b in enumerate(study.resample_numbers):
        weights = resample_weights(X.shape[0], kind, 3, int(b))
        by_hand = GaussianMixture(
            2,
            weights_init=gmm.weights_,
            means_init=gmm.means_,
            precisions_init=gmm.precisions_,
            **REFIT,
        ).fit(X, sample_weight=weights)
        expected = fitted_parameters(by_hand)
        for name in ("weights", "means", "covariances"):
            np.testing.assert_allclose(study.values(name)[index], expected[name], atol=1e-7)


def test_errors_and_intervals_are_the_spread_of_the_refits(sample):
    """standard_errors is the ddof=1 standard deviation over the refits and intervals
    the 2.5% and 97.5% quantiles (R's type 7: linear interpolation), computed here by
    sorting."""
    X, gmm = sample
    study = bootstrap(gmm, X, resamples=21, seed=1, converge=False)
    values = study.means[:, 1, 0]
    assert study.standard_errors()["means"][1, 0] == pytest.approx(
        np.sqrt(np.sum((values - values.mean()) ** 2) / (len(values) - 1)), rel=1e-12
    )
    ordered = np.sort(values)
    position = 0.025 * (len(values) - 1)  # type 7: h = (n - 1) p, between two order statistics
    low = ordered[int(position)] + (position % 1) * (
        ordered[int(position) + 1] - ordered[int(position)]
    )
    assert study.intervals()["means"][0, 1, 0] == pytest.approx(low, rel=1e-12)
    sd = np.sqrt(np.diagonal(study.covariances, axis1=2, axis2=3))
    np.testing.assert_array_equal(study.standard_deviations, sd)


def test_resamples_are_multinomial_counts_or_positive_weights_that_sum_to_n():
    counts = resample_weights(1000, "nonparametric", 5, 2)
    assert counts.sum() == 1000 and np.all(counts == np.round(counts)) and counts.min() == 0
    weights = resample_weights(1000, "weighted", 5, 2)
    assert weights.sum() == pytest.approx(1000) and weights.min() > 0
    # the same resample whatever else is drawn; another number, another resample
    np.testing.assert_array_equal(counts, resample_weights(1000, "nonparametric", 5, 2))
    assert not np.array_equal(counts, resample_weights(1000, "nonparametric", 5, 3))


def test_refits_start_from_the_fitted_parameters_so_components_keep_their_numbers(sample):
    X, gmm = sample
    study = bootstrap(gmm, X, resamples=10, seed=0, converge=False)
    nearest = np.argmin(
        np.linalg.norm(study.means[:, :, None, :] - gmm.means_[None, None], axis=-1), axis=2
    )
    assert np.all(nearest == np.arange(2))


def test_converge_first_runs_em_to_convergence_from_an_early_stop(sample):
    """From a fit stopped after one iteration the errors belong to the converged fit."""
    X, _ = sample
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        early = GaussianMixture(2, random_state=0, max_iter=1).fit(X)
    study = bootstrap(early, X, resamples=4, seed=0, converge=True)
    converged = GaussianMixture(2, random_state=0, **REFIT).fit(X)
    assert study.estimate is not early
    assert study.estimate.lower_bound_ == pytest.approx(converged.lower_bound_, abs=1e-9)


@pytest.mark.slow
def test_the_intervals_cover_the_truth_at_about_their_rate_over_repeated_draws():
    """200 data sets of 300 rows from a known mixture, 49 nonparametric refits each:
    the 90% percentile interval of each weight and mean coordinate covers the true
    value in 90% of the draws, to 0.07 (3.3 binomial standard errors of a rate
    measured on 200 draws, sqrt(0.9 * 0.1 / 200) = 0.021); and the bootstrap's
    standard error of each mean coordinate, averaged over the draws, is the actual
    spread of the estimates over the draws to 20% (the standard deviation of 200
    estimates is itself known to about 5%, and a percentile bootstrap of 300 rows
    is biased by a few per cent)."""
    rng = np.random.default_rng(2026)
    covered, errors, estimates = [], [], []
    for draw_number in range(200):
        X = draw(300, rng)
        gmm = fit_from_truth(X, tol=1e-10)
        study = bootstrap(
            gmm, X, resamples=49, seed=draw_number, converge=False, settings={"tol": 1e-10}
        )
        assert study.kept == 49
        ends = study.intervals(0.90)
        inside = [
            (ends["weights"][0] <= TRUE_WEIGHTS) & (ends["weights"][1] >= TRUE_WEIGHTS),
            ((ends["means"][0] <= TRUE_MEANS) & (ends["means"][1] >= TRUE_MEANS)).ravel(),
        ]
        covered.append(np.concatenate(inside))
        errors.append(study.standard_errors()["means"].ravel())
        estimates.append(gmm.means_.ravel())
    rates = np.mean(covered, axis=0)
    assert np.all(np.abs(rates - 0.90) <= 0.07), rates
    spread = np.std(estimates, axis=0, ddof=1)
    np.testing.assert_allclose(np.mean(errors, axis=0), spread, rtol=0.20)


def test_a_resample_that_loses_a_component_is_counted_and_left_out():
    """A component of 4 rows: a resample that draws fewer than 3 (d + 1) of them
    leaves it too little weight for a 2-D covariance; it is named, not dropped
    silently, and the errors come from the others."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, size=(60, 2)), rng.normal(30, 0.5, size=(4, 2))])
    gmm = GaussianMixture(2, random_state=0, reg_covar=1e-6, **REFIT).fit(X)
    study = bootstrap(gmm, X, resamples=40, seed=0, converge=False)
    assert study.collapsed, "with 40 resamples some draw fewer than 3 of the 4 rows"
    assert study.kept + len(study.collapsed) == 40
    assert set(study.resample_numbers).isdisjoint(c.resample for c in study.collapsed)
    for collapse in study.collapsed:
        weights = resample_weights(X.shape[0], "nonparametric", 0, collapse.resample)
        assert weights[60:].sum() < 3
    kept = {int(b) for b in study.resample_numbers}
    assert all(resample_weights(64, "nonparametric", 0, b)[60:].sum() >= 3 for b in kept)
    record = study.record()
    assert record["kept"] == study.kept and len(record["collapsed"]) == len(study.collapsed)


def test_too_few_refits_for_an_error_say_so():
    empty = Bootstrap(
        estimate=None, kind="nonparametric", seed=0, requested=3,
        resample_numbers=np.array([0]), weights=np.ones((1, 2)) / 2,
        means=np.zeros((1, 2, 2)), covariances=np.tile(np.eye(2), (1, 2, 1, 1)),
        n_iter=np.array([1]), converged=np.array([True]), collapsed=[], time=0.0,
    )  # fmt: skip
    with pytest.raises(ValueError, match="only 1 of 3 bootstrap refits"):
        empty.standard_errors()


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "9"])
def test_a_bad_number_of_resamples_is_refused_naming_it(value):
    with pytest.raises(ValueError, match=r"^resamples=.* is not a number of resamples; give"):
        check_resamples(value)


@pytest.mark.parametrize("value", [0, 1, -0.5, 1.5, "x", None, float("nan")])
def test_a_level_outside_zero_and_one_is_refused_naming_it(value):
    with pytest.raises(ValueError, match=r"^level=.* is not a level; give a number between"):
        check_level(value)


def test_an_unknown_kind_is_refused(sample):
    X, gmm = sample
    with pytest.raises(ValueError, match="kind='jackknife' is not a kind of bootstrap"):
        bootstrap(gmm, X, resamples=2, kind="jackknife")


def test_started_from_keeps_the_options_and_starts_at_the_parameters(sample):
    X, gmm = sample
    start = started_from(gmm, tol=1e-4)
    assert start.tol == 1e-4 and start.n_init == 1
    assert start.covariance_type == gmm.covariance_type
    np.testing.assert_array_equal(start.means_init, gmm.means_)
    refit = start.fit(X)  # already at the optimum: the first passes change nothing
    np.testing.assert_allclose(refit.means_, gmm.means_, rtol=1e-6)


def test_each_nonparametric_refit_equals_mclusts_me_on_the_same_resample(tmp_path):
    """MclustBootstrap(type = "bs") refits ``me(data[idx, ], z = z[idx, ])``: the rows
    drawn, each as often as drawn, from the fitted responsibilities. pcagmm's refit on
    the same counts (weights), from the same fit, by mclust's rule (relative 1e-5, no
    regularisation) reaches the same parameters to 1e-6 relative (mclust's EM and
    pcagmm's agree to that in the mclust M-step tests; here the rows of a resample are
    summed as weights rather than as repeated rows)."""
    from mclust_r import run_mclust

    rng = np.random.default_rng(11)
    X = draw(300, rng)
    rule = {"stopping": "relative", "tol": 1e-5, "acceleration": None, "max_iter": 100_000}
    gmm = GaussianMixture(2, random_state=0, reg_covar=0.0, **rule).fit(X)
    study = bootstrap(gmm, X, resamples=3, seed=5, converge=False, settings=rule)
    z = gmm.predict_proba(X)
    for index, b in enumerate(study.resample_numbers):
        counts = resample_weights(X.shape[0], "nonparametric", 5, int(b)).astype(int)
        rows = np.repeat(np.arange(X.shape[0]), counts) + 1.0  # R counts from 1
        code = """
        fit <- me(modelName = "VVV", data = X[rows, ], z = z[rows, ])
        out("pro", fit$parameters$pro)
        out("mean", t(fit$parameters$mean))
        out("sigma", aperm(fit$parameters$variance$sigma, c(3, 1, 2)))
        """
        theirs = run_mclust(code, tmp_path / str(b), X=X, z=z, rows=rows)
        np.testing.assert_allclose(study.weights[index], theirs["pro"], rtol=1e-6)
        np.testing.assert_allclose(study.means[index], theirs["mean"], rtol=1e-6)
        np.testing.assert_allclose(study.covariances[index], theirs["sigma"], rtol=1e-6)


def test_an_unknown_parameter_is_refused_naming_the_choices(sample):
    X, gmm = sample
    study = bootstrap(gmm, X, resamples=2, seed=0, converge=False)
    with pytest.raises(ValueError, match="unknown parameter 'variances'; choose one of weights,"):
        study.values("variances")
