"""Chunk statistics: the sums every fit in pcagmm is a fold over.

A fit never needs the whole data set as floats at once: it reads rows in chunks,
widens each chunk into a reused float buffer, and adds the chunk's contribution
to a few small sums. This module owns the chunking and the sums PCA needs (count,
column sums, the scatter matrix); the mixture's sums live beside its kernels.

Accumulation is in float64, about a shift point close to the data (so data far
from the origin lose no precision). For uint8 data the scatter is exact: rows are
shifted by 128 into [-128, 127] and multiplied in float32 blocks of at most 1,024
rows, whose sums of products (at most 1,024 * 128**2 = 2**24 in magnitude) float32
represents exactly; the blocks are then added in float64.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .progress import rows_done

#: rows per block in the exact uint8 scatter (1,024 * 128**2 = 2**24)
EXACT_UINT8_BLOCK = 1024
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


def _mapping(X: np.ndarray):
    """The ``mmap`` behind ``X`` (a read-only memory map, or a view of one), or None.

    Only read-only maps qualify: releasing pages of a copy-on-write map would lose
    changes made to them.
    """
    array = X
    while isinstance(array, np.ndarray):
        mapping = getattr(array, "_mmap", None)
        if mapping is not None:
            return mapping if getattr(array, "mode", None) in ("r", "readonly") else None
        array = array.base
    return None


def release_rows(X: np.ndarray, start: int, stop: int) -> None:
    """Tell the kernel the pages of rows ``start:stop`` of a memory-mapped ``X`` are done with.

    A process's resident size counts every page of a mapping it has read until the
    pages are released, so a pass over a large file would otherwise grow to the file's
    size. Released pages are read again from the page cache if touched again. Does
    nothing for arrays that are not memory-mapped.
    """
    mapping = _mapping(X)
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
    """
    n, d = X.shape
    buffer = np.empty((min(chunk_rows, n), d), dtype=np.float64)
    for start in range(first * chunk_rows, n, step * chunk_rows):
        stop = min(start + chunk_rows, n)
        chunk = buffer[: stop - start]
        np.copyto(chunk, X[start:stop], casting="unsafe")
        release_rows(X, start, stop)
        if shift is not None:
            chunk -= shift
        yield start, chunk
        rows_done(stop - start)


