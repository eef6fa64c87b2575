"""Shared helpers of the benchmark scripts: timing, thread settings, MNIST."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def mnist_X():
    """MNIST pixels as pcagmm caches them (uint8, memory-mapped)."""
    import pcagmm.datasets

    folder = SHARED_MNIST if SHARED_MNIST.is_dir() else None
    return pcagmm.datasets.load("mnist", folder=folder).X


def mnist_pca2(rows: int | None = None):
    """MNIST projected by ``pcagmm.PCA(2)`` (fitted on all rows), its first ``rows``
    rows (None: all), as a contiguous float64 array."""
    import numpy as np

    from pcagmm import PCA

    Z = PCA(2).fit_transform(mnist_X())
    if rows is not None:
        Z = Z[:rows]
    return np.ascontiguousarray(Z, dtype=np.float64)


def median_time(function, repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def best_threads(function, repeats: int, threads=(1, 2)) -> tuple[float, int]:
    """A peer at its best: the median time with each BLAS/OpenMP thread count, the fastest."""
    from threadpoolctl import threadpool_limits

    results = []
    for count in threads:
        with threadpool_limits(limits=count):
            results.append((median_time(function, repeats)[0], count))
    return min(results)


def run_child(code: str) -> dict:
    """Run ``code`` in a fresh Python process; it prints one JSON object."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
