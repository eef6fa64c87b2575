"""Model files: a round trip, and every kind of damaged file refused with one line."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from pcagmm import PCA, GaussianMixture
from pcagmm.model_file import FORMAT_VERSION, ModelFileError, load_model, save_model


@pytest.fixture
def fitted(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(loc=c, size=(100, 6)) for c in (0, 5, 10)])
    pca = PCA(2).fit(X)
    gmm = GaussianMixture(3, covariance_type="full", random_state=0).fit(pca.transform(X))
    path = tmp_path / "model.npz"
    save_model(path, pca, gmm, None, {0: 2, 1: 0})
    return X, pca, gmm, path


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_round_trip_predicts_the_same(tmp_path, covariance_type):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 5))
    pca = PCA(3, whiten=True).fit(X)
    gmm = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(pca.transform(X))
    save_model(tmp_path / "m.npz", pca, gmm, (1, 5), {1: 7})
    model = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(
        model.gmm.predict_proba(model.pca.transform(X)), gmm.predict_proba(pca.transform(X))
    )
    assert model.image_shape == (1, 5)
    assert model.cluster_to_label.tolist() == [-1, 7]
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:  # plain arrays only
        assert int(archive["format_version"]) == FORMAT_VERSION


def rewrite(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:300]), "is not a readable model file"),
        (lambda p: p.write_text("hello"), "is not a readable model file"),
        (lambda p: p.unlink(), "does not exist"),
        (
            lambda p: rewrite(p, lambda a: a.update(format_version=np.array(99))),
            "is model format 99, newer than this pcagmm reads",
        ),
        (lambda p: rewrite(p, lambda a: a.pop("format_version")), "has no format version"),
        (lambda p: rewrite(p, lambda a: a.pop("gmm_means")), "lacks gmm_means"),
        (
            lambda p: rewrite(p, lambda a: a.update(gmm_means=np.zeros((3, 5)))),
            r"gmm_means has shape \(3, 5\), expected \(3, 2\)",
        ),
        (
            lambda p: rewrite(p, lambda a: a.update(pca_mean=np.zeros(7))),
            r"pca_mean has shape \(7,\), expected \(6,\)",
        ),
        (
            lambda p: rewrite(p, lambda a: a.update(gmm_weights=np.array([np.nan, 0.5, 0.5]))),
            "non-finite",
        ),
        (
            lambda p: rewrite(p, lambda a: a.update(gmm_covariance_type=np.array("round"))),
            "inconsistent contents",
        ),
        (
            lambda p: rewrite(p, lambda a: a.update(gmm_means=np.array([None] * 6, dtype=object))),
            "is not a readable model file",
        ),
    ],
)
def test_damaged_model_files(fitted, damage, message):
    path = fitted[3]
    damage(path)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_save_leaves_no_temporary_file(fitted):
    path = fitted[3]
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.npz"]
    assert zipfile.is_zipfile(path)