def iter_stored_rows(X: np.ndarray, rows: int = SCAN_ROWS) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, block)``: rows of ``X`` as stored (views, no conversion).

    The pages of a memory map behind a block are released once the caller asks for
    the next block, so a scan over a large file keeps its resident size bounded.
    """
    n = X.shape[0]
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        yield start, X[start:stop]
        release_rows(X, start, stop)


def column_max(X: np.ndarray) -> np.ndarray:
    """The largest value of each column of ``X`` (zeros for no rows), a block at a time."""
    largest = np.zeros(X.shape[1], dtype=X.dtype) if X.shape[0] == 0 else None
    for _, block in iter_stored_rows(X):
        top = block.max(axis=0)
        largest = top if largest is None else np.maximum(largest, top, out=largest)
    return largest


@dataclass
class ScatterSums:
    """Count, column sums and scatter matrix of rows about a shift point ``c``.

    ``linear = sum(x - c)`` and ``scatter = sum((x - c)(x - c)^T)``, summed over rows.
    """

    n: int
    shift: np.ndarray
    linear: np.ndarray
    scatter: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.shift + self.linear / self.n

    def add(self, other: ScatterSums) -> ScatterSums:
        """Add the sums of other rows taken about the same shift point (in place)."""
        if not np.array_equal(self.shift, other.shift, equal_nan=True):
            raise ValueError("ScatterSums about different shift points cannot be added")
        self.n += other.n
        self.linear += other.linear
        self.scatter += other.scatter
        return self

    def covariance(self, ddof: int = 1) -> np.ndarray:
        """The sample covariance (``ddof=1``: divided by n - 1, as scikit-learn's PCA)."""
        offset = self.linear / self.n
        centred = self.scatter - self.n * np.outer(offset, offset)
        return centred / (self.n - ddof)


def scatter_sums(
    X: np.ndarray,
    chunk_rows: int | None = None,
    *,
    shift: np.ndarray | None = None,
    threads: int = THREADS,
) -> ScatterSums:
    """One pass over ``X`` giving its :class:`ScatterSums` (upper and lower triangle filled).

    uint8 rows are taken about 128 (exactly); other rows about ``shift``, by default
    the mean of the first 1,024 rows. Sums of blocks of rows taken about the same
    shift add up to the sums of all the rows (:meth:`ScatterSums.add`), which is how
    a Dask array's blocks are combined. ``threads`` share the uint8 blocks.
    """
    n, d = X.shape
    if X.dtype == np.uint8:
        return _uint8_scatter_sums(X, chunk_rows, threads)
    chunk_rows = chunk_rows or default_chunk_rows(d)
    if shift is None:
        shift = first_rows_mean(X)
    linear = np.zeros(d)
    scatter = np.zeros((d, d))
    for _, chunk in iter_row_chunks(X, chunk_rows, shift):
        linear += chunk.sum(axis=0)
        scatter += chunk.T @ chunk
    return ScatterSums(n, shift, linear, (scatter + scatter.T) / 2)


def first_rows_mean(X, rows: int = 1024) -> np.ndarray:
    """Mean of the first ``rows`` rows in float64: the shift point sums are taken about."""
    return np.asarray(X[: min(len(X), rows)], dtype=np.float64).mean(axis=0)


def _uint8_scatter_sums(X: np.ndarray, chunk_rows: int | None, threads: int) -> ScatterSums:
    n, d = X.shape
    block = min(EXACT_UINT8_BLOCK, chunk_rows or EXACT_UINT8_BLOCK)
    starts = range(0, n, block)
    workers = max(1, min(threads, len(starts)))

    # A column that is 0 in every row (MNIST's border pixels) is left out of the
    # products and filled in afterwards; a max over uint8 rows finds them in ~2 ms.
    used = np.flatnonzero(column_max(X))
    runs = _contiguous_runs(used)
    m = len(used)

    def worker(first: int) -> np.ndarray:
        # the last column is all ones, so the product also yields the column sums
        buffer = np.empty((min(block, n), m + 1), dtype=np.float32)
        buffer[:, m] = 1.0
        products = np.zeros((m + 1, m + 1))
        block_products = np.empty((m + 1, m + 1), dtype=np.float32)  # reused: no page faults
        for start in starts[first::workers]:
            rows = X[start : start + block]
            chunk = buffer[: len(rows)]
            for source, target in runs:
                np.subtract(rows[:, source], np.float32(128), out=chunk[:, target],
                            casting="unsafe")  # fmt: skip
            release_rows(X, start, start + len(rows))
            np.matmul(chunk.T, chunk, out=block_products)  # exact: integers below 2**24
            products += block_products
            rows_done(len(rows))
        return products

    # Each thread sums its own blocks (BLAS on one thread each: the conversions and
    # additions then run in parallel too). The sums are exact integers, so how the
    # blocks are shared out cannot change the result.
    products = sum(parallel_map(worker, range(workers), workers))
    linear = np.full(d, -128.0 * n)  # sum of (x - 128); -128 n for a left-out column
    linear[used] = products[m, :m]
    scatter = _embed_scatter(products[:m, :m], used, linear, n, d)
    return ScatterSums(n, np.full(d, 128.0), linear, scatter)


def _embed_scatter(scatter_used, used, linear, n, d) -> np.ndarray:
    """The full scatter matrix from the products of the used columns.

    A left-out column ``j`` has ``u_j = -128`` in every row, so
    ``sum u_i u_j = -128 * linear_i`` and ``sum u_j u_j' = 128**2 * n``.
    """
    unused = np.setdiff1d(np.arange(d), used)
    scatter = np.empty((d, d))
    scatter[np.ix_(used, used)] = scatter_used
    scatter[np.ix_(unused, used)] = -128.0 * linear[used]
    scatter[np.ix_(used, unused)] = -128.0 * linear[used][:, np.newaxis]
    scatter[np.ix_(unused, unused)] = 128.0 * 128.0 * n
    return scatter


def _contiguous_runs(columns: np.ndarray) -> list[tuple[slice, slice]]:
    """(source slice in X, target slice in the packed buffer) for each run of columns."""
    if len(columns) == 0:
        return []
    breaks = np.flatnonzero(np.diff(columns) != 1)
    firsts = np.concatenate([[columns[0]], columns[breaks + 1]])
    lasts = np.concatenate([columns[breaks], [columns[-1]]]) + 1
    runs, offset = [], 0
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        runs.append((slice(first, last), slice(offset, offset + last - first)))
        offset += last - first
    return runs


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
