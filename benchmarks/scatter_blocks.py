"""Would a symmetric scatter by blocks be faster? MNIST's exact uint8 scatter as pcagmm
computes it (the full float32 product of each 1,024-row block) against the same sums
from only the column blocks on and above the diagonal (about half the flops), for
several block widths, in one process.

Usage: python benchmarks/scatter_blocks.py [--repeats 7] [--widths 48 96 ...]

The blocked variant lives in this script (issue 16 measures it before pcagmm takes it):
the same uint8 -> float32 conversion about 128, each column block pair an exact float32
product added in float64, the lower blocks mirrored at the end; its scatter is checked
equal to pcagmm's. One thread each (the conversion and the products per thread are what
pcagmm's threads share out). Prints the median seconds of each, and its ratio to the
same code with one block of all the columns (the full product, as pcagmm computes it)
and to pcagmm itself.
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
        full_seconds, sums = median_time(lambda: scatter_sums(X, threads=1), args.repeats)
        expected = sums.scatter[np.ix_(used, used)]
        print(f"pcagmm (full product of each block): {full_seconds * 1000:.1f} ms", flush=True)
        m = len(used)
        one_seconds, _ = median_time(lambda: blocked_scatter(X, m), args.repeats)
        print(f"this script, one block of {m} columns (the full product): "
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


if __name__ == "__main__":
    main()
