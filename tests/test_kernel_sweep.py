"""tools/kernel_sweep.py: the configurations it would run on this machine, and how it
reads pytest's output."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "kernel_sweep.py"


def test_it_lists_distinct_kernels_and_simd_levels_down_to_the_baseline():
    listed = subprocess.run(
        [sys.executable, TOOL, "--list"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    runs = [line for line in listed if line.startswith(("OpenBLAS ", "NumPy "))]
    kernels = [line.split()[1] for line in runs if line.startswith("OpenBLAS ")]
    assert kernels
    if platform.machine() in ("x86_64", "AMD64"):  # the oldest x86-64 kernel is run
        assert "OPENBLAS_CORETYPE=Prescott" in "\n".join(runs)
    assert len(kernels) == len(set(kernels))  # a kernel is run once, whatever its names
    assert runs[-1].startswith("NumPy baseline")


def test_the_closing_line_is_pytests_summary():
    sys.path.insert(0, str(TOOL.parent))
    try:
        from kernel_sweep import closing_line
    finally:
        sys.path.remove(str(TOOL.parent))
    output = "....F\nFAILED tests/a.py::b\n==== 1 failed, 4 passed in 2.01s ====\n"
    assert closing_line(output) == "1 failed, 4 passed in 2.01s"
    assert closing_line("") == "(no output)"
