"""The hierarchical (mclust) start: the agglomeration, its tree and its use by
GaussianMixture. Against R's mclust itself: tests/mixture/test_hierarchical_mclust.py."""

import math

import numpy as np
import pytest

from pcagmm.mixture import GaussianMixture, hierarchical
from pcagmm.mixture.hierarchical import (
    HIERARCHICAL_MAX_ROWS,
    HierarchicalTree,
    agglomerate,
    hierarchical_labels,
    hierarchical_tree,
    scaled_svd,
    subset_rows,
)


def mclust_reference(Z, stand_in=True):
    """mclust's VVV agglomeration written from its definitions, slowly: every pair's cost
    from scratch at every step, determinants by ``slogdet``, no ties expected.

    A cluster of ``n`` rows with scatter matrix ``W`` of trace ``t`` in ``d``
    coordinates has criterion ``n log(det(W / n) + (t + alpha) / n)`` (``n log((t +
    alpha) / n)`` when ``n <= d``; ``2 log((t + alpha) / 2)`` for two rows); a merge
    costs the union's criterion less the two clusters'. The ``W`` of a union is the
    sum of the two clusters' matrices and ``v v'``, ``v = sqrt(n_a n_b / n)`` times the
    difference of their means; but, as mclust keeps only the first row ``r`` of a
    cluster's triangular factor (``R'R = W``, so ``r = W[0] / sqrt(W[0, 0])``) and puts
    it in place of each row, each cluster but the newer of the two enters as
    ``sum_t s_t s_t'`` (``s_t``: ``r`` from coordinate ``t`` on, ``t < min(n - 1,
    d)``), and a union formed of two clusters neither of which is the newest gets the
    stand-ins of both. With ``stand_in=False``: the true scatter matrices.
    """
    n, d = Z.shape
    centred = Z - Z.mean(axis=0)
    alpha = max(float(np.sum(centred**2)) / (n * d), np.finfo(float).eps)

    def criterion(size, trace, scatter):
        if size <= d:
            return size * math.log((trace + alpha) / size)
        sign, logdet = np.linalg.slogdet(scatter / size)
        det = math.exp(logdet) if sign > 0 else 0.0
        return size * math.log(det + (trace + alpha) / size)

    def kept(cluster):
        scatter = cluster["scatter"]
        if not stand_in:
            return scatter
        first = scatter[0] / math.sqrt(scatter[0, 0]) if cluster["size"] > 1 else 0.0
        out = np.zeros((d, d))
        for t in range(min(cluster["size"] - 1, d)):
            s = np.zeros(d)
            s[t:] = first[t:]
            out += np.outer(s, s)
        return out

    clusters = [
        dict(name=k, size=1, mean=Z[k], trace=0.0, scatter=np.zeros((d, d)), born=-1)
        for k in range(n)
    ]
    for cluster in clusters:
        cluster["term"] = math.log(alpha)
    merges = []
    for step in range(n - 1):
        best = None
        for a in range(len(clusters)):
            for b in range(a + 1, len(clusters)):
                A, B = clusters[a], clusters[b]
                size = A["size"] + B["size"]
                v = math.sqrt(A["size"] * B["size"] / size) * (A["mean"] - B["mean"])
                trace = A["trace"] + B["trace"] + float(v @ v)
                if size == 2:
                    term = 2 * math.log((trace + alpha) / 2)
                    scatter = np.outer(v, v)
                else:
                    new, old = (A, B) if A["born"] > B["born"] else (B, A)
                    scatter = new["scatter"] + kept(old) + np.outer(v, v)
                    term = criterion(size, trace, scatter)
                cost = term - A["term"] - B["term"]
                if best is None or cost < best[0]:
                    best = (cost, a, b, v, trace, term, scatter)
        _, a, b, v, trace, term, scatter = best
        A, B = clusters[a], clusters[b]
        if max(A["born"], B["born"]) != step - 1:  # neither is the newest
            scatter = kept(A) + kept(B) + np.outer(v, v)
        size = A["size"] + B["size"]
        merged = dict(
            name=min(A["name"], B["name"]),
            size=size,
            mean=(A["size"] * A["mean"] + B["size"] * B["mean"]) / size,
            trace=trace,
            scatter=scatter,
            term=term,
            born=step,
        )
        merges.append((min(A["name"], B["name"]), max(A["name"], B["name"])))
        clusters = [c for k, c in enumerate(clusters) if k not in (a, b)] + [merged]
    return merges


