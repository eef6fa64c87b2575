"""What a run writes besides the figures: clusters.csv and summary.json."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

from .labels import name_of_label, named_labels


def cluster_rows(gmm) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations (square roots of the covariance diagonal) per cluster."""
    from ..mixture.covariance import covariance_type

    K, d = gmm.means_.shape
    variances = covariance_type(gmm.covariance_type).variances(gmm.covariances_, K, d)
    return gmm.means_, np.sqrt(variances)


def versions() -> dict:
    """The versions of pcagmm, its numerical libraries and Python (recorded in the JSON
    files an analysis writes)."""
    import platform

    import matplotlib
    import scipy
    import sklearn

    from .. import __version__

    return {
        "pcagmm": __version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "python": platform.python_version(),
    }


def umap_record(reducer) -> dict:
    """What summary.json records of a fitted UMAP (its "pca" is the PCA it ran on)."""
    return {
        "components": reducer.n_components_,
        "neighbors": reducer.n_neighbors,
        "min_dist": reducer.min_dist,
        "pca_components": None if reducer.pca_ is None else reducer.pca_.n_components_,
        "fitted_rows": len(reducer.embedding_),
        "sampled": reducer.fitted_rows_ is not None,
    }


def summary(result) -> dict:
    """Everything about a run that fits in JSON (what summary.json holds)."""
    ds, pca, gmm = result.dataset, result.pca, result.gmm
    reducer = result.reducer
    means, stds = cluster_rows(gmm)
    return {
        "config": result.config,
        "versions": versions(),
        "data": {
            "name": ds.name,
            "shape": list(ds.shape),
            "dtype": str(ds.X.dtype),
            "source": ds.source,
            "sha256": ds.sha256,
            "verified": ds.verified,
        },
        "pca": None  # a UMAP on the rows themselves
        if pca is None
        else {
            "explained_variance": pca.explained_variance_.tolist(),
            "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
            "components": pca.components_.tolist(),
            "mean": pca.mean_.tolist(),
        },
        **({} if reducer is pca else {"umap": umap_record(reducer)}),
        "mixture": {
            "converged": bool(gmm.converged_),
            "n_iter": int(gmm.n_iter_),
            "lower_bound": float(gmm.lower_bound_),
            "weights": gmm.weights_.tolist(),
            "means": means.tolist(),
            "standard_deviations": stds.tolist(),
            "covariances": np.asarray(gmm.covariances_).tolist(),
            **stop_record(gmm),
            **variational_record(gmm, result.kept, result.kept_weight),
        },
        "early_stop": early_stop_record(result.convergence),
        "uncertainty": None
        if getattr(result, "bootstrap", None) is None
        else result.bootstrap.record(),
        "metrics": metrics_record(result.agreement, ds.target_names),
        "timings_seconds": result.timings,
        "computed_on": result.computed_on,
        # what the run folder holds (summary.json included): a run made from Python
        # adds its figures and report.html when asked, and rewrites this list
        "files": list(getattr(result, "files", [])),
    }


def metrics_record(agreement, target_names) -> dict | None:
    """The agreement with the labels (None without labels); where the data set names
    its labels (:func:`~pcagmm.report.labels.named_labels`), ``cluster_to_label_name``
    beside ``cluster_to_label`` gives each matched label's name."""
    if agreement is None:
        return None
    record = agreement.as_dict()
    names = named_labels(target_names)
    if names is not None:
        record["cluster_to_label_name"] = {
            str(k): name_of_label(v, names) for k, v in agreement.matching.items()
        }
    return record


def variational_record(gmm, kept, kept_weight: float) -> dict:
    """The variational mixture's parameters, priors and kept components (nothing for
    EM's mixture): ``{"model": "bayesian", "variational": {...}}``."""
    if kept is None:
        return {}

    def plain(value):
        if isinstance(value, tuple):
            return [np.asarray(part).tolist() for part in value]
        return np.asarray(value).tolist()

    return {
        "model": "bayesian",
        "variational": {
            "weight_concentration_prior_type": gmm.weight_concentration_prior_type,
            "weight_concentration": plain(gmm.weight_concentration_),
            "mean_precision": plain(gmm.mean_precision_),
            "degrees_of_freedom": plain(gmm.degrees_of_freedom_),
            "priors": {
                "weight_concentration": float(gmm.weight_concentration_prior_),
                "mean_precision": float(gmm.mean_precision_prior_),
                "mean": plain(gmm.mean_prior_),
                "degrees_of_freedom": float(gmm.degrees_of_freedom_prior_),
                "covariance": plain(gmm.covariance_prior_),
            },
            "kept_weight": kept_weight,
            "kept": [int(k) for k in kept],
            "switched_off": [int(k) for k in gmm.switched_off(kept_weight)],
        },
    }


