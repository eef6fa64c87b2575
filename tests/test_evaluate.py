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
