"""The on-disk cache of fetched data sets.

Layout, under :func:`cache_root`::

    <name>/X.npy, y.npy, meta.json    a complete entry (meta.json is written last)
    .<name>.lock                      held (flock) by the process fetching <name>
    .tmp-<name>-XXXX/                 scratch space of a fetch (downloads)
    .<name>.tmp-XXXX/                 an entry being written (:func:`pcagmm._files.atomic_folder`)

An entry is only ever made visible by renaming a complete folder into place, so
readers see either nothing or a whole entry. Fetches of one name are serialised
by the lock; a fetch that was killed leaves temporary folders which the next
fetch (holding the lock) removes. A reader opens every file of an entry from one
folder (:func:`read_entry`), so a fetch that replaces the entry meanwhile
(``data fetch --force``) leaves it the old entry or the new one, whole: its open
memory map keeps the old ``X.npy`` after the old folder is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .. import settings
from .._files import atomic_folder, check_writable, leftovers
from ..errors import CacheError
from .formats import read_npy_header

CACHE_ENV = settings.CACHE_ENV
META_FILE = "meta.json"
#: bytes of an entry besides its arrays' values (two .npy headers, meta.json), rounded up
ENTRY_OVERHEAD_BYTES = 4096


def cache_root() -> Path:
    """The cache folder: ``$PCAGMM_CACHE`` or the platform's user cache folder.

    Nothing is created here; that happens when something is first written.
    """
    return settings.cache_folder()


def entry_dir(name: str, root: Path | None = None) -> Path:
    """The folder a complete entry for ``name`` lives in."""
    return (root or cache_root()) / name


def is_complete(entry: Path) -> bool:
    """Whether ``entry`` holds a complete cached data set."""
    return (entry / META_FILE).is_file() and (entry / "X.npy").is_file()


def ensure_writable(root: Path) -> None:
    """Create ``root`` if needed and check that files can be written in it."""
    fix = f"set {CACHE_ENV} to a folder you can write to"
    try:
        check_writable(root)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise CacheError(f"the cache folder {root} is not writable ({reason})", fix) from None


@contextlib.contextmanager
def locked(root: Path, name: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock that serialises fetches of ``name``.

    ``on_wait`` is called once if another process holds the lock, before
    waiting for it. The lock is released when the process ends, however it ends.
    """
    lock_path = root / f".{name}.lock"
    try:
        handle = lock_path.open("a")
    except OSError as exc:
        raise CacheError(
            f"cannot create the lock file {lock_path} ({exc.strerror})",
            f"set {CACHE_ENV} to a folder you can write to",
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale_builds(root: Path, name: str) -> list[Path]:
    """Remove folders left by fetches of ``name`` that did not finish.

    Call only while holding :func:`locked` for ``name``: then no live process
    is writing them.
    """
    stale = sorted(root.glob(f".tmp-{name}-*")) + leftovers(root / name)
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale


def new_build_dir(root: Path, name: str) -> Path:
    """A fresh folder, beside the entry, to build the entry in."""
    return Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))


def write_entry(entry: Path, X: np.ndarray, y: np.ndarray | None, meta: dict) -> None:
    """Write a complete entry at ``entry`` (replacing one there): the arrays, then
    ``meta.json``, each flushed to disk, in a folder renamed into place when complete.

    A full disk raises :class:`~pcagmm.errors.DiskFullError` (an ``OSError``) with the
    entry's size as the space needed: the arrays' bytes plus 4 KiB for the two .npy
    headers and ``meta.json``."""
    expected = X.nbytes + (0 if y is None else y.nbytes) + ENTRY_OVERHEAD_BYTES
    with atomic_folder(entry, expected_bytes=expected) as build:
        _save_npy(build / "X.npy", X)
        if y is not None:
            _save_npy(build / "y.npy", y)
        with (build / META_FILE).open("w") as handle:
            json.dump(meta, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())


