"""A data file that another process shortens while pcagmm reads it (issue 14).

Touching a page of a memory map past the end of its file kills the process with
SIGBUS; the chunk loop checks the file's size before each chunk and raises one line
instead. Each case runs in a child process (a bus error there cannot take pytest with
it) and shortens a real file with a real second process (``truncate``) at a fixed
point of the pass.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROWS, COLUMNS = 40_000, 64


@pytest.fixture
def data_file(tmp_path) -> Path:
    path = tmp_path / "big.npy"
    rng = np.random.default_rng(0)
    np.save(path, rng.integers(0, 256, size=(ROWS, COLUMNS), dtype=np.uint8))
    return path


def child(script: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def shrank(path: Path, size: int, new_size: int) -> str:
    return f"{path} shrank from {size:,} to {new_size:,} bytes while it was read; "


def test_touching_a_truncated_map_is_a_bus_error(data_file):
    """The fault itself, unguarded: why the check exists."""
    result = child(
        """
        import subprocess, sys
        import numpy as np
        X = np.load(sys.argv[1], mmap_mode="r")
        subprocess.run(["truncate", "-s", "4096", sys.argv[1]], check=True)
        print(int(X[-1].sum()))
        """,
        data_file,
    )
    assert result.returncode == -signal.SIGBUS, (result.returncode, result.stderr)


@pytest.mark.parametrize(
    "reader", ["iter_row_chunks", "iter_stored_rows", "first_rows_mean", "take"]
)
def test_each_reader_of_mapped_rows_says_the_file_shrank(data_file, reader):
    size = data_file.stat().st_size
    result = child(
        """
        import subprocess, sys
        import numpy as np
        from pcagmm.errors import FileChangedError, PcagmmError
        from pcagmm.rows import IN_MEMORY, chunks

        path, reader, keep = sys.argv[1], sys.argv[2], sys.argv[3]
        X = np.load(path, mmap_mode="r")
        readers = {
            "iter_row_chunks": lambda: chunks.iter_row_chunks(X, 4096),
            "iter_stored_rows": lambda: chunks.iter_stored_rows(X, 4096),
            "first_rows_mean": lambda: iter([(0, chunks.first_rows_mean(X))]),
            # the k-means start's sample of rows (the local driver's take)
            "take": lambda: iter([(0, IN_MEMORY.take(X, np.arange(0, len(X), 7)))]),
        }
        once = ("first_rows_mean", "take")
        rows = readers[reader]()
        if reader not in once:
            next(rows)  # the first chunk is read whole, then the file is cut in half
        subprocess.run(["truncate", "-s", keep, path], check=True)
        try:
            for _ in readers[reader]() if reader in once else rows:
                pass
        except FileChangedError as error:
            assert isinstance(error, PcagmmError) and isinstance(error, OSError)
            print(error)
        """,
        data_file,
        reader,
        size // 2,
    )
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout.startswith(shrank(data_file, size, size // 2))
    assert "leave the file as it is while pcagmm reads it" in result.stdout


def test_a_run_whose_data_file_is_cut_between_two_passes(data_file, tmp_path):
    """``pcagmm run`` in a process whose first full pass over the rows ends with the
    file cut to half by another process: one line, exit 2, no run folder."""
    size = data_file.stat().st_size
    out = tmp_path / "out"
    result = child(
        """
        import subprocess, sys
        from pcagmm.cli import main
        from pcagmm.progress import reporting_rows

        path, keep, rows, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
        seen = 0

        def cut_after_the_first_pass(count):
            global seen
            seen += count
            if seen - count < rows <= seen:  # every row of the first pass was consumed
                subprocess.run(["truncate", "-s", keep, path], check=True)

        with reporting_rows(cut_after_the_first_pass):
            sys.exit(main(["run", "--dataset", path, "--out", out, "--quiet"]))
        """,
        data_file,
        size // 2,
        ROWS,
        out,
    )
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("pcagmm: error: " + shrank(data_file, size, size // 2))
    assert data_file.stat().st_size == size // 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npy"]  # no run folder


def test_the_check_costs_nothing_noticeable(tmp_path):
    """A pass over a 64 MiB uint8 memory map, with the check (one fstat per chunk) and
    without: the check adds well under 5% (measured: see BENCHMARKS.md)."""
    from pcagmm.rows import chunks

    path = tmp_path / "pass.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(1 << 16, 1024))[:] = 7
    X = np.load(path, mmap_mode="r")

    def one_pass() -> float:
        began = time.perf_counter()
        for _ in chunks.iter_row_chunks(X, 1024):
            pass
        return time.perf_counter() - began

    one_pass()  # pages into the page cache
    checks = min(
        _timed_checks(chunks.check_mapped_file, X, len(range(0, len(X), 1024))) for _ in range(5)
    )
    whole = min(one_pass() for _ in range(3))
    assert checks < 0.05 * whole, (checks, whole)


def _timed_checks(check, X, count: int) -> float:
    began = time.perf_counter()
    for _ in range(count):
        check(X)
    return time.perf_counter() - began
