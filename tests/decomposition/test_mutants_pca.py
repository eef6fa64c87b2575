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
