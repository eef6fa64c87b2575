"""The one way pcagmm writes: whole files and whole folders, or nothing.

A file or folder is built under a temporary name beside its target and renamed into
place when complete, so a reader (or the next run, after an interruption or a full
disk) sees either the old version or the new one, never half of one.

A write that runs out of space or quota (``ENOSPC``, ``EDQUOT``) anywhere inside
:func:`atomic_file` or :func:`atomic_folder` (the writer's own calls included:
``savefig``, ``np.save``, ``write_text``) removes what it wrote and raises
:class:`~pcagmm.errors.DiskFullError`: one line naming the folder, the space the write
needs and the space free.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import DiskFullError

#: the errno values of a write that found no room: the device is full, or the quota is
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_NUMPY_SHORT_WRITE = re.compile(
    r"\d+ requested and \d+ written|Not enough free space to write \d+ bytes after offset \d+"
)


def umask() -> int:
    """The process's file-mode creation mask."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike, mode: str = "wb", *, expected_bytes: int | None = None
) -> Iterator[IO]:
    """An open file that becomes ``path`` when the block ends without an exception.

    The file is written beside ``path`` under a temporary name, flushed to disk, given
    the permissions a new file gets under the umask, and renamed over ``path``. On any
    exception (KeyboardInterrupt included) the temporary file is removed and an existing
    ``path`` is left as it was. Creating the temporary file may raise :class:`OSError`.

    Parameters
    ----------
    path : path-like
        The file to write.
    mode : str
        The mode to open the temporary file in (``"wb"`` or ``"w"``).
    expected_bytes : int, optional
        The size the file will have, when known: a full disk is then reported as
        needing that much (otherwise as needing more than was written).

    Raises
    ------
    DiskFullError
        When the device (or the quota) runs out of space, inside the block or while
        the file is flushed.
    """
    path = Path(path)
    temporary = None
    try:
        with interrupts_deferred():  # an interrupt lands once the file is known, to be removed
            handle, temporary = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
            )
        with os.fdopen(handle, mode) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~umask())  # mkstemp makes it private
        os.replace(temporary, path)
    except BaseException as exc:
        written = 0
        if temporary is not None:
            written = bytes_under(temporary)
            Path(temporary).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(exc, path, written, expected_bytes) from None
        raise


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, *, expected_bytes: int | None = None) -> Iterator[Path]:
    """An empty folder that becomes ``path`` when the block ends without an exception.

    The folder is built beside ``path`` (``.<name>.tmp-XXXX``) with the permissions a
    new folder gets under the umask. An existing ``path`` is moved aside, the new folder
    renamed into place, then the old one removed. On any exception the new folder is
    removed and an existing ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        The folder to write.
    expected_bytes : int, optional
        The size of the folder's files, when known (see :func:`atomic_file`).

    Raises
    ------
    DiskFullError
        When the device (or the quota) runs out of space while the folder is built.
    """
    path = Path(path)
    build = None
    try:
        with interrupts_deferred():  # an interrupt lands once the folder is known, to be removed
            build = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        os.chmod(build, 0o777 & ~umask())  # mkdtemp makes it private
        yield build
        with interrupts_deferred():  # done whole, or not begun, when interrupted
            _swap_in(build, path)
    except BaseException as exc:
        if build is None:  # not made: the disk may be full already
            if is_disk_full(exc):
                raise disk_full_error(exc, path, 0, expected_bytes) from None
            raise
        written = bytes_under(build)
        shutil.rmtree(build, ignore_errors=True)
        if is_disk_full(exc):
            replaced = bytes_under(path) if path.is_dir() else None
            raise disk_full_error(exc, path, written, expected_bytes, replaced) from None
        raise


def _swap_in(build: Path, path: Path) -> None:
    """Rename ``build`` to ``path``; an existing ``path`` is moved aside first and removed
    after (put back if the rename fails)."""
    if not path.exists():
        os.replace(build, path)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    try:
        os.replace(path, aside / path.name)
        try:
            os.replace(build, path)
        except BaseException:
            os.replace(aside / path.name, path)  # put the old one back
            raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back SIGINT (Ctrl-C) while the block runs, then deliver it.

    Creating a temporary file, folder or lock and noting it for the cleanup is one
    step: a Ctrl-C between the two would leave it behind. (Blocking the signal with
    ``pthread_sigmask`` would not do: the process's other threads, BLAS's or Dask's,
    would still receive it.)

    Only the main thread can change signal handlers; elsewhere (and where a handler
    was installed outside Python) the block runs as is.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is None:  # None: not set from Python
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that found no room (``ENOSPC``, or ``EDQUOT``).

    numpy's ``ndarray.tofile`` (what ``np.save`` uses on a real file) reports a short
    write as ``OSError("N requested and M written")`` and a failed preallocation as
    ``OSError("Not enough free space to write ...")``, without an errno; on a regular
    file both mean the device or the quota is full, so they count too.
    """
    if not isinstance(exc, OSError):
        return False
    return exc.errno in DISK_FULL_ERRNOS or (
        exc.errno is None and _NUMPY_SHORT_WRITE.fullmatch(str(exc)) is not None
    )


def bytes_under(path: str | os.PathLike) -> int:
    """The size of a file, or of the files in a folder and its subfolders (0 if absent)."""
    path = Path(path)
    try:
        if not path.is_dir():
            return path.stat().st_size
        return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())
    except OSError:
        return 0


def free_bytes(folder: str | os.PathLike) -> int | None:
    """Bytes an unprivileged user may still write on the device holding ``folder``."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize


def disk_full_error(
    exc: OSError,
    path: Path,
    written: int,
    expected_bytes: int | None = None,
    replaced_bytes: int | None = None,
) -> DiskFullError:
    """The one-line error for a write of ``path`` that ran out of space or quota.

    The space needed is estimated, in this order, as ``expected_bytes`` where the
    writer knows the size (a cache entry, a generated data file); as the size of the
    folder the write replaces (``replaced_bytes``: a run folder written again), both
    kept on the device until the new one is complete; and otherwise as more than what
    was written when the device filled, and more than was free for it (the free space
    now, with the partial files removed). What was written is ``written`` (the partial
    file or folder, measured before it was removed) plus, when ``exc`` comes from a
    nested atomic write whose partial file is already gone, that write's own estimate.
    The free space is measured after the partial files were removed.
    """
    from .resources import format_bytes

    if isinstance(exc, DiskFullError):
        written += exc.written  # by an inner atomic write, whose partial file is gone
    folder = path.parent.absolute()
    quota = exc.errno == errno.EDQUOT
    free = None if quota else free_bytes(folder)
    if expected_bytes is not None:
        needed = max(expected_bytes, written)
        estimate = f"about {format_bytes(needed)}"
    elif replaced_bytes is not None and replaced_bytes > written:
        needed = replaced_bytes
        estimate = f"about {format_bytes(needed)} (the size of the {path.name} it replaces)"
    else:  # it filled the device: it needed more than it wrote, and more than was free
        needed = max(written, free or 0)
        estimate = f"more than {format_bytes(needed)}"
    detail = f"writing {path.name} needs {estimate}"
    if free is not None:
        detail += f", and {format_bytes(free)} is free there"
    kind = "disk quota exceeded" if quota else "no space left"
    return DiskFullError(
        f"{kind} on the device holding {folder}: {detail}",
        f"free some {'of your quota' if quota else 'space there'}, or write somewhere else",
        reason=f"{kind} on the device: {detail}",
        folder=folder,
        needed=needed,
        written=written,
        free=free,
        code=errno.EDQUOT if quota else errno.ENOSPC,
    )


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
