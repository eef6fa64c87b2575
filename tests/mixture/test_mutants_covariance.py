"""Covariance types: what mutation testing (tools/mutation.md) found untested.

The plane drawn as ellipses must be the first two features' covariance also with more
than two features; user-given precisions that are not valid must be refused, naming
the type; the Cholesky factor of given precisions must be scikit-learn's (upper
triangular, ``P @ P.T`` the precision). Each is checked against dense matrices built
here from the definitions.
"""

from __future__ import annotations

import numpy as np
import pytest

from pcagmm.mixture.covariance import IllConditionedError, covariance_type

TYPES = ("full", "tied", "diag", "spherical")
K, D = 3, 4


def random_spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T + d * np.eye(d)


def covariances_of(kind, rng):
    """Covariances of ``kind`` and the same as K dense d x d matrices."""
    if kind == "full":
        c = np.stack([random_spd(rng, D) for _ in range(K)])
        return c, c
    if kind == "tied":
        c = random_spd(rng, D)
        return c, np.stack([c] * K)
    if kind == "diag":
        c = rng.uniform(0.5, 3.0, size=(K, D))
        return c, np.stack([np.diag(v) for v in c])
    c = rng.uniform(0.5, 3.0, size=K)
    return c, np.stack([v * np.eye(D) for v in c])


@pytest.mark.parametrize("kind", TYPES)
def test_the_plane_is_the_first_two_features_with_more_features(kind):
    covariances, dense = covariances_of(kind, np.random.default_rng(0))
    plane = np.asarray(covariance_type(kind).plane(covariances, K))
    assert plane.shape == (K, 2, 2)
    np.testing.assert_array_equal(plane, dense[:, :2, :2])


@pytest.mark.parametrize("kind", ["diag", "spherical"])
def test_a_zero_or_negative_precision_is_refused_naming_the_type(kind):
    shape = (K, D) if kind == "diag" else (K,)
    precisions = np.ones(shape)
    covariance_type(kind).check_precisions(precisions)  # valid: no error
    for bad in (0.0, -1.0):
        precisions.flat[1] = bad
        with pytest.raises(ValueError, match=f"^'{kind} precision' should be positive$"):
            covariance_type(kind).check_precisions(precisions)


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_a_precision_matrix_not_positive_definite_is_refused_naming_the_type(kind):
    bad = np.diag([1.0, -1.0, 2.0])
    precisions = np.stack([np.eye(3), bad]) if kind == "full" else bad
    message = f"^'{kind} precision' should be symmetric, positive-definite$"
    with pytest.raises(ValueError, match=message):
        covariance_type(kind).check_precisions(precisions)


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_the_factor_of_given_precisions_is_upper_triangular_as_scikit_learns(kind):
    """scikit-learn's factor of a precision is the unique upper-triangular P with a
    positive diagonal and P P^T = precision (checked here by the definition; its
    function computing it is private and changes signature between releases)."""
    rng = np.random.default_rng(1)
    precisions = np.stack([random_spd(rng, D) for _ in range(K)])
    if kind == "tied":
        precisions = precisions[0]
    factor = covariance_type(kind).precision_cholesky_from_precisions(precisions)
    assert factor.shape == precisions.shape
    for P, precision in zip(factor.reshape(-1, D, D), precisions.reshape(-1, D, D), strict=True):
        np.testing.assert_array_equal(P, np.triu(P))
        assert np.all(np.diag(P) > 0)
        np.testing.assert_allclose(P @ P.T, precision, rtol=1e-12)


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_precisions_that_have_no_factor_are_ill_conditioned_naming_the_type(kind):
    bad = -np.eye(3)
    precisions = np.stack([np.eye(3), bad]) if kind == "full" else bad
    with pytest.raises(IllConditionedError, match=f"\\({kind} covariance not positive definite"):
        covariance_type(kind).precision_cholesky_from_precisions(precisions)


@pytest.mark.parametrize("kind", TYPES)
def test_the_variances_are_the_diagonals_of_the_covariance_matrices(kind):
    """What the printed tables show (each component's variance along each feature)."""
    covariances, dense = covariances_of(kind, np.random.default_rng(2))
    variances = np.asarray(covariance_type(kind).variances(covariances, K, D))
    np.testing.assert_array_equal(variances, np.diagonal(dense, axis1=1, axis2=2))
