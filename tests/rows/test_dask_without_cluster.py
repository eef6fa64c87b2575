"""Dask arrays with Dask's own local scheduler (no distributed client): the same tree of
sums, the same answers as the in-memory estimators."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from pcagmm import PCA, GaussianMixture  # noqa: E402
from pcagmm.rows.dask import _current_client  # noqa: E402


def test_estimators_on_the_local_scheduler_equal_in_memory():
    assert _current_client() is None  # this module runs without a cluster
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(c, 1.0, size=(700, 6)) for c in (-4, 0, 5)])
    X_dask = da.from_array(X, chunks=(450, 6))
    pca = PCA(2).fit(X_dask)
    reference_pca = PCA(2).fit(X)
    np.testing.assert_allclose(pca.components_, reference_pca.components_, rtol=1e-9, atol=1e-12)
    Z_dask, Z = pca.transform(X_dask), reference_pca.transform(X)
    gmm = GaussianMixture(3, random_state=0).fit(Z_dask)
    reference = GaussianMixture(3, random_state=0).fit(Z)
    assert gmm.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(gmm.means_, reference.means_, rtol=1e-9)
    np.testing.assert_array_equal(gmm.predict(Z_dask).compute(), reference.predict(Z))
