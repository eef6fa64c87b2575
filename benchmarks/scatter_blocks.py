"""Would a symmetric scatter by blocks be faster? MNIST's exact uint8 scatter as pcagmm
computes it (``chunk.T @ chunk`` of each 1,024-row block, which NumPy hands to BLAS's
syrk) against the same sums from only the column blocks on and above the diagonal, for
several block widths, in one process.

Usage: python benchmarks/scatter_blocks.py [--repeats 7] [--widths 48 96 ...]

First, what the product of a block already is: NumPy computes ``A.T @ A`` of one
buffer with BLAS's ``syrk`` (one triangle: half the flops), so the script times one
1,024-row block's ``chunk.T @ chunk`` against ``chunk.T @ copy`` (the same numbers in
another buffer: a ``gemm``), alternated; and where pcagmm's scatter time goes (the
products alone over MNIST's blocks, converted beforehand; with the float64 additions;
the whole ``scatter_sums`` on 1 and 2 threads).

The blocked variant lives in this script (issue 16 measures it before pcagmm takes it):
the same uint8 -> float32 conversion about 128, each column block pair an exact float32
product added in float64 (a diagonal pair is a syrk, the others gemms), the lower
blocks mirrored at the end; its scatter is checked equal to pcagmm's. One thread each
(the conversion and the products per thread are what pcagmm's threads share out).
Prints the median seconds of each, and its ratio to the same code with one block of all
the columns (one syrk per row block, as pcagmm computes it) and to pcagmm itself.
"""

from __future__ import annotations

import argparse

import numpy as np

from _common import median_time, mnist_X

ROWS = 1024  # pcagmm's exact uint8 block: 1,024 * 128**2 = 2**24


def blocked_scatter(X: np.ndarray, width: int) -> np.ndarray:
    """sum (x - 128)(x - 128)^T over the rows, from the upper column blocks only."""
    used = np.flatnonzero(X.max(axis=0))
    m = len(used)
    blocks = [slice(s, min(s + width, m)) for s in range(0, m, width)]
    buffer = np.empty((ROWS, m), dtype=np.float32)
    scratch = np.empty((width, width), dtype=np.float32)
    total = np.zeros((m, m))
    for start in range(0, len(X), ROWS):
        rows = X[start : start + ROWS][:, used]
        chunk = buffer[: len(rows)]
        np.subtract(rows, np.float32(128), out=chunk, casting="unsafe")
        for i, a in enumerate(blocks):
            left = chunk[:, a].T
            for b in blocks[i:]:
                product = scratch[: a.stop - a.start, : b.stop - b.start]
                np.matmul(left, chunk[:, b], out=product)
                total[a, b] += product
    for i, a in enumerate(blocks):  # mirror the upper blocks
        for b in blocks[:i]:
            total[a, b] = total[b, a].T
        diagonal = total[a, a]
        lower = np.tril_indices(diagonal.shape[0], -1)
        diagonal[lower] = diagonal.T[lower]
    return total


def where_the_time_goes(X: np.ndarray, repeats: int) -> None:
    """syrk against gemm on one block, and the parts of pcagmm's scatter (one thread)."""
    import time

    from pcagmm.decomposition import scatter_sums
    from pcagmm.decomposition.scatter import product_columns

    used, _ = product_columns(X)
    m = len(used)
    blocks = [np.asarray(X[s : s + ROWS][:, used], dtype=np.float32) - np.float32(128)
              for s in range(0, len(X), ROWS)]  # fmt: skip
    chunk, out = blocks[0], np.empty((m, m), dtype=np.float32)
    copy = chunk.copy()
    same, other = [], []
    for _ in range(10 * repeats):  # alternated, so drift hits both alike
        started = time.perf_counter()
        np.matmul(chunk.T, chunk, out=out)
        same.append(time.perf_counter() - started)
        started = time.perf_counter()
        np.matmul(chunk.T, copy, out=out)
        other.append(time.perf_counter() - started)
    syrk, gemm = np.median(same), np.median(other)
    print(f"one {ROWS:,} x {m} block: chunk.T @ chunk (syrk) {syrk * 1e3:.2f} ms, "
          f"chunk.T @ copy (gemm) {gemm * 1e3:.2f} ms: {syrk / gemm:.2f} of the time")  # fmt: skip
    total = np.zeros((m, m))
    products, _ = median_time(lambda: [np.matmul(b.T, b, out=out) for b in blocks], repeats)

    def with_sums():
        for b in blocks:
            np.matmul(b.T, b, out=out)
            np.add(total, out, out=total)

    summed, _ = median_time(with_sums, repeats)
    whole, _ = median_time(lambda: scatter_sums(X, threads=1), repeats)
    print(f"MNIST's {len(blocks)} blocks, one thread: the products alone "
          f"{products * 1e3:.0f} ms, with the float64 additions {summed * 1e3:.0f} ms; "
          f"scatter_sums (conversion included) {whole * 1e3:.0f} ms: the products are "
          f"{products / whole:.0%} of it")  # fmt: skip
    flops = len(X) * m * (m + 1)  # syrk: one triangle, a multiply and an add each
    print(f"  the products run at {flops / products / 1e9:.0f} GFLOP/s (one triangle's flops)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 96, 128, 192, 256, 384])
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from pcagmm.decomposition import scatter_sums

    X = np.asarray(mnist_X())
    used = np.flatnonzero(X.max(axis=0))
    with threadpool_limits(1):
        where_the_time_goes(X, args.repeats)
        full_seconds, sums = median_time(lambda: scatter_sums(X, threads=1), args.repeats)
        expected = sums.scatter[np.ix_(used, used)]
        print(f"pcagmm (one syrk per block): {full_seconds * 1000:.1f} ms", flush=True)
        m = len(used)
        one_seconds, _ = median_time(lambda: blocked_scatter(X, m), args.repeats)
        print(f"this script, one block of {m} columns (a syrk, as pcagmm): "
              f"{one_seconds * 1000:.1f} ms", flush=True)  # fmt: skip
        for width in args.widths:
            seconds, scatter = median_time(lambda w=width: blocked_scatter(X, w), args.repeats)
            assert np.array_equal(scatter, expected), width
            print(
                f"upper blocks of {width:3d} columns: {seconds * 1000:6.1f} ms, "
                f"{seconds / one_seconds:.2f} of one block, {seconds / full_seconds:.2f} of "
                "pcagmm's",
                flush=True,
            )
    two_threads, _ = median_time(lambda: scatter_sums(X), args.repeats)
    print(f"pcagmm's scatter_sums on its 2 threads: {two_threads * 1e3:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
