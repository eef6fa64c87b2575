"""The one way pcagmm writes: whole files and whole folders, or nothing.

A file or folder is built under a temporary name beside its target and renamed into
place when complete, so a reader (or the next run, after an interruption or a full
disk) sees either the old version or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def umask() -> int:
    """The process's file-mode creation mask."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """An open file that becomes ``path`` when the block ends without an exception.

    The file is written beside ``path`` under a temporary name, flushed to disk, given
    the permissions a new file gets under the umask, and renamed over ``path``. On any
    exception (KeyboardInterrupt included) the temporary file is removed and an existing
    ``path`` is left as it was. Creating the temporary file may raise :class:`OSError`.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~umask())  # mkstemp makes it private
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """An empty folder that becomes ``path`` when the block ends without an exception.

    The folder is built beside ``path`` (``.<name>.tmp-XXXX``) with the permissions a
    new folder gets under the umask. An existing ``path`` is moved aside, the new folder
    renamed into place, then the old one removed. On any exception the new folder is
    removed and an existing ``path`` is left as it was.
    """
    path = Path(path)
    build = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        os.chmod(build, 0o777 & ~umask())  # mkdtemp makes it private
        yield build
        if path.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, aside / path.name)
            try:
                os.replace(build, path)
            except BaseException:
                os.replace(aside / path.name, path)  # put the old one back
                raise
            finally:
                shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(build, path)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise


def leftovers(path: str | os.PathLike) -> list[Path]:
    """Temporary files and folders that writes of ``path`` killed mid-way left beside it."""
    path = Path(path)
    patterns = (f".{path.name}.*.tmp", f".{path.name}.tmp-*", f".{path.name}.old-*")
    return sorted(p for pattern in patterns for p in path.parent.glob(pattern))


def check_writable(folder: str | os.PathLike) -> None:
    """Create ``folder`` if needed and check that a file can be written in it.

    Raises
    ------
    OSError
        When it cannot; callers turn it into an error that says which setting to change.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
        pass
