"""PCA(2) on MNIST against scikit-learn's default PCA on the float64 array the notebook makes.

Usage: python benchmarks/pca_vs_sklearn.py [--repeats 5]

Time: median of ``fit_transform`` over the repeats, in this process; ours reads the
cached uint8 memory map, scikit-learn's default ``PCA(n_components=2)`` (which picks
its covariance_eigh solver here) gets the float64 array, at its best thread count.
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
    ours_time, Z = median_time(lambda: PCA(2).fit_transform(X), args.repeats)
    theirs_time, threads = best_threads(
        lambda: SklearnPCA(n_components=2).fit_transform(X64), args.repeats
    )
    reference = SklearnPCA(n_components=2).fit_transform(X64)
    agree = np.max(np.abs(Z - reference)) / np.max(np.abs(reference))
    print(f"PCA(2) on MNIST (70,000 x 784): projections agree to {agree:.1e} relative")
    print(
        f"  time    pcagmm (uint8 memmap) {ours_time:6.3f} s   scikit-learn (float64, "
        f"{threads} thread{'s' if threads > 1 else ''}) {theirs_time:6.3f} s   "
        f"ratio {theirs_time / ours_time:4.1f}x"
    )

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
