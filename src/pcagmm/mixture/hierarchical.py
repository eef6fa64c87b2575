"""Model-based agglomerative hierarchical clustering, the start of mclust's EM.

R's mclust starts EM from ``hc(data, modelName = "VVV", use = "SVD")`` (its options
``hcModelName`` and ``hcUse``), cut by ``hclass(tree, G)``: from singletons, each step
merges the two clusters whose merge increases least a classification criterion of an
unconstrained Gaussian model; the partition at ``G`` clusters gives the M-step that
starts EM on every row. ``mclustBIC`` agglomerates once, on a random subset of
``mclust.options("subset")`` = 2000 rows when there are more, and cuts the one tree at
every ``G``. This module reproduces the merges of mclust 6.0.0's ``hc`` exactly (the
same pairs in the same order, checked against R in the tests) and so ``hclass``'s
classes at every ``G``: :func:`hierarchical_tree` agglomerates once and
:meth:`HierarchicalTree.labels` cuts.

What mclust computes (R's ``hc`` and ``hcVVV``, the Fortran ``hcvvv``):

* ``use = "SVD"`` (:func:`scaled_svd`): the columns are centred and divided by their
  standard deviations, columns then not finite (constant ones) are dropped, and the
  rows are projected on the right singular vectors, coordinate ``k`` divided by the
  square root of the ``k``-th singular value: ``Z = S V diag(d)^(-1/2)``.
* The criterion of a cluster of ``n`` rows with scatter matrix ``W`` (the sum of the
  outer products of its rows about their mean) in ``d`` coordinates is
  ``n log(det(W / n) + beta (tr W + alpha) / n)``; it is ``n log(beta (tr W + alpha) /
  n)`` when ``n <= d`` or when ``W`` is singular (a zero on its factor's diagonal),
  ``n log(alpha beta / n)`` when ``tr W = 0`` (identical rows), ``log(alpha beta)`` for
  one row, and ``2 log(beta (tr W + alpha) / 2)`` for two rows merged from singletons
  (even when ``d = 1``). ``beta = 1`` and ``alpha = traceW(Z / sqrt(n_rows d))``: the
  trace of the scatter matrix of all the rows over ``n_rows d``, at least the machine
  epsilon (hcVVV's ``alpha = 1`` times that). A merge costs the union's criterion less
  the two clusters'.
* The cheapest merge is made; between equal costs, the last of mclust's table of costs,
  whose order follows the places where mclust keeps the clusters (see
  :func:`agglomerate`).
* A merged cluster keeps, as its criterion, the union's when one of the two was the
  cluster formed last (and at the first merge); otherwise the cost plus the two
  criteria, which may differ from it in the last bit.
* ``W`` is kept as a triangular factor updated by Givens rotations. Of the factor of a
  cluster mclust stores only the first row, in place of each of its rows, for later
  merges; only the factor of the cluster formed last is whole. So the determinants of
  merges of a cluster of three rows or more (``d >= 2``) but the newest are those of
  that stand-in, not of its scatter matrix: mclust's merges follow from it, and so do
  this module's.
* Duplicated rows are not treated apart: ``hc`` starts from singletons (its
  ``partition = dupPartition(data)`` is never passed on to ``hcVVV``) and ``Mclust``
  and ``mclustBIC`` add nothing to them; ``alpha`` keeps a cluster of identical rows
  finite, and merges of identical rows cost exactly the same, so mclust's order of
  ties decides among them.

The arithmetic is mclust's, operation for operation (sums in mclust's order, the
Givens rotations of reference BLAS 3.10+ ``drotg``/``drot``), so that exact ties
break as in R. NumPy's ``log`` and ``exp`` may differ from the C library's (which R's
Fortran calls) in the last bit: the costs are computed with NumPy's, and the cost of
each merge made and of every near tie with the C library's (:mod:`math`). The merges
can still differ from R's where its SVD and NumPy's give coordinates that differ in the
last bits and two merges then cost the same to that precision (rows on a lattice);
and where a singular value is 0 R stops with an error, where :func:`scaled_svd` drops
that direction.

``mclustBIC`` draws its subset with R's ``sample``, in draw order; :func:`subset_rows`
draws it from a NumPy random state, in increasing order, so the classes are numbered
by their first rows (``hclass`` numbers them in order of appearance). For one feature
``Mclust`` starts from quantile classes (``qclass``) rather than ``hc``, and with no
more rows than features from ``hc`` with ``"EII"``; this module is ``hc``'s ``"VVV"``
agglomeration whatever the number of features.
"""

from __future__ import annotations

import math

import numpy as np

#: the agglomeration runs on a random subset of at most this many rows (mclust's
#: default subset size for its hierarchical start, ``mclust.options("subset")``)
HIERARCHICAL_MAX_ROWS = 2000
#: hcVVV's ``alpha``: the criterion's ``alpha`` is this times the trace of the scatter
#: matrix of the rows agglomerated divided by ``n_rows * n_features``
HIERARCHICAL_ALPHA = 1.0
#: hcVVV's ``beta``, the weight of ``tr W + alpha`` in the criterion
HIERARCHICAL_BETA = 1.0

_RTHALF = 0.7071067811865476  # mclust's sqrt(1/2), as its Fortran writes it
_EPS = float(np.finfo(np.float64).eps)
# drotg's safe range (LAPACK 3.10's drotg.f90)
_SAFMIN = 2.0**-1022
_SAFMAX = 2.0**1023
# the merges of a new cluster whose lower bounds are within this of the cheapest cost
# are costed at once, the others only if they come that close
_COSTED_MARGIN = 1.0


