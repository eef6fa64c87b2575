"""The stability measures against direct computations: scikit-learn's ARI, Jaccard by
Python sets, connected components by hand; and the bootstrap resamples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from pcagmm.mixture.stability import bootstrap_counts
from pcagmm.stability_measures import (
    best_match_jaccard,
    jaccard_table,
    optimum_groups,
    pairwise_ari,
)


def random_partitions(seed: int, n: int = 200, count: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, rng.integers(1, 7), size=n) for _ in range(count)]


def sets_of(partition, rows) -> dict[int, set[int]]:
    """Cluster -> the set of row numbers (among ``rows``) it holds."""
    found: dict[int, set[int]] = {}
    for row in rows:
        found.setdefault(int(partition[row]), set()).add(row)
    return found


def jaccard_by_sets(reference, other, rows) -> dict[int, float]:
    """Each reference cluster's best |A & B| / |A | B| over other's clusters, with sets."""
    mine, theirs = sets_of(reference, rows), sets_of(other, rows)
    return {
        k: max(len(a & b) / len(a | b) for b in theirs.values()) for k, a in sorted(mine.items())
    }


@pytest.mark.parametrize("seed", range(6))
def test_pairwise_ari_equals_scikit_learn(seed):
    partitions = random_partitions(seed)
    partitions.append(partitions[0].copy())  # an identical pair: ARI 1
    ari = pairwise_ari(partitions)
    for i, a in enumerate(partitions):
        for j, b in enumerate(partitions):
            assert ari[i, j] == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert ari[0, -1] == 1.0 and np.array_equal(ari, ari.T)


@pytest.mark.parametrize("seed", range(6))
def test_best_match_jaccard_equals_sets_on_every_row(seed):
    reference, other, *_ = random_partitions(seed, n=150)
    expected = jaccard_by_sets(reference, other, range(len(reference)))
    found = best_match_jaccard(reference, other)
    assert list(expected) == np.unique(reference).tolist()
    np.testing.assert_allclose(found, list(expected.values()), rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", range(6))
def test_best_match_jaccard_on_the_rows_of_a_bootstrap_resample(seed):
    """As clusterboot: only the rows the resample drew count (a mask or row numbers)."""
    reference, other, *_ = random_partitions(seed, n=120)
    [counts] = bootstrap_counts(len(reference), 1, seed)
    drawn = np.flatnonzero(counts)
    clusters = np.unique(reference).tolist()
    expected = jaccard_by_sets(reference, other, drawn)
    by_mask = best_match_jaccard(reference, other, clusters, rows=counts > 0)
    by_index = best_match_jaccard(reference, other, clusters, rows=drawn)
    wanted = [expected.get(k, np.nan) for k in clusters]
    np.testing.assert_allclose(by_mask, wanted, atol=1e-15)
    np.testing.assert_array_equal(by_mask, by_index)
    everything = best_match_jaccard(reference, other, clusters)
    assert not np.allclose(by_mask, everything)  # the undrawn rows do change it


def test_relabelled_partitions_match_with_jaccard_one():
    rng = np.random.default_rng(3)
    reference = rng.integers(0, 5, size=300)
    relabelled = np.array([4, 0, 3, 1, 2])[reference] + 10  # a permutation of the labels
    np.testing.assert_array_equal(best_match_jaccard(reference, relabelled), np.ones(5))
    assert pairwise_ari([reference, relabelled])[0, 1] == 1.0


def test_a_cluster_without_rows_is_nan_and_the_order_is_the_one_asked():
    reference = np.array([0, 0, 1, 1, 2, 2])
    other = np.array([0, 0, 0, 1, 1, 1])
    rows = np.array([True, True, True, True, False, False])  # cluster 2 not drawn
    found = best_match_jaccard(reference, other, [2, 1, 0], rows=rows)
    # cluster 1 = rows {2, 3}; other's 0 = {0, 1, 2}, 1 = {3}: best 1/4 vs 1/2
    assert np.isnan(found[0]) and found[1] == 0.5 and found[2] == pytest.approx(2 / 3)


def test_jaccard_table_from_counts():
    counts = np.array([[3, 1], [0, 2]])  # |A| = 4, 2; |B| = 3, 3
    expected = [[3 / 4, 1 / 6], [0 / 5, 2 / 3]]
    np.testing.assert_allclose(jaccard_table(counts), expected)


def test_optimum_groups_are_connected_components_numbered_by_first_fit():
    ari = np.eye(6)
    for i, j, value in [(0, 3, 0.995), (3, 5, 0.991), (1, 2, 1.0), (0, 5, 0.97), (4, 1, 0.98)]:
        ari[i, j] = ari[j, i] = value
    # 0-3-5 linked (0 and 5 through 3 only), 1-2 linked, 4 alone (0.98 < 0.99)
    np.testing.assert_array_equal(optimum_groups(ari), [0, 1, 1, 0, 2, 0])
    np.testing.assert_array_equal(optimum_groups(ari, threshold=0.975), [0, 1, 1, 0, 1, 0])


def test_bootstrap_counts_are_reproducible_multinomial_draws():
    n = 1000
    first = bootstrap_counts(n, 3, seed=5)
    again = bootstrap_counts(n, 5, seed=5)
    for counts in first:
        assert counts.dtype.kind == "i" and counts.min() >= 0 and counts.sum() == n
    for a, b in zip(first, again, strict=False):  # the same resamples, whatever follows
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], bootstrap_counts(n, 1, seed=6)[0])
    # each is n row numbers drawn with replacement from RandomState(seed), counted
    random = np.random.RandomState(5)
    for counts in first:
        drawn = random.randint(0, n, size=n)
        np.testing.assert_array_equal(counts, np.bincount(drawn, minlength=n))
    # about 1 - 1/e of the rows are drawn at least once
    assert 0.6 < np.mean([np.mean(c > 0) for c in again]) < 0.66
