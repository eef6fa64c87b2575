"""Model files: a round trip, and every kind of damaged file refused with one line."""

from __future__ import annotations

import math
import re
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutation import mutated
from pcagmm import PCA, GaussianMixture
from pcagmm.model_file import ModelFileError, load_model, save_model


@pytest.fixture
def fitted(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(loc=c, size=(100, 6)) for c in (0, 5, 10)])
    pca = PCA(2).fit(X)
    gmm = GaussianMixture(3, covariance_type="full", random_state=0).fit(pca.transform(X))
    path = tmp_path / "model.npz"
    save_model(path, pca, gmm, None, {0: 2, 1: 0})
    return X, pca, gmm, path


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "EII", "VEV"])
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
        # a PCA model stays format 1, which every pcagmm reads (UMAP models are 2)
        assert int(archive["format_version"]) == 1


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


# ----------------------------------------------------------------------------- fuzzed (issue 14)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A saved model of each covariance type (the full one of 4 x 4 images, pixel_max
    16), its bytes, its arrays, and rows to predict."""
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(loc=c, size=(60, 16)) for c in (0, 4, 8)])
    folder = tmp_path_factory.mktemp("models")
    saved = {}
    for name in COVARIANCE_TYPES:
        pca = PCA(3).fit(X)
        gmm = GaussianMixture(3, covariance_type=name, random_state=0).fit(pca.transform(X))
        path = folder / f"{name}.npz"
        image = ((4, 4), 16.0) if name == "full" else (None, 0.0)
        save_model(path, pca, gmm, image[0], {0: 1, 2: 5}, pixel_max=image[1])
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        saved[name] = (path.read_bytes(), arrays, proba(load_model(path), X))
    return saved, X


def proba(model, X):
    return model.gmm.predict_proba(model.pca.transform(X))


def same_arrays(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes()
        for k in a
    )


def check_outcome(path, X, original, expected_proba, arrays=None):
    """A one-line ModelFileError, or (only for an undamaged file) the same predictions."""
    try:
        model = load_model(path)
    except ModelFileError as exc:
        assert "\n" not in str(exc) and str(exc).count("; ") >= 1
        return "refused"
    if arrays is not None:
        assert same_arrays(arrays, original), "a changed model was accepted"
    np.testing.assert_array_equal(proba(model, X), expected_proba)
    return "loaded"


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_mutated_model_bytes(models, tmp_path, data):
    """Any mutation of a real model file's bytes: refused in one line, or (where the
    zip's CRC-32 and the SHA-256 show nothing changed that matters) the same answers."""
    saved, X = models
    name = data.draw(st.sampled_from(COVARIANCE_TYPES))
    content, arrays, expected = saved[name]
    path = tmp_path / "mutated.npz"
    path.write_bytes(mutated(data, content, edits=3, chunk=8))
    if check_outcome(path, X, arrays, expected) == "loaded":
        with np.load(path, allow_pickle=False) as archive:
            assert same_arrays({key: archive[key] for key in archive.files}, arrays)


def _wrong_values(draw, array):
    """Arrays of the same key that no fitted model holds, or another plausible array."""
    kind = draw(st.sampled_from(
        ["shape", "object", "str", "complex", "bool", "nan", "inf", "scale", "shift",
         "empty", "scalar"]
    ))  # fmt: skip
    if kind == "shape":
        shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=3)))
        return np.zeros(shape)
    if kind == "object":
        return np.array([None, 1.0], dtype=object)
    if kind == "str":
        return np.array(["a"] * max(1, array.size)).reshape(array.shape or ())
    if array.dtype.kind not in "biuf":  # a name: numbers in its place
        return np.array(draw(st.sampled_from([np.nan, 1.0, 1j])))
    if kind == "complex":
        return array.astype(np.complex128) + 1j
    if kind == "bool":
        return np.ones(array.shape, dtype=bool)
    if kind == "empty":
        return np.zeros((0, *array.shape[1:]))
    if kind == "scalar":
        return np.array(draw(st.sampled_from([0, -1, 7, 1.5])))
    values = array.astype(np.float64).copy()
    if values.size == 0:
        return values
    index = draw(st.integers(0, values.size - 1))
    flat = values.reshape(-1)
    if kind == "nan":
        flat[index] = np.nan
    elif kind == "inf":
        flat[index] = draw(st.sampled_from([np.inf, -np.inf]))
    elif kind == "scale":
        flat[index] *= draw(st.sampled_from([-1.0, 0.0, 0.5, 2.0, 1e9]))
    else:
        flat[index] += draw(st.sampled_from([-1.0, 1e-3, 0.25, 10.0]))
    return values


