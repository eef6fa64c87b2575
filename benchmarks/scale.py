"""The whole analysis as the data grow: time and peak memory against the row count.

Usage: python benchmarks/scale.py [--rows 70000 700000 7000000 8400000] [--work DIR]
                                  [--no-dask] [--no-sklearn]

For each size, a file of deformed MNIST rows (``pcagmm data make-big``, seed 0; made once
and kept in --work) is analysed in fresh processes, one after another on the same file:

* ``pcagmm run --data FILE --no-plots`` (PCA 2, mixture 10 full, agreement with the
  labels, files), streamed;
* the same with ``--dask local`` (a LocalCluster of one single-threaded worker process
  per core; its start is included);
* scikit-learn at its best where it fits in memory: the rows as float32 (its fastest
  dtype; half the memory of float64), PCA on 2 BLAS threads, GaussianMixture on 1
  (faster for 2 features), labels from ``predict`` -- the notebook's analysis without
  figures. Where it does not fit, the memory it would need is printed instead.

Wall seconds, and peak memory as the largest sum of the resident sizes of the process
and all its children (sampled every 50 ms; Dask's workers are children), or the
process's own peak from ``/usr/bin/time`` where that is larger. Then the
ratios: time and memory per row as N grows (flat = linear time, flat memory), Dask
against streaming, scikit-learn against pcagmm; and the rates that bound the stages.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

SKLEARN = """
import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
X = np.load({path!r}, mmap_mode="r")
X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
with threadpool_limits(2):
    Z = PCA(n_components=2).fit_transform(X)
del X
with threadpool_limits(1):
    GaussianMixture(n_components=10, covariance_type="full", random_state=42).fit(Z).predict(Z)
"""


def measured(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak MiB of a command: the largest sum of resident sizes over its
    process tree (sampled), or its own largest resident size (``/usr/bin/time``, exact)
    when that is larger."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(["/usr/bin/time", "-f", "%M", *command],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        parent = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                total = 0
                for member in tree:
                    with contextlib.suppress(psutil.Error):
                        total += member.memory_info().rss
                peak = max(peak, total)
            except psutil.Error:
                pass
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(stderr.decode()[-2000:])
    own_peak = int(stderr.decode().strip().splitlines()[-1]) * 1024  # KiB
    return wall, max(peak, own_peak) / 2**20


def stage_times(out: Path) -> dict[str, float]:
    return json.loads((out / "summary.json").read_text())["timings_seconds"]


def gemm_gflops() -> float:
    """float32 matrix product rate on 2 threads: the bound of the PCA fit's blocks."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).normal(size=(4096, 4096)).astype(np.float32)
    with threadpool_limits(2):
        a @ a
        started = time.perf_counter()
        a @ a
        seconds = time.perf_counter() - started
    return 2 * 4096**3 / seconds / 1e9


