"""Stopping rules, Aitken's extrapolation and SQUAREM (pcagmm.mixture.convergence).

The rules are checked against their formulas on sequences whose limits are known; SQUAREM
against plain EM on problems with one optimum (the same optimum, fewer passes, a
log-likelihood that never decreases) and against its safeguard on a constructed map.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from pcagmm import GaussianMixture
from pcagmm.errors import ParameterError
from pcagmm.mixture import convergence
from pcagmm.workflow import RunConfig


def geometric(limit=-3.0, scale=0.5, rate=0.9, count=60):
    """l_t = limit - scale rate^t: a sequence converging linearly, as EM does."""
    return [limit - scale * rate**t for t in range(count)]


def separated(seed=0, n=1500, K=3):
    """Well-separated clusters: one optimum, reached from any k-means start."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [9.0, 1.0], [2.0, 8.0]])[:K]
    spread = [rng.normal(size=(2, 2)) * 0.6 + np.eye(2) for _ in range(K)]
    X = np.vstack(
        [c + rng.normal(size=(n // K, 2)) @ s for c, s in zip(centres, spread, strict=True)]
    )
    return X[rng.permutation(len(X))]


def overlapping(seed=1, n=3000, K=4):
    """Overlapping clusters: plain EM crawls (hundreds of iterations)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(K, 2)) * 2.0
    return np.vstack(
        [c + rng.normal(size=(n // K, 2)) @ rng.normal(size=(2, 2)) * 0.8 for c in centres]
    )


def fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**{"max_iter": 100_000, **params}).fit(X)


# ----------------------------------------------------------------------------- rules


def test_the_absolute_rule_is_scikit_learns_on_the_mean():
    assert not convergence.has_converged("absolute", [-np.inf, -2.0], 1e-3, 100)
    assert convergence.has_converged("absolute", [-2.0, -1.9991], 1e-3, 100)
    assert not convergence.has_converged("absolute", [-2.0, -1.9989], 1e-3, 100)
    assert not convergence.has_converged("absolute", [-2.0, -2.0], 0.0, 100)  # tol=0: never


def test_the_relative_rule_reads_the_total_log_likelihood():
    # mean -2 -> -1.9999999 over 1000 rows: |dL| = 1e-4, 1 + |L| = 2000.0001
    bounds = [-2.0, -1.9999999]
    assert convergence.has_converged("relative", bounds, 1e-7, 1000)  # 1e-4 <= 2.0e-4
    assert not convergence.has_converged("relative", bounds, 1e-8, 1000)  # 1e-4 > 2.0e-5
    # over 10 rows: |dL| = 1e-6, 1 + |L| = 21.0
    assert not convergence.has_converged("relative", bounds, 1e-8, 10)  # 1e-6 > 2.1e-7
    assert convergence.has_converged("relative", bounds, 1e-7, 10)  # 1e-6 <= 2.1e-6


def test_aitken_finds_the_limit_of_a_linearly_converging_sequence():
    bounds = geometric()
    for t in range(3, 40):
        assert convergence.aitken_limit(bounds[:t]) == pytest.approx(-3.0, abs=1e-12)


def test_aitken_stops_on_the_distance_to_the_limit_not_the_step():
    bounds = geometric(rate=0.99, count=2000)  # slow: steps are small far from the limit
    stop = next(
        t for t in range(2, 2000) if convergence.has_converged("aitken", bounds[: t + 1], 1e-6, 1)
    )
    assert abs(bounds[stop] - (-3.0)) < 1e-6  # within tol of the limit
    assert abs(bounds[stop - 1] - (-3.0)) >= 1e-6  # and not one step earlier
    absolute = next(
        t for t in range(1, 2000) if convergence.has_converged("absolute", bounds[: t + 1], 1e-6, 1)
    )
    assert abs(bounds[absolute] - (-3.0)) > 50 * 1e-6  # the step rule stops 100x further off


def test_aitken_gives_no_limit_where_the_sequence_is_not_converging_linearly():
    assert convergence.aitken_limit([-3.0, -2.0]) is None  # too short
    assert convergence.aitken_limit([-3.0, -3.0, -2.0]) is None  # a zero step before
    assert convergence.aitken_limit([-3.0, -2.0, -0.5]) is None  # rate 1.5 >= 1
    assert convergence.still_rising([-3.0, -2.5, -2.25]) == (0.25, pytest.approx(0.25))


def test_aitken_stops_em_within_its_tolerance_of_the_converged_value():
    X = overlapping()
    converged = fit(X, n_components=4, random_state=1, stopping="relative", tol=1e-14)
    for tol in (1e-5, 1e-7):
        aitken = fit(X, n_components=4, random_state=1, stopping="aitken", tol=tol)
        assert aitken.converged_
        assert 0 <= converged.lower_bound_ - aitken.lower_bound_ < tol
        plain = fit(X, n_components=4, random_state=1, tol=tol)  # scikit-learn's rule
        assert (
            converged.lower_bound_ - plain.lower_bound_
            > converged.lower_bound_ - aitken.lower_bound_
        )


# ----------------------------------------------------------------------------- SQUAREM


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_squarem_reaches_plain_ems_optimum_in_fewer_passes(covariance_type):
    X = separated()
    params = {"n_components": 3, "covariance_type": covariance_type, "random_state": 0}
    plain = fit(X, stopping="relative", tol=1e-13, **params)
    fast = fit(X, stopping="relative", tol=1e-13, acceleration="squarem", **params)
    assert plain.converged_ and fast.converged_
    assert abs(fast.lower_bound_ - plain.lower_bound_) <= 1e-10 * abs(plain.lower_bound_)
    np.testing.assert_allclose(fast.means_, plain.means_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(fast.weights_, plain.weights_, rtol=0, atol=1e-6)
    # Here plain EM needs 3-4 passes; SQUAREM one cycle (3 passes) more, and one pass more
    # again where, at the optimum, an extrapolation's log-likelihood ties the current one
    # to rounding and the safeguard drops it (under OpenBLAS's Sandybridge kernel: diag and
    # spherical took 8 passes to plain EM's 4). Fewer passes on a slow problem: below.
    assert fast.n_iter_ <= plain.n_iter_ + 4


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("stopping, tol", [("relative", 1e-8), ("absolute", 1e-6)])
def test_squarem_never_ends_lower_than_plain_em_under_the_same_rule(covariance_type, stopping, tol):
    X = overlapping()
    params = {"n_components": 4, "covariance_type": covariance_type, "random_state": 1}
    plain = fit(X, stopping=stopping, tol=tol, **params)
    fast = fit(X, stopping=stopping, tol=tol, acceleration="squarem", **params)
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-12 * abs(plain.lower_bound_)
    assert fast.n_iter_ < plain.n_iter_


def test_squarems_log_likelihood_never_decreases_and_it_saves_passes():
    # reg_covar=0: with reg_covar > 0 the M-step maximises a slightly different objective,
    # and plain EM's own log-likelihood may fall by ~1e-10 near the optimum
    X = overlapping()
    params = {"n_components": 4, "random_state": 1, "stopping": "relative", "reg_covar": 0.0}
    plain = fit(X, tol=1e-10, **params)
    fast = fit(X, tol=1e-10, acceleration="squarem", **params)
    assert np.all(np.diff(plain.lower_bounds_) >= 0)
    assert np.all(np.diff(fast.lower_bounds_) >= 0)
    assert fast.extrapolations_[0] > 0
    assert fast.n_iter_ * 2 < plain.n_iter_


def test_squarem_falls_back_to_plain_em_when_an_extrapolation_is_invalid():
    # a linear EM-like map pulling a weight towards 0.003; an extrapolated point with a
    # weight at or below 0.004 is declared invalid, so the long steps SQUAREM takes
    # towards the limit must be dropped for the plain EM point
    target = np.array([0.003, 0.997])
    means, covariances = np.zeros((2, 1)), np.ones((2, 1))

    def em_pass(params):
        weights = params[0]
        bound = -float(np.sum((weights - target) ** 2))
        following = target + 0.95 * (weights - target)
        return bound, (following, means, covariances)

    def valid(partial):
        return None if partial[0][0] <= 0.004 else partial

    trace = convergence.iterate(
        em_pass, (np.array([0.6, 0.4]), means, covariances), stopping="absolute", tol=1e-14,
        max_iter=5000, weight=1.0, acceleration="squarem", valid=valid,
    )  # fmt: skip
    assert trace.converged and trace.rejected > 0
    assert np.all(np.diff(trace.bounds) >= 0)
    assert trace.params[0][0] == pytest.approx(0.003, abs=1e-6)


def test_squarem_drops_a_step_whose_stabilised_point_is_lower():
    # an EM-like map that slows down far from its limit (rate 0.95 at distance 1, 0.5 near
    # it), under a log-likelihood with a cliff just past the limit: extrapolating with the
    # slow early rate overshoots onto the cliff, and the next pass sends SQUAREM back
    def bound_of(x):
        return -((x - 1.0) ** 2) - (5.0 if x > 1.02 else 0.0)

    def em_pass(params):
        x = params[1][0, 0]
        following = 1.0 + (0.5 + 0.45 * min(abs(x - 1.0), 1.0)) * (x - 1.0)
        return bound_of(x), (params[0], np.array([[following]]), params[2])

    start = (np.array([1.0]), np.array([[-1.0]]), np.array([1.0]))
    trace = convergence.iterate(
        em_pass, start, stopping="absolute", tol=1e-12, max_iter=2000, weight=1.0,
        acceleration="squarem", valid=lambda p: (*p,),
    )  # fmt: skip
    assert trace.converged and trace.rejected > 0
    assert np.all(np.diff(trace.bounds) >= 0)


# ----------------------------------------------------------------------------- options


def test_bad_stopping_options_are_refused():
    X = separated()
    with pytest.raises(ValueError, match="stopping must be one of absolute, relative, aitken"):
        GaussianMixture(2, stopping="mclust").fit(X)
    with pytest.raises(ValueError, match="acceleration must be None or 'squarem'"):
        GaussianMixture(2, acceleration="anderson").fit(X)
    with pytest.raises(ValueError, match="use stopping='relative' with acceleration='squarem'"):
        GaussianMixture(2, stopping="aitken", acceleration="squarem").fit(X)
    with pytest.raises(ParameterError, match="unknown stopping rule"):
        RunConfig("digits", stopping="fast")
    with pytest.raises(ParameterError, match="unknown acceleration"):
        RunConfig("digits", acceleration="fast")
    with pytest.raises(ParameterError, match="SQUAREM does not have"):
        RunConfig("digits", stopping="aitken", acceleration="squarem")


def test_the_default_rule_is_still_scikit_learns():
    X = overlapping()
    from sklearn.mixture import GaussianMixture as SklearnGMM

    ours = fit(X, n_components=4, random_state=1, max_iter=100)
    reference = SklearnGMM(4, random_state=1).fit(X)
    assert ours.n_iter_ == reference.n_iter_
    assert ours.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-12)


def test_bad_stopping_options_on_the_command_line_are_one_line_errors():
    from commandline import cli, one_line_error

    one_line_error(cli("run", "--stopping", "fast"), "--stopping", "absolute", "aitken")
    one_line_error(cli("run", "--acceleration", "anderson"), "--acceleration", "squarem")
    one_line_error(
        cli("run", "--stopping", "aitken", "--acceleration", "squarem"),
        "use --stopping relative with --acceleration squarem",
    )
