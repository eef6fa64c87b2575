"""The on-disk cache of fetched data sets.

Layout, under :func:`cache_root`::

    <name>/X.npy, y.npy, meta.json    a complete entry (meta.json is written last)
    .<name>.lock                      held (flock) by the process fetching <name>
    .tmp-<name>-XXXX/                 scratch space of a fetch (downloads)
    .<name>.tmp-XXXX/                 an entry being written (:func:`pcagmm._files.atomic_folder`)

An entry is only ever made visible by renaming a complete folder into place, so
readers see either nothing or a whole entry. Fetches of one name are serialised
by the lock; a fetch that was killed leaves temporary folders which the next
fetch (holding the lock) removes.
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


def read_entry(entry: Path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Open a complete entry: ``X`` memory-mapped, ``y`` in memory, and its metadata."""
    try:
        meta = json.loads((entry / META_FILE).read_text())
        X = np.load(entry / "X.npy", mmap_mode="r", allow_pickle=False)
        y_path = entry / "y.npy"
        y = np.load(y_path, allow_pickle=False) if y_path.exists() else None
    except (OSError, ValueError) as exc:
        raise CacheError(
            f"the cached data in {entry} is damaged ({exc})",
            f"fetch it again: pcagmm data fetch {entry.name} --force",
        ) from None
    return X, y, meta


def remove_entry(entry: Path) -> None:
    """Remove a cached entry (a damaged or unverifiable one)."""
    shutil.rmtree(entry, ignore_errors=True)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