def _structural_damage(draw, arrays, name):
    """Damage that a model's own consistency shows, without a digest."""
    kind = draw(st.sampled_from(
        ["weights", "negative weight", "covariances", "factor", "asymmetric",
         "not positive definite", "K mismatch", "image shape", "pixel_max",
         "covariance type", "format version", "components", "labels", "whiten"]
    ))  # fmt: skip
    if kind == "weights":
        arrays["gmm_weights"] = arrays["gmm_weights"] * draw(st.sampled_from([0.9, 1.1, 2.0]))
    elif kind == "negative weight":
        weights = arrays["gmm_weights"].copy()
        weights[draw(st.integers(0, len(weights) - 1))] *= -1
        arrays["gmm_weights"] = weights
    elif kind in ("covariances", "factor"):
        key = "gmm_covariances" if kind == "covariances" else "gmm_precisions_cholesky"
        values = arrays[key].copy()
        flat = values.reshape(-1)
        nonzero = np.flatnonzero(flat)  # (the zeros of a triangular factor stay zero)
        step = np.abs(flat).max() * draw(st.sampled_from([1e-3, -1e-3, 0.1, -0.5]))
        flat[nonzero[draw(st.integers(0, len(nonzero) - 1))]] += step
        if name in ("full", "tied") and kind == "covariances":
            values = (values + np.swapaxes(values, -1, -2)) / 2  # still symmetric
        arrays[key] = values
    elif kind == "asymmetric":
        if name not in ("full", "tied"):
            return False
        values = arrays["gmm_covariances"].copy()
        values[..., 0, 1] += 0.1
        arrays["gmm_covariances"] = values
    elif kind == "not positive definite":
        values = arrays["gmm_covariances"].copy()
        if name in ("full", "tied"):
            vals, vecs = np.linalg.eigh(values)
            vals[..., 0] = draw(st.sampled_from([-1.0, 0.0, -1e-12]))
            values = vecs @ (vals[..., None] * np.swapaxes(vecs, -1, -2))
        else:
            values.reshape(-1)[0] = draw(st.sampled_from([-1.0, 0.0]))
        arrays["gmm_covariances"] = values
    elif kind == "K mismatch":
        key = draw(st.sampled_from(["gmm_weights", "gmm_means", "cluster_to_label",
                                    "gmm_covariances", "gmm_precisions_cholesky"]))  # fmt: skip
        if arrays[key].ndim == 0 or (name == "tied" and "gmm_" in key and "co" in key):
            return False
        arrays[key] = arrays[key][:-1]
    elif kind == "image shape":
        arrays["image_shape"] = np.array(
            draw(st.sampled_from([(4, 5), (0, 4), (-4, -4), (16, 1, 1), (2.0, 8.0)]))
        )
    elif kind == "pixel_max":
        arrays["pixel_max"] = np.array(draw(st.sampled_from([-1.0, np.nan, np.inf, 1e300])))
    elif kind == "covariance type":
        others = [n for n in (*COVARIANCE_TYPES, "round", "", "FULL") if n != name]
        arrays["gmm_covariance_type"] = np.array(draw(st.sampled_from(others)))
    elif kind == "format version":
        arrays["format_version"] = draw(st.sampled_from(
            [np.array("1"), np.array(0), np.array(-3), np.array(1.0), np.array([1, 1])]
        ))  # fmt: skip
    elif kind == "components":
        arrays["pca_components"] = arrays["pca_components"] * draw(st.sampled_from([2.0, 0.5]))
    elif kind == "labels":
        arrays["cluster_to_label"] = draw(st.sampled_from(
            [np.array([0.5, 1, 2]), np.array([-2, 0, 1]), np.array(["a", "b", "c"])]
        ))  # fmt: skip
    else:
        arrays["pca_whiten"] = np.array(draw(st.sampled_from([1, "yes", 0.0])))
    return True


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_structurally_damaged_arrays_without_a_digest(models, tmp_path, data):
    """Files without the SHA-256 (as written before it was added): every damage the
    arrays' consistency shows (shapes, dtypes, NaN, weights, covariances that are not
    symmetric positive definite, Cholesky factors that are not theirs, K, the image
    settings, the type, the version) is a one-line ModelFileError."""
    saved, _ = models
    name = data.draw(st.sampled_from(COVARIANCE_TYPES))
    _, original, _ = saved[name]
    arrays = {key: value for key, value in original.items() if key != "content_sha256"}
    if data.draw(st.booleans()):
        if not _structural_damage(data.draw, arrays, name):
            return
    else:
        key = data.draw(st.sampled_from(sorted(arrays)))
        arrays[key] = _wrong_values(data.draw, arrays[key])
        plausible = arrays[key].dtype.kind in "iuf" and np.all(np.isfinite(arrays[key]))
        if plausible and key in ("pca_mean", "gmm_means", "pca_explained_variance",
                                 "cluster_to_label"):  # fmt: skip
            return
        if key == "pca_whiten" and arrays[key].dtype.kind == "b" and arrays[key].shape == ():
            return  # whitening switched on or off: a plausible model too
        if (
            key == "pixel_max"
            and plausible
            and arrays[key].shape == ()
            and 0 <= arrays[key] <= 65535
        ):
            return  # another grey level (0: the default, 255): plausible
        same = arrays[key].shape == original[key].shape and arrays[key].dtype == original[key].dtype
        if same and np.array_equal(arrays[key], original[key]):
            return  # e.g. a zero scaled: nothing changed
    path = tmp_path / "damaged.npz"
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert "\n" not in str(info.value)


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_any_changed_array_is_refused_by_the_digest(models, tmp_path, data):
    """With the SHA-256 pcagmm writes: any change of any array, plausible or not (a
    shifted mean, swapped weights, a component dropped everywhere), is refused; an
    unchanged rewrite gives the same answers."""
    saved, X = models
    name = data.draw(st.sampled_from(COVARIANCE_TYPES))
    _, original, expected = saved[name]
    arrays = dict(original)
    action = data.draw(st.sampled_from(["value", "structure", "swap", "drop", "none"]))
    if action == "value":
        key = data.draw(st.sampled_from(sorted(k for k in arrays if k != "content_sha256")))
        arrays[key] = _wrong_values(data.draw, arrays[key])
    elif action == "structure":
        _structural_damage(data.draw, arrays, name)
    elif action == "swap":
        for key in ("gmm_weights", "cluster_to_label"):
            arrays[key] = arrays[key][::-1].copy()
    elif action == "drop":
        keep = slice(0, -1)
        arrays["gmm_weights"] = arrays["gmm_weights"][keep] / arrays["gmm_weights"][keep].sum()
        for key in ("gmm_means", "cluster_to_label"):
            arrays[key] = arrays[key][keep]
        if name != "tied":
            for key in ("gmm_covariances", "gmm_precisions_cholesky"):
                arrays[key] = arrays[key][keep]
    path = tmp_path / "rewritten.npz"
    np.savez(path, **arrays)
    outcome = check_outcome(path, X, original, expected, arrays)
    assert outcome == ("refused" if not same_arrays(arrays, original) else "loaded")


