"""The sums PCA is a fold over: count, column sums and scatter matrix of the rows.

Accumulation is in float64, about a shift point close to the data (so data far
from the origin lose no precision). For uint8 data the scatter is exact: rows are
shifted by 128 into [-128, 127] and multiplied in float32 blocks of at most 1,024
rows, whose sums of products (at most 1,024 * 128**2 = 2**24 in magnitude) float32
represents exactly; the blocks are then added in float64. A column that holds one
value in every row is left out of the products and its sums are filled in exactly.
(NumPy computes ``A.T @ A`` of one buffer with BLAS's ``syrk``: only one triangle of
each block's products is computed, half the flops of a general product.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rows.chunks import (
    THREADS,
    column_max,
    column_min,
    default_chunk_rows,
    first_rows_mean,
    iter_row_chunks,
    iter_stored_rows,
    parallel_map,
)

#: rows per block in the exact uint8 scatter (1,024 * 128**2 = 2**24)
EXACT_UINT8_BLOCK = 1024


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

    def is_finite(self) -> bool:
        """Whether the scatter is finite (NaN or inf in the rows show here)."""
        return bool(np.all(np.isfinite(self.scatter)))

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


def _uint8_scatter_sums(X: np.ndarray, chunk_rows: int | None, threads: int) -> ScatterSums:
    n, d = X.shape
    block = min(EXACT_UINT8_BLOCK, chunk_rows or EXACT_UINT8_BLOCK)
    workers = max(1, min(threads, len(range(0, n, block))))

    used, values = product_columns(X)
    runs = _contiguous_runs(used)
    m = len(used)

    def worker(first: int) -> np.ndarray:
        # the last column is all ones, so the product also yields the column sums
        buffer = np.empty((min(block, n), m + 1), dtype=np.float32)
        buffer[:, m] = 1.0
        products = np.zeros((m + 1, m + 1))
        block_products = np.empty((m + 1, m + 1), dtype=np.float32)  # reused: no page faults
        for _, rows in iter_stored_rows(X, block, first=first, step=workers, count=True):
            chunk = buffer[: len(rows)]
            for source, target in runs:
                np.subtract(
                    rows[:, source], np.float32(128), out=chunk[:, target], casting="unsafe"
                )
            # exact: integers below 2**24; one buffer times its transpose is a syrk
            np.matmul(chunk.T, chunk, out=block_products)
            products += block_products
        return products

    # Each thread sums its own blocks (BLAS on one thread each: the conversions and
    # additions then run in parallel too). The sums are exact integers, so how the
    # blocks are shared out cannot change the result.
    products = sum(parallel_map(worker, range(workers), workers))
    offsets = values.astype(np.float64) - 128.0  # x - 128 of a left-out column's value
    linear = n * offsets  # sum of (x - 128); exact for a left-out column
    linear[used] = products[m, :m]
    scatter = _embed_scatter(products[:m, :m], used, linear, offsets, n)
    return ScatterSums(n, np.full(d, 128.0), linear, scatter)


def product_columns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The columns of uint8 rows that take part in the products (those that vary), and
    each column's largest value (what a constant column holds).

    A column that holds one value in every row (MNIST's border pixels, always 0) is left
    out of the products and its sums are filled in afterwards. A max over the uint8 rows
    finds the all-zero ones (~4 ms on MNIST). A constant column holds its largest value
    in every row, so only the columns whose first rows all do are read again, for their
    smallest value: none on MNIST, so finding the others costs nothing there.
    """
    largest = column_max(X)
    head = np.asarray(X[:EXACT_UINT8_BLOCK])
    constant = largest == 0
    if len(head):
        candidates = np.flatnonzero(~constant & (head.min(axis=0) == largest))
        if len(candidates):
            constant[candidates] = column_min(X, candidates) == largest[candidates]
    return np.flatnonzero(~constant), largest


def _embed_scatter(scatter_used, used, linear, offsets, n) -> np.ndarray:
    """The full scatter matrix from the products of the used columns.

    A left-out column ``j`` has ``u_j = offsets_j`` in every row, so
    ``sum u_i u_j = offsets_j * linear_i`` and ``sum u_j u_j' = n offsets_j offsets_j'``:
    products of integers far below 2**53, exact in float64.
    """
    d = len(linear)
    unused = np.setdiff1d(np.arange(d), used)
    left_out = offsets[unused]
    scatter = np.empty((d, d))
    scatter[np.ix_(used, used)] = scatter_used
    scatter[np.ix_(used, unused)] = np.outer(linear[used], left_out)
    scatter[np.ix_(unused, used)] = np.outer(left_out, linear[used])
    scatter[np.ix_(unused, unused)] = n * np.outer(left_out, left_out)
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
