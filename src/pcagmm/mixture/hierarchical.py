"""Model-based agglomerative hierarchical clustering, the start of mclust's EM.

R's mclust starts EM from ``hc`` with model ``"VVV"``: starting from singletons, it
merges at each step the two clusters whose merge increases least the classification
criterion of an unconstrained Gaussian model, until the wanted number of clusters is
left; one M-step of that partition then starts EM on every row. As mclust does, the
agglomeration runs on a random subset of at most :data:`HIERARCHICAL_MAX_ROWS` rows.

The criterion of a partition into clusters ``k`` of ``n_k`` rows with scatter
matrices ``W_k`` (the sum of the outer products of the cluster's rows about its mean)
is ``sum_k n_k * log det((W_k + eps * I) / n_k)``, where the ridge
``eps = alpha * trace(W) / (n * d)`` (``W`` the scatter of all ``n`` rows of ``d``
features) keeps singletons and small clusters finite. This is the regularised VVV
criterion of Fraley (1998), "Algorithms for model-based Gaussian hierarchical
clustering", SIAM J. Sci. Comput. 20(1); mclust's Fortran uses its own constants, and
its merges are not claimed to be reproduced bit for bit.

The criterion is unchanged by an affine map of the rows but for its ridge, which is
spherical in the coordinates agglomerated; so, as mclust's EM start does by default
(``mclust.options("hcUse")`` is ``"SVD"``), the rows are first put in scaled SVD
coordinates (:func:`scaled_svd`), where a thin cluster is not lost under a ridge set by
the longest axis of the data.
"""

from __future__ import annotations

import numpy as np

#: the agglomeration runs on a random subset of at most this many rows (mclust's
#: default subset size for its hierarchical start)
HIERARCHICAL_MAX_ROWS = 2000
#: the ridge ``eps`` is this multiple of the mean variance of the features
HIERARCHICAL_ALPHA = 1.0


def hierarchical_labels(
    X,
    n_clusters,
    random_state,
    *,
    max_rows=HIERARCHICAL_MAX_ROWS,
    alpha=HIERARCHICAL_ALPHA,
    transform="svd",
):
    """Each row's cluster from agglomerating a random subset of the rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows.
    n_clusters : int
        How many clusters the agglomeration stops at (at least 1, at most the
        subset's rows).
    random_state : numpy.random.RandomState
        Draws the subset; not used when ``n_samples <= max_rows`` (then every row is
        agglomerated).
    max_rows : int, default=HIERARCHICAL_MAX_ROWS
        The most rows agglomerated.
    alpha : float, default=HIERARCHICAL_ALPHA
        The ridge's multiple of the mean feature variance (see :func:`agglomerate`).
    transform : {"svd", None}, default="svd"
        Agglomerate the subset in scaled SVD coordinates (:func:`scaled_svd`, mclust's
        default) or as it is (``None``, mclust's ``"VARS"``).

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        The cluster, ``0 .. n_clusters - 1``, of each subset row, numbered in the order
        of their first rows; ``-1`` for the rows outside the subset.
    """
    n = X.shape[0]
    subset = subset_rows(n, max_rows, random_state)
    labels = np.full(n, -1, dtype=np.intp)
    rows = np.asarray(X[subset], dtype=np.float64)
    if transform == "svd":
        rows = scaled_svd(rows)
    elif transform is not None:
        raise ValueError(f'transform must be "svd" or None, got {transform!r}')
    labels[subset], _ = agglomerate(rows, n_clusters, alpha=alpha)
    return labels


