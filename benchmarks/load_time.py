"""Time a cached ``pcagmm.datasets.load("mnist")`` in fresh processes.

Usage: python benchmarks/load_time.py [--repeats 5] [--from DIR]

Each repeat starts a new Python process that imports pcagmm, loads MNIST from the
cache (memory-mapped) and touches every row (sums the pixels) so the data are really
read. Printed: the median load() time, the median import time, and beside them the
time to read the same data from the four gzipped IDX files with gzip + numpy (what
a loader without a cache does on every start), measured in the same way.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

OURS = """
import time, json
t0 = time.perf_counter()
import pcagmm.datasets
t1 = time.perf_counter()
ds = pcagmm.datasets.load("mnist")
t2 = time.perf_counter()
total = int(ds.X.sum(dtype="uint64"))
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "touch": t3 - t2, "total": total}))
"""

GZIP_IDX = """
import time, json, gzip
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
folder = {folder!r}
def read(name, header):
    with open(f"{{folder}}/{{name}}.gz", "rb") as f:
        return np.frombuffer(gzip.decompress(f.read())[header:], np.uint8)
X = np.concatenate([read("train-images-idx3-ubyte", 16).reshape(-1, 784),
                    read("t10k-images-idx3-ubyte", 16).reshape(-1, 784)])
y = np.concatenate([read("train-labels-idx1-ubyte", 8), read("t10k-labels-idx1-ubyte", 8)])
t2 = time.perf_counter()
total = int(X.sum(dtype="uint64"))
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "load": t2 - t1, "touch": t3 - t2, "total": total}}))
"""


def run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    default_dir = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    parser.add_argument("--from", dest="folder", default=str(default_dir))
    args = parser.parse_args()

    import pcagmm.datasets

    pcagmm.datasets.fetch("mnist", folder=args.folder)
    ours = [run(OURS) for _ in range(args.repeats)]
    idx = [run(GZIP_IDX.format(folder=args.folder)) for _ in range(args.repeats)]
    assert len({r["total"] for r in ours + idx}) == 1, "the two loaders read different data"

    def median(rows, key):
        return statistics.median(r[key] for r in rows)

    print(f"cached MNIST load, median of {args.repeats} fresh processes")
    print(
        f"  pcagmm.datasets.load('mnist'): {median(ours, 'load') * 1e3:8.2f} ms"
        f"   (import pcagmm.datasets {median(ours, 'import') * 1e3:.0f} ms,"
        f" first full read of X {median(ours, 'touch') * 1e3:.0f} ms)"
    )
    print(f"  gzip IDX files with numpy:     {median(idx, 'load') * 1e3:8.2f} ms")
    print(f"  ratio (gzip IDX / pcagmm):     {median(idx, 'load') / median(ours, 'load'):8.1f}x")


if __name__ == "__main__":
    main()
