"""The chunk loop: rows read a chunk at a time, widened into a reused buffer, their
pages released behind the reader, and counted for progress.

Every pass of every fit reads its rows through this module, whether the rows are an
array in memory, a memory map of a file far larger than memory, or one block of a
Dask array on a worker.

Before each chunk of a memory map is touched, the file behind it is checked to still
hold the mapped bytes (:func:`check_mapped_file`: one ``fstat``): touching a page past
the end of a file that another program shortened would kill the process with SIGBUS;
instead the pass raises :class:`~pcagmm.errors.FileChangedError`.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

import numpy as np

from ..errors import FileChangedError
from ..progress import rows_done

#: float64 values per chunk buffer when no chunk size is given (32 MiB)
DEFAULT_CHUNK_VALUES = 1 << 22
#: memory maps from this size on have their pages released as passes consume them;
#: smaller ones stay resident (releasing MNIST's 55 MB would cost its next pass ~20 ms
#: of page faults for no real saving)
RELEASE_MAPS_FROM_BYTES = 256 << 20
RELEASE_LOOKBACK_BYTES = 4 << 20
#: rows per block when rows are scanned as stored (maxima, checks, hashes)
SCAN_ROWS = 1 << 16
#: threads that work on chunks at once (measured on 2 cores: the exact uint8 scatter
#: of MNIST takes 0.21 s on two threads with one BLAS thread each, 0.29 s on one
#: thread with two BLAS threads)
THREADS = min(2, os.cpu_count() or 1)
#: a limit on the threads of the passes started in this context (see :func:`row_threads`)
_THREAD_LIMIT: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "pcagmm_row_threads", default=None
)


@contextlib.contextmanager
def limit_row_threads(threads: int | None):
    """Run the passes started in this thread (context) on at most ``threads`` threads
    (None: no limit of its own).

    A sweep that runs several fits side by side, each on its own thread, gives each
    fit one thread this way instead of letting every fit start :data:`THREADS`.
    """
    if threads is None:
        yield
        return
    token = _THREAD_LIMIT.set(threads)
    try:
        yield
    finally:
        _THREAD_LIMIT.reset(token)


def row_threads() -> int:
    """The threads a pass may use here: :data:`THREADS`, or less under :func:`limit_row_threads`."""
    limit = _THREAD_LIMIT.get()
    return THREADS if limit is None else max(1, min(THREADS, limit))


def _map_owner(X: np.ndarray):
    """The array that holds the ``mmap`` behind ``X`` (``X`` or a base of it), or None."""
    array = X
    while isinstance(array, np.ndarray):
        if getattr(array, "_mmap", None) is not None:
            return array
        array = array.base
    return None


def memory_mapping(X: np.ndarray):
    """The ``mmap`` behind ``X`` (a read-only memory map, or a view of one), or None.

    Only read-only maps qualify: releasing pages of a copy-on-write map would lose
    changes made to them.
    """
    owner = _map_owner(X)
    if owner is None or getattr(owner, "mode", None) not in ("r", "readonly"):
        return None
    return owner._mmap


def mapped_file(X: np.ndarray):
    """``(mapping, filename, start)`` for the memory map behind ``X`` (any mode, or a
    view of one): the ``mmap``, the file's path (None if unknown) and the offset in the
    file where the mapping begins; None when ``X`` is not memory-mapped."""
    owner = _map_owner(X)
    if owner is None:
        return None
    import mmap

    offset = getattr(owner, "offset", 0) or 0  # np.memmap: where its data begins
    start = offset - offset % mmap.ALLOCATIONGRANULARITY  # where the map begins
    return owner._mmap, getattr(owner, "filename", None), start


def check_mapped_file(X: np.ndarray) -> None:
    """Check that the file behind a memory-mapped ``X`` still holds every mapped byte.

    Touching a page of a memory map past the end of its file kills the process with
    SIGBUS, so a file that another program shortens while a pass reads it must be
    noticed before its rows are touched. This costs one ``fstat`` of the map's file
    descriptor (about a microsecond); nothing for arrays that are not memory-mapped.
    A file shortened between this check and the read of the same chunk still ends the
    process: the check narrows that window to one chunk's copy, it cannot close it.

    Raises
    ------
    FileChangedError
        When the file is shorter than the mapping.
    """
    found = mapped_file(X)
    if found is None:
        return
    mapping, filename, start = found
    try:
        size = mapping.size()  # fstat of the map's own descriptor: the file's size now
    except (OSError, ValueError):  # a closed map: numpy raises its own error on use
        return
    mapped_end = start + len(mapping)
    if size < mapped_end:
        name = filename or "the memory-mapped data file"
        raise FileChangedError(
            f"{name} shrank from {mapped_end:,} to {size:,} bytes while it was read",
            "another program shortened it; leave the file as it is while pcagmm reads it "
            "(or give pcagmm a copy of it), then run again",
        )


def release_rows(X: np.ndarray, start: int, stop: int) -> None:
    """Tell the kernel the pages of rows ``start:stop`` of a memory-mapped ``X`` are done with.

    A process's resident size counts every page of a mapping it has read until the
    pages are released, so a pass over a large file would otherwise grow to the file's
    size. Released pages are read again from the page cache if touched again. Does
    nothing for arrays that are not memory-mapped.
    """
    mapping = memory_mapping(X)
    if mapping is None or not X.flags.c_contiguous or stop <= start:
        return
    if len(mapping) < RELEASE_MAPS_FROM_BYTES:
        return  # small enough to keep: the next pass then finds its pages mapped
    import mmap

    try:
        base = np.frombuffer(mapping, dtype=np.uint8).__array_interface__["data"][0]
    except (TypeError, ValueError, BufferError):
        return
    row_bytes = X.strides[0]
    first = X.__array_interface__["data"][0] - base + start * row_bytes
    last = first + (stop - start) * row_bytes
    page = mmap.PAGESIZE
    # Whole pages, widened: back by a few MiB, because a fault maps more than its page
    # (fault-around, and whole large folios of the page cache), which may lie in rows
    # released earlier; forward to the end of the last page (which the neighbouring
    # chunk, maybe on another thread, may already have released). Pages still in use
    # elsewhere are simply faulted in again.
    begin = max(0, (first - RELEASE_LOOKBACK_BYTES) // page * page)
    end = min(len(mapping), -(-last // page) * page)
    if end > begin:
        mapping.madvise(mmap.MADV_DONTNEED, begin, end - begin)


def default_chunk_rows(n_features: int, values_per_row: int | None = None) -> int:
    """Rows per chunk so a chunk's working arrays stay near 32 MiB."""
    per_row = max(1, values_per_row or n_features)
    return int(max(256, min(1 << 16, DEFAULT_CHUNK_VALUES // per_row)))


def check_chunk_rows(chunk_rows) -> int | None:
    """Validate a user's ``chunk_rows`` (None means automatic)."""
    if chunk_rows is None:
        return None
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int | np.integer):
        raise TypeError(f"chunk_rows must be a positive integer or None, got {chunk_rows!r}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer or None, got {chunk_rows}")
    return int(chunk_rows)


def read_chunk(X, start: int, stop: int, out=None, shift=None) -> np.ndarray:
    """Rows ``start:stop`` of ``X`` as float64 (into ``out`` when given), minus ``shift``.

    The pages of a memory map behind the rows are released once they are copied; its
    file is checked first to still hold them (:func:`check_mapped_file`).
    """
    chunk = np.empty((stop - start, X.shape[1])) if out is None else out[: stop - start]
    check_mapped_file(X)
    np.copyto(chunk, X[start:stop], casting="unsafe")
    release_rows(X, start, stop)
    if shift is not None:
        chunk -= shift
    return chunk


def iter_row_chunks(
    X: np.ndarray,
    chunk_rows: int,
    shift: np.ndarray | None = None,
    *,
    first: int = 0,
    step: int = 1,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, chunk)``: rows of ``X`` as float64, minus ``shift``.

    Each chunk is a view into one buffer that is reused, so a caller must be done
    with a chunk before asking for the next. ``X`` may be a memory map; only the
    rows of one chunk are read at a time. ``first`` and ``step`` pick every
    ``step``-th chunk from the ``first``-th, so threads can share the chunks out.
    Rows are counted for progress once the caller is done with them.
    """
    n, d = X.shape
    buffer = np.empty((min(chunk_rows, n), d), dtype=np.float64)
    for start in range(first * chunk_rows, n, step * chunk_rows):
        stop = min(start + chunk_rows, n)
        yield start, read_chunk(X, start, stop, buffer, shift)
        rows_done(stop - start)


def iter_stored_rows(
    X: np.ndarray, rows: int = SCAN_ROWS, *, first: int = 0, step: int = 1, count: bool = False
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, block)``: rows of ``X`` as stored (views, no conversion).

    The pages of a memory map behind a block are released once the caller asks for
    the next block, so a scan over a large file keeps its resident size bounded.
    ``first`` and ``step`` share the blocks out between threads as in
    :func:`iter_row_chunks`; with ``count`` the rows are counted for progress. The
    file behind a memory map is checked before each block (:func:`check_mapped_file`).
    """
    n = X.shape[0]
    for start in range(first * rows, n, step * rows):
        stop = min(start + rows, n)
        check_mapped_file(X)
        yield start, X[start:stop]
        release_rows(X, start, stop)
        if count:
            rows_done(stop - start)


def column_max(X: np.ndarray) -> np.ndarray:
    """The largest value of each column of ``X`` (zeros for no rows), a block at a time."""
    largest = np.zeros(X.shape[1], dtype=X.dtype) if X.shape[0] == 0 else None
    for _, block in iter_stored_rows(X):
        top = block.max(axis=0)
        largest = top if largest is None else np.maximum(largest, top, out=largest)
    return largest


def column_min(X: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The smallest value of each of ``columns`` of ``X`` (zeros for no rows), a block at
    a time."""
    smallest = np.zeros(len(columns), dtype=X.dtype) if X.shape[0] == 0 else None
    for _, block in iter_stored_rows(X):
        low = block[:, columns].min(axis=0)
        smallest = low if smallest is None else np.minimum(smallest, low, out=smallest)
    return smallest


def first_rows_mean(X, rows: int = 1024) -> np.ndarray:
    """Mean of the first ``rows`` rows in float64: the shift point sums are taken about."""
    check_mapped_file(X)
    return np.asarray(X[: min(len(X), rows)], dtype=np.float64).mean(axis=0)


def parallel_map(function, items, workers: int) -> list:
    """``[function(item) for item in items]`` on ``workers`` threads, BLAS on one thread each.

    Results come back in the order of ``items``.
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with blas_threads(1), ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))


_controller = None


@contextlib.contextmanager
def blas_threads(limit: int | None):
    """Limit BLAS and OpenMP threads inside the block (None: leave them as they are).

    One threadpoolctl controller is made on first use and kept: making one inspects
    every loaded library (~2 ms), which is a tenth of a small fit.
    """
    global _controller
    if limit is None:
        yield
        return
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    with _controller.limit(limits=limit):
        yield
