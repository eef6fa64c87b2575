"""Progress of long passes: rows counted by the passes, shown as rows/s and time left."""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np
import pytest
from rich.console import Console

from pcagmm import run
from pcagmm.progress import Progress, RichProgress, Task, reporting_rows, rows_done


class Recorder(Progress):
    """Keeps every task it was given, to look at afterwards."""

    def __init__(self):
        self.tasks: dict[str, Task] = {}
        self.resets: dict[str, int] = {}

    @contextlib.contextmanager
    def task(self, description, total=None, unit=""):
        recorder = self

        class Counting(Task):
            def reset(self):
                super().reset()
                recorder.resets[description] = recorder.resets.get(description, 0) + 1

        task = Counting(total)
        task.unit = unit
        self.tasks[description] = task
        yield task


def test_a_run_counts_every_row_of_every_pass(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(5000, 30), dtype=np.uint8)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    recorder = Recorder()
    result = run(path, clusters=3, seed=0, write=False, progress=recorder)
    pca = recorder.tasks["PCA"]
    assert (pca.unit, pca.total, pca.completed) == ("rows", 10_000, 10_000)  # fit + projection
    mixture = recorder.tasks["Gaussian mixture"]
    assert mixture.unit == "rows" and mixture.total == 5000
    # the bar restarts with each pass: the start's pass and one per EM iteration
    assert recorder.resets["Gaussian mixture"] >= result.gmm.n_iter_
    assert 0 < mixture.completed <= 5000


def test_rows_done_reaches_only_current_listeners():
    seen = []
    with reporting_rows(seen.append):
        rows_done(3)
    rows_done(4)
    assert seen == [3]


def test_the_bar_shows_rows_per_second_and_time_left():
    output = io.StringIO()
    progress = RichProgress(Console(file=output, force_terminal=True, width=120))
    with progress.task("PCA", total=1_000_000, unit="rows") as task, reporting_rows(task.advance):
        for _ in range(5):
            rows_done(100_000)
            time.sleep(0.15)
    shown = output.getvalue()
    assert "PCA" in shown
    assert "rows/s" in shown
    assert "0:00:0" in shown  # the time left, e.g. 0:00:01


def test_a_run_on_dask_counts_the_rows_too(tmp_path):
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(0)
    path = tmp_path / "rows.npy"
    np.save(path, rng.integers(0, 256, size=(5000, 30), dtype=np.uint8))
    recorder = Recorder()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:  # fmt: skip
        run(path, clusters=3, seed=0, write=False, progress=recorder,
            dask=cluster.scheduler_address)  # fmt: skip
    pca = recorder.tasks["PCA"]
    assert (pca.total, pca.completed) == (10_000, 10_000)  # block by block, as they finish
    assert recorder.resets["Gaussian mixture"] >= 1