def labels_after(n, merges):
    """hclass's classes after ``merges``, by hand: each pair's larger class into the
    smaller, then numbered in order of first appearance."""
    classes = list(range(n))
    for i, j in merges:
        classes = [i if c == j else c for c in classes]
    order = {c: k for k, c in enumerate(dict.fromkeys(classes))}
    return np.array([order[c] for c in classes])


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 3])
def test_agglomeration_matches_brute_force(d, seed):
    """The same merges in the same order as the slow reference on 40 rows from two
    overlapping Gaussians, and hclass's labels at every number of clusters."""
    rng = np.random.RandomState(seed)
    X = np.concatenate([rng.normal(size=(20, d)), rng.normal(size=(20, d)) * 0.5 + 2.0])
    expected = mclust_reference(X)
    labels, merges = agglomerate(X, 1)
    assert merges == expected
    for k in (1, 2, 3, 5, 20, 39, 40):
        labels, merges = agglomerate(X, k)
        assert merges == expected[: len(X) - k]
        np.testing.assert_array_equal(labels, labels_after(len(X), expected[: len(X) - k]))


def test_the_stand_in_factor_matters():
    """mclust's stand-in for a cluster's factor changes the merges here (seed 0, d = 2):
    the true scatter matrices would not give mclust's (R's) merges."""
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) * 0.5 + 2.0])
    assert agglomerate(X)[1] == mclust_reference(X)
    assert agglomerate(X)[1] != mclust_reference(X, stand_in=False)


def test_the_tree_cuts_at_every_number_of_clusters():
    """One tree gives hierarchical_labels' labels at every number of clusters; each cut
    splits one class of the next coarser one; classes are numbered by first rows."""
    X = np.random.RandomState(4).normal(size=(300, 2))
    tree = hierarchical_tree(X, np.random.RandomState(1), max_rows=120)
    assert isinstance(tree, HierarchicalTree)
    assert tree.n_rows == 120 and tree.merges.shape == (119, 2)
    np.testing.assert_array_equal(tree.subset, subset_rows(300, 120, np.random.RandomState(1)))
    previous = None
    for k in range(1, 10):
        labels = tree.labels(k)
        np.testing.assert_array_equal(
            labels, hierarchical_labels(X, k, np.random.RandomState(1), max_rows=120)
        )
        inside = labels[tree.subset]
        assert np.all(np.delete(labels, tree.subset) == -1)
        _, first = np.unique(inside, return_index=True)
        assert np.all(np.diff(first) > 0)  # numbered in order of first rows
        if previous is not None:
            pairs = set(zip(previous, inside, strict=True))
            assert len(pairs) == k  # every class of k lies within one of k - 1
        previous = inside
    np.testing.assert_array_equal(tree.labels(120)[tree.subset], np.arange(120))


def test_the_tree_refuses_impossible_cuts():
    tree = hierarchical_tree(np.random.RandomState(0).normal(size=(10, 2)), None)
    for k in (0, 11):
        with pytest.raises(ValueError, match="n_clusters"):
            tree.labels(k)


def test_one_row_is_one_cluster():
    tree = hierarchical_tree(np.array([[1.0, 2.0]]), None)
    assert tree.merges.shape == (0, 2)
    np.testing.assert_array_equal(tree.labels(1), [0])


