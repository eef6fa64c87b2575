"""The breakages issue 17 found passing every test, each made again in a copy of src/:
each must now fail at least one test.

    python tools/deliberate_breakages.py            # all, about 5 minutes on 2 cores

For each breakage: copy src/ to a temporary folder, replace one piece of code there, run
the named tests against the copy (``PYTHONPATH``), and report whether they failed. Exit
status 1 if a breakage passed them all. Run it when you change the tests it names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: (what, file under src/pcagmm, the code, its broken form, the tests that must fail)
BREAKAGES = [
    (
        "ellipses drawn with the variance instead of the standard deviation",
        "report/plots.py",
        "return 2 * float(np.sqrt(values[1])), 2 * float(np.sqrt(values[0])), angle",
        "return 2 * float(values[1]), 2 * float(values[0]), angle",
        ["tests/report/test_plots.py"],
    ),
    (
        "ellipses drawn at the negated angle",
        "report/plots.py",
        "angle = float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])))",
        "angle = -float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])))",
        ["tests/report/test_plots.py"],
    ),
    (
        "cluster means shifted by 1e-8 in the M-step",
        "mixture/kernels.py",
        "return nk, shift + offsets, covariances",
        "return nk, shift + offsets + 1e-8, covariances",
        ["tests/mixture/test_gaussian_mixture.py"],
    ),
    (
        "reg_covar dropped from the diag M-step",
        "mixture/covariance/scikit_types.py",
        "return second / nk[:, np.newaxis] - offsets**2 + reg_covar",
        "return second / nk[:, np.newaxis] - offsets**2",
        ["tests/mixture/test_gaussian_mixture.py", "tests/mixture/test_covariance_types.py"],
    ),
]


def broken_copy(folder: Path, relative: str, code: str, broken: str) -> Path:
    """src/ copied into ``folder`` with ``code`` replaced by ``broken`` in one file."""
    source = folder / "src"
    shutil.copytree(REPO / "src", source, ignore=shutil.ignore_patterns("__pycache__"))
    path = source / "pcagmm" / relative
    text = path.read_text()
    if text.count(code) != 1:
        raise SystemExit(f"{relative} no longer holds {code!r} once: update BREAKAGES")
    path.write_text(text.replace(code, broken))
    return source


def main() -> int:
    passed = []
    for what, relative, code, broken, tests in BREAKAGES:
        with tempfile.TemporaryDirectory() as folder:
            source = broken_copy(Path(folder), relative, code, broken)
            environment = {**os.environ, "PYTHONPATH": str(source)}
            command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                       *tests]  # fmt: skip
            result = subprocess.run(command, cwd=REPO, env=environment, capture_output=True,
                                    text=True)  # fmt: skip
            summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
            caught = result.returncode == 1 and "failed" in summary
            print(f"{'caught' if caught else 'PASSED'}  {what}: {summary}", flush=True)
            if not caught:
                passed.append(what)
    if passed:
        print(f"{len(passed)} breakage(s) passed every test named", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