def stop_record(gmm) -> dict:
    """How EM stopped: its rule, and how fast the log-likelihood was still rising."""
    from ..mixture.convergence import still_rising

    change, gap = still_rising(list(gmm.lower_bounds_))
    return {
        "stopping": gmm.stopping,
        "tol": float(gmm.tol),
        "acceleration": gmm.acceleration,
        "extrapolations_taken_dropped": list(gmm.extrapolations_),
        "last_change": change,
        "aitken_gap": gap,
    }


def early_stop_record(convergence) -> dict | None:
    """With ``converge``: the run's own stop, and its partition against the converged one."""
    if convergence is None:
        return None
    early = convergence.early
    return {
        "converged": bool(early.converged_),
        "n_iter": int(early.n_iter_),
        "lower_bound": float(early.lower_bound_),
        **stop_record(early),
        "partition_against_converged": convergence.partition_agreement.as_dict(),
        "rows_in_another_component": convergence.changed,
        "rows_in_another_component_after_matching": convergence.changed_matched,
    }


def json_ready(value):
    """JSON-ready: arrays as lists, NumPy scalars as Python's, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rows_csv(rows: list[dict], columns) -> str:
    """A CSV of dicts, one line each, in the order of ``columns``: floats as ``repr``
    (every digit), None, NaN and infinities as empty cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(column)) for column in columns])
    return buffer.getvalue()


def _csv_value(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def clusters_csv(
    gmm,
    axis: str = "PC",
    matching: dict | None = None,
    target_names=None,
    bootstrap=None,
    kept=None,
) -> str:
    """One row per cluster: weight, means, standard deviations (columns ``mean_pc1``, or
    ``mean_umap1`` with ``axis="UMAP"``).

    Where the data set names its labels (:func:`~pcagmm.report.labels.named_labels` of
    ``target_names``) and the clusters were ``matching`` labels (cluster -> label), two
    last columns ``matched_label`` and ``matched_label_name`` give each cluster's label
    and its name (empty for a cluster matched to none); otherwise the columns are as
    they always were.

    With a ``bootstrap`` (:class:`~pcagmm.mixture.bootstrap.Bootstrap` of ``gmm``) each
    number's standard error and 95% percentile interval follow, in columns named after
    it: ``weight_se``, ``weight_lower``, ``weight_upper``, ``mean_pc1_se``, ...

    With ``kept`` (the variational mixture's kept components) a last column ``kept``
    is 1 for those and 0 for the components switched off.
    """
    means, stds = cluster_rows(gmm)
    d = means.shape[1]
    names = named_labels(target_names) if matching is not None else None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "cluster",
            "weight",
            *(f"mean_{axis.lower()}{j + 1}" for j in range(d)),
            *(f"std_{axis.lower()}{j + 1}" for j in range(d)),
            *(["matched_label", "matched_label_name"] if names is not None else []),
            *(_error_columns(axis, d) if bootstrap is not None else []),
            *(["kept"] if kept is not None else []),
        ]
    )
    kept_set = set() if kept is None else {int(k) for k in kept}
    errors = _error_values(bootstrap) if bootstrap is not None else None
    for k in range(means.shape[0]):
        label = matching.get(k) if names is not None else None
        writer.writerow(
            [
                k,
                repr(float(gmm.weights_[k])),
                *map(repr, means[k].tolist()),
                *map(repr, stds[k].tolist()),
                *(
                    [_csv_value(label), _csv_value(name_of_label(label, names))]
                    if names is not None
                    else []
                ),
                *(map(repr, errors[k].tolist()) if errors is not None else []),
                *([int(k in kept_set)] if kept is not None else []),
            ]
        )
    return buffer.getvalue()


def _error_columns(axis: str, d: int) -> list[str]:
    names = ["weight"]
    names += [f"mean_{axis.lower()}{j + 1}" for j in range(d)]
    names += [f"std_{axis.lower()}{j + 1}" for j in range(d)]
    return [f"{name}_{end}" for name in names for end in ("se", "lower", "upper")]


def _error_values(bootstrap) -> np.ndarray:
    """(K, 3 (1 + 2d)) floats in the order of :func:`_error_columns`."""
    errors, ends = bootstrap.standard_errors(), bootstrap.intervals()
    columns = []
    for name in ("weights", "means", "standard_deviations"):
        error, (lower, upper) = errors[name], ends[name]
        if error.ndim == 1:
            error, lower, upper = error[:, None], lower[:, None], upper[:, None]
        for j in range(error.shape[1]):
            columns += [error[:, j], lower[:, j], upper[:, j]]
    return np.column_stack(columns).astype(float)


def summary_json(result) -> str:
    return json.dumps(summary(result), indent=2) + "\n"
