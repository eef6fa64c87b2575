"""PCA: agreement with scikit-learn's covariance_eigh solver, an independent covariance,
chunk-size independence, memory, and bad input."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.utils.estimator_checks import check_estimator

from pcagmm import PCA, datasets
from pcagmm.decomposition import scatter_sums


def relative(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def assert_matches_sklearn(ours: PCA, X, tolerance=1e-8):
    reference = SklearnPCA(ours.n_components, svd_solver="covariance_eigh").fit(
        np.asarray(X, dtype=np.float64)
    )
    assert relative(ours.components_, reference.components_) < tolerance  # same signs too
    assert relative(ours.explained_variance_, reference.explained_variance_) < tolerance
    assert relative(ours.explained_variance_ratio_, reference.explained_variance_ratio_) < tolerance
    assert relative(ours.singular_values_, reference.singular_values_) < tolerance
    assert relative(ours.mean_, reference.mean_) < tolerance
    assert ours.n_samples_ == reference.n_samples_
    np.testing.assert_allclose(ours.noise_variance_, reference.noise_variance_, rtol=1e-6)
    Xf = np.asarray(X, dtype=np.float64)
    assert relative(ours.transform(X), reference.transform(Xf)) < tolerance
    return reference


@pytest.fixture(scope="module")
def mnist_X(shared_mnist, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("PCAGMM_CACHE", str(tmp_path_factory.mktemp("cache")))
    return datasets.load("mnist", folder=shared_mnist).X


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.parametrize("k", [2, 50])
def test_mnist_matches_sklearn(mnist_X, k):
    assert isinstance(mnist_X, np.memmap) and mnist_X.dtype == np.uint8
    assert_matches_sklearn(PCA(k).fit(mnist_X), mnist_X)


def test_mnist_fit_makes_no_float_copy(mnist_X):
    float_copy = mnist_X.shape[0] * mnist_X.shape[1] * 8
    tracemalloc.start()
    try:
        PCA(2).fit_transform(mnist_X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < float_copy / 20, f"peak {peak / 2**20:.1f} MiB"


def test_uint8_scatter_is_exact():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, size=(3000, 40), dtype=np.uint8)
    sums = scatter_sums(X, chunk_rows=700)
    U = X.astype(np.int64) - 128  # exact integer reference
    np.testing.assert_array_equal(sums.scatter, (U.T @ U).astype(np.float64))
    np.testing.assert_array_equal(sums.linear, U.sum(axis=0).astype(np.float64))


def test_uint8_scatter_with_all_zero_columns_is_exact():
    rng = np.random.default_rng(8)
    X = rng.integers(0, 256, size=(2100, 30), dtype=np.uint8)
    X[:, [0, 1, 7, 29]] = 0  # left out of the products, filled in from the sums
    sums = scatter_sums(X)
    U = X.astype(np.int64) - 128
    np.testing.assert_array_equal(sums.scatter, (U.T @ U).astype(np.float64))
    np.testing.assert_array_equal(sums.linear, U.sum(axis=0).astype(np.float64))
    np.testing.assert_array_equal(scatter_sums(np.zeros((5, 3), np.uint8)).scatter, 128.0**2 * 5)


@pytest.mark.parametrize("chunk_rows", [1, 7, 700, 1024, 2100, None])
@pytest.mark.parametrize(
    "constant",
    [
        {0: 0, 5: 255, 29: 17},  # first, middle and last columns, 0, 255 and another value
        {3: 200, 4: 200, 5: 1},  # adjacent columns, the same value twice
        dict.fromkeys(range(30), 9),  # every column constant: no product at all
        {j: 128 for j in range(30) if j != 11},  # one column left varying
    ],
    ids=["ends-and-middle", "adjacent", "all", "all-but-one"],
)
def test_uint8_scatter_with_constant_columns_is_exact(constant, chunk_rows):
    """Columns holding one value (not only 0) are left out of the products and filled in
    from the sums: the result equals the exact integer scatter for row blocks that do
    (700, 2100) and do not (7, 1024) divide the 2,100 rows."""
    rng = np.random.default_rng(10)
    X = rng.integers(0, 256, size=(2100, 30), dtype=np.uint8)
    for column, value in constant.items():
        X[:, column] = value
    from pcagmm.decomposition.scatter import product_columns

    varying, _ = product_columns(X)
    np.testing.assert_array_equal(varying, sorted(set(range(30)) - set(constant)))
    sums = scatter_sums(X, chunk_rows=chunk_rows)
    U = X.astype(np.int64) - 128  # exact integer reference
    np.testing.assert_array_equal(sums.scatter, (U.T @ U).astype(np.float64))
    np.testing.assert_array_equal(sums.linear, U.sum(axis=0).astype(np.float64))
    assert sums.n == 2100


def test_column_min_is_numpys_min(tmp_path):
    from pcagmm.rows.chunks import column_min

    rng = np.random.default_rng(11)
    X = rng.integers(0, 256, size=(70_000, 5), dtype=np.uint8)  # several stored blocks
    X[:, 2] = 77
    np.save(tmp_path / "x.npy", X)
    columns = np.array([0, 2, 4])
    for rows in (X, np.load(tmp_path / "x.npy", mmap_mode="r")):
        np.testing.assert_array_equal(column_min(rows, columns), X[:, columns].min(axis=0))
    np.testing.assert_array_equal(column_min(X[:0], columns), np.zeros(3, np.uint8))


def test_a_column_constant_only_in_its_first_rows_is_multiplied(tmp_path):
    """Only columns whose first 1,024 rows all hold the column's largest value are read
    again; one that changes further down varies, and takes part in the products."""
    from pcagmm.decomposition.scatter import product_columns

    X = np.full((3000, 4), 50, dtype=np.uint8)
    X[2500, 1] = 49  # below the first rows' value: the column varies
    X[:, 3] = np.arange(3000) % 7
    used, values = product_columns(X)
    np.testing.assert_array_equal(used, [1, 3])
    assert values[0] == 50 and values[2] == 50
    U = X.astype(np.int64) - 128
    np.testing.assert_array_equal(scatter_sums(X).scatter, (U.T @ U).astype(np.float64))


def test_far_from_the_origin_against_a_two_pass_covariance():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(5000, 6)) @ rng.normal(size=(6, 6)) + 1e8
    pca = PCA(3).fit(X)
    centred = X - X.mean(axis=0)  # two-pass reference, no cancellation
    values, vectors = np.linalg.eigh(centred.T @ centred / (len(X) - 1))
    np.testing.assert_allclose(pca.explained_variance_, values[::-1][:3], rtol=1e-6)
    for component, reference in zip(pca.components_, vectors[:, ::-1].T, strict=False):
        assert abs(abs(component @ reference) - 1) < 1e-8


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_results_do_not_depend_on_chunk_size(dtype):
    rng = np.random.default_rng(5)
    X = (rng.random((2500, 12)) * 255).astype(dtype)
    whole = PCA(4, chunk_rows=10_000).fit(X)
    Z = whole.transform(X)
    for rows in (1, 7, 333, 1024):
        chunked = PCA(4, chunk_rows=rows).fit(X)
        assert relative(chunked.components_, whole.components_) < 1e-9
        assert relative(chunked.explained_variance_, whole.explained_variance_) < 1e-9
        assert relative(chunked.transform(X), Z) < 1e-9


def test_memmap_equals_in_memory(tmp_path):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(3000, 9))
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    a, b = PCA(3).fit(mapped), PCA(3).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)


def test_inverse_transform_and_whiten():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5))
    full = PCA(5).fit(X)
    np.testing.assert_allclose(full.inverse_transform(full.transform(X)), X, atol=1e-9)
    white = PCA(3, whiten=True).fit(X)
    Z = white.transform(X)
    np.testing.assert_allclose(Z.var(axis=0, ddof=1), 1.0, rtol=1e-9)
    reference = SklearnPCA(3, whiten=True, svd_solver="covariance_eigh").fit(X)
    np.testing.assert_allclose(Z, reference.transform(X), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        white.inverse_transform(Z), reference.inverse_transform(Z), rtol=1e-7, atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 60),
    d=st.integers(1, 8),
    dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_property_matches_sklearn(n, d, dtype, seed, data):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, d)) * 200).astype(dtype)
    k = data.draw(st.integers(1, min(n, d)))
    ours = PCA(k).fit(X)
    reference = SklearnPCA(k, svd_solver="covariance_eigh").fit(X.astype(np.float64))
    # tolerances relative to the data's scale: tiny eigenvalues carry only rounding
    values = reference.explained_variance_
    scale = max(1.0, float(values[0]))
    np.testing.assert_allclose(ours.explained_variance_, values, rtol=1e-7, atol=1e-9 * scale)
    # a component is determined (up to sign, which the rule fixes) when its eigenvalue
    # is separated from its neighbours'
    all_values = np.linalg.eigvalsh(np.cov(X.astype(np.float64).T).reshape(d, d))[::-1]
    gaps = -np.diff(np.concatenate([[np.inf], all_values, [-np.inf]]))
    for i in range(k):
        if min(gaps[i], gaps[i + 1]) > 1e-3 * scale:
            np.testing.assert_allclose(
                ours.components_[i], reference.components_[i], rtol=1e-5, atol=1e-6
            )


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: PCA(5).fit(np.ones((10, 3))), ValueError, "n_components=5 must be between 1"),
        (lambda: PCA(0).fit(np.ones((10, 3))), ValueError, "n_components=0 must be between 1"),
        (lambda: PCA(1.5).fit(np.ones((10, 3))), TypeError, "n_components must be an integer"),
        (lambda: PCA(1).fit(np.array([[1.0, np.nan], [2, 3]])), ValueError, "NaN"),
        (lambda: PCA(1).fit(np.array([[1.0, np.inf], [2, 3]])), ValueError, "infinity"),
        (lambda: PCA(1).fit(np.ones((1, 3))), ValueError, "minimum of 2 is required"),
        (lambda: PCA(1).fit(np.ones((0, 3))), ValueError, "0 sample"),
        (lambda: PCA(1).fit([["a", "b"], ["c", "d"]]), ValueError, "could not convert"),
        (lambda: PCA(1, chunk_rows=0).fit(np.ones((4, 2))), ValueError, "chunk_rows must be"),
        (
            lambda: PCA(1).fit(np.random.rand(5, 3)).transform(np.ones((2, 4))),
            ValueError,
            "X has 4 features, but PCA is expecting 3 features",
        ),
    ],
)
def test_bad_input(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_scikit_learn_estimator_checks():
    # Not run: check_array_api_input (array-API inputs are not supported).
    results = check_estimator(PCA(), on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    assert not failed, [(r["check_name"], str(r["exception"])) for r in failed]


def mapped_resident_mib(path) -> float:
    """Resident size of this process's mappings of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
                inside = line.rstrip().endswith(str(path))
            elif inside and line.startswith("Rss:"):
                total += int(fields[1])
    return total / 1024