def page_cache_rate(path: Path) -> float:
    """GB/s of reading the file (from the page cache once it is there)."""
    buffer = bytearray(64 << 20)
    view = memoryview(buffer)
    started = time.perf_counter()
    total = 0
    with open(path, "rb", buffering=0) as file:
        while count := file.readinto(view):
            total += count
    return total / (time.perf_counter() - started) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+",
                        default=[70_000, 700_000, 7_000_000, 8_400_000])  # fmt: skip
    parser.add_argument("--work", default="scale-data", help="where the data files are kept")
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster runs")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn")
    args = parser.parse_args()

    from pcagmm.resources import available_memory

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cli = str(Path(sys.executable).with_name("pcagmm"))
    rows_done = []
    print(f"{'rows':>10}  {'stream s':>8} {'MiB':>5}  {'dask s':>7} {'MiB':>5} {'dask/str':>8}"
          f"  {'sklearn s':>9} {'MiB':>6}  {'sk/ours time':>12} {'memory':>6}")  # fmt: skip
    for rows in args.rows:
        path = work / f"mnist-deformed-{rows}.npy"
        if not path.exists():
            subprocess.run([cli, "data", "make-big", "--rows", str(rows), "--out", str(path),
                            "--quiet"], check=True)  # fmt: skip
        page_cache_rate(path)  # the first read brings the file into the page cache
        # no figures: the same work as the scikit-learn script (they add ~1 s at any size)
        run = [cli, "run", "--data", str(path), "--quiet", "--force", "--no-plots", "--no-report"]
        stream_out, dask_out = work / f"run-{rows}", work / f"run-{rows}-dask"
        stream = measured([*run, "--out", str(stream_out)])
        line = f"{rows:>10,}  {stream[0]:8.1f} {stream[1]:5.0f}"
        entry = {"rows": rows, "stream": stream, "stream_stages": stage_times(stream_out)}
        if args.no_dask:
            line += f"  {'':>7} {'':>5} {'':>8}"
        else:
            on_dask = measured([*run, "--out", str(dask_out), "--dask", "local"])
            entry.update(dask=on_dask, dask_stages=stage_times(dask_out))
            line += f"  {on_dask[0]:7.1f} {on_dask[1]:5.0f} {on_dask[0] / stream[0]:8.2f}"
        needed = rows * 784 * 4 * 2  # float32 rows and PCA's centred copy of them
        if args.no_sklearn:
            line += "  (skipped)"
        elif needed > available_memory():
            line += f"  does not fit: needs ~{needed / 2**30:.0f} GiB"
        else:
            theirs = measured([sys.executable, "-c", SKLEARN.format(path=str(path))])
            line += (f"  {theirs[0]:9.1f} {theirs[1]:6.0f}  {theirs[0] / stream[0]:12.2f}"
                     f" {theirs[1] / stream[1]:6.2f}")  # fmt: skip
        print(line, flush=True)
        rows_done.append(entry)

    print("\nper million rows (time linear in N: flat seconds; memory flat: falling MiB):")
    for entry in rows_done:
        millions = entry["rows"] / 1e6
        text = f"{entry['rows']:>10,}  stream {entry['stream'][0] / millions:6.2f} s"
        if "dask" in entry:
            text += f"   dask {entry['dask'][0] / millions:6.2f} s"
        print(text + f"   stream stages {entry['stream_stages']}")
        if "dask" in entry:
            print(f"{'':>10}  dask stages {entry['dask_stages']}")

    largest = rows_done[-1]
    path = work / f"mnist-deformed-{largest['rows']}.npy"
    print(f"\nbounds, on the first {min(largest['rows'], 2_000_000):,} rows of {path.name}:")
    print(f"  float32 GEMM {gemm_gflops():.0f} GFLOP/s (2 threads, 4096 x 4096);"
          f" reading the file from the page cache {page_cache_rate(path):.1f} GB/s")  # fmt: skip
    print("  " + stage_rates(path, 2_000_000))


def stage_rates(path: Path, rows: int) -> str:
    """What each stage achieves, in the unit of what bounds it, measured in this process."""
    import numpy as np

    from pcagmm import PCA
    from pcagmm.mixture import GaussianMixture
    from pcagmm.mixture.em_pass import EMPass
    from pcagmm.mixture.kernels import Model

    X = np.load(path, mmap_mode="r")[:rows]
    X = X.reshape(len(X), -1)  # make-big writes images (n, 28, 28); PCA takes rows
    n = len(X)
    used = int(np.count_nonzero(np.max(X, axis=0)))
    pca = PCA(2)
    started = time.perf_counter()
    pca.fit(X)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    Z = pca.transform(X)
    project = time.perf_counter() - started
    gmm = GaussianMixture(10, random_state=0, max_iter=1, tol=0).fit(Z)
    shift = Z[:1024].mean(axis=0)
    model = Model.build("full", gmm.weights_, gmm.means_ - shift, gmm.precisions_cholesky_)
    with EMPass(shift, "full", 10, None, threads=2) as em_pass:
        started = time.perf_counter()
        em_pass.sums(Z, model)
        em = time.perf_counter() - started
    # numpy computes chunk.T @ chunk as a symmetric rank-k update: half of the (m + 1)^2
    # entries, n multiply-adds each, so (m + 1)^2 n floating-point operations
    return (f"PCA fit {n * (used + 1) ** 2 / fit / 1e9:.0f} GFLOP/s ({used} columns used);"
            f" projection {X.nbytes / project / 1e9:.2f} GB/s of uint8 rows;"
            f" one EM pass (10 full, 2-D) {n / em / 1e6:.0f} million rows/s")  # fmt: skip


if __name__ == "__main__":
    main()
