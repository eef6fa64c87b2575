"""Exclusive locks that keep two pcagmm processes from writing the same thing at once.

A lock is an ``flock`` on a small file. The kernel releases it when its holder ends,
however it ends (SIGKILL included), so a lock is never left held by a dead process;
the file itself is removed by a holder that ends normally, and reused by the next
process when a killed holder left it behind. The holder writes its process id into
the file, so a process that finds the lock held can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ._files import interrupts_deferred


class LockHeld(Exception):
    """The lock is held by another process (or by another open of it in this one).

    Parameters
    ----------
    path : Path
        The lock file.
    pid : int or None
        The holder's process id as it recorded it; None when it has not written it yet.
    """

    def __init__(self, path: Path, pid: int | None):
        self.path = path
        self.pid = pid
        super().__init__(f"{path} is held by process {pid}")


@contextlib.contextmanager
def exclusive(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` while the block runs, or fail at once.

    The file is created if needed and removed when the block ends. Removing it is
    safe because a process that locks the file checks, once it holds the lock, that
    the name still refers to the file it locked (and starts again if not).

    Raises
    ------
    LockHeld
        When another process holds the lock.
    OSError
        When the lock file cannot be created or opened.
    """
    path = Path(path)
    handle = None
    try:
        with interrupts_deferred():  # a Ctrl-C delivered here would leave the file behind
            handle = _acquire(path)
        yield
    finally:
        if handle is not None:
            with interrupts_deferred():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # still ours: nobody else can lock it while we hold it
                os.close(handle)  # releases the lock


def holder(path: str | os.PathLike) -> int | None:
    """The process id recorded in the lock file ``path``, or None."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    return int(text) if text.strip().isdigit() else None


def _acquire(path: Path) -> int:
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise LockHeld(path, holder(path)) from None
        except BaseException:
            os.close(handle)
            raise
        try:
            named = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            named = None
        if named is not None and os.path.samestat(named, os.fstat(handle)):
            os.ftruncate(handle, 0)
            os.write(handle, f"{os.getpid()}\n".encode())
            return handle
        os.close(handle)  # its last holder removed it while we opened it: lock the new one
