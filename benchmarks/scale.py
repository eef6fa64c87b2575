"""The whole analysis as the data grow: time and peak memory against the row count.

Usage: python benchmarks/scale.py [--rows 70000 700000 7000000] [--work DIR]

For each size, a file of deformed MNIST rows (``pcagmm data make-big``, seed 0; made once
and kept in --work) is analysed by a fresh ``pcagmm run`` (PCA 2, mixture 10 full, no
figures), and by scikit-learn's PCA + GaussianMixture on the same rows as float64 where
that fits in memory (said where it does not). Each under /usr/bin/time: wall seconds and
peak resident MiB. Time should grow linearly with the rows and memory stay nearly flat.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

SKLEARN = """
import numpy as np
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
X = np.load({path!r}, mmap_mode="r")
X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
Z = PCA(n_components=2).fit_transform(X)
GaussianMixture(n_components=10, covariance_type="full", random_state=42).fit(Z)
"""


def timed(command: list[str]) -> tuple[float, float]:
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command],
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    wall, kib = result.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[70_000, 700_000, 7_000_000])
    parser.add_argument("--work", default="scale-data", help="where the data files are kept")
    args = parser.parse_args()

    from pcagmm.resources import available_memory

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cli = str(Path(sys.executable).with_name("pcagmm"))
    print(f"{'rows':>10}  {'pcagmm s':>9} {'MiB':>6}   {'scikit-learn s':>14} {'MiB':>6}")
    for rows in args.rows:
        path = work / f"mnist-deformed-{rows}.npy"
        if not path.exists():
            subprocess.run([cli, "data", "make-big", "--rows", str(rows), "--out", str(path),
                            "--quiet"], check=True)  # fmt: skip
        ours = timed([cli, "run", "--dataset", str(path), "--no-plots", "--quiet", "--force",
                      "--out", str(work / f"run-{rows}")])  # fmt: skip
        needed = rows * 784 * 8 * 2  # the float64 array, and the uint8 map it is made from
        if needed > available_memory():
            theirs = f"does not fit: needs ~{needed / 2**30:.0f} GiB"
        else:
            wall, mib = timed([sys.executable, "-c", SKLEARN.format(path=str(path))])
            theirs = f"{wall:14.1f} {mib:6.0f}"
        print(f"{rows:>10,}  {ours[0]:9.1f} {ours[1]:6.0f}   {theirs}")


if __name__ == "__main__":
    main()
