"""How alike several partitions of the same rows are: pure functions of the partitions.

* :func:`pairwise_ari`: the adjusted Rand index of every pair of partitions;
* :func:`best_match_jaccard`: for each cluster of a reference partition, the Jaccard
  coefficient of the cluster of another partition that matches it best (Hennig 2007,
  "Cluster-wise assessment of cluster stability", as R's ``fpc::clusterboot``);
* :func:`optimum_groups`: fits whose partitions are the same up to :data:`SAME_OPTIMUM`
  (connected components of the "ARI >= threshold" graph).

Every measure is computed from a contingency table (counts of rows per pair of
clusters, :func:`pcagmm.evaluate.contingency`), so the memory used does not grow with
the number of clusters times the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .evaluate import adjusted_rand, contingency

#: two fits reached the same optimum when their partitions agree this much (ARI):
#: EM from two starts that converge to one optimum stop a few rows apart (tol), which
#: costs far less than 0.01 of ARI; two different optima differ by whole clusters
SAME_OPTIMUM = 0.99
#: Hennig (2007): a cluster whose mean best-match Jaccard is below this is flagged
#: (at most 0.5: "dissolved"; 0.75 and above: stable)
STABLE_JACCARD = 0.6


def pairwise_ari(partitions: Sequence[np.ndarray]) -> np.ndarray:
    """The adjusted Rand index of every pair of partitions of the same rows.

    Parameters
    ----------
    partitions : sequence of (n,) int arrays
        The cluster of each row, one array per fit.

    Returns
    -------
    (N, N) ndarray
        Symmetric, 1 on the diagonal; entry ``(i, j)`` is the ARI of partitions ``i``
        and ``j`` (equal to ``sklearn.metrics.adjusted_rand_score``).
    """
    N = len(partitions)
    ari = np.eye(N)
    for i in range(N):
        for j in range(i + 1, N):
            ari[i, j] = ari[j, i] = adjusted_rand(contingency(partitions[i], partitions[j])[0])
    return ari


def jaccard_table(counts: np.ndarray) -> np.ndarray:
    """The Jaccard coefficient of every pair of clusters from their contingency table.

    Parameters
    ----------
    counts : (K_a, K_b) array of int
        Rows in cluster ``k`` of one partition and cluster ``j`` of the other.

    Returns
    -------
    (K_a, K_b) ndarray
        ``|A_k & B_j| / |A_k | B_j|`` = ``counts[k, j] / (|A_k| + |B_j| - counts[k, j])``
        (0 where both clusters are empty).
    """
    counts = np.asarray(counts, dtype=np.float64)
    union = counts.sum(axis=1)[:, None] + counts.sum(axis=0)[None, :] - counts
    return np.divide(counts, union, out=np.zeros_like(counts), where=union > 0)


def best_match_jaccard(
    reference: np.ndarray,
    other: np.ndarray,
    clusters: Sequence[int] | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """For each cluster of ``reference``, its best Jaccard with a cluster of ``other``.

    ``max_j |A_k & B_j| / |A_k | B_j|`` over the clusters ``B_j`` of ``other``, on the
    rows both partitions hold (``rows``: a boolean mask or indices of them, e.g. the
    rows a bootstrap resample drew; None: every row), as Hennig's clusterboot.

    Parameters
    ----------
    reference, other : (n,) int arrays
        The cluster of each row in the two partitions.
    clusters : sequence of int, optional
        The reference's clusters to report, in this order (default: those present in
        ``reference``, in increasing order).
    rows : (n,) bool array or int array, optional

    Returns
    -------
    ndarray of float, one per cluster of ``clusters``
        NaN for a cluster with no row among ``rows`` (its Jaccard is undefined there).
    """
    reference, other = np.asarray(reference), np.asarray(other)
    if rows is not None:
        reference, other = reference[rows], other[rows]
    if clusters is None:
        clusters = np.unique(reference)
    best = np.full(len(clusters), np.nan)
    if len(reference) == 0:
        return best
    counts, present, _ = contingency(other, reference)  # reference clusters x other's
    by_cluster = dict(zip(present.tolist(), jaccard_table(counts).max(axis=1), strict=True))
    for index, cluster in enumerate(clusters):
        best[index] = by_cluster.get(int(cluster), np.nan)
    return best


def optimum_groups(ari: np.ndarray, threshold: float = SAME_OPTIMUM) -> np.ndarray:
    """Which fits reached the same optimum: the connected components of the graph
    joining two fits whose partitions have ARI >= ``threshold``.

    Parameters
    ----------
    ari : (N, N) ndarray
        Pairwise ARI (:func:`pairwise_ari`).
    threshold : float, default :data:`SAME_OPTIMUM`

    Returns
    -------
    (N,) ndarray of int
        The group of each fit, numbered 0, 1, ... in the order of each group's first fit.
    """
    from scipy.sparse.csgraph import connected_components

    ari = np.asarray(ari)
    if ari.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    _, components = connected_components(ari >= threshold, directed=False)
    renumber: dict[int, int] = {}
    return np.array([renumber.setdefault(c, len(renumber)) for c in components], dtype=np.int64)


__all__ = [
    "SAME_OPTIMUM",
    "STABLE_JACCARD",
    "best_match_jaccard",
    "jaccard_table",
    "optimum_groups",
    "pairwise_ari",
]