def test_consistency_checks_name_the_problem(models, tmp_path):
    """One example of each check, with its message (no digest: the consistency speaks)."""
    saved, _ = models
    _, original, _ = saved["full"]

    def refused(change):
        arrays = {k: v.copy() for k, v in original.items() if k != "content_sha256"}
        change(arrays)
        np.savez(tmp_path / "m.npz", **arrays)
        with pytest.raises(ModelFileError) as info:
            load_model(tmp_path / "m.npz")
        return str(info.value)

    def scale(key, factor):
        return lambda a: a.update({key: a[key] * factor})

    def set_(key, value):
        return lambda a: a.update({key: value})

    cov = original["gmm_covariances"]
    flipped = cov.copy()
    flipped[0] = -flipped[0]
    cases = [
        (scale("gmm_weights", 1.01), "gmm_weights sum to 1.01, not 1"),
        (set_("gmm_weights", np.array([1.5, -0.25, -0.25])), "gmm_weights holds values outside"),
        (scale("gmm_covariances", 1.01), "gmm_precisions_cholesky is not the Cholesky factor"),
        (set_("gmm_covariances", flipped), "gmm_covariances are not positive definite"),
        (set_("gmm_covariances", cov + np.triu(np.ones(3), 1)), "are not symmetric"),
        (scale("pca_components", 2.0), "pca_components are not orthonormal"),
        (set_("gmm_covariance_type", np.array("round")), "EVV, VVV, got 'round'"),
        (set_("gmm_covariance_type", np.array(3)), "gmm_covariance_type is not a name"),
        (set_("image_shape", np.array([4, 5])), "image_shape 4 x 5 does not make the 16"),
        (set_("image_shape", np.array([4.0, 4.0])), "image_shape is [4.0, 4.0], not a size"),
        (set_("pixel_max", np.array(-3.0)), "pixel_max is -3, not a grey level (0 to 65535)"),
        (set_("pixel_max", np.array("16")), "pixel_max holds non-finite or non-numeric"),
        (set_("format_version", np.array("1")), "format_version is not a whole number"),
        (set_("format_version", np.array(0)), "is model format 0, which no pcagmm wrote"),
        (set_("n_features", np.array(2)), "3 components of 2 features"),
        (set_("cluster_to_label", np.array([-2, 0, 1])), "cluster_to_label holds int64 values"),
        (set_("pca_whiten", np.array(1)), "pca_whiten is not true or false"),
        (set_("gmm_means", original["gmm_means"].astype(np.complex128)), "non-numeric"),
    ]
    for change, message in cases:
        assert message in refused(change), message
    digest = dict(original)
    digest["gmm_means"] = original["gmm_means"] + 0.5  # plausible, but not what was written
    np.savez(tmp_path / "d.npz", **digest)
    with pytest.raises(ModelFileError, match="do not match the SHA-256 recorded in it"):
        load_model(tmp_path / "d.npz")


