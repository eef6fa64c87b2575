"""Running the ``pcagmm`` command line as a user would, and reading its one-line errors."""

from __future__ import annotations

import subprocess
import sys


def cli(*args, env=None, user=None, timeout=300) -> subprocess.CompletedProcess:
    """``python -m pcagmm ARGS`` in a fresh process (as ``user`` if given), no stdin."""
    command = [sys.executable, "-m", "pcagmm", *map(str, args)]
    if user is not None:
        command = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups",
                   *command]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)  # fmt: skip


def one_line_error(result, *fragments) -> str:
    """Assert exit status 2, no traceback, and one last line ``pcagmm: error: problem;
    fix`` holding every fragment; return that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("pcagmm: error: "), result.stderr
    assert [line for line in lines if line.startswith("pcagmm: error: ")] == lines[-1:]
    assert "; " in lines[-1], "the message names the problem and the fix"
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]
    return lines[-1]