def scaled_svd(X):
    """Rows in scaled SVD coordinates, mclust's ``hc(use="SVD")``.

    The columns are centred and scaled to unit standard deviation, then projected on
    the right singular vectors of the result, each coordinate divided by the square
    root of its singular value (a partial whitening: the spread of the variances is
    square-rooted). Constant columns and null directions are dropped; if nothing is
    left, one column of zeros is returned.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)

    Returns
    -------
    Z : ndarray of shape (n_rows, n_kept)
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    scale = centred.std(axis=0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])
    varying = scale > 0
    if not varying.any():
        return np.zeros((len(X), 1))
    standard = centred[:, varying] / scale[varying]
    _, singular, vt = np.linalg.svd(standard, full_matrices=False)
    kept = singular > singular[0] * max(standard.shape) * np.finfo(np.float64).eps
    return (standard @ vt[kept].T) / np.sqrt(singular[kept])


def subset_rows(n, max_rows, random_state):
    """The rows agglomerated: all ``n`` if ``n <= max_rows``, else ``max_rows`` rows
    drawn without replacement from ``random_state``; in increasing order.

    Parameters
    ----------
    n : int
        Rows in all.
    max_rows : int
        The most rows returned.
    random_state : numpy.random.RandomState
        Draws the rows (only when ``n > max_rows``).

    Returns
    -------
    rows : ndarray of shape (min(n, max_rows),)
    """
    if n <= max_rows:
        return np.arange(n)
    return np.sort(random_state.choice(n, size=max_rows, replace=False))


def agglomerate(X, n_clusters=1, *, alpha=HIERARCHICAL_ALPHA):
    """Agglomerate every row of ``X``, from singletons to ``n_clusters`` clusters.

    Each step merges the two clusters ``i``, ``j`` of least merge cost
    ``crit(i | j) - crit(i) - crit(j)``, where ``crit(k) = n_k * log det((W_k + eps*I)
    / n_k)`` (see the module's docstring). A cluster is numbered by its first row (the
    smallest row index among its members), so a merge ``(i, j)``, ``i < j``, leaves
    cluster ``i``. Ties in the cost go to the smallest pair ``(i, j)`` in
    lexicographic order.

    After a merge only the costs of the merged cluster change; they are recomputed
    together, one log-determinant each on a stack of ``d x d`` matrices, and the
    cheapest pair is kept per cluster, so a step costs one pass over the clusters.
    It holds ``n_rows**2`` costs and ``n_rows`` scatter matrices (at 2,000 rows, 32 MB
    and ``16 * n_features**2`` kB). The costs of two singletons are in closed form:
    ``2 log(1 + |x_i - x_j|^2 / (2 eps)) - 2 d log(2)``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        The rows, as floats.
    n_clusters : int, default=1
        Clusters left when the agglomeration stops, ``1 <= n_clusters <= n_rows``.
    alpha : float, default=HIERARCHICAL_ALPHA
        The ridge is ``eps = alpha * trace(W) / (n_rows * n_features)``, ``W`` the
        scatter matrix of all rows (``eps = 1`` if every row is the same).

    Returns
    -------
    labels : ndarray of shape (n_rows,)
        Each row's cluster, ``0 .. n_clusters - 1`` in the order of the clusters'
        first rows.
    merges : list of (int, int)
        The merges in order, each ``(i, j)``, ``i < j``, in the numbering above.
    """
    X = np.asarray(X, dtype=np.float64)
    m, d = X.shape
    if not 1 <= n_clusters <= m:
        raise ValueError(f"n_clusters must be between 1 and the {m} rows, got {n_clusters}")
    X = X - X.mean(axis=0)
    eps = alpha * float(np.einsum("ij,ij->", X, X)) / (m * d)
    if not eps > 0:
        eps = 1.0

    count = np.ones(m)
    mean = X.copy()
    scatter = np.zeros((m, d, d))
    criterion = np.full(m, d * np.log(eps))  # a singleton's n * log det(eps * I)
    active = np.ones(m, dtype=bool)

    cost = np.empty((m, m))
    block = max(1, 2**21 // (m * d))  # rows of differences held at once: ~16 MiB
    for start in range(0, m, block):
        difference = X[start : start + block, np.newaxis, :] - X[np.newaxis, :, :]
        squared = np.einsum("ijk,ijk->ij", difference, difference)
        cost[start : start + block] = 2.0 * np.log1p(0.5 * squared / eps) - 2.0 * d * np.log(2.0)
    np.fill_diagonal(cost, np.inf)
    # the cheapest partner of each cluster (ties: the smallest partner)
    best = cost.argmin(axis=1)
    best_cost = cost[np.arange(m), best]

    merges = []
    ridge = eps * np.eye(d)
    for _ in range(m - n_clusters):
        i = int(best_cost.argmin())  # the smallest cluster in a cheapest pair...
        j = int(best[i])  # ...and its smallest partner at that cost, so i < j
        merges.append((i, j))
        delta = mean[i] - mean[j]
        total = count[i] + count[j]
        scatter[i] += scatter[j] + (count[i] * count[j] / total) * np.outer(delta, delta)
        mean[i] = (count[i] * mean[i] + count[j] * mean[j]) / total
        count[i] = total
        criterion[i] = total * np.linalg.slogdet((scatter[i] + ridge) / total)[1]
        active[j] = False
        cost[j, :] = np.inf
        cost[:, j] = np.inf
        best_cost[j] = np.inf

        others = np.flatnonzero(active)
        others = others[others != i]
        if len(others) == 0:
            break
        new = _merge_costs(i, others, count, mean, scatter, criterion, ridge)
        cost[i, others] = new
        cost[others, i] = new
        best[i] = others[new.argmin()]
        best_cost[i] = cost[i, best[i]]

        lost = others[(best[others] == i) | (best[others] == j)]
        if len(lost):
            best[lost] = cost[lost].argmin(axis=1)
            best_cost[lost] = cost[lost, best[lost]]
        kept = others[(best[others] != i) & (best[others] != j)]
        from_i = cost[i, kept]  # a row: the costs are symmetric
        better = (from_i < best_cost[kept]) | ((from_i == best_cost[kept]) & (i < best[kept]))
        best[kept[better]] = i
        best_cost[kept[better]] = from_i[better]

    return _labels_from_merges(m, merges), merges


def _merge_costs(i, others, count, mean, scatter, criterion, ridge):
    """The merge costs of cluster ``i`` with each cluster of ``others``.

    With a singleton ``r`` the union's matrix is a rank-one update of
    ``B = W_i + eps * I``, so ``det(B + c u u^T) = det(B) (1 + c u^T B^-1 u)`` (the
    matrix determinant lemma) costs one solve with ``B`` for all singletons; the other
    unions take a log-determinant each.
    """
    delta = mean[others] - mean[i]
    total = count[others] + count[i]
    weight = count[others] * count[i] / total
    logdet = np.empty(len(others))
    single = count[others] == 1
    if single.any():
        inside = scatter[i] + ridge
        u = delta[single]
        solved = np.linalg.solve(inside, u.T)
        quadratic = np.einsum("ij,ji->i", u, solved)
        _, inside_logdet = np.linalg.slogdet(inside)
        logdet[single] = inside_logdet + np.log1p(weight[single] * quadratic)
    several = ~single
    if several.any():
        rest = others[several]
        u = delta[several]
        union = scatter[rest] + (scatter[i] + ridge)
        union += weight[several, np.newaxis, np.newaxis] * (
            u[:, :, np.newaxis] * u[:, np.newaxis, :]
        )
        logdet[several] = np.linalg.slogdet(union)[1]
    d = ridge.shape[0]
    return total * (logdet - d * np.log(total)) - criterion[others] - criterion[i]


def _labels_from_merges(m, merges):
    """Each of ``m`` rows' cluster after ``merges``, numbered by first rows."""
    root = np.arange(m)
    for i, j in merges:
        root[root == j] = i
    _, labels = np.unique(root, return_inverse=True)
    return labels.astype(np.intp)