def test_a_file_without_a_digest_still_loads(models, tmp_path):
    saved, X = models
    for name in COVARIANCE_TYPES:
        _, original, expected = saved[name]
        np.savez(
            tmp_path / "old.npz", **{k: v for k, v in original.items() if k != "content_sha256"}
        )
        np.testing.assert_array_equal(proba(load_model(tmp_path / "old.npz"), X), expected)


def test_extreme_but_finite_values_give_no_wrong_answer(models, tmp_path):
    """A file without a digest whose mean is 1e300 loads (nothing in it disagrees), but
    predict refuses rather than print probabilities that are not numbers."""
    from pcagmm.predict import PredictError, predict

    saved, X = models
    arrays = {k: v for k, v in saved["diag"][1].items() if k != "content_sha256"}
    arrays["pca_mean"] = np.full_like(arrays["pca_mean"], 1e300)
    np.savez(tmp_path / "extreme.npz", **arrays)
    np.save(tmp_path / "rows.npy", X[:3])
    with pytest.raises(PredictError, match="the model gives no finite probabilities for 0"):
        predict(tmp_path / "extreme.npz", tmp_path / "rows.npy")


def test_command_line_damaged_models(models, tmp_path, capsys):
    """Exit status 2 and one line, for a model refused by its consistency and one
    refused by its digest."""
    from pcagmm.cli import main

    saved, X = models
    np.save(tmp_path / "rows.npy", X[:3])
    original = saved["full"][1]
    not_positive = {k: v for k, v in original.items() if k != "content_sha256"}
    not_positive["gmm_covariances"] = -original["gmm_covariances"]
    np.savez(tmp_path / "negative.npz", **not_positive)
    shifted = dict(original, gmm_means=original["gmm_means"] + 1.0)
    np.savez(tmp_path / "shifted.npz", **shifted)
    for name, fragment in [
        ("negative.npz", "gmm_covariances are not positive definite"),
        ("shifted.npz", "do not match the SHA-256 recorded in it"),
    ]:
        code = main(["predict", "--model", str(tmp_path / name), str(tmp_path / "rows.npy")])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        last = err.strip().splitlines()[-1]
        assert last.startswith("pcagmm: error: ") and fragment in last and "; give a" in last


# ----------------------------------------------------------------------------- inflated (issue 25)

#: The most memory (traced) that refusing an inflated file may take: the arrays these
#: files declare take 76 MiB to 610 MiB, none of which may be allocated.
REFUSAL_PEAK = 16 << 20


