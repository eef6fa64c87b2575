"""Clusters that fail mid-run: each ends in one line naming the failure, in bounded time.

Real clusters on 127.0.0.1: a task that kills its worker on every try, a scheduler
that goes away mid-run, and workers with less memory than a block needs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from pcagmm import PCA  # noqa: E402
from pcagmm.distributed import DaskError  # noqa: E402
from pcagmm.workflow.stages import compute_on  # noqa: E402

BIN = Path(sys.executable).parent


def kill_my_worker(rows: int) -> np.ndarray:
    os._exit(1)  # the worker process dies, every time this task runs


def test_a_task_that_kills_its_worker_on_every_try_is_one_line():
    import dask

    good = da.from_array(np.random.default_rng(0).normal(size=(4000, 5)), chunks=(1000, 5))
    bad = da.from_delayed(dask.delayed(kill_my_worker)(1000), shape=(1000, 5), dtype=float)
    X = da.concatenate([good, bad])
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        started = time.monotonic()
        with pytest.raises(DaskError) as raised, compute_on(cluster.scheduler_address):
            PCA(2).fit(X)
        elapsed = time.monotonic() - started
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("a Dask task killed 4 workers that ran it (kill_my_worker-")
    assert "needs more memory than a worker has" in message
    assert elapsed < 90  # Dask's 3 retries, each a worker restart


class CommandLineCluster:
    """A scheduler and 2 worker processes started with the ``dask`` command line."""

    def __init__(self, folder: Path, *worker_options: str):
        scheduler_file = folder / "scheduler.json"
        dask = str(BIN / "dask")
        self.scheduler = subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers = None
        for _ in range(300):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.workers = subprocess.Popen(
            [
                dask,
                "worker",
                self.address,
                "--nworkers",
                "2",
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                *worker_options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with distributed.Client(self.address) as client:
            client.wait_for_workers(2, timeout=60)

    def stop(self) -> None:
        for process in (self.workers, self.scheduler):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture
def start_cluster(tmp_path):
    clusters = []

    def start(*worker_options):
        cluster = CommandLineCluster(tmp_path, *worker_options)
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


def run_cli(*args, timeout=240):
    return subprocess.Popen(
        [str(BIN / "pcagmm"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PCAGMM_DASK_TIMEOUT": "5s"},
    )


def assert_one_line_error(process, started, expected: str, within: float) -> None:
    _, stderr = process.communicate(timeout=within)
    elapsed = time.monotonic() - started
    assert process.returncode == 2, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("pcagmm: error: ") and expected in last, last
    assert elapsed < within


def test_a_scheduler_that_goes_away_mid_run_is_one_line(start_cluster, tmp_path):
    rows = np.random.default_rng(0).integers(0, 255, size=(20_000, 16)).astype(np.uint8)
    np.save(tmp_path / "x.npy", rows)
    cluster = start_cluster()
    out = tmp_path / "out"
    started = time.monotonic()
    process = run_cli(
        "run",
        "--data",
        str(tmp_path / "x.npy"),
        "--no-plots",
        "--tol",
        "0",
        "--max-iter",
        "100000",
        "--clusters",
        "8",
        "--out",
        str(out),
        "--dask",
        cluster.address,
    )
    time.sleep(8)  # into the EM passes, which would run for minutes
    assert process.poll() is None, process.communicate()[1]
    cluster.scheduler.kill()
    assert_one_line_error(process, started, f"the Dask scheduler at {cluster.address}", 120)
    assert not out.exists()


def test_workers_with_less_memory_than_a_block_needs_is_one_line(start_cluster, tmp_path):
    # 120,000 rows of 784 bytes: two blocks of 64 MiB; workers may hold 150 MB in all
    rows = np.random.default_rng(1).integers(0, 255, size=(120_000, 784)).astype(np.uint8)
    np.save(tmp_path / "big.npy", rows)
    del rows
    cluster = start_cluster("--memory-limit", "150MB")
    out = tmp_path / "out"
    started = time.monotonic()
    process = run_cli(
        "run",
        "--data",
        str(tmp_path / "big.npy"),
        "--no-plots",
        "--clusters",
        "3",
        "--out",
        str(out),
        "--dask",
        cluster.address,
    )
    assert_one_line_error(process, started, "needs more memory than a worker has", 180)
    assert not out.exists()
