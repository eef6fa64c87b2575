"""Agreement metrics against scikit-learn's and a brute-force matching."""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from pcagmm.evaluate import agreement


def brute_force_accuracy(labels, clusters):
    best = 0
    values = np.unique(labels)
    for permutation in itertools.permutations(values):
        mapping = dict(zip(np.unique(clusters), permutation, strict=False))
        best = max(
            best, np.mean([mapping.get(c) == t for c, t in zip(clusters, labels, strict=True)])
        )
    return best


def test_against_references():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=300)
    clusters = np.where(rng.random(300) < 0.7, (labels + 1) % 4, rng.integers(0, 4, size=300))
    result = agreement(labels, clusters)
    assert result.adjusted_rand == adjusted_rand_score(labels, clusters)
    assert result.normalized_mutual_info == normalized_mutual_info_score(labels, clusters)
    assert result.accuracy == brute_force_accuracy(labels, clusters)
    assert result.matching == {1: 0, 2: 1, 3: 2, 0: 3}


def test_perfect_and_more_clusters_than_labels():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert agreement(labels, labels + 5).accuracy == 1.0
    split = agreement(labels, np.array([0, 1, 2, 2, 3, 3]))  # cluster 0 or 1 stays unmatched
    assert split.accuracy == 5 / 6
    assert len(split.matching) == 3


def test_counted_in_chunks_equals_scikit_learn(monkeypatch):
    from pcagmm import evaluate

    monkeypatch.setattr(evaluate, "CONTINGENCY_CHUNK", 1000)  # many chunks, one partial
    rng = np.random.default_rng(1)
    for labels, clusters in [
        (rng.integers(0, 10, 12_345).astype(np.uint8), rng.integers(0, 7, 12_345)),
        (rng.integers(3, 9, 5_000), rng.integers(0, 3, 5_000) * 5),  # values with gaps
        (np.zeros(100, dtype=int), np.zeros(100, dtype=int)),  # one label, one cluster
        (np.arange(100) % 2, np.zeros(100, dtype=int)),  # one cluster
        (np.array(["a", "b", "c"] * 40), rng.integers(0, 3, 120)),  # not countable
        (rng.integers(0, 2, 50) * 10_000, rng.integers(0, 2, 50)),  # too large to count
        (rng.integers(0, 5, 300).astype(np.uint64), rng.integers(0, 3, 300)),  # unsigned 64
    ]:
        result = agreement(labels, clusters)
        ari = adjusted_rand_score(labels, clusters)
        nmi = normalized_mutual_info_score(labels, clusters)
        assert np.isclose(result.adjusted_rand, ari, rtol=1e-12, atol=1e-15)
        assert np.isclose(result.normalized_mutual_info, nmi, rtol=1e-12, atol=1e-15)
        present = set(np.unique(labels).tolist())
        assert set(result.matching.values()) <= present


def test_counting_needs_no_row_sized_arrays():
    import tracemalloc

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, 5_000_000).astype(np.uint8)
    clusters = rng.integers(0, 10, 5_000_000)
    tracemalloc.start()
    agreement(labels, clusters)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40e6  # one chunk's int64 cells (8 MB) and its bincount; the clusters are 40 MB