def write_inflated(path, arrays, inflated):
    """An .npz of ``arrays`` in which each member named in ``inflated`` (key -> shape,
    dtype) is a valid .npy header of that shape followed by zeros, deflated as they are
    written (never whole in memory): a small file that declares large arrays."""
    zeros = bytes(1 << 22)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key in {**arrays, **inflated}:
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                if key not in inflated:
                    np.lib.format.write_array(member, arrays[key])
                    continue
                shape, dtype = inflated[key]
                header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
                np.lib.format.write_array_header_1_0(member, header)
                left = math.prod(shape) * np.dtype(dtype).itemsize
                while left:
                    member.write(zeros[: min(left, len(zeros))])
                    left -= min(left, len(zeros))


K_MILLIONS = 2_000_000
INFLATED = {
    # the file of issue 25: 611 KiB that made predict allocate 610 MiB before refusing
    "means": ("full", {"gmm_means": ((40_000_000, 2), "<f8")}),
    "format version": ("full", {"format_version": ((10_000_000,), "<i8")}),
    "every cluster array": (  # shapes that agree, all with 2,000,000 clusters
        "spherical",
        {
            "gmm_weights": ((K_MILLIONS,), "<f8"),
            "gmm_means": ((K_MILLIONS, 3), "<f8"),
            "gmm_covariances": ((K_MILLIONS,), "<f8"),
            "gmm_precisions_cholesky": ((K_MILLIONS,), "<f8"),
            "cluster_to_label": ((K_MILLIONS,), "<i8"),
        },
    ),
    "an extra array": ("full", {"notes": ((10_000_000,), "<f8")}),
}


@pytest.fixture(scope="module")
def inflated_files(models, tmp_path_factory):
    saved, _ = models
    folder = tmp_path_factory.mktemp("inflated")
    files = {}
    for case, (name, inflated) in INFLATED.items():
        files[case] = folder / f"{case.replace(' ', '-')}.npz"
        write_inflated(files[case], saved[name][1], inflated)
    return files


def traced_peak(call):
    """``call()``'s result and the most memory (bytes) tracemalloc saw it hold."""
    tracemalloc.start()
    try:
        return call(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refusal(path) -> str:
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    return str(info.value)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "means",
            r"gmm_means has shape \(40000000, 2\), expected \(3, 3\) \(the model's 3 clusters "
            r"in 3 dimensions, 3 components of 16 features; the array was not read\); give a "
            r"model\.npz written by pcagmm run$",
        ),
        (
            "format version",
            r"format_version has shape \(10000000,\) of int64 \(76\.3 MiB\), expected a single "
            r"value \(it was not read\)",
        ),
        (
            "every cluster array",
            r"its arrays declare 106\.8 MiB in a file of \d+\.\d KiB; pcagmm writes them "
            r"uncompressed \(the arrays were not read\)",
        ),
        ("an extra array", r"its arrays declare 76\.3 MiB in a file of \d+\.\d KiB"),
    ],
)
def test_inflated_arrays_are_refused_from_their_headers(inflated_files, case, message):
    """A small file whose .npy headers declare large arrays is refused, in one line, by
    those headers: the arrays are never allocated."""
    path = inflated_files[case]
    assert path.stat().st_size < 1 << 20
    text, peak = traced_peak(lambda: refusal(path))
    assert re.search(message, text), text
    assert "\n" not in text
    assert peak < REFUSAL_PEAK, f"refusing {case} took {peak / 2**20:.1f} MiB"


def test_predict_refuses_an_inflated_model_in_one_line(inflated_files, models, tmp_path, capsys):
    from pcagmm.cli import main

    np.save(tmp_path / "rows.npy", models[1][:3])
    args = ["predict", "--model", str(inflated_files["means"]), str(tmp_path / "rows.npy")]
    code, peak = traced_peak(lambda: main(args))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("pcagmm: error: ") and "gmm_means has shape (40000000, 2)" in last
    assert last.endswith("; give a model.npz written by pcagmm run")
    assert peak < REFUSAL_PEAK, f"predict took {peak / 2**20:.1f} MiB"


def test_a_compressed_copy_of_a_model_still_loads(models, tmp_path):
    """pcagmm writes its arrays uncompressed, but a model saved again compressed (its
    arrays declare more bytes than the file holds) is no bomb, and loads."""
    saved, X = models
    for name in COVARIANCE_TYPES:
        _, arrays, expected = saved[name]
        np.savez_compressed(tmp_path / "compressed.npz", **arrays)
        np.testing.assert_array_equal(proba(load_model(tmp_path / "compressed.npz"), X), expected)
