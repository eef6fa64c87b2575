"""The one way pcagmm writes: a whole file or folder, or nothing; the old one survives."""

from __future__ import annotations

import os
import signal
import stat
import tempfile

import pytest

from pcagmm._files import atomic_file, atomic_folder, check_writable, umask


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_file_appears_whole_with_normal_permissions(tmp_path):
    with atomic_file(tmp_path / "a.bin") as file:
        file.write(b"new")
        assert names(tmp_path) != ["a.bin"]  # not there yet under its name
    assert (tmp_path / "a.bin").read_bytes() == b"new"
    assert names(tmp_path) == ["a.bin"]
    mode = stat.S_IMODE(os.stat(tmp_path / "a.bin").st_mode)
    assert mode == 0o666 & ~umask()


@pytest.mark.parametrize("exception", [ValueError, KeyboardInterrupt])
def test_an_exception_mid_write_leaves_the_old_file(tmp_path, exception):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(exception), atomic_file(tmp_path / "a.txt", "w") as file:
        file.write("half")
        raise exception
    assert (tmp_path / "a.txt").read_text() == "old"
    assert names(tmp_path) == ["a.txt"]
    with pytest.raises(exception), atomic_file(tmp_path / "b.txt", "w"):
        raise exception
    assert names(tmp_path) == ["a.txt"]


def test_a_folder_appears_whole_and_replaces_the_old_one(tmp_path):
    target = tmp_path / "run"
    with atomic_folder(target) as build:
        (build / "x").write_text("1")
        assert not target.exists()
    assert names(target) == ["x"]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o777 & ~umask()
    with atomic_folder(target) as build:
        (build / "y").write_text("2")
    assert names(target) == ["y"]
    assert names(tmp_path) == ["run"]  # the old folder was moved aside, then removed


@pytest.mark.parametrize("exception", [OSError, KeyboardInterrupt])
def test_a_failed_folder_leaves_the_old_one(tmp_path, exception):
    target = tmp_path / "run"
    target.mkdir()
    (target / "old").write_text("kept")
    with pytest.raises(exception), atomic_folder(target) as build:
        (build / "new").write_text("half")
        raise exception
    assert names(target) == ["old"]
    assert names(tmp_path) == ["run"]


@pytest.mark.parametrize("maker", ["mkstemp", "mkdtemp"])
def test_ctrl_c_the_instant_the_temporary_is_made_leaves_nothing(tmp_path, monkeypatch, maker):
    """SIGINT sent by the process to itself as soon as the temporary file or folder exists
    (the moment a watcher of the folder interrupts at: tests/workflow/test_concurrency.py
    found a run's folder left so under load). Held back until the name is known, it
    lands inside the cleanup's reach: KeyboardInterrupt, and nothing left beside."""
    real = getattr(tempfile, maker)

    def make_then_interrupt(*args, **kwargs):
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return made

    monkeypatch.setattr(tempfile, maker, make_then_interrupt)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old").write_text("old")
    writer = (
        atomic_file(tmp_path / "a.bin") if maker == "mkstemp" else atomic_folder(tmp_path / "out")
    )
    with pytest.raises(KeyboardInterrupt), writer:
        pass
    assert names(tmp_path) == ["out"] and names(tmp_path / "out") == ["old"]


def test_writable_check(tmp_path):
    check_writable(tmp_path / "a" / "b")
    assert names(tmp_path / "a" / "b") == []
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        check_writable(tmp_path / "file" / "sub")
