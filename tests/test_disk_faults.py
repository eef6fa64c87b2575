"""A disk that fills up mid-write, and a quota that runs out (issue 14).

Each command-line case mounts a small real tmpfs (root only; skipped otherwise), writes
a complete earlier output onto it, fills the rest with a filler file, and runs the
command again: exit status 2, one line naming the folder and the space needed, the
earlier output unchanged file by file, and no temporary file left on the device.
"""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest

from commandline import cli, one_line_error
from pcagmm._files import atomic_file, atomic_folder, leftovers
from pcagmm.errors import DiskFullError, PcagmmError


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its modification time and content, and every
    folder (whose own modification time changes when a temporary file comes and goes)."""
    return {
        str(path.relative_to(folder)): (
            None if path.is_dir() else (path.lstat().st_mtime_ns, path.read_bytes())
        )
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def small_disk(tmp_path):
    """``mount(size)`` -> a folder on a fresh tmpfs of that many bytes, unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (the test fills a real file system)")
    mounted = []

    def mount(size: int) -> Path:
        folder = tmp_path / f"disk-{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    try:
        yield mount
    finally:
        for folder in mounted:
            subprocess.run(["umount", str(folder)], check=False)
            if os.path.ismount(folder):
                subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` with a filler file until about ``leave`` bytes are free."""
    info = os.statvfs(disk)
    size = max(0, info.f_bavail * info.f_frsize - leave)
    filler = disk / "filler"
    with filler.open("wb") as handle:
        handle.write(bytes(size))
    return filler


def hidden(folder: Path) -> list[str]:
    """Temporary files and folders (``.name...``) left anywhere under ``folder``."""
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob(".*") if not p.name.endswith(".lock")
    )


# ------------------------------------------------------------------------ the command line


def test_run_on_a_full_disk_keeps_the_earlier_run_folder(small_disk):
    disk = small_disk(2 << 20)
    out = disk / "out"
    ok(cli("run", "--dataset", "digits", "--out", out, "--quiet"))
    written = sum(p.stat().st_size for p in out.iterdir())
    fill(disk, leave=150 << 10)
    before = snapshot(disk)
    result = cli("run", "--dataset", "digits", "--out", out, "--force", "--quiet")
    line = one_line_error(
        result,
        f"no space left on the device holding {disk}: writing out needs about",
        "(the size of the out it replaces)",
        "free some space there, or write somewhere else",
    )
    assert f"{written / 1024:.1f} KiB" in line  # the folder it replaces, nearly to the byte
    assert snapshot(disk) == before  # the earlier run folder as it was; nothing else
    assert leftovers(out) == [] and hidden(disk) == []


def test_new_run_folder_on_a_full_disk_leaves_nothing(small_disk):
    disk = small_disk(1 << 20)
    fill(disk, leave=100 << 10)
    before = snapshot(disk)
    result = cli("run", "--dataset", "digits", "--out", disk / "new", "--quiet")
    line = one_line_error(result, f"on the device holding {disk}: writing new needs more than")
    assert "KiB is free there" in line
    assert snapshot(disk) == before and not (disk / "new").exists() and hidden(disk) == []


def test_fetch_on_a_full_disk_keeps_the_earlier_cache_entry(small_disk, monkeypatch):
    disk = small_disk(1 << 20)
    cache = disk / "cache"
    monkeypatch.setenv("PCAGMM_CACHE", str(cache))
    ok(cli("data", "fetch", "digits"))
    fill(disk, leave=40 << 10)
    before = snapshot(disk)
    result = cli("data", "fetch", "digits", "--force")
    # 1,797 x 64 uint8 pixels + 1,797 uint8 labels + 4 KiB for headers and meta.json
    expected = 1797 * 64 + 1797 + 4096
    one_line_error(
        result,
        f"cannot write digits into the cache {cache} (no space left on the device: "
        f"writing digits needs about {expected / 1024:.1f} KiB",
        "set PCAGMM_CACHE to another folder",
    )
    assert snapshot(disk) == before  # the earlier entry (and its lock file) as it was
    assert hidden(cache) == []
    ok(cli("data", "verify", "digits"))


def test_fetching_mnist_onto_a_disk_too_small_leaves_no_entry(small_disk, monkeypatch):
    from conftest import SHARED_MNIST

    if not SHARED_MNIST.is_dir():
        pytest.skip(f"the shared MNIST files are not at {SHARED_MNIST}")
    disk = small_disk(24 << 20)
    cache = disk / "cache"
    monkeypatch.setenv("PCAGMM_CACHE", str(cache))
    result = cli("data", "fetch", "mnist", "--from", SHARED_MNIST)
    # the entry's size is known before it is written: 70,000 x 784 uint8 + labels
    one_line_error(result, "writing mnist needs about 52.4 MiB", "MiB is free there")
    assert sorted(p.name for p in cache.iterdir()) == [".mnist.lock"]


def test_make_big_on_a_full_disk_keeps_the_earlier_file(small_disk):
    disk = small_disk(1 << 20)
    out = disk / "big.npy"
    ok(cli("data", "make-big", "--rows", 1000, "--source", "digits", "--out", out, "--quiet"))
    fill(disk, leave=200 << 10)
    before = snapshot(disk)
    result = cli("data", "make-big", "--rows", 20000, "--source", "digits", "--out", out, "--quiet")
    # the two files' sizes: 128-byte headers, 20,000 x 8 x 8 pixels and 20,000 labels
    expected = 128 + 20000 * 64 + 128 + 20000
    one_line_error(
        result, f"holding {disk}: writing big.npy needs about {expected / 2**20:.1f} MiB"
    )
    assert snapshot(disk) == before and hidden(disk) == []
    assert np.load(out).shape == (1000, 8, 8)


# ----------------------------------------------------------------- the helper, in Python


def test_a_file_on_a_full_disk_names_its_expected_size(small_disk):
    disk = small_disk(256 << 10)
    (disk / "a.bin").write_bytes(b"old")
    with (
        pytest.raises(DiskFullError) as caught,
        atomic_file(disk / "a.bin", expected_bytes=1 << 20) as file,
    ):
        for _ in range(64):
            file.write(bytes(16 << 10))
            file.flush()
    error = caught.value
    assert isinstance(error, PcagmmError) and isinstance(error, OSError)
    assert error.errno == errno.ENOSPC and error.needed == 1 << 20
    assert 0 < error.written < 256 << 10 and error.free > 200 << 10
    assert str(error).startswith(f"no space left on the device holding {disk}: writing a.bin")
    assert "needs about 1.0 MiB, and " in str(error) and "[Errno" not in str(error)
    assert (disk / "a.bin").read_bytes() == b"old" and hidden(disk) == []


def test_a_nested_file_counts_toward_its_folder(small_disk):
    """A model file written (atomically) inside a run folder: the folder's error, with
    what the inner file had written counted."""
    disk = small_disk(256 << 10)
    with pytest.raises(DiskFullError) as caught, atomic_folder(disk / "run") as build:
        (build / "first.bin").write_bytes(bytes(100 << 10))
        with atomic_file(build / "model.npz") as file:
            file.write(bytes(300 << 10))
            file.flush()
    error = caught.value
    assert error.folder == disk and error.written > 100 << 10
    assert f"holding {disk}: writing run needs more than" in str(error)
    assert sorted(disk.iterdir()) == []


@pytest.mark.parametrize("writer", ["file", "folder"])
def test_an_exceeded_quota_maps_the_same_way(tmp_path, writer):
    """EDQUOT, fed from inside the block: this kernel's tmpfs has no quotas to exceed
    for real (mount -o usrquota fails), and root is exempt from quotas anyway."""
    (tmp_path / "old").write_bytes(b"old")
    quota = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
    target = tmp_path / ("old" if writer == "file" else "new")
    with pytest.raises(DiskFullError) as caught:
        if writer == "file":
            with atomic_file(target, expected_bytes=5000) as file:
                file.write(b"half")
                raise quota
        else:
            with atomic_folder(target) as build:
                (build / "part").write_bytes(bytes(3000))
                raise quota
    error = caught.value
    assert error.errno == errno.EDQUOT and error.free is None  # statvfs knows no quota
    needs = "about 4.9 KiB" if writer == "file" else "more than 2.9 KiB"
    assert str(error) == (
        f"disk quota exceeded on the device holding {tmp_path}: writing {target.name} "
        f"needs {needs}; free some of your quota, or write somewhere else"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]
    assert (tmp_path / "old").read_bytes() == b"old"


def test_other_errors_pass_through_unchanged(tmp_path):
    with pytest.raises(PermissionError), atomic_folder(tmp_path / str(uuid.uuid4())):
        raise PermissionError(errno.EACCES, "denied")
    assert list(tmp_path.iterdir()) == []


def test_a_download_onto_a_full_disk_is_one_line(small_disk, monkeypatch):
    """A mirror download that fills the cache's device: one line naming the folder and
    the space, no partial download and no entry left."""
    from conftest import SHARED_MNIST
    from loopback import LoopbackServer

    if not SHARED_MNIST.is_dir():
        pytest.skip(f"the shared MNIST files are not at {SHARED_MNIST}")
    disk = small_disk(4 << 20)  # the training images alone are 9.9 MB gzipped
    cache = disk / "cache"
    monkeypatch.setenv("PCAGMM_CACHE", str(cache))
    with LoopbackServer(SHARED_MNIST) as mirror:
        result = cli("data", "fetch", "mnist", "--mirror", mirror.url)
    line = one_line_error(
        result,
        f"cannot write mnist into the cache {cache} (no space left on the device: writing",
        ".gz needs more than",
        "set PCAGMM_CACHE to another folder",
    )
    assert "MiB is free there" in line or "KiB is free there" in line, line
    assert sorted(p.name for p in cache.iterdir()) == [".mnist.lock"]
