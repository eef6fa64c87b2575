"""Soak: back-to-back runs in one process hold memory flat and leak no descriptors or threads.

    python benchmarks/soak.py [--runs 200] [--dataset digits] [--plots] [--check-cost-mb 200]

Two phases in one Python process, each ``--runs`` calls of :func:`pcagmm.run` on a small
data set (loaded by name each time, from the cache, as a user's script would):

1. ``write=False``: compute only;
2. ``write=True``: the run folder (clusters.csv, model.npz, summary.json, and with
   ``--plots`` the figures: under tracemalloc a run with figures takes ~4.5 s here,
   without ~0.2 s) into a fresh temporary folder, removed after each run.

Each phase starts after 3 warm-up runs (the first imports modules, starts thread pools
and fills caches) and a garbage collection. At its start and end it records the memory
Python allocated (tracemalloc, tracing since before the warm-up), the resident size
(``VmRSS`` in /proc/self/status), the open file descriptors (/proc/self/fd) and
``threading.active_count()``, and prints PASS or FAIL against these bounds (stated
before the first measurement):

- file descriptors and threads: no growth at all;
- tracemalloc: less than 2 MiB of growth over the phase (10 KiB a run at 200 runs);
- RSS: less than 32 MiB of growth over the phase (the allocator keeps freed pages).

Then it times the size check of the chunk loop (one ``fstat`` per chunk, see
:func:`pcagmm.rows.chunks.check_mapped_file`): a pass over a ``--check-cost-mb`` MB
uint8 memory map (from the page cache) with the check and with it switched off, 15
passes each, alternated (the median and the fastest: other work on the machine makes
single passes vary by tens of percent); and the check alone, 100,000 times.
``--runs 0`` times only the check.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

MIB = 1 << 20
BOUNDS = {"fds": 0, "threads": 0, "traced": 2 * MIB, "rss": 32 * MIB}
WARM_UP_RUNS = 3
PASSES = 15


def rss_bytes() -> int:
    """The resident size of this process (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure() -> dict:
    """tracemalloc's current size, RSS, open descriptors and threads, after a collection."""
    gc.collect()
    return {
        "traced": tracemalloc.get_traced_memory()[0],
        "rss": rss_bytes(),
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
    }


def soak(name: str, runs: int, dataset: str, write: bool, plots: bool = False) -> bool:
    """``runs`` back-to-back runs after a warm-up; print the measures; True if within bounds."""
    import pcagmm

    scratch = Path(tempfile.mkdtemp(prefix="pcagmm-soak-"))

    def one_run(number: int) -> None:
        if write:
            out = scratch / f"run-{number}"
            pcagmm.run(dataset, out=out, plots=plots)
            shutil.rmtree(out)
        else:
            pcagmm.run(dataset, write=False)

    try:
        for number in range(WARM_UP_RUNS):
            one_run(number)
        start = measure()
        began = time.perf_counter()
        for number in range(runs):
            one_run(number)
            if (number + 1) % 50 == 0:
                print(
                    f"  {name}: {number + 1} runs, {time.perf_counter() - began:.0f} s", flush=True
                )
        elapsed = time.perf_counter() - began
        end = measure()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    passed = all(end[key] - start[key] <= bound for key, bound in BOUNDS.items())
    print(f"{name}: {runs} runs in {elapsed:.1f} s ({elapsed / runs * 1000:.0f} ms a run)")
    for key, unit in (("traced", MIB), ("rss", MIB), ("fds", 1), ("threads", 1)):
        scale = " MiB" if unit == MIB else ""
        growth = end[key] - start[key]
        print(
            f"  {key:8s} start {start[key] / unit:9.2f}{scale}  end {end[key] / unit:9.2f}{scale}"
            f"  growth {growth / unit:+8.2f}{scale}  (bound {BOUNDS[key] / unit:g}{scale})"
        )
    print(f"  {'PASS' if passed else 'FAIL'}", flush=True)
    return passed


def check_cost(megabytes: int) -> None:
    """Time passes over a memory map with the chunk loop's size check and without."""
    from pcagmm.rows import chunks

    columns = 1024
    rows = megabytes * 1_000_000 // columns
    folder = Path(tempfile.mkdtemp(prefix="pcagmm-check-"))
    try:
        path = folder / "pass.npy"
        np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(rows, columns))[:] = 7
        X = np.load(path, mmap_mode="r")
        check = chunks.check_mapped_file
        chunk_rows = chunks.default_chunk_rows(columns)

        def one_pass() -> float:
            began = time.perf_counter()
            for _ in chunks.iter_row_chunks(X, chunk_rows):
                pass
            return time.perf_counter() - began

        one_pass()  # pages into the page cache
        timings = {"with the check": [], "without": []}
        for _ in range(PASSES):
            timings["with the check"].append(one_pass())
            chunks.check_mapped_file = lambda X: None
            try:
                timings["without"].append(one_pass())
            finally:
                chunks.check_mapped_file = check
        count = 100_000
        began = time.perf_counter()
        for _ in range(count):
            check(X)
        alone = (time.perf_counter() - began) / count
        n_chunks = len(range(0, rows, chunk_rows))
        print(
            f"size check: a pass over {X.nbytes / 1e6:.0f} MB uint8 ({rows:,} x {columns}, "
            f"{n_chunks} chunks of {chunk_rows:,} rows), {PASSES} passes each:"
        )
        for label, times in timings.items():
            print(
                f"  {label:15s} median {statistics.median(times) * 1000:7.1f} ms"
                f"  fastest {min(times) * 1000:7.1f} ms  slowest {max(times) * 1000:7.1f} ms"
            )
        print(
            f"  the check alone: {alone * 1e6:.2f} us a chunk, "
            f"{alone * n_chunks * 1000:.3f} ms a pass"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--plots", action="store_true", help="draw the figures when writing")
    parser.add_argument("--check-cost-mb", type=int, default=200)
    args = parser.parse_args()
    results = []
    if args.runs > 0:
        tracemalloc.start()
        results = [
            soak("write=False", args.runs, args.dataset, write=False),
            soak(
                "write=True" + (", plots" if args.plots else ", plots=False"),
                args.runs,
                args.dataset,
                write=True,
                plots=args.plots,
            ),
        ]
        tracemalloc.stop()
    check_cost(args.check_cost_mb)
    if results:
        print("soak:", "PASS" if all(results) else "FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
