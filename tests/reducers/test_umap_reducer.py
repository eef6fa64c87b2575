"""The UMAP stage against umap-learn called directly, the sample-then-place path, and
the one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from commandline import one_line_error
from pcagmm import PCA
from pcagmm.reducers import umap as umap_stage
from pcagmm.reducers.umap import UMAP

umap = pytest.importorskip("umap", reason="could not import 'umap' (pip install 'pcagmm[umap]')")


@pytest.fixture(scope="module")
def rows():
    """600 rows of 30 features around 4 centres (uint8, as image data are)."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(40, 215, size=(4, 30))
    y = np.repeat(np.arange(4), 150)
    X = np.clip(centres[y] + rng.normal(0, 18, size=(600, 30)), 0, 255).astype(np.uint8)
    return X, y


def umap_learn(rows32, seed, **settings):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return umap.UMAP(
            n_components=2, n_neighbors=30, min_dist=0.0, random_state=seed, **settings
        ).fit_transform(rows32)


def test_the_embedding_is_umap_learns_on_our_pca_for_the_same_seed(rows):
    X, _ = rows
    ours = UMAP(2, pca_components=10, random_state=7)
    Z = ours.fit_transform(X)
    pca = PCA(10).fit(X)  # the PCA step is pcagmm's exact PCA (tested against scikit-learn)
    np.testing.assert_array_equal(ours.pca_.components_, pca.components_)
    theirs = umap_learn(pca.transform(X).astype(np.float32), 7)
    np.testing.assert_array_equal(Z, theirs.astype(np.float64))
    assert ours.fitted_rows_ is None and ours.n_components_ == 2


def test_without_pca_the_embedding_is_umap_learns_on_the_rows(rows):
    X, _ = rows
    Z = UMAP(2, pca_components=None, random_state=3).fit_transform(X)
    np.testing.assert_array_equal(Z, umap_learn(X.astype(np.float32), 3).astype(np.float64))


def test_above_the_sample_size_the_rest_are_placed_in_chunks(rows, tmp_path, monkeypatch):
    X, y = rows
    reducer = UMAP(2, pca_components=10, sample_rows=200, random_state=1)
    Z = reducer.fit_transform(X)
    fitted = reducer.fitted_rows_
    assert fitted.shape == (200,) and np.all(np.diff(fitted) > 0) and fitted[-1] < 600
    # the sample is UMAP's own embedding of those rows, fitted on them alone
    np.testing.assert_array_equal(Z[fitted], reducer.embedding_)
    sample = reducer.pca_.transform(X[fitted]).astype(np.float32)
    np.testing.assert_array_equal(reducer.embedding_, umap_learn(sample, 1).astype(np.float64))
    # the rest are placed as transform places them, and chunked (PLACE_ROWS) and
    # memory-mapped the same, to rounding: the distances are a matrix product, and a BLAS
    # kernel may round a row's products differently in another block of rows (OpenBLAS's
    # Nehalem kernel moved 3 of 800 placed coordinates by one ulp)
    others = np.setdiff1d(np.arange(600), fitted)
    np.testing.assert_allclose(Z[others], reducer.transform(X[others]), rtol=1e-12)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    monkeypatch.setattr(umap_stage, "PLACE_ROWS", 37)
    np.testing.assert_allclose(
        reducer.transform(np.load(path, mmap_mode="r")), reducer.transform(X), rtol=1e-12
    )
    # placed rows land among their own kind: each one's nearest sampled row has its label
    nearest = np.argmin(((Z[others, None, :] - Z[None, fitted, :]) ** 2).sum(-1), axis=1)
    assert np.mean(y[fitted][nearest] == y[others]) > 0.97


def test_many_rows_are_placed_through_the_neighbour_index(rows, monkeypatch):
    X, _ = rows
    reducer = UMAP(2, pca_components=10, sample_rows=300, random_state=2)
    exact = reducer.fit_transform(X)
    monkeypatch.setattr(umap_stage.placement, "EXACT_PAIRS", 1000)
    indexed = reducer.transform(X)
    others = np.setdiff1d(np.arange(600), reducer.fitted_rows_)
    spread = np.linalg.norm(exact.std(axis=0))
    close = np.linalg.norm(indexed[others] - exact[others], axis=1) < 1e-6 * spread
    assert close.mean() > 0.9  # the index finds (nearly always) the exact neighbours


def test_a_dask_array_is_placed_on_the_workers(rows):
    pytest.importorskip("dask.array", reason="could not import 'dask.array'")
    distributed = pytest.importorskip("distributed", reason="could not import 'distributed'")
    import dask.array as da

    X, _ = rows
    local = UMAP(2, pca_components=10, sample_rows=250, random_state=4)
    expected = local.fit_transform(X)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        distributed.Client(cluster),
    ):
        reducer = UMAP(2, pca_components=10, sample_rows=250, random_state=4)
        Z = reducer.fit_transform(da.from_array(X, chunks=(128, 30)))
        assert isinstance(Z, da.Array)
        np.testing.assert_allclose(Z.compute(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"n_neighbors": 1}, "umap_neighbors must be a whole number >= 2, got 1"),
        ({"n_neighbors": 600}, "umap_neighbors=600 needs more than 600 rows"),
        ({"min_dist": -0.5}, "umap_min_dist must be a number >= 0, got -0.5"),
        ({"n_components": 0}, "components must be a whole number >= 1, got 0"),
    ],
)
def test_bad_settings_are_refused_naming_the_parameter(rows, settings, fragment):
    from pcagmm.errors import ParameterError

    with pytest.raises(ParameterError) as caught:
        UMAP(**settings).fit(rows[0])
    assert fragment in str(caught.value)


WITHOUT_UMAP = (
    "import sys; sys.modules['umap'] = None; sys.modules['pynndescent'] = None; "
    "from pcagmm.cli import main; sys.exit(main(sys.argv[1:]))"
)


def without_umap(*args) -> subprocess.CompletedProcess:
    """The command line in a process where ``import umap`` fails (as without the extra)."""
    return subprocess.run([sys.executable, "-c", WITHOUT_UMAP, *map(str, args)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_without_the_extra_reducer_umap_says_how_to_install_it(tmp_path):
    result = without_umap(
        "run", "--dataset", "digits", "--reducer", "umap", "--out", tmp_path / "r"
    )
    one_line_error(result, "umap-learn is not installed", "pip install 'pcagmm[umap]'")
    assert not (tmp_path / "r").exists()
    # before any data are read: a file that does not exist is not reached
    result = without_umap("run", "--data", tmp_path / "absent.npy", "--reducer", "umap")
    line = one_line_error(result, "umap-learn is not installed, and --reducer umap needs it")
    assert "absent" not in line


def test_the_python_api_refuses_it_in_one_line_too(monkeypatch):
    import pcagmm

    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(umap_stage.UMAPMissing, match=r"pip install 'pcagmm\[umap\]'"):
        umap_stage.import_umap()
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(umap_stage.UMAPMissing, match="reducer=umap"):
        pcagmm.RunConfig(reducer="umap")