def read_entry(
    entry: Path, on_wait: Callable[[], None] | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Open a complete entry: ``X`` memory-mapped, ``y`` in memory, and its metadata.

    All three come from one entry, even while a fetch replaces it: they are opened
    from the folder found first, and when that folder was moved away meanwhile (the
    instant of a replacement) they are opened again while holding the fetch lock
    (``on_wait`` is called once if that means waiting for a fetch). So ``meta.json``
    (and the SHA-256 it records) describes the rows that are read.
    """
    try:
        return _read_one_folder(entry)
    except _Replaced:
        pass  # a fetch was renaming a new entry into place
    with _fetch_lock_if_possible(entry, on_wait):
        try:
            return _read_one_folder(entry)
        except _Replaced as exc:
            raise _damaged(entry, exc.__cause__ or exc) from None


class _Replaced(Exception):
    """The entry's folder or one of its files changed while it was being opened."""


def _read_one_folder(entry: Path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    try:
        folder = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError as exc:
        raise _Replaced() from exc
    except OSError as exc:
        raise _damaged(entry, exc) from None
    try:
        with _open_in(entry, META_FILE, folder) as handle:
            meta = json.loads(handle.read())
        with _open_in(entry, "X.npy", folder) as handle:
            X = _memory_map(handle)
        try:
            with _open_in(entry, "y.npy", folder) as handle:
                y = np.load(handle, allow_pickle=False)
        except _Replaced:
            # No labels, if the folder has no y.npy while it is still the entry: files
            # go from a folder only after it was moved away (and it never comes back).
            if _exists_in("y.npy", folder) or not _is_at(entry, folder):
                raise
            y = None
    except (OSError, ValueError) as exc:
        raise _damaged(entry, exc) from None
    finally:
        os.close(folder)
    return X, y, meta


def _open_in(entry: Path, name: str, folder: int):
    """``entry/name`` opened by its path (so a memory map knows its file name), checked
    to be the file of that name in the open ``folder``; raises :class:`_Replaced` if not."""
    try:
        handle = (entry / name).open("rb")
    except FileNotFoundError as exc:
        raise _Replaced() from exc
    try:
        expected = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError as exc:
        handle.close()
        raise _Replaced() from exc
    if not os.path.samestat(os.fstat(handle.fileno()), expected):
        handle.close()
        raise _Replaced()
    return handle


def _exists_in(name: str, folder: int) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _is_at(entry: Path, folder: int) -> bool:
    """Whether the open ``folder`` is the one at ``entry`` now."""
    try:
        named = os.stat(entry)
    except FileNotFoundError:
        return False
    return os.path.samestat(named, os.fstat(folder))


def _memory_map(handle) -> np.memmap:
    """A read-only memory map of the ``.npy`` file open as ``handle`` (as
    ``np.load(..., mmap_mode="r")`` makes from a path)."""
    shape, fortran_order, dtype = read_npy_header(handle)
    if dtype.hasobject:
        raise ValueError("X.npy holds Python objects")
    order = "F" if fortran_order else "C"
    return np.memmap(handle, dtype=dtype, mode="r", offset=handle.tell(), shape=shape, order=order)


@contextlib.contextmanager
def _fetch_lock_if_possible(entry: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    """Hold the fetch lock of ``entry`` while the block runs; without it where the lock
    file cannot be made (a read-only cache, which no fetch can be replacing)."""
    with contextlib.ExitStack() as held:
        with contextlib.suppress(CacheError):
            held.enter_context(locked(entry.parent, entry.name, on_wait=on_wait))
        yield


def _damaged(entry: Path, exc: BaseException) -> CacheError:
    return CacheError(
        f"the cached data in {entry} is damaged ({exc})",
        f"fetch it again: pcagmm data fetch {entry.name} --force",
    )


def remove_entry(entry: Path) -> None:
    """Remove a cached entry (a damaged or unverifiable one)."""
    shutil.rmtree(entry, ignore_errors=True)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
