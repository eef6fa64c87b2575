"""New rows placed in a fitted embedding by their nearest neighbours (pure functions).

A row is placed where umap-learn's ``transform`` starts it: at the average of its
``k`` nearest reference rows' embedded positions, each weighted by UMAP's membership
strength ``exp(-d / sigma)``, with ``sigma`` found by bisection so that the strengths
of all but the nearest neighbour sum to ``log2(k)`` (``smooth_knn_dist`` with
``local_connectivity`` 0, as ``transform`` calls it). umap-learn then moves the
points by a few epochs of its layout optimisation; the placement stops before, so it
needs only the reference rows and their embedding (plain arrays: a model file keeps
them without pickle) and it is deterministic.

The neighbours are exact (a chunked distance product) where the pairs of rows are
few, and otherwise found with a nearest-neighbour-descent index (pynndescent, which
umap-learn installs and uses for its own ``transform``).
"""

from __future__ import annotations

import numpy as np

#: bisection steps and tolerance of umap-learn's ``smooth_knn_dist``
BISECTION_STEPS = 64
BISECTION_TOLERANCE = 1e-5
#: a bandwidth is at least this fraction of the row's mean neighbour distance
MIN_BANDWIDTH_SCALE = 1e-3
#: above this many (query, reference) pairs in one call, the neighbours come from an index
EXACT_PAIRS = 2_000_000_000
#: query rows per block of the exact distance product (a block is rows x reference)
EXACT_BLOCK_BYTES = 64 << 20
#: search breadth of the index queries (umap-learn's ``transform`` uses 0.12)
INDEX_EPSILON = 0.12


def nearest_exact(reference: np.ndarray, queries: np.ndarray, k: int):
    """The ``k`` nearest reference rows of each query row, exactly.

    Returns ``(indices, distances)``, each of shape (queries, k), nearest first
    (Euclidean distances, computed in float64; ties in row order).
    """
    reference = np.asarray(reference, dtype=np.float64)
    queries = np.asarray(queries, dtype=np.float64)
    n_ref = reference.shape[0]
    if not 1 <= k <= n_ref:
        raise ValueError(f"k={k} neighbours asked of {n_ref} reference rows")
    squared_norms = np.einsum("ij,ij->i", reference, reference)
    block = max(1, EXACT_BLOCK_BYTES // (8 * n_ref))
    indices = np.empty((len(queries), k), dtype=np.int64)
    distances = np.empty((len(queries), k))
    for start in range(0, len(queries), block):
        q = queries[start : start + block]
        squared = squared_norms[np.newaxis, :] - 2.0 * (q @ reference.T)
        squared += np.einsum("ij,ij->i", q, q)[:, np.newaxis]
        if k < n_ref:
            nearest = np.argpartition(squared, k - 1, axis=1)[:, :k]
        else:  # every reference row is a neighbour
            nearest = np.broadcast_to(np.arange(n_ref), squared.shape)
        chosen = np.take_along_axis(squared, nearest, axis=1)
        order = np.lexsort((nearest, chosen), axis=1)  # by distance, then row number
        indices[start : start + len(q)] = np.take_along_axis(nearest, order, axis=1)
        distances[start : start + len(q)] = np.sqrt(
            np.clip(np.take_along_axis(chosen, order, axis=1), 0.0, None)
        )
    return indices, distances


def build_index(reference: np.ndarray, k: int, random_state: int | None):
    """A pynndescent index of the reference rows for queries of ``k`` neighbours."""
    from pynndescent import NNDescent

    index = NNDescent(
        np.asarray(reference, dtype=np.float32),
        n_neighbors=max(k, 15),
        random_state=random_state,
        n_jobs=1,
    )
    index.prepare()
    return index


def nearest(reference: np.ndarray, queries: np.ndarray, k: int, index=None):
    """``(indices, distances)`` of the ``k`` nearest reference rows: exact without an
    ``index``, else from ``index`` (a pynndescent index of ``reference``, see
    :func:`build_index`; approximate, as umap-learn's own ``transform`` finds them)."""
    if index is None:
        return nearest_exact(reference, queries, k)
    indices, distances = index.query(
        np.asarray(queries, dtype=np.float32), k=k, epsilon=INDEX_EPSILON
    )
    return indices.astype(np.int64), distances.astype(np.float64)


def bandwidths(distances: np.ndarray, k: int) -> np.ndarray:
    """Each row's ``sigma``: ``sum_{j >= 1} exp(-d_j / sigma) = log2(k)`` by bisection.

    ``distances`` (rows, k) are sorted, nearest first. This is umap-learn's
    ``smooth_knn_dist`` with ``local_connectivity=0`` (so no distance is subtracted),
    vectorised; its lower bound on ``sigma`` (1e-3 of the mean distance) uses each
    row's own mean, where umap-learn uses the mean over all the rows it is given, so
    that a row's placement does not depend on the rows placed with it.
    """
    distances = np.asarray(distances, dtype=np.float64)
    target = np.log2(k)
    n = distances.shape[0]
    low, high, mid = np.zeros(n), np.full(n, np.inf), np.ones(n)
    active = np.ones(n, dtype=bool)
    for _ in range(BISECTION_STEPS):
        if not active.any():
            break
        rows = np.flatnonzero(active)
        total = np.exp(-distances[rows, 1:] / mid[rows, np.newaxis]).sum(axis=1)
        done = np.abs(total - target) < BISECTION_TOLERANCE
        above = (total > target) & ~done
        below = ~above & ~done
        high[rows[above]] = mid[rows[above]]
        mid[rows[above]] = (low[rows[above]] + high[rows[above]]) / 2.0
        grow = rows[below]
        low[grow] = mid[grow]
        unbounded = np.isinf(high[grow])
        mid[grow] = np.where(unbounded, mid[grow] * 2.0, (low[grow] + high[grow]) / 2.0)
        active[rows[done]] = False
    floor = MIN_BANDWIDTH_SCALE * distances.mean(axis=1)
    return np.maximum(mid, floor)


def membership_weights(distances: np.ndarray, k: int) -> np.ndarray:
    """UMAP's membership strengths of each row's neighbours, normalised to sum to 1."""
    sigma = bandwidths(distances, k)
    strengths = np.where(
        (distances <= 0.0) | (sigma[:, np.newaxis] == 0.0),
        1.0,
        np.exp(-distances / np.where(sigma == 0.0, 1.0, sigma)[:, np.newaxis]),
    )
    return strengths / strengths.sum(axis=1, keepdims=True)


def place(indices: np.ndarray, weights: np.ndarray, embedding: np.ndarray) -> np.ndarray:
    """The weighted average of the neighbours' embedded positions (rows, dimensions)."""
    embedding = np.asarray(embedding, dtype=np.float64)
    return np.einsum("ij,ijd->id", weights, embedding[indices])
