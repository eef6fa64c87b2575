"""New rows placed by their neighbours, against umap-learn's own functions and transform."""

from __future__ import annotations

import numpy as np
import pytest

from pcagmm.reducers import placement

umap = pytest.importorskip("umap", reason="could not import 'umap' (pip install 'pcagmm[umap]')")
umap_ = pytest.importorskip("umap.umap_")


def sorted_distances(rows: int, k: int, seed: int) -> np.ndarray:
    """Distinct, positive neighbour distances, nearest first (no duplicates)."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(0.5, 3.0, size=(rows, k)) * rng.uniform(0.2, 5.0, (rows, 1)), 1)


@pytest.mark.parametrize("k", [5, 15, 30])
def test_bandwidths_are_umap_learns_smooth_knn_dist_as_transform_calls_it(k):
    distances = sorted_distances(400, k, seed=k)
    sigmas, rhos = umap_.smooth_knn_dist(distances.astype(np.float32), float(k), 64, 0.0)
    assert np.all(rhos == 0)  # local_connectivity 0: nothing subtracted
    ours = placement.bandwidths(distances.astype(np.float32), k)  # the distances umap saw
    np.testing.assert_allclose(ours, sigmas, rtol=1e-6)


def test_weights_and_placement_are_umap_learns_start_of_transform():
    """The same neighbours through umap-learn's own steps (smooth_knn_dist,
    compute_membership_strengths, l1-normalise, init_transform) give the same points."""
    from sklearn.preprocessing import normalize

    rng = np.random.default_rng(0)
    reference = rng.normal(size=(500, 6))
    queries = rng.normal(size=(80, 6))
    embedding = rng.normal(size=(500, 2)).astype(np.float32)
    k = 12
    indices, distances = placement.nearest_exact(reference, queries, k)
    sigmas, rhos = umap_.smooth_knn_dist(distances.astype(np.float32), float(k), 64, 0.0)
    rows, cols, vals, _ = umap_.compute_membership_strengths(
        indices.astype(np.int32), distances.astype(np.float32), sigmas, rhos, bipartite=True
    )
    from scipy.sparse import coo_matrix

    graph = normalize(coo_matrix((vals, (rows, cols)), shape=(80, 500)).tocsr(), norm="l1")
    theirs = umap_.init_transform(
        graph.indices.reshape(80, k), graph.data.reshape(80, k), embedding
    )
    weights = placement.membership_weights(distances, k)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    ours = placement.place(indices, weights, embedding)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_exact_neighbours_are_scikit_learns_brute_force():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(1)
    reference, queries = rng.normal(size=(700, 9)), rng.normal(size=(130, 9))
    placement_blocks = placement.EXACT_BLOCK_BYTES
    try:
        placement.EXACT_BLOCK_BYTES = 8 * 700 * 17  # 17 query rows a block: not a divisor
        indices, distances = placement.nearest_exact(reference, queries, 10)
    finally:
        placement.EXACT_BLOCK_BYTES = placement_blocks
    theirs_d, theirs_i = (
        NearestNeighbors(n_neighbors=10, algorithm="brute").fit(reference).kneighbors(queries)
    )
    np.testing.assert_array_equal(indices, theirs_i)
    np.testing.assert_allclose(distances, theirs_d, rtol=1e-10)
    assert np.all(np.diff(distances, axis=1) >= 0)


def test_a_row_with_a_duplicate_sits_on_it_and_weights_stay_finite():
    reference = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    embedding = np.array([[10.0, 10.0], [20.0, 10.0], [10.0, 20.0], [90.0, 90.0]])
    indices, distances = placement.nearest_exact(reference, reference[:1], 3)
    weights = placement.membership_weights(distances, 3)
    assert np.all(np.isfinite(weights)) and weights[0, 0] == weights.max()
    placed = placement.place(indices, weights, embedding)
    # within the triangle of its three neighbours, nearest its own position
    assert 10.0 <= placed[0, 0] < 15.0 and 10.0 <= placed[0, 1] < 15.0


def test_index_neighbours_agree_with_the_exact_ones():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(3000, 8)).astype(np.float32)
    queries = rng.normal(size=(300, 8))
    index = placement.build_index(reference, 15, random_state=0)
    approximate, _ = placement.nearest(reference, queries, 15, index)
    exact, _ = placement.nearest(reference, queries, 15)
    found = np.mean([len(set(a) & set(e)) / 15 for a, e in zip(approximate, exact, strict=True)])
    assert found >= 0.95, found


def test_placement_agrees_with_umap_learns_transform_on_separated_blobs():
    """transform starts where the placement is, then optimises: on well-separated
    blobs both put every new row in the embedded cluster of its blob."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=1500, centers=5, n_features=10, random_state=3)
    train, test = X[:1200].astype(np.float32), X[1200:].astype(np.float32)
    model = umap.UMAP(n_neighbors=15, min_dist=0.0, random_state=0).fit(train)
    k = 15
    indices, distances = placement.nearest_exact(train, test, k)
    ours = placement.place(indices, placement.membership_weights(distances, k), model.embedding_)
    theirs = model.transform(test)
    centres = np.array([model.embedding_[y[:1200] == c].mean(axis=0) for c in range(5)])

    def blob(points):
        return np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)

    assert np.mean(blob(ours) == y[1200:]) == 1.0
    assert np.mean(blob(theirs) == y[1200:]) == 1.0
    spread = np.linalg.norm(model.embedding_.std(axis=0))
    assert np.median(np.linalg.norm(ours - theirs, axis=1)) < 0.1 * spread
