"""RELIABILITY.md's full-disk rows, their quoted messages read from RELIABILITY.md and
asserted in full, numbers included (issue 17). tests/test_disk_faults.py makes the same
faults and checks what is left on the disk; it asserts the space needed but not the
space free. DISK and DIR stand for the mounted folder and the cache."""

from __future__ import annotations

import numpy as np
import pytest
from test_claims_reliability import assert_quoted, cli_error

from conftest import SHARED_MNIST
from pcagmm.cli import main
from test_disk_faults import fill, small_disk

__all__ = ["small_disk"]  # the fixture, used by name

PLACES = ("DISK", "DIR")


def quiet_ok(*args) -> None:
    assert main([str(a) for a in args]) == 0


def test_a_run_forced_over_a_run_folder_on_a_full_disk(small_disk, tmp_path, capsys):
    disk = small_disk(2 << 20)
    out = disk / "out"
    quiet_ok("run", "--dataset", "digits", "--out", out, "--quiet")
    fill(disk, leave=150 << 10)
    capsys.readouterr()
    line = cli_error(capsys, tmp_path, "run", "--dataset", "digits", "--out", out, "--force",
                     "--quiet")  # fmt: skip
    # the size of the folder it replaces is that of this machine's figures, so not fixed:
    written = sum(p.stat().st_size for p in out.iterdir()) / 1024
    assert f"needs about {written:.1f} KiB (the size" in line
    assert_quoted(
        "`pcagmm run --force` over a complete run folder, disk filled to 150 KiB free",
        line.replace(f"{written:.1f} KiB", "342.8 KiB"),
        wild=PLACES,
    )


def test_a_new_run_folder_on_a_full_disk(small_disk, tmp_path, capsys):
    disk = small_disk(1 << 20)
    fill(disk, leave=100 << 10)
    line = cli_error(capsys, tmp_path, "run", "--dataset", "digits", "--out", disk / "new",
                     "--quiet")  # fmt: skip
    assert_quoted("`pcagmm run` into a new folder, disk filled to 100 KiB free", line)


def test_a_forced_fetch_over_a_cache_entry_on_a_full_disk(small_disk, tmp_path, capsys,
                                                          monkeypatch):  # fmt: skip
    disk = small_disk(1 << 20)
    monkeypatch.setenv("PCAGMM_CACHE", str(disk / "cache"))
    quiet_ok("data", "fetch", "digits", "--quiet")
    fill(disk, leave=40 << 10)
    capsys.readouterr()
    line = cli_error(capsys, tmp_path, "data", "fetch", "digits", "--force", "--quiet")
    assert_quoted(
        "`pcagmm data fetch digits --force` over a cached entry, disk filled to 40 KiB free",
        line,
        wild=PLACES,
    )


def test_mnist_fetched_onto_a_disk_too_small(small_disk, tmp_path, capsys, monkeypatch):
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"the shared MNIST files are not at {SHARED_MNIST}")
    disk = small_disk(24 << 20)
    monkeypatch.setenv("PCAGMM_CACHE", str(disk / "cache"))
    line = cli_error(capsys, tmp_path, "data", "fetch", "mnist", "--from", SHARED_MNIST,
                     "--quiet")  # fmt: skip
    assert_quoted("`pcagmm data fetch mnist --from ../shared/data/mnist` onto a 24 MiB disk", line)


def test_a_download_that_fills_the_disk(small_disk, tmp_path, capsys, monkeypatch):
    from loopback import LoopbackServer

    if not SHARED_MNIST.is_dir():
        pytest.skip(f"the shared MNIST files are not at {SHARED_MNIST}")
    disk = small_disk(4 << 20)
    monkeypatch.setenv("PCAGMM_CACHE", str(disk / "cache"))
    with LoopbackServer(SHARED_MNIST) as mirror:
        line = cli_error(capsys, tmp_path, "data", "fetch", "mnist", "--mirror", mirror.url,
                         "--quiet")  # fmt: skip
    assert_quoted(
        "`pcagmm data fetch mnist --mirror URL` (a loopback server) onto a 4 MiB disk: the "
        "download fills it",
        line,
        wild=PLACES,
    )


def test_make_big_over_an_earlier_file_on_a_full_disk(small_disk, tmp_path, capsys):
    disk = small_disk(1 << 20)
    out = disk / "big.npy"
    quiet_ok("data", "make-big", "--rows", 1000, "--source", "digits", "--out", out, "--quiet")
    fill(disk, leave=200 << 10)
    capsys.readouterr()
    line = cli_error(capsys, tmp_path, "data", "make-big", "--rows", 20000, "--source",
                     "digits", "--out", out, "--quiet")  # fmt: skip
    assert_quoted(
        "`pcagmm data make-big --rows 20000 --source digits --out big.npy` over an earlier "
        "big.npy, disk filled to 200 KiB free",
        line,
        wild=PLACES,
    )


def test_a_data_file_that_shrank(tmp_path):
    """The check before each chunk, on a file cut to half after it was mapped (the cut
    during a real run is made in tests/rows/test_shrinking_file.py)."""
    import os

    from pcagmm.errors import FileChangedError
    from pcagmm.rows.chunks import check_mapped_file

    path = tmp_path / "big.npy"
    np.save(path, np.zeros((10_000, 256), np.uint8))  # 128 bytes of header + 2,560,000
    X = np.load(path, mmap_mode="r")
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(FileChangedError) as raised:
        check_mapped_file(X)
    assert_quoted(
        "the data file of `pcagmm run` cut to half by another process (`truncate`) when the "
        "first pass over its rows ends",
        str(raised.value).replace(f"{tmp_path}/", ""),
    )
