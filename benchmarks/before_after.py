"""This tree against an earlier checkout of pcagmm, in fresh processes, alternated.

Usage: python benchmarks/before_after.py --before OTHER/src [--repeats 7] [--data FILE]

For each repeat, one after the other and alternating between the two sources
(``PYTHONPATH=OTHER/src`` for "before", this tree for "after"): a fresh ``pcagmm run
--quiet --force`` on the cached MNIST, the same with ``--no-report``, and, with
``--data``, a fresh process that fits ``PCA(2)`` on the uint8 rows of FILE (a .npy file,
memory-mapped; images are taken as rows) and prints the fit's own time. Before timing,
one run of each side (so a cache either side keeps is warm, as on a user's second run).
Printed: the median of each, the repeats, and after / before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PCA_FIT = """
import json, time
import numpy as np
from pcagmm import PCA
X = np.load({path!r}, mmap_mode="r")
X = X.reshape(len(X), -1)
PCA(2).fit(X[:1000])  # imports and first calls
started = time.perf_counter()
PCA(2).fit(X)
print(json.dumps(time.perf_counter() - started))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the src folder of the other checkout")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--data", help="a .npy file of uint8 rows for the PCA fits")
    args = parser.parse_args()
    sources = {
        "before": {**os.environ, "PYTHONPATH": str(Path(args.before).resolve())},
        "after": {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    }

    def seconds(command, env) -> float:
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        return time.perf_counter() - started

    def fit_seconds(env) -> float:
        code = PCA_FIT.format(path=str(Path(args.data).resolve()))
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        return json.loads(out.strip().splitlines()[-1])

    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        run = [sys.executable, "-m", "pcagmm", "run", "--quiet", "--force"]
        for side, env in sources.items():  # warm-up: caches either side keeps
            subprocess.run([*run, "--out", f"{folder}/{side}"], env=env, check=True,
                           capture_output=True)  # fmt: skip
        for _ in range(args.repeats):
            for side, env in sources.items():
                results.setdefault(f"pcagmm run, {side}", []).append(
                    seconds([*run, "--out", f"{folder}/{side}"], env)
                )
            for side, env in sources.items():
                results.setdefault(f"pcagmm run --no-report, {side}", []).append(
                    seconds([*run, "--no-report", "--out", f"{folder}/{side}-bare"], env)
                )
            if args.data:
                for side, env in sources.items():
                    results.setdefault(f"PCA(2) fit of {Path(args.data).name}, {side}",
                                       []).append(fit_seconds(env))  # fmt: skip
    print(f"median of {args.repeats} fresh processes each, alternated")
    for name, times in results.items():
        print(f"  {name:45s} {statistics.median(times):7.3f} s   "
              + " ".join(f"{t:.2f}" for t in times))  # fmt: skip
    for name in [n for n in results if n.endswith(", after")]:
        before = statistics.median(results[name.replace(", after", ", before")])
        print(f"  {name[: -len(', after')]:45s} after / before "
              f"{statistics.median(results[name]) / before:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