class HierarchicalTree:
    """The merges of an agglomeration of a subset of rows, cut at any number of
    clusters.

    Parameters
    ----------
    n_samples : int
        Rows in all.
    subset : ndarray of shape (n_rows,)
        The rows agglomerated, in the order agglomerated.
    merges : ndarray of shape (n_merges, 2)
        The merges in order, each ``(i, j)``, ``i < j``, two clusters named by their
        first positions in ``subset`` (0-based): mclust's ``hc`` pairs, less one.

    Attributes
    ----------
    n_samples : int
    subset : ndarray of shape (n_rows,)
    merges : ndarray of shape (n_merges, 2)
    """

    def __init__(self, n_samples, subset, merges):
        self.n_samples = int(n_samples)
        self.subset = np.asarray(subset, dtype=np.intp)
        self.merges = np.asarray(merges, dtype=np.intp).reshape(-1, 2)

    @property
    def n_rows(self):
        """Rows agglomerated."""
        return len(self.subset)

    def subset_labels(self, n_clusters):
        """Each subset row's cluster at ``n_clusters`` clusters, as mclust's
        ``hclass(tree, n_clusters) - 1``.

        Parameters
        ----------
        n_clusters : int
            ``n_rows - n_merges <= n_clusters <= n_rows``.

        Returns
        -------
        labels : ndarray of shape (n_rows,)
            ``0 .. n_clusters - 1``, numbered in the order of the clusters' first rows.
        """
        m = self.n_rows
        n_clusters = int(n_clusters)
        if not max(1, m - len(self.merges)) <= n_clusters <= m:
            raise ValueError(
                f"n_clusters must be between {max(1, m - len(self.merges))} and the {m} rows "
                f"agglomerated, got {n_clusters}"
            )
        return _labels_from_merges(m, self.merges[: m - n_clusters])

    def labels(self, n_clusters):
        """Each row's cluster at ``n_clusters`` clusters; ``-1`` outside the subset.

        Parameters
        ----------
        n_clusters : int
            At least 1, at most the rows agglomerated.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The cluster, ``0 .. n_clusters - 1``, of each subset row, numbered in the
            order of their first rows (``hclass``'s numbering, 0-based); ``-1`` for
            the rows outside the subset.
        """
        labels = np.full(self.n_samples, -1, dtype=np.intp)
        labels[self.subset] = self.subset_labels(n_clusters)
        return labels