def test_a_pass_over_a_memory_map_releases_its_pages(tmp_path, monkeypatch):
    from pcagmm.rows import chunks
    from pcagmm.rows.chunks import release_rows

    monkeypatch.setattr(chunks, "RELEASE_MAPS_FROM_BYTES", 1 << 20)  # as if this were large

    X = np.random.default_rng(9).integers(0, 256, size=(40_000, 1000), dtype=np.uint8)
    np.save(tmp_path / "x.npy", X)  # 40 MB
    del X
    path = tmp_path / "x.npy"
    mapped = np.load(path, mmap_mode="r")
    int(mapped[:100].sum())
    assert mapped_resident_mib(path) > 0  # the measurement sees the mapping
    PCA(2).fit_transform(mapped)
    assert mapped_resident_mib(path) < 2  # of the 40 MB read, (almost) nothing stays
    copy = np.load(tmp_path / "x.npy", mmap_mode="c")  # copy-on-write: never released
    copy[0, 0] = 7
    release_rows(copy, 0, len(copy))
    assert copy[0, 0] == 7


@pytest.mark.parametrize("whiten", [False, True])
def test_leading_components_equal_a_fit_with_fewer(whiten):
    """One fit to many components serves every smaller projection: the copy with the
    first k components equals a fit with k (every attribute), and its projection is
    the first k columns of the larger one."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 9)) @ rng.normal(size=(9, 9)) + 3.0
    large = PCA(6, whiten=whiten).fit(X)
    for k in (1, 3, 6):
        small, leading = PCA(k, whiten=whiten).fit(X), large.leading(k)
        for name in (
            "components_",
            "explained_variance_",
            "explained_variance_ratio_",
            "singular_values_",
            "mean_",
            "noise_variance_",
        ):
            np.testing.assert_allclose(
                getattr(leading, name), getattr(small, name), rtol=1e-10, atol=1e-12, err_msg=name
            )
        assert (leading.n_components_, leading.n_samples_) == (k, 400)
        np.testing.assert_allclose(leading.transform(X), large.transform(X)[:, :k], rtol=1e-12)
    with pytest.raises(ValueError, match="between 1 and the 6 components fitted"):
        large.leading(7)