@pytest.mark.parametrize("n, n_clusters", [(50, 1), (300, 4), (2600, 3)])
def test_hierarchical_labels_invariants(n, n_clusters):
    """On a subset of min(n, 2000) rows the labels are 0 .. n_clusters - 1, each used;
    -1 outside it; the same seed gives the same labels."""
    X = np.random.RandomState(n).normal(size=(n, 2))
    labels = hierarchical_labels(X, n_clusters, np.random.RandomState(7))
    inside = labels >= 0
    assert inside.sum() == min(n, HIERARCHICAL_MAX_ROWS)
    assert set(np.unique(labels[inside])) == set(range(n_clusters))
    np.testing.assert_array_equal(
        np.flatnonzero(inside), subset_rows(n, HIERARCHICAL_MAX_ROWS, np.random.RandomState(7))
    )


def test_hierarchical_labels_reproducible():
    """The same seed draws the same subset and so gives the same labels."""
    X = np.random.RandomState(5).normal(size=(400, 2))
    first = hierarchical_labels(X, 3, np.random.RandomState(11), max_rows=150)
    np.testing.assert_array_equal(
        first, hierarchical_labels(X, 3, np.random.RandomState(11), max_rows=150)
    )
    assert np.sum(first >= 0) == 150


def test_subset_is_agglomerated_alone():
    """The labels of the subset's rows are the agglomeration of those rows in scaled SVD
    coordinates (or as they are, ``transform=None``)."""
    X = np.random.RandomState(1).normal(size=(120, 3))
    subset = subset_rows(120, 40, np.random.RandomState(3))
    labels = hierarchical_labels(X, 4, np.random.RandomState(3), max_rows=40)
    np.testing.assert_array_equal(labels[subset], agglomerate(scaled_svd(X[subset]), 4)[0])
    assert np.all(np.delete(labels, subset) == -1)
    raw = hierarchical_labels(X, 4, np.random.RandomState(3), max_rows=40, transform=None)
    np.testing.assert_array_equal(raw[subset], agglomerate(X[subset], 4)[0])
    with pytest.raises(ValueError, match="transform"):
        hierarchical_labels(X, 4, np.random.RandomState(3), transform="pca")


def test_agglomerate_rejects_too_many_clusters_and_non_finite_rows():
    with pytest.raises(ValueError, match="n_clusters"):
        agglomerate(np.zeros((3, 2)), 4)
    with pytest.raises(ValueError, match="finite"):
        agglomerate(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]))


def test_identical_rows_still_agglomerate():
    """All rows the same: every merge costs the same, and mclust's order of ties (the
    last pair of its table) merges the last two rows first, then grows that cluster
    from the end."""
    labels, merges = agglomerate(np.ones((6, 2)), 2)
    assert len(merges) == 4 and set(labels) == {0, 1}
    assert agglomerate(np.ones((6, 2)))[1] == [(4, 5), (3, 4), (2, 3), (1, 2), (0, 1)]


def test_duplicated_rows_are_merged_first():
    """A merge of two identical rows costs ``-2 log 2``, less than any merge of distinct
    rows here, and absorbing a third copy ``3 log(1/3) - 2 log(1/2)``, less still: the
    copies are merged first. Between the three equal pair costs mclust takes the last of
    its table, (7, 12), then (10, 11); then row 2 joins (10, 11)."""
    rng = np.random.RandomState(2)
    base = rng.normal(size=(10, 2)) * 5.0
    X = np.concatenate([base, base[[2, 2, 7]]])
    assert agglomerate(X)[1][:3] == [(7, 12), (10, 11), (2, 10)]


