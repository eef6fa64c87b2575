"""The row engine: which driver feeds which array, and that they agree."""

from __future__ import annotations

import numpy as np
import pytest

from pcagmm import PCA
from pcagmm.decomposition import scatter_sums
from pcagmm.mixture.em_pass import EMPass
from pcagmm.mixture.kernels import Model
from pcagmm.rows import IN_MEMORY, MEMORY_MAP, driver_for, validate_rows
from pcagmm.rows.chunks import iter_row_chunks, iter_stored_rows


@pytest.fixture
def stored(tmp_path):
    X = np.random.default_rng(0).integers(0, 256, size=(3000, 7), dtype=np.uint8)
    np.save(tmp_path / "X.npy", X)
    return X, np.load(tmp_path / "X.npy", mmap_mode="r")


def test_each_array_gets_its_driver(stored):
    da = pytest.importorskip("dask.array")
    from pcagmm.rows.dask import DASK

    X, mapped = stored
    assert driver_for(X) is IN_MEMORY
    assert driver_for(mapped) is MEMORY_MAP
    assert driver_for(mapped[100:200]) is MEMORY_MAP  # a view of a map is still streamed
    assert driver_for(np.asarray(mapped)) is MEMORY_MAP
    assert driver_for(da.from_array(X, chunks=(1000, 7))) is DASK
    # validation may convert; the driver is chosen for what it gives
    validated, driver = validate_rows(PCA(), mapped.tolist(), reset=True)
    assert driver is IN_MEMORY and validated.shape == (3000, 7)


def test_the_three_drivers_give_the_same_sums(stored):
    da = pytest.importorskip("dask.array")
    from pcagmm.rows.dask import DASK

    X, mapped = stored
    Xf = X.astype(np.float64)
    expected = scatter_sums(Xf, 256)
    feeds = ((IN_MEMORY, Xf), (MEMORY_MAP, mapped), (DASK, da.from_array(X, chunks=(700, 7))))
    for driver, rows in feeds:
        sums = driver.reduce(_scatter, rows, None)  # uint8 rows: exact sums about 128
        assert sums.n == 3000
        np.testing.assert_allclose(sums.covariance(), expected.covariance(), rtol=1e-12)
        np.testing.assert_allclose(sums.mean, expected.mean, rtol=1e-13)


def _scatter(block, shift):
    return scatter_sums(block, 256, shift=shift)


def test_features_are_kept_between_passes_only_for_data_in_memory(stored):
    X, mapped = stored
    shift = X[:100].mean(axis=0)
    U = X.astype(np.float64)
    model = Model.build("diag", np.full(2, 0.5), np.zeros((2, 7)), np.ones((2, 7)) / 80.0)
    for driver, rows in ((IN_MEMORY, U), (MEMORY_MAP, mapped)):
        with EMPass(shift, "diag", 2, 500, keep_features=driver.keeps_row_data) as em:
            first = driver.reduce(em.sums, rows, model)
            kept = em._cached is not None
            second = driver.reduce(em.sums, rows, model)
        assert kept is driver.keeps_row_data
        assert second.log_likelihood == first.log_likelihood


def test_chunk_loops_share_out_rows_by_first_and_step(stored):
    X, _ = stored
    seen = []
    for first in range(3):
        seen += [start for start, _ in iter_row_chunks(X, 400, first=first, step=3)]
    assert sorted(seen) == list(range(0, 3000, 400))
    seen = [
        start for first in range(2) for start, _ in iter_stored_rows(X, 700, first=first, step=2)
    ]
    assert sorted(seen) == list(range(0, 3000, 700))
