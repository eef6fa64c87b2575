"""PCA: what mutation testing (tools/mutation.md) found untested.

``leading`` must give the copy the estimator's settings and feature names, and its
noise variance must be a fit's also when every component is kept;
``inverse_transform`` must refuse projections of the wrong width with its own message.
Each is checked against a fresh fit or scikit-learn, not against the module itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA as SklearnPCA

from pcagmm import PCA
from pcagmm.decomposition import scatter_sums


def data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 2.0


@pytest.mark.parametrize("whiten", [False, True])
def test_leading_keeps_the_settings_of_the_estimator(whiten):
    large = PCA(5, whiten=whiten, chunk_rows=64).fit(data(300, 7))
    for k in (1, 4):
        params = large.leading(k).get_params()
        assert params == {"n_components": k, "whiten": whiten, "chunk_rows": 64}


@pytest.mark.parametrize("n, d", [(50, 6), (4, 9)])
def test_leading_every_component_has_no_noise_variance_as_a_fit(n, d):
    """k = min(n, d) components leave no variance out: the noise variance is 0, as a
    fit (and scikit-learn) gives, not 0/0 or a default."""
    X = data(n, d)
    k = min(n, d)
    full = PCA().fit(X)
    kept = full.leading(k)
    assert kept.noise_variance_ == 0.0
    assert PCA(k).fit(X).noise_variance_ == 0.0
    assert SklearnPCA(k, svd_solver="covariance_eigh").fit(X).noise_variance_ == 0.0


def test_leading_keeps_the_feature_names():
    X = pd.DataFrame(data(100, 4), columns=["a", "b", "c", "d"])
    large = PCA(3).fit(X)
    kept = large.leading(2)
    assert list(kept.feature_names_in_) == ["a", "b", "c", "d"]
    assert list(kept.get_feature_names_out()) == ["pca0", "pca1"]
    # the copy checks the names of what it projects, as a fit would
    with pytest.warns(UserWarning, match="feature names"):
        kept.transform(X.to_numpy())


def test_inverse_transform_refuses_the_wrong_number_of_columns():
    pca = PCA(3).fit(data(60, 5))
    with pytest.raises(ValueError, match="inverse_transform expects 3 columns, got shape"):
        pca.inverse_transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="inverse_transform expects 3 columns, got shape"):
        pca.inverse_transform(np.zeros(3))


def test_float_data_every_attribute_as_scikit_learn():
    X = data(200, 6, seed=3)
    ours = PCA(4).fit(X)
    reference = SklearnPCA(4, svd_solver="covariance_eigh").fit(X)
    for name in (
        "explained_variance_",
        "explained_variance_ratio_",
        "singular_values_",
        "mean_",
        "noise_variance_",
    ):
        np.testing.assert_allclose(
            getattr(ours, name), getattr(reference, name), rtol=1e-9, err_msg=name
        )


def test_rank_deficient_data_has_no_negative_variance():
    """Eigenvalues of a singular covariance come out of eigh as tiny negatives: they are
    clipped at 0, as scikit-learn clips them."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(100, 3)) @ rng.normal(size=(3, 8))  # rank 3 in 8 dimensions
    ours = PCA().fit(X)
    reference = SklearnPCA(svd_solver="covariance_eigh").fit(X)
    assert np.all(ours.explained_variance_ >= 0.0)
    assert np.all(reference.explained_variance_ >= 0.0)
    np.testing.assert_allclose(ours.explained_variance_, reference.explained_variance_, atol=1e-12)


def test_uint8_sums_are_about_128_and_their_mean_is_the_data_mean():
    rng = np.random.default_rng(7)
    X = rng.integers(0, 256, size=(500, 12), dtype=np.uint8)
    sums = scatter_sums(X)
    np.testing.assert_array_equal(sums.shift, np.full(12, 128.0))
    np.testing.assert_allclose(sums.mean, X.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(PCA(2).fit(X).mean_, X.mean(axis=0), rtol=1e-15)


def test_uint8_scatter_with_many_runs_of_used_columns_is_exact():
    """Columns that are 0 in every row split the others into runs; each run is packed
    after the previous ones (three runs and more)."""
    rng = np.random.default_rng(9)
    X = rng.integers(0, 256, size=(700, 20), dtype=np.uint8)
    X[:, [0, 3, 4, 9, 15, 19]] = 0  # runs 1-2, 5-8, 10-14, 16-18
    sums = scatter_sums(X)
    U = X.astype(np.int64) - 128
    np.testing.assert_array_equal(sums.scatter, (U.T @ U).astype(np.float64))


def test_uint8_rows_are_counted_for_the_progress_bar():
    from pcagmm.progress import reporting_rows

    X = np.random.default_rng(10).integers(0, 256, size=(3000, 5), dtype=np.uint8)
    counted = []
    with reporting_rows(counted.append):
        scatter_sums(X, threads=1)
    assert sum(counted) == 3000


def test_float_sums_default_to_a_shift_near_the_data():
    """Without a shift, rows are taken about the mean of the first rows: data far from
    the origin keep their precision (a two-pass covariance is the reference)."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(3000, 4)) + 1e9
    sums = scatter_sums(X)
    np.testing.assert_allclose(sums.shift, X[:1024].mean(axis=0), rtol=1e-15)
    centred = X - X.mean(axis=0)
    np.testing.assert_allclose(
        sums.covariance(), centred.T @ centred / (len(X) - 1), rtol=1e-9, atol=1e-9
    )


def test_sums_of_two_halves_about_one_shift_add_up_to_the_whole():
    X = data(300, 5, seed=12)
    shift = X[:10].mean(axis=0)
    whole = scatter_sums(X, shift=shift)
    halves = scatter_sums(X[:120], shift=shift).add(scatter_sums(X[120:], shift=shift))
    assert halves.n == 300
    np.testing.assert_allclose(halves.linear, whole.linear, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(halves.scatter, whole.scatter, rtol=1e-12)
    with pytest.raises(ValueError, match="different shift points"):
        scatter_sums(X[:120], shift=shift).add(scatter_sums(X[120:], shift=shift + 1))