def hierarchical_tree(
    X,
    random_state,
    *,
    max_rows=HIERARCHICAL_MAX_ROWS,
    alpha=HIERARCHICAL_ALPHA,
    transform="svd",
):
    """Agglomerate a random subset of the rows, down to one cluster, as mclust's
    ``hc(X[subset, ], modelName = "VVV", use = "SVD")``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows, finite.
    random_state : numpy.random.RandomState
        Draws the subset; not used when ``n_samples <= max_rows`` (then every row is
        agglomerated).
    max_rows : int, default=HIERARCHICAL_MAX_ROWS
        The most rows agglomerated.
    alpha : float, default=HIERARCHICAL_ALPHA
        hcVVV's ``alpha`` (see :func:`agglomerate`).
    transform : {"svd", None}, default="svd"
        Agglomerate the subset in scaled SVD coordinates (:func:`scaled_svd`, mclust's
        ``use = "SVD"``, its default) or as it is (``None``, mclust's ``"VARS"``).

    Returns
    -------
    HierarchicalTree
    """
    n = X.shape[0]
    subset = subset_rows(n, max_rows, random_state)
    rows = np.asarray(X[subset], dtype=np.float64)
    if transform == "svd":
        rows = scaled_svd(rows)
    elif transform is not None:
        raise ValueError(f'transform must be "svd" or None, got {transform!r}')
    merges = _merge_sequence(rows, len(rows) - 1, alpha, HIERARCHICAL_BETA)
    return HierarchicalTree(n, subset, merges)


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

    ``hierarchical_tree(X, random_state, ...).labels(n_clusters)``; to cut at several
    numbers of clusters, build the tree once.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows.
    n_clusters : int
        How many clusters (at least 1, at most the subset's rows).
    random_state : numpy.random.RandomState
        Draws the subset; not used when ``n_samples <= max_rows``.
    max_rows : int, default=HIERARCHICAL_MAX_ROWS
        The most rows agglomerated.
    alpha : float, default=HIERARCHICAL_ALPHA
        hcVVV's ``alpha`` (see :func:`agglomerate`).
    transform : {"svd", None}, default="svd"
        As in :func:`hierarchical_tree`.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        The cluster, ``0 .. n_clusters - 1``, of each subset row, numbered in the order
        of their first rows; ``-1`` for the rows outside the subset.
    """
    tree = hierarchical_tree(X, random_state, max_rows=max_rows, alpha=alpha, transform=transform)
    return tree.labels(n_clusters)


def scaled_svd(X):
    """Rows in scaled SVD coordinates, mclust's ``hc(use = "SVD")``.

    As R's ``scale``, the columns are centred (column means accumulated in long double)
    and divided by their standard deviations (``sqrt(sum(x^2) / (n - 1))``, the sum in
    long double); the columns that are then not finite (constant columns) are dropped.
    The result ``S`` is projected on its right singular vectors, each coordinate
    divided by the square root of its singular value: ``S V diag(d)^-1/2``, the products
    summed in the order of reference BLAS's ``dgemm``. Null directions (singular values
    below ``d[0] * max(shape) * eps``) are dropped (R would stop); if nothing is left,
    one column of zeros is returned.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)

    Returns
    -------
    Z : ndarray of shape (n_rows, n_kept)
    """
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if n == 0:
        return np.zeros((0, 1))
    mean = (np.cumsum(X, axis=0, dtype=np.longdouble)[-1] / n).astype(np.float64)
    centred = X - mean
    squares = np.cumsum(centred * centred, axis=0, dtype=np.longdouble)[-1].astype(np.float64)
    scale = np.sqrt(squares / max(1, n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        standard = centred / scale
    standard = standard[:, np.isfinite(standard).all(axis=0)]
    if standard.shape[1] == 0:
        return np.zeros((n, 1))
    _, singular, vt = np.linalg.svd(standard, full_matrices=False)
    kept = singular > singular[0] * max(standard.shape) * _EPS
    if not kept.any():
        return np.zeros((n, 1))
    vt = vt[kept]
    projected = np.zeros((n, len(vt)))
    for column in range(standard.shape[1]):  # dgemm's order: one column of S at a time
        projected += standard[:, column, np.newaxis] * vt[:, column]
    return projected * (1.0 / np.sqrt(singular[kept]))


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


def agglomerate(X, n_clusters=1, *, alpha=HIERARCHICAL_ALPHA, beta=HIERARCHICAL_BETA):
    """Agglomerate every row of ``X``, from singletons to ``n_clusters`` clusters, as
    mclust's ``hcVVV(X, alpha = alpha, beta = beta)``.

    The criterion and its arithmetic are mclust's (see the module's docstring). Between
    equal costs mclust takes the last pair of its table of costs: the pairs ``(a, b)``,
    ``a < b``, of the places where it keeps the clusters, in the order of ``b`` then
    ``a``. Places are ``0 .. k - 1`` for ``k`` clusters: a merged cluster takes the place
    of the first of the two, and the cluster in the last place moves to the place of the
    second.

    The costs are held in an ``n_rows x n_rows`` table (32 MB at 2,000 rows, and 4 MB of
    flags) with the cheapest of each column of mclust's table. After a merge, the costs
    of the new cluster are computed together, vectorised over the other clusters; those
    whose lower bound (the criterion without its determinant) is far above the cheapest
    cost are left as bounds, and costed when they come near it. At 2,000 rows of 2
    features it takes under a second, less than R's ``hc``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        The rows, finite.
    n_clusters : int, default=1
        Clusters left when the agglomeration stops, ``1 <= n_clusters <= n_rows``.
    alpha : float, default=HIERARCHICAL_ALPHA
        hcVVV's ``alpha``: the criterion's ``alpha`` is this times
        ``traceW(X / sqrt(n_rows n_features))``.
    beta : float, default=HIERARCHICAL_BETA
        hcVVV's ``beta``, positive.

    Returns
    -------
    labels : ndarray of shape (n_rows,)
        Each row's cluster, ``0 .. n_clusters - 1`` in the order of the clusters'
        first rows (mclust's ``hclass``, 0-based).
    merges : list of (int, int)
        The merges in order, each ``(i, j)``, ``i < j``, two clusters named by their
        first rows (mclust's ``hc`` pairs, less one).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, np.newaxis]
    m = X.shape[0]
    if not 1 <= n_clusters <= m:
        raise ValueError(f"n_clusters must be between 1 and the {m} rows, got {n_clusters}")
    merges = _merge_sequence(X, m - n_clusters, alpha, beta)
    return _labels_from_merges(m, merges), [(int(i), int(j)) for i, j in merges]


def _merge_sequence(X, n_merges, alpha, beta):
    """The first ``n_merges`` merges of mclust's VVV agglomeration of the rows ``X``,
    as an ``(n_merges, 2)`` array of first rows."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, np.newaxis]
    if not np.isfinite(X).all():
        raise ValueError("the rows agglomerated must be finite")
    if not beta > 0:
        raise ValueError(f"beta must be positive, got {beta}")
    if n_merges <= 0:
        return np.zeros((0, 2), dtype=np.intp)
    return _Agglomeration(X, alpha, beta).run(n_merges)


def _labels_from_merges(m, merges):
    """Each of ``m`` rows' cluster after ``merges`` (first rows), numbered by first rows,
    as ``hclass`` (0-based)."""
    parent = np.arange(m)
    for i, j in merges:
        parent[j] = i
    while True:  # every row to its cluster's first row
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    _, labels = np.unique(parent, return_inverse=True)
    return labels.astype(np.intp)


# --- mclust's arithmetic for one merge: Python floats, the C library's log and exp --------


def _drotg(a, b):
    """BLAS ``drotg`` (reference LAPACK 3.10+): ``(r, c, s)`` with
    ``[c s; -s c] [a; b] = [r; 0]``."""
    anorm = abs(a)
    bnorm = abs(b)
    if bnorm == 0.0:
        return a, 1.0, 0.0
    if anorm == 0.0:
        return b, 0.0, 1.0
    scale = min(_SAFMAX, max(_SAFMIN, anorm, bnorm))
    sigma = math.copysign(1.0, a if anorm > bnorm else b)
    ta = a / scale
    tb = b / scale
    r = sigma * (scale * math.sqrt(ta * ta + tb * tb))
    return r, a / r, b / r


def _add_row(R, v, size, offset=0):
    """mclust's ``mclrup``: add the row ``v`` to the triangular factor
    ``R[offset:, offset:]`` (lists, changed in place; ``v`` is used up) of a cluster
    that has ``size`` rows once ``v`` is in (mclust's ``l``).

    While the ``size - 1`` rows fit in the block, the new row is rotated (Givens,
    ``drot``'s arithmetic) against the ``size - 2`` rows above its place and stored at
    row ``size - 2`` of the block; otherwise it is rotated into every row of the block.
    Only the upper triangle is meaningful."""
    m = len(R) - offset
    row = size - 2
    for i in range(row if row < m else m):
        k = offset + i
        r, c, s = _drotg(R[k][k], v[i])
        Rk = R[k]
        Rk[k] = r
        for column in range(i + 1, m):
            x = Rk[offset + column]
            y = v[column]
            Rk[offset + column] = c * x + s * y
            v[column] = c * y - s * x
    if row < m:
        R[offset + row][offset + row :] = v[row:]


def _dot(v):
    """``sum(v_k**2)`` added in order, as BLAS ``ddot``."""
    total = v[0] * v[0]
    for value in v[1:]:
        total = total + value * value
    return total


def _vvvtij(n, trace, diagonal, alpha, beta):
    """mclust's ``vvvtij``: the criterion term of a cluster of ``n`` rows, trace
    ``trace`` and factor diagonal ``diagonal`` (``det(W) = prod(diagonal**2)``)."""
    p = len(diagonal)
    size = float(n)
    ratio = beta * (trace + alpha) / size
    if n <= p:
        return size * math.log(ratio)
    if trace == 0.0:
        return size * math.log((alpha * beta) / size)
    scale = math.sqrt(1.0 / size)
    detlog = 0.0
    for value in diagonal:  # mclust's det2mc
        q = abs(value * scale)
        if q <= 0.0:
            return size * math.log(ratio)
        detlog = detlog + math.log(q)
    detlog = 2.0 * detlog
    if detlog <= 0.0:
        return size * math.log(math.exp(detlog) + ratio)
    return size * (math.log(1.0 + math.exp(-detlog) * ratio) + detlog)


# --- the same arithmetic vectorised over merges: NumPy's log and exp, or the C library's ----


def _exact_log(values):
    """``log`` of the C library (as R's Fortran), elementwise."""
    values = np.asarray(values, dtype=np.float64)
    flat = values.ravel().tolist()
    return np.fromiter(map(math.log, flat), np.float64, len(flat)).reshape(values.shape)


def _exact_exp(values):
    """``exp`` of the C library, elementwise."""
    values = np.asarray(values, dtype=np.float64)
    flat = values.ravel().tolist()
    return np.fromiter(map(math.exp, flat), np.float64, len(flat)).reshape(values.shape)


def _sequential_dot(v):
    """``sum_k v[..., k]**2`` added in order, as BLAS ``ddot``."""
    total = v[..., 0] * v[..., 0]
    for k in range(1, v.shape[-1]):
        total = total + v[..., k] * v[..., k]
    return total


def _givens(a, b):
    """:func:`_drotg` on arrays."""
    anorm = np.abs(a)
    bnorm = np.abs(b)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        scale = np.maximum(anorm, bnorm)
        np.maximum(scale, _SAFMIN, out=scale)
        np.minimum(scale, _SAFMAX, out=scale)
        ta = a / scale
        tb = b / scale
        # sigma * (scale * sqrt(...)), sigma the sign of the larger of a and b
        r = np.copysign(scale * np.sqrt(ta * ta + tb * tb), np.where(anorm > bnorm, a, b))
        c = a / r
        s = b / r
        if not (anorm * bnorm).all():  # a zero (or an underflow: then nothing changes)
            b_zero = bnorm == 0
            a_zero = (anorm == 0) & ~b_zero
            r = np.where(b_zero, a, np.where(a_zero, b, r))
            c = np.where(b_zero, 1.0, np.where(a_zero, 0.0, c))
            s = np.where(b_zero, 0.0, np.where(a_zero, 1.0, s))
    return r, c, s


def _rotate_in(R, v, size, offset):
    """:func:`_add_row` on a stack of factors ``R`` (``(K, p, p)``, in place) and rows
    ``v`` (``(K, p - offset)``, used up), all with the same ``size``."""
    m = R.shape[1] - offset
    row = size - 2
    for i in range(row if row < m else m):
        k = offset + i
        r, c, s = _givens(R[:, k, k], v[:, i])
        R[:, k, k] = r
        c = c[:, np.newaxis]
        s = s[:, np.newaxis]
        x = R[:, k, k + 1 :]
        y = v[:, i + 1 :]
        rotated = c * x + s * y
        y[...] = c * y - s * x
        x[...] = rotated
    if row < m:
        R[:, offset + row, offset + row :] = v[:, row:]


def _diagonal_after(R, v, full):
    """The diagonal of the factors ``R`` after :func:`_add_row` of ``v`` when the new
    row goes to the last place (``~full``) or beyond (``full``); ``R`` (``(K, p, p)``
    or one ``(p, p)`` for all) is left alone, ``v`` (``(K, p)``) is used up."""
    K, p = v.shape
    diagonal = np.empty((K, p))
    for i in range(p):
        r, c, s = _givens(R[..., i, i], v[:, i])
        if i == p - 1:
            diagonal[:, i] = np.where(full, r, v[:, i])
        else:
            diagonal[:, i] = r
            v[:, i + 1 :] = c[:, np.newaxis] * v[:, i + 1 :] - s[:, np.newaxis] * R[..., i, i + 1 :]
    return diagonal


def _chunks(places):
    """``places`` (increasing) in runs whose blocks of the table hold at most 2**19
    entries."""
    step = max(1, 2**19 // max(1, int(places[-1])))
    return [places[start : start + step] for start in range(0, len(places), step)]


def _below(places, top):
    """``(len(places), top)``: whether column ``c`` of row ``k`` is above the diagonal
    of the table's row ``places[k]`` (``c < places[k]``)."""
    return np.arange(top)[np.newaxis, :] < places[:, np.newaxis]


class _Agglomeration:
    """The state of mclust's ``hcvvv``, by place ``0 .. live - 1``.

    Per place: the cluster's size, ``x`` (``sqrt(n)`` times its mean), the trace of its
    scatter matrix, its criterion term, the first row of its factor (what mclust keeps
    of it), its whole factor (used while it is the newest cluster, and to recompute its
    costs as mclust computed them), the step it was formed at (-1: a row) and its first
    row (its name).

    ``cost`` holds the cost of merging places ``b < a`` at ``[a, b]`` and ``[b, a]``;
    mclust's table lists column ``a`` (the pairs ``(b, a)``, ``b < a``) after column
    ``a - 1``, so ``best[a]`` and ``best_at[a]`` are the cheapest cost of column ``a``
    (``cost[a, :a]``) and the last place ``b`` at that cost. Three relaxations keep a
    step cheap, each undone before a pick depends on it:

    * a cost is computed with NumPy's ``log``/``exp``, within ``tolerance`` of mclust's;
      the entries of column ``a`` up to ``exact_to[a]`` are mclust's costs exactly;
    * where ``bounded``, the entry is only a lower bound of the cost (``vvvtij`` without
      its determinant): merges far dearer than the cheapest when costed;
    * where ``stale``, ``best`` is only a lower bound of its column (its cheapest entry
      got dearer).
    """

    def __init__(self, X, alpha, beta):
        m, p = X.shape
        self.p = p
        self.beta = float(beta)
        self.alpha = self._ridge(X, float(alpha))
        self.ablog = math.log(self.beta * self.alpha)
        self.size = np.ones(m, dtype=np.intp)
        self.x = X.copy()
        self.trace = np.zeros(m)
        self.term = np.full(m, self.ablog)
        self.first_row = np.zeros((m, p))
        self.factor = np.zeros((m, p, p))
        self.born = np.full(m, -1, dtype=np.intp)
        self.name = np.arange(m)
        self.live = m
        self.newest = -1
        self.tolerance = 0.0
        self.cost = np.empty((m, m))
        self.best = np.full(m, np.inf)
        self.best_at = np.full(m, -1, dtype=np.intp)
        self.stale = np.zeros(m, dtype=bool)
        self.bounded = np.zeros((m, m), dtype=bool)
        # every entry of column k at most exact_to[k] is mclust's cost exactly
        self.exact_to = np.full(m, -np.inf)
        self._initial_costs()

    @staticmethod
    def _ridge(X, alpha):
        """hcVVV's ``alpha * traceW(X / sqrt(n p))``, at least eps, summed as mclust's
        ``mcltrw`` sums."""
        n, p = X.shape
        scaled = X / math.sqrt(n * p)
        fac = 1.0 / math.sqrt(n)
        centred = scaled - fac * np.cumsum(fac * scaled, axis=0)[-1]
        total = 0.0
        for column in range(p):
            total = total + float(np.cumsum(centred[:, column] * centred[:, column])[-1])
        return max(alpha * total, _EPS)

    # -- one merge, exactly ----------------------------------------------------------------

    def _pair_term(self, trace, log=math.log):
        """The criterion term of two rows merged (mclust's closed form)."""
        return 2.0 * log(self.beta * (trace + self.alpha) / 2.0)

    def _factor_rows(self, place, whole):
        """The factor mclust starts from for ``place``, as lists: its whole factor
        (``whole``, the newest cluster) or its stored rows (its first row repeated from
        the diagonal on), in ``min(n - 1, p)`` rows, zeros below."""
        p = self.p
        rows = min(int(self.size[place]) - 1, p)
        source = self.factor[place] if whole else np.broadcast_to(self.first_row[place], (p, p))
        factor = [[0.0] * p for _ in range(p)]
        for t in range(rows):
            factor[t][t:] = source[t, t:].tolist()
        return factor

    def _union_with_newest(self, newest, other):
        """The merge of ``newest`` with ``other`` as mclust computes it while ``newest``
        is the cluster formed last (its whole factor, the other's stored rows):
        ``(cost, trace, term, factor)``."""
        size_new = int(self.size[newest])
        size = int(self.size[other])
        n = size_new + size
        q = 1.0 / n
        coef_new = math.sqrt(size_new * q)
        coef = math.sqrt(size * q)
        v = [
            coef_new * a - coef * b
            for a, b in zip(self.x[other].tolist(), self.x[newest].tolist(), strict=True)
        ]
        trace = (float(self.trace[newest]) + float(self.trace[other])) + _dot(v)
        factor = self._factor_rows(newest, whole=True)
        first = self.first_row[other].tolist()
        for t in range(min(size - 1, self.p)):
            _add_row(factor, first[t:], size_new + 1 + t, t)
        _add_row(factor, v, n)
        term = _vvvtij(n, trace, [factor[k][k] for k in range(self.p)], self.alpha, self.beta)
        cost = term - (float(self.term[newest]) + float(self.term[other]))
        return cost, trace, term, factor

    def _union_stored(self, i, j):
        """The union of places ``i < j``, neither the newest, as mclust recomputes it
        from their stored rows once picked: ``(trace, factor, coef_i, coef_j)``."""
        p = self.p
        size_i, size_j = int(self.size[i]), int(self.size[j])
        x_i, x_j = self.x[i].tolist(), self.x[j].tolist()
        if size_i == 1 and size_j == 1:
            v = [(a - b) * _RTHALF for a, b in zip(x_i, x_j, strict=True)]
            factor = [[0.0] * p for _ in range(p)]
            factor[0] = list(v)
            return _dot(v), factor, _RTHALF, _RTHALF
        n = size_i + size_j
        q = 1.0 / n
        coef_i = math.sqrt(size_i * q)
        coef_j = math.sqrt(size_j * q)
        factor = self._factor_rows(j if size_j > 1 else i, whole=False)
        if size_i > 1 and size_j > 1:
            first = self.first_row[i].tolist()
            for t in range(min(size_i - 1, p)):
                _add_row(factor, first[t:], size_j + 1, t)
        v = [coef_j * a - coef_i * b for a, b in zip(x_i, x_j, strict=True)]
        trace = (float(self.trace[i]) + float(self.trace[j])) + _dot(v)
        _add_row(factor, v, n)
        return trace, factor, coef_i, coef_j

    def _exact_costs(self, rows, columns):
        """The costs of the places ``rows[k] < columns[k]`` as mclust computed them
        (two rows: its first pass; else when the newer of the two was formed)."""
        rows = np.asarray(rows, dtype=np.intp)
        columns = np.asarray(columns, dtype=np.intp)
        out = np.empty(len(rows))
        pairs = (self.born[rows] < 0) & (self.born[columns] < 0)
        if pairs.any():
            v = (self.x[rows[pairs]] - self.x[columns[pairs]]) * _RTHALF
            terms = self._pair_term(_sequential_dot(v), _exact_log)
            out[pairs] = terms - (self.ablog + self.ablog)
        rest = np.flatnonzero(~pairs)
        newer = np.where(self.born[rows] > self.born[columns], rows, columns)[rest]
        other = np.where(self.born[rows] > self.born[columns], columns, rows)[rest]
        for place in np.unique(newer):
            at = np.flatnonzero(newer == place)
            if len(at) < 8:  # one at a time: cheaper than NumPy's overhead
                for k in at:
                    out[rest[k]] = self._union_with_newest(place, other[k])[0]
            else:
                n, v, trace = self._unions(place, other[at])
                out[rest[at]] = self._row_costs(place, other[at], n, v, trace, exact=True)[0]
        return out

    # -- every merge with the newest, vectorised ---------------------------------------------

    def _initial_costs(self):
        """Every pair of rows, as mclust's first pass; and each place's cheapest."""
        m = len(self.x)
        x = self.x
        block = max(1, 2**18 // m)  # rows of the table at a time: 2 MiB per temporary
        for start in range(0, m, block):
            stop = min(m, start + block)
            trace = np.zeros((stop - start, m))
            for k in range(self.p):  # ddot's order
                difference = (x[start:stop, k, np.newaxis] - x[np.newaxis, :, k]) * _RTHALF
                trace += difference * difference
            terms = self._pair_term(trace, np.log)
            costs = terms - (self.ablog + self.ablog)
            bound = 8.0 * _EPS * (2.0 * np.abs(terms) + np.abs(costs) + 4.0)
            self.tolerance = max(self.tolerance, float(bound.max()))
            self.cost[start:stop] = costs
            before = np.where(
                np.arange(stop)[np.newaxis, :] < np.arange(start, stop)[:, np.newaxis],
                costs[:, :stop],
                np.inf,
            )
            last = stop - 1 - np.argmin(before[:, ::-1], axis=1)
            self.best[start:stop] = before[np.arange(stop - start), last]
            self.best_at[start:stop] = last
        np.fill_diagonal(self.cost, np.inf)
        self.best[0] = np.inf
        self.best_at[0] = -1

    def _unions(self, newest, others):
        """For the merges of ``newest`` with each of ``others``: the sizes, the rows
        ``v`` that mclust rotates into the factor last (``sqrt(n_a n_b / n)`` times
        the difference of the means) and the traces."""
        size_new = self.size[newest]
        size = self.size[others]
        n = size_new + size
        q = 1.0 / n
        coef_new = np.sqrt(size_new * q)
        coef = np.sqrt(size * q)
        v = coef_new[:, np.newaxis] * self.x[others] - coef[:, np.newaxis] * self.x[newest]
        trace = (self.trace[newest] + self.trace[others]) + _sequential_dot(v)
        return n, v, trace

    def _lower_bounds(self, newest, others, n, trace):
        """Lower bounds of the costs of merging ``newest`` with each of ``others``:
        ``vvvtij`` is at least ``n log(beta (trace + alpha) / n)`` (less the rounding of
        either, allowed for)."""
        size = n.astype(np.float64)
        inner = np.log(self.beta * (trace + self.alpha) / size)
        terms = size * inner - 16.0 * _EPS * size * (np.abs(inner) + 1.0)
        return terms - (self.term[newest] + self.term[others])

    def _row_costs(self, newest, others, n, v, trace, exact=False):
        """The costs of merging ``newest`` with each of ``others``, as
        :meth:`_union_with_newest` (``n``, ``v``, ``trace`` from :meth:`_unions`, ``v``
        used up), and a bound on their distance to mclust's: with NumPy's
        ``log``/``exp``, or the C library's if ``exact`` (then the bound is 0)."""
        p = self.p
        size_new = self.size[newest]
        size = self.size[others]
        base = np.zeros((p, p))
        rows = min(size_new - 1, p)
        base[:rows] = np.triu(self.factor[newest][:rows])
        factors = np.broadcast_to(base, (len(others), p, p))
        grouped = np.flatnonzero(size > 1)
        if len(grouped):  # the other clusters' stored rows, one at a time
            factors = factors.copy()
            stored = np.minimum(size[grouped] - 1, p)
            order = np.argsort(-stored, kind="stable")
            grouped, stored = grouped[order], stored[order]
            fed = factors[grouped]
            first = self.first_row[others[grouped]]
            for t in range(int(stored[0])):
                upto = int(np.searchsorted(-stored, -t, side="left"))  # stored > t
                part = fed[:upto]
                _rotate_in(part, first[:upto, t:].copy(), int(size_new) + 1 + t, t)
            factors[grouped] = fed
        need = (n > p) & (trace != 0)
        if need.all():
            diagonal = _diagonal_after(factors, v, n > p + 1)
        else:
            diagonal = np.ones((len(others), p))
            if need.any():
                diagonal[need] = _diagonal_after(factors[need], v[need], n[need] > p + 1)
        log, exp = (_exact_log, _exact_exp) if exact else (np.log, np.exp)
        terms, bound = self._terms(n, trace, diagonal, log, exp)
        costs = terms - (self.term[newest] + self.term[others])
        if exact:
            return costs, np.zeros(len(costs))
        return costs, bound + 4.0 * _EPS * np.abs(costs)

    def _terms(self, n, trace, diagonal, log, exp):
        """:func:`_vvvtij` on arrays (``diagonal`` read where ``n > p`` and
        ``trace != 0``); and a bound on the terms' distance to the C library's when
        ``log``/``exp`` are NumPy's."""
        p = self.p
        size = n.astype(np.float64)
        ratio = self.beta * (trace + self.alpha) / size
        determinant = (n > p) & (trace != 0)
        if determinant.all():
            inner, spread = self._determinant_terms(size, ratio, diagonal, log, exp)
        else:
            inner = log(ratio)
            flat = (n > p) & (trace == 0)
            inner[flat] = log((self.alpha * self.beta) / size[flat])
            spread = np.zeros(len(n))
            if determinant.any():
                inner[determinant], spread[determinant] = self._determinant_terms(
                    size[determinant], ratio[determinant], diagonal[determinant], log, exp
                )
        terms = size * inner
        bound = 8.0 * _EPS * (size * (np.abs(inner) + (4 + 2 * p) * spread + 2.0) + np.abs(terms))
        return terms, bound

    def _determinant_terms(self, size, ratio, diagonal, log, exp):
        """``vvvtij``'s ``log(det(W / n) + ratio)`` from the factors' diagonals, and
        the sums of the absolute logs added (for the bound)."""
        q = np.abs(diagonal * np.sqrt(1.0 / size)[:, np.newaxis])
        singular = (q <= 0).any(axis=1)
        if singular.any():
            q = np.where(singular[:, np.newaxis], 1.0, q)
        logs = log(q)
        detlog = logs[:, 0]
        for k in range(1, self.p):  # det2mc's order
            detlog = detlog + logs[:, k]
        detlog = 2.0 * detlog
        low = detlog <= 0
        if low.all():
            inner = log(exp(detlog) + ratio)
        elif not low.any():
            inner = log(1.0 + exp(-detlog) * ratio) + detlog
        else:
            inner = np.empty(len(size))
            inner[low] = log(exp(detlog[low]) + ratio[low])
            high = ~low
            inner[high] = log(1.0 + exp(-detlog[high]) * ratio[high]) + detlog[high]
        spread = np.abs(logs).sum(axis=1)
        if singular.any():
            inner[singular] = log(ratio[singular])
            spread[singular] = 0.0
        return inner, spread

    # -- the cheapest pair --------------------------------------------------------------------

    def _cost_bounded(self, rows, columns):
        """Replace the lower bounds at places ``(rows[k], columns[k])`` by the costs, as
        computed when the newer of the two clusters was formed."""
        newer = np.where(self.born[rows] > self.born[columns], rows, columns)
        other = np.where(self.born[rows] > self.born[columns], columns, rows)
        for place in np.unique(newer):
            at = newer == place
            others = other[at]
            n, v, trace = self._unions(place, others)
            costs, bound = self._row_costs(place, others, n, v, trace)
            self.tolerance = max(self.tolerance, float(bound.max()))
            self.cost[place, others] = costs
            self.cost[others, place] = costs
            self.bounded[place, others] = False
            self.bounded[others, place] = False
            np.minimum.at(self.exact_to, np.maximum(others, place), np.nextafter(costs, -np.inf))

    def _refresh(self, places):
        """Recompute ``best`` and ``best_at`` of ``places`` (no longer stale)."""
        places = np.unique(np.asarray(places, dtype=np.intp))
        places = places[places > 0]
        if len(places) <= 4:
            for k in places.tolist():
                before = self.cost[k, :k]
                at = k - 1 - int(np.argmin(before[::-1]))
                self.best[k] = before[at]
                self.best_at[k] = at
        else:
            for part in _chunks(places):
                top = int(part[-1])
                block = np.where(_below(part, top), self.cost[part, :top], np.inf)
                last = top - 1 - np.argmin(block[:, ::-1], axis=1)
                self.best[part] = block[np.arange(len(part)), last]
                self.best_at[part] = last
        self.stale[places] = False

    def _entries(self, columns, edge, bounded=False):
        """The places ``(rows, cols)``, ``rows < cols``, of the entries at most ``edge``
        in ``columns`` (increasing; only the lower bounds if ``bounded``)."""
        found_rows, found_cols = [], []
        for part in _chunks(columns):
            top = int(part[-1])
            hit = (self.cost[part, :top] <= edge) & _below(part, top)
            if bounded:
                hit &= self.bounded[part, :top]
            which, rows = np.nonzero(hit)
            found_rows.append(rows)
            found_cols.append(part[which])
        return np.concatenate(found_rows), np.concatenate(found_cols)

    def _pick(self):
        """The pair ``(i, j)``, ``i < j``, mclust picks: the cheapest, the last of them
        in column order; and its exact cost (None if not computed: a clear winner).

        Every entry within ``2 tolerance`` of the cheapest must be a cost, not a lower
        bound; and unless one entry alone is there, it must be exact (mclust's
        arithmetic) to decide, as mclust decides, between near ties."""
        best = self.best[: self.live]
        while True:
            j = int(np.argmin(best))
            edge = best[j] + 2.0 * self.tolerance
            columns = np.flatnonzero(best <= edge)
            stale = columns[self.stale[columns]]
            if len(stale):  # a bound on the cheapest: rescan
                self._refresh(stale)
                continue
            open_ = columns[self.exact_to[columns] < edge]
            if len(open_) == 0:
                break
            bounded = False
            for part in _chunks(open_):  # cost the merges only bounded
                rows, cols = self._entries(part, edge, bounded=True)
                if len(rows):
                    self._cost_bounded(rows, cols)
                    bounded = True
            if bounded:
                self._refresh(open_)
                continue
            if len(columns) == 1:
                rows, cols = self._entries(open_, edge)
                if len(rows) == 1:
                    return int(rows[0]), int(cols[0]), None  # a clear winner
            for part in _chunks(open_):
                rows, cols = self._entries(part, edge)
                exact = self._exact_costs(rows, cols)
                self.cost[rows, cols] = exact
                self.cost[cols, rows] = exact
            self.exact_to[open_] = edge
            self._refresh(open_)
        lowest = best[columns].min()
        j = int(columns[np.flatnonzero(best[columns] == lowest)[-1]])
        return int(self.best_at[j]), j, float(lowest)

    # -- the steps ------------------------------------------------------------------------------

    def run(self, n_merges):
        """The first ``n_merges`` merges, as pairs of first rows; their costs (as
        mclust's ``hcvvv`` returns them) are left in ``merge_costs``."""
        merges = np.empty((n_merges, 2), dtype=np.intp)
        self.merge_costs = np.empty(n_merges)
        for step in range(n_merges):
            i, j, cost = self._pick()
            size_i, size_j = int(self.size[i]), int(self.size[j])
            if self.newest in (i, j):  # the whole factor of the newest is at hand
                newest, other = (i, j) if self.newest == i else (j, i)
                cost, trace, term, factor = self._union_with_newest(newest, other)
                q = 1.0 / (size_i + size_j)
                coef_i, coef_j = math.sqrt(size_i * q), math.sqrt(size_j * q)
            else:
                trace, factor, coef_i, coef_j = self._union_stored(i, j)
                if step == 0:  # the first pick keeps its term, later ones recompute it
                    term = self._pair_term(trace)
                    cost = term - (self.ablog + self.ablog)
                else:
                    if cost is None:
                        cost = float(self._exact_costs(np.array([i]), np.array([j]))[0])
                    term = cost + (float(self.term[i]) + float(self.term[j]))
            merges[step] = sorted((self.name[i], self.name[j]))
            self.merge_costs[step] = cost
            self._merge(i, j, trace, np.array(factor), term, coef_i, coef_j, step)
            if self.live > 1 and step + 1 < n_merges:
                self._update_costs(i, j)
        return merges

    def _merge(self, i, j, trace, factor, term, coef_i, coef_j, step):
        """Put the union of places ``i < j`` in ``i``, and the last place in ``j``."""
        p = self.p
        size = self.size[i] + self.size[j]
        self.x[i] = coef_i * self.x[i] + coef_j * self.x[j]
        self.name[i] = min(self.name[i], self.name[j])
        self.size[i] = size
        self.trace[i] = trace
        self.term[i] = term
        rows = min(size - 1, p)
        kept = np.zeros((p, p))
        kept[:rows] = np.triu(factor[:rows])
        self.factor[i] = kept
        self.first_row[i] = kept[0]
        self.born[i] = step
        self.newest = i
        last = self.live - 1
        if j != last:
            for values in (
                self.size,
                self.x,
                self.trace,
                self.term,
                self.first_row,
                self.factor,
                self.born,
                self.name,
            ):
                values[j] = values[last]
            for table in (self.cost, self.bounded):
                table[j, :last] = table[last, :last]
                table[:last, j] = table[:last, last]
            self.cost[j, j] = np.inf
        self.best[last] = np.inf
        self.best_at[last] = -1
        self.stale[last] = False
        self.live = last

    def _update_costs(self, i, j):
        """Cost the merges of the merged place ``i`` (bounds for those far from the
        cheapest), and update ``best``, ``best_at``, ``stale`` and ``exact_to``."""
        live = self.live
        everyone = slice(0, live)
        n, v, trace = self._unions(i, everyone)
        costs = self._lower_bounds(i, everyone, n, trace)
        costs[i] = np.inf
        # the merges that may be picked soon are costed now, the others when they may be
        threshold = self.best[:live].min() + _COSTED_MARGIN + 2.0 * self.tolerance
        near = np.flatnonzero(costs <= threshold)
        bounded = np.ones(live, dtype=bool)
        bounded[i] = False
        if len(near):
            costs[near], bound = self._row_costs(i, near, n[near], v[near], trace[near])
            self.tolerance = max(self.tolerance, float(bound.max()))
            bounded[near] = False
        for table, values in ((self.cost, costs), (self.bounded, bounded)):
            table[i, :live] = values
            table[:live, i] = values
        moved = j < live  # the last cluster now sits at j
        refresh = [i, j] if moved else [i]
        if i + 1 < live:
            # each later column's changed entries: row i, and row j past j
            later = slice(i + 1, live)
            new = self.cost[i, later].copy()
            new_at = np.full(live - i - 1, i)
            past = np.arange(i + 1, live) > j
            if moved:
                from_j = self.cost[j, j + 1 : live]
                take_j = from_j <= new[past]
                new[past] = np.where(take_j, from_j, new[past])
                new_at[past] = np.where(take_j, j, i)
            best, best_at, stale = self.best[later], self.best_at[later], self.stale[later]
            changed = (best_at == i) | (moved & (best_at == j) & past)
            # the cheapest is known where it did not change or the change keeps it, and
            # where a new cost is below a stale bound; where the cheapest entry got
            # dearer, the old cost stays as a lower bound (rescanned when it matters)
            take = np.where(
                stale,
                new < best,
                np.where(
                    changed,
                    (new < best) | ((new == best) & (new_at == best_at)),
                    (new < best) | ((new == best) & (new_at > best_at)),
                ),
            )
            self.best[later] = np.where(take, new, best)
            self.best_at[later] = np.where(take, new_at, best_at)
            self.stale[later] = (stale | changed) & ~take
            self.exact_to[later] = np.minimum(self.exact_to[later], np.nextafter(new, -np.inf))
        self.exact_to[refresh] = -np.inf
        self._refresh(refresh)
