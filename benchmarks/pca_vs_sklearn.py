"""PCA(2) on MNIST against scikit-learn's default PCA at its best (float64 or float32 input).

Usage: python benchmarks/pca_vs_sklearn.py [--repeats 5]

Time: median of ``fit_transform`` over the repeats, in this process; ours reads the
cached uint8 memory map, scikit-learn's default ``PCA(n_components=2)`` (which picks
its covariance_eigh solver here) gets the float64 array the notebook holds and, apart,
a float32 array, each at its best thread count (1 or 2); the faster of the two is the
peer. (Its float32 fit computes in float32; the script prints how far its projection
lies from the float64 fit's, beside ours.)
Memory: peak resident size (VmHWM) of a fresh process that imports the libraries,
gets the data as each side does (ours: the memory map; scikit-learn: the float64
array, loaded from a .npy file, as the notebook holds it) and fits. Printed whole,
and as the increase over the process after its imports (the data and the working
memory, which is what the two approaches differ in).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from _common import best_threads, median_time, mnist_X, run_child

CHILD = """
import json, numpy as np
import sklearn.decomposition, pcagmm, pcagmm.datasets
from pcagmm import PCA
def high_water_mib():  # VmHWM: this process's peak resident size (ru_maxrss survives exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
before = high_water_mib()
{body}
peak = high_water_mib()
print(json.dumps({{"before": before, "peak": peak, "check": float(abs(Z).sum())}}))
"""
OURS = """
X = pcagmm.datasets.load("mnist").X
Z = PCA(2).fit_transform(X)
"""
THEIRS = """
X = np.load({path!r})
Z = sklearn.decomposition.PCA(n_components=2).fit_transform(X)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from sklearn.decomposition import PCA as SklearnPCA

    from pcagmm import PCA

    X = mnist_X()
    X64 = np.asarray(X, dtype=np.float64)
    X32 = np.asarray(X, dtype=np.float32)
    ours_time, Z = median_time(lambda: PCA(2).fit_transform(X), args.repeats)
    peers = {}
    for name, data in (("float64", X64), ("float32", X32)):
        peers[name] = best_threads(
            lambda data=data: SklearnPCA(n_components=2).fit_transform(data), args.repeats
        )
    reference = SklearnPCA(n_components=2).fit_transform(X64)
    agree = np.max(np.abs(Z - reference)) / np.max(np.abs(reference))
    single = SklearnPCA(n_components=2).fit_transform(X32)
    single_agree = np.max(np.abs(single - reference)) / np.max(np.abs(reference))
    print(f"PCA(2) on MNIST (70,000 x 784): projections agree to {agree:.1e} relative "
          f"(scikit-learn's float32 fit with its float64 fit: {single_agree:.1e})")  # fmt: skip
    for name, (seconds, threads) in peers.items():
        print(
            f"  time    pcagmm (uint8 memmap) {ours_time:6.3f} s   scikit-learn ({name}, "
            f"{threads} thread{'s' if threads > 1 else ''}) {seconds:6.3f} s   "
            f"ratio {seconds / ours_time:4.2f}x"
        )
    best = min(peers, key=lambda name: peers[name][0])
    print(f"  against scikit-learn at its best ({best}): "
          f"{peers[best][0] / ours_time:4.2f}x")  # fmt: skip
    X32 = None

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "mnist-float64.npy")
        np.save(path, X64)
        X64 = None  # free it before the child processes run
        ours = [run_child(CHILD.format(body=OURS)) for _ in range(3)]
        theirs = [run_child(CHILD.format(body=THEIRS.format(path=path))) for _ in range(3)]

    def median(rows, key):
        return float(np.median([r[key] for r in rows]))

    for row in ours + theirs:
        row["delta"] = row["peak"] - row["before"]
    ours_peak, theirs_peak = median(ours, "peak"), median(theirs, "peak")
    ours_delta, theirs_delta = median(ours, "delta"), median(theirs, "delta")
    print(
        f"  peak resident memory, whole process: pcagmm {ours_peak:6.0f} MiB   scikit-learn "
        f"{theirs_peak:6.0f} MiB   ours/theirs {ours_peak / theirs_peak:.2f}"
    )
    print(
        f"  peak over the process after imports: pcagmm {ours_delta:6.0f} MiB   scikit-learn "
        f"{theirs_delta:6.0f} MiB   ours/theirs {ours_delta / theirs_delta:.2f}"
    )


if __name__ == "__main__":
    main()
