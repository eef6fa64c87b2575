"""How well clusters match known labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Agreement:  # numpydoc ignore=PR01
    """Agreement between predicted clusters and true labels.

    Attributes
    ----------
    adjusted_rand : float
        Adjusted Rand index (1 = identical partitions, about 0 = chance).
    normalized_mutual_info : float
        Normalised mutual information (arithmetic mean normalisation).
    accuracy : float
        Fraction of rows whose cluster's matched label is their label, after the
        one-to-one matching of clusters to labels that maximises it (Hungarian method).
    matching : dict
        Cluster -> matched label (clusters left without a label are absent).
    """

    adjusted_rand: float
    normalized_mutual_info: float
    accuracy: float
    matching: dict

    def as_dict(self) -> dict:
        return {
            "adjusted_rand_index": self.adjusted_rand,
            "normalized_mutual_info": self.normalized_mutual_info,
            "matched_accuracy": self.accuracy,
            "cluster_to_label": {str(k): v for k, v in self.matching.items()},
        }


def agreement(labels_true, clusters) -> Agreement:
    """Compare clusters with labels: ARI, NMI, and accuracy after optimal matching.

    All three come from the contingency table (clusters x labels), counted in chunks
    for small non-negative integer labels, so the memory used does not grow with the
    rows (scikit-learn's metrics hold several row-sized arrays: ~0.5 GB at 8.4 million
    rows). ARI and NMI are scikit-learn's formulas on that table.
    """
    from scipy.optimize import linear_sum_assignment

    counts, cluster_values, label_values = contingency(labels_true, clusters)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    matching = {
        _plain(cluster_values[r]): _plain(label_values[c]) for r, c in zip(rows, cols, strict=True)
    }
    return Agreement(
        adjusted_rand=adjusted_rand(counts),
        normalized_mutual_info=normalized_mutual_info(counts),
        accuracy=float(counts[rows, cols].sum() / counts.sum()),
        matching=matching,
    )


#: labels and clusters counted by value (chunked) when both are integers in [0, this)
COUNTABLE_BELOW = 1 << 12
CONTINGENCY_CHUNK = 1 << 20


def contingency(labels_true, clusters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of rows per (cluster, label), and the cluster and label values present."""
    labels_true, clusters = np.asarray(labels_true), np.asarray(clusters)
    if len(labels_true) != len(clusters):
        raise ValueError(f"{len(labels_true)} labels for {len(clusters)} clusters")
    if _countable(labels_true) and _countable(clusters):
        n_labels = int(labels_true.max()) + 1 if len(labels_true) else 1
        n_clusters = int(clusters.max()) + 1 if len(clusters) else 1
        counts = np.zeros(n_clusters * n_labels, dtype=np.int64)
        for start in range(0, len(clusters), CONTINGENCY_CHUNK):
            cell = clusters[start : start + CONTINGENCY_CHUNK].astype(np.int64) * n_labels
            cell += labels_true[start : start + CONTINGENCY_CHUNK].astype(np.int64)
            counts += np.bincount(cell, minlength=len(counts))
        counts = counts.reshape(n_clusters, n_labels)
        present_clusters = np.flatnonzero(counts.sum(axis=1))
        present_labels = np.flatnonzero(counts.sum(axis=0))
        counts = counts[np.ix_(present_clusters, present_labels)]
        values_of = (labels_true.dtype, clusters.dtype)
        return counts, present_clusters.astype(values_of[1]), present_labels.astype(values_of[0])
    label_values, label_index = np.unique(labels_true, return_inverse=True)
    cluster_values, cluster_index = np.unique(clusters, return_inverse=True)
    counts = np.zeros((len(cluster_values), len(label_values)), dtype=np.int64)
    np.add.at(counts, (cluster_index, label_index), 1)
    return counts, cluster_values, label_values


def _countable(values: np.ndarray) -> bool:
    return (
        values.dtype.kind in "iu"
        and len(values) > 0
        and int(values.min()) >= 0
        and int(values.max()) < COUNTABLE_BELOW
    )


def adjusted_rand(counts: np.ndarray) -> float:
    """Adjusted Rand index from a contingency table (scikit-learn's pair-counting form)."""
    n = int(counts.sum())
    sum_squares = int((counts.astype(object) ** 2).sum())
    in_clusters = [int(v) for v in counts.sum(axis=1)]
    in_labels = [int(v) for v in counts.sum(axis=0)]
    together_both = sum_squares - n
    # pairs together in the cluster but not the label, and the other way round
    together_cluster = sum(v * v for v in in_clusters) - sum_squares
    together_label = sum(v * v for v in in_labels) - sum_squares
    apart_both = n * n - together_cluster - together_label - sum_squares
    if together_cluster == 0 and together_label == 0:
        return 1.0
    numerator = 2 * (together_both * apart_both - together_label * together_cluster)
    denominator = (together_both + together_label) * (together_label + apart_both) + (
        together_both + together_cluster
    ) * (together_cluster + apart_both)
    return float(numerator / denominator)


def normalized_mutual_info(counts: np.ndarray) -> float:
    """NMI (arithmetic-mean normalisation) from a contingency table, as scikit-learn's."""
    from sklearn.metrics import mutual_info_score

    if counts.shape[0] == counts.shape[1] == 1:
        return 1.0  # one cluster and one label: the same partition
    mutual_info = mutual_info_score(None, None, contingency=counts)
    if mutual_info == 0:
        return 0.0
    normaliser = (_entropy(counts.sum(axis=1)) + _entropy(counts.sum(axis=0))) / 2
    return float(mutual_info / max(normaliser, np.finfo(np.float64).eps))


def _entropy(counts: np.ndarray) -> float:
    counts = counts[counts > 0].astype(np.float64)
    total = counts.sum()
    return float(-np.sum((counts / total) * (np.log(counts) - np.log(total))))


def _plain(value):
    return value.item() if hasattr(value, "item") else value