def test_vectorised_costs_are_within_tolerance_and_above_their_bounds():
    """The vectorised costs (NumPy's log/exp) of a step are within the agglomeration's
    tolerance of the exact ones (the C library's, one at a time), and above the lower
    bounds used to defer them."""
    rng = np.random.RandomState(6)
    Z = scaled_svd(np.concatenate([rng.normal(size=(60, 3)) * s for s in (0.3, 1.0, 3.0)]))
    state = hierarchical._Agglomeration(Z, 1.0, 1.0)
    state.run(120)
    newest = state.newest
    others = np.array([k for k in range(state.live) if k != newest])
    n, v, trace = state._unions(newest, others)
    bounds = state._lower_bounds(newest, others, n, trace)
    costs, error = state._row_costs(newest, others, n, v.copy(), trace)
    exact = np.array([state._union_with_newest(newest, k)[0] for k in others])
    assert np.all(np.abs(costs - exact) <= error)
    assert np.all(error <= state.tolerance)
    assert np.all(bounds <= exact)
    np.testing.assert_array_equal(
        state._row_costs(newest, others, n, v.copy(), trace, exact=True)[0], exact
    )


def test_scaled_svd_drops_constant_columns():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=50) * 10.0, np.full(50, 3.0), rng.normal(size=50)])
    Z = scaled_svd(X)
    assert Z.shape == (50, 2)
    covariance = Z.T @ Z
    np.testing.assert_allclose(covariance, np.diag(np.diag(covariance)), atol=1e-10)
    assert scaled_svd(np.ones((4, 3))).shape == (4, 1)


def test_scaled_svd_keeps_duplicated_rows_identical():
    """Identical rows stay identical, bit for bit (their merges then cost exactly the
    same, as in R)."""
    rng = np.random.RandomState(3)
    X = rng.normal(size=(300, 4))[rng.randint(0, 300, size=900)]
    Z = scaled_svd(X)
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(Z, Z[first][inverse.ravel()])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_mixture_hierarchical_start(covariance_type):
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(size=(200, 2)), rng.normal(size=(150, 2)) + 4.0])
    model = GaussianMixture(
        3, covariance_type=covariance_type, init_params="hierarchical", random_state=0
    ).fit(X)
    assert np.isfinite(model.lower_bound_)
    assert np.isfinite(model.bic(X))


def parallel_needles(seed, rows=250, long=50.0, short=1.0, gap=6.0):
    """Three parallel 2-D Gaussians, standard deviation ``long`` along x and ``short``
    along y, their centres ``gap`` apart on the y axis."""
    rng = np.random.RandomState(seed)
    return np.concatenate(
        [rng.normal(size=(rows, 2)) * [long, short] + [0.0, k * gap] for k in range(3)]
    )


def bic_choice(X, init_params, seed):
    bics = [
        GaussianMixture(k, covariance_type="full", init_params=init_params, random_state=seed)
        .fit(X)
        .bic(X)
        for k in range(1, 7)
    ]
    return int(np.argmin(bics)) + 1


@pytest.mark.parametrize("seed, mclusts", [(0, 4), (1, 5), (2, 3)])
def test_hierarchical_start_on_thin_parallel_clusters(seed, mclusts):
    """Three needles of 250 rows (axes 50 : 1, centres 6 short-axis deviations apart):
    the BIC over K = 1..6 of full-covariance fits from the hierarchical start picks what
    R's ``Mclust(X, G = 1:6, modelNames = "VVV")`` picks (4, 5 and 3 for seeds 0, 1, 2:
    mclust's start cuts the needles at 3 clusters for seeds 0 and 1); the k-means
    start, whose centres cut the needles across, picks K = 1."""
    X = parallel_needles(seed)
    assert bic_choice(X, "hierarchical", seed) == mclusts
    assert bic_choice(X, "kmeans", seed) == 1


def test_hierarchical_start_with_sample_weight():
    """The agglomeration ignores the weights; the start's M-step and EM use them."""
    rng = np.random.RandomState(2)
    X = np.concatenate([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 5.0])
    weight = rng.uniform(0.5, 2.0, size=len(X))
    model = GaussianMixture(2, init_params="hierarchical", random_state=0)
    model.fit(X, sample_weight=weight)
    assert np.isfinite(model.lower_bound_)
    np.testing.assert_allclose(np.sort(model.means_[:, 0]), [0.0, 5.0], atol=0.5)
