"""How well clusters match known labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Agreement:
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
    """Compare clusters with labels: ARI, NMI, and accuracy after optimal matching."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels_true = np.asarray(labels_true)
    clusters = np.asarray(clusters)
    label_values, label_index = np.unique(labels_true, return_inverse=True)
    cluster_values, cluster_index = np.unique(clusters, return_inverse=True)
    counts = np.zeros((len(cluster_values), len(label_values)), dtype=np.int64)
    np.add.at(counts, (cluster_index, label_index), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    matching = {
        _plain(cluster_values[r]): _plain(label_values[c]) for r, c in zip(rows, cols, strict=True)
    }
    return Agreement(
        adjusted_rand=float(adjusted_rand_score(labels_true, clusters)),
        normalized_mutual_info=float(normalized_mutual_info_score(labels_true, clusters)),
        accuracy=float(counts[rows, cols].sum() / len(labels_true)),
        matching=matching,
    )


def _plain(value):
    return value.item() if hasattr(value, "item") else value
