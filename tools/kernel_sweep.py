"""Run the numerical tests as another processor would: under each OpenBLAS kernel and
each NumPy SIMD level this machine can run.

A parity test against scikit-learn passes only if its tolerance covers the rounding of
every processor, not just of the one where it was written. Another processor runs other
BLAS kernels and other NumPy loops (SIMD reductions sum in another order); this machine
can run the older ones too, chosen by ``OPENBLAS_CORETYPE`` (read by OpenBLAS when it
loads) and ``NPY_DISABLE_CPU_FEATURES`` (read by NumPy when it loads). This tool runs
pytest once per configuration, each in a fresh process, and prints a table:

    make sweep                                     # the numerical tests (the default)
    .venv/bin/python tools/kernel_sweep.py --all   # the whole suite (13-18 min a run here)
    .venv/bin/python tools/kernel_sweep.py -- tests/mixture -k sklearn   # chosen tests

Each OpenBLAS core name is tried first in a probe that reports (through threadpoolctl)
which kernel OpenBLAS actually took: a name this build maps onto a kernel already
covered (``Zen`` onto ``Haswell`` in NumPy's wheels) is reported and not run twice
(OpenBLAS calls its Prescott kernel "Katmai" when asked). The SIMD levels are NumPy's
own dispatch targets that this processor has, each run with the ones above it disabled,
down to the baseline. The exit status is 1 if any run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: the OpenBLAS core names to try (OpenBLAS's DYNAMIC_ARCH names), oldest first; a build
#: maps an unknown or missing one onto the nearest kernel it has
CORE_TYPES = (
    "Prescott",
    "Nehalem",
    "Sandybridge",
    "Haswell",
    "Zen",
    "SkylakeX",
    "Cooperlake",
    "SapphireRapids",
)

#: the tests whose results depend on rounding: the estimators, their parity with
#: scikit-learn, the row engine's drivers, the measures and the studies built on them
NUMERICAL_TESTS = (
    "tests/mixture",
    "tests/decomposition",
    "tests/rows/test_drivers.py",
    "tests/rows/test_dask_without_cluster.py",
    "tests/test_evaluate.py",
    "tests/test_stability_measures.py",
    "tests/workflow/test_selection_findings.py",
    "tests/workflow/test_stability_findings.py",
    "tests/workflow/test_converge_findings.py",
    "tests/workflow/test_claims_readme.py",
)

_PROBE = """
import json, numpy, scipy.linalg, threadpoolctl
try:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
except ImportError:  # NumPy 1.x
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
print(json.dumps({
    "blas": sorted({i["architecture"] for i in threadpoolctl.threadpool_info()
                    if i["internal_api"] == "openblas"}),
    "simd": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
}))
"""


def probe(env: dict[str, str]) -> dict:
    """The OpenBLAS kernels and NumPy SIMD targets a fresh process takes under ``env``."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def inherited_environment() -> dict[str, str]:
    """This process's environment without the two variables each configuration sets."""
    chosen = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")
    return {key: value for key, value in os.environ.items() if key not in chosen}


def configurations(base: dict[str, str]) -> list[tuple[str, dict[str, str], str]]:
    """(name, environment, what it runs) for each distinct kernel and SIMD level."""
    runs, seen = [], {}
    for core in CORE_TYPES:
        env = {**base, "OPENBLAS_CORETYPE": core}
        kernel = "+".join(probe(env)["blas"])
        if kernel in seen:
            print(f"OPENBLAS_CORETYPE={core}: takes kernel {kernel}, as {seen[kernel]} does")
            continue
        seen[kernel] = core
        runs.append((f"OPENBLAS_CORETYPE={core}", env, f"OpenBLAS {kernel}"))
    available = probe(base)["simd"]  # NumPy's dispatch targets, lowest first
    for level in range(len(available) - 1, -1, -1):
        disabled = available[level:]
        below = available[level - 1] if level else "baseline"
        env = {**base, "NPY_DISABLE_CPU_FEATURES": " ".join(disabled)}
        taken = probe(env)["simd"]
        if taken != available[:level]:
            print(f"NPY_DISABLE_CPU_FEATURES={' '.join(disabled)}: NumPy kept {taken}; skipped")
            continue
        runs.append((f"NPY_DISABLE_CPU_FEATURES='{' '.join(disabled)}'", env, f"NumPy {below}"))
    return runs


def closing_line(output: str) -> str:
    """pytest's summary line ("3 failed, 120 passed in 4.2s"), or the last line."""
    lines = [line.strip("= ") for line in output.splitlines() if line.strip()]
    summaries = [
        line for line in lines if " in " in line and ("passed" in line or "failed" in line)
    ]
    return (summaries or lines or ["(no output)"])[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--all", action="store_true", help="the whole suite, not only the numerical tests"
    )
    parser.add_argument("--log", type=Path, help="a folder for each run's full output")
    parser.add_argument("--list", action="store_true", help="show the configurations; run nothing")
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="only the configurations whose setting holds TEXT (e.g. Nehalem, X86_V3); repeatable",
    )
    parser.add_argument("pytest_args", nargs="*", help="tests and pytest options (after --)")
    args = parser.parse_args(argv)
    tests = list(args.pytest_args) or ([] if args.all else list(NUMERICAL_TESTS))
    base = inherited_environment()
    if args.log:
        args.log.mkdir(parents=True, exist_ok=True)
    runs = configurations(base)
    if args.only:
        runs = [run for run in runs if any(text in run[0] for text in args.only)]
    if args.list:
        for name, _, what in runs:
            print(f"{what:<22} {name}")
        return 0
    failed = []
    table = []
    for name, env, what in runs:
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - start
        summary = closing_line(done.stdout + done.stderr)
        if args.log:
            slug = name.split("=", 1)[1].strip("'").replace(" ", "-")
            (args.log / f"{slug}.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            failed.append(name)
            failures = [
                line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))
            ]
            summary += "".join(f"\n      {line}" for line in failures)
        verdict = "ok  " if done.returncode == 0 else "FAIL"
        line = f"{verdict}  {what:<22} {name:<48} {seconds:6.0f} s  {summary}"
        print(line, flush=True)
        table.append(line)
    print(f"\n{len(table) - len(failed)} of {len(table)} configurations passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
