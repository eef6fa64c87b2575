"""The user guide (docs/site/guide/large-data.md), "What crosses the network": each EM pass
sends the current model, under 2 KB at 2 dimensions and 10 components, to every block
task (issue 17). Measured on what the estimator hands to each reduction over the blocks,
pickled as Dask sends it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("dask.array")


def test_an_em_pass_sends_under_2_kb_at_2_dimensions_and_10_components(monkeypatch):
    import dask.array as da

    from pcagmm import GaussianMixture
    from pcagmm.rows import dask as rows_dask

    sent = []
    reduce_blocks = rows_dask.reduce_blocks

    def measured(function, X, *args, **kwargs):
        sent.append(len(pickle.dumps((function, args, kwargs))))
        return reduce_blocks(function, X, *args, **kwargs)

    monkeypatch.setattr(rows_dask, "reduce_blocks", measured)
    rng = np.random.default_rng(0)
    Z = np.vstack([rng.normal(c, 1.0, (3000, 2)) for c in range(10)])
    gmm = GaussianMixture(10, random_state=42).fit(da.from_array(Z, chunks=5000))
    assert len(sent) >= gmm.n_iter_ >= 2  # one reduction per EM pass at least
    assert max(sent) < 2000


def test_dask_local_starts_one_thread_per_worker_process():
    """README: one thread per worker process is what --dask local starts."""
    pytest.importorskip("distributed")
    from pcagmm.distributed import connect

    with connect("local", workers=2) as client:
        assert list(client.nthreads().values()) == [1, 1]
