"""What a run writes and prints: the terminal report, summary.json, clusters.csv."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

MAX_TABLE_COLUMNS = 8


def cluster_rows(gmm) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations (square roots of the covariance diagonal) per cluster."""
    kind = gmm.covariance_type
    K, d = gmm.means_.shape
    if kind == "full":
        variances = np.diagonal(gmm.covariances_, axis1=1, axis2=2)
    elif kind == "tied":
        variances = np.broadcast_to(np.diag(gmm.covariances_), (K, d))
    elif kind == "diag":
        variances = gmm.covariances_
    else:
        variances = np.repeat(gmm.covariances_[:, np.newaxis], d, axis=1)
    return gmm.means_, np.sqrt(variances)


def _matrix_block(title: str, values: np.ndarray, weights=None) -> list[str]:
    K, d = values.shape
    shown = min(d, MAX_TABLE_COLUMNS)
    headers = ["cluster"] + (["weight"] if weights is not None else [])
    headers += [f"PC{j + 1}" for j in range(shown)] + (["..."] if d > shown else [])
    rows = []
    for k in range(K):
        row = [str(k)] + ([f"{weights[k]:.4f}"] if weights is not None else [])
        row += [f"{v:.4f}" for v in values[k, :shown]]
        rows.append(row)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[: len(rows[0])])
    ]
    lines = [title]
    lines.append("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=False))
                 + ("  ..." if d > shown else ""))  # fmt: skip
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return lines


def report(result) -> str:
    """The terminal report of a run."""
    ds, pca, gmm = result.dataset, result.pca, result.gmm
    n, d = ds.shape
    verified = {True: "SHA-256 verified", False: "SHA-256 MISMATCH", None: "no recorded hash"}
    lines = [
        f"Data      {ds.name}: {n:,} x {d:,} {ds.X.dtype}, from {ds.source}, "
        f"{verified[ds.verified]} ({ds.sha256[:12]})",
    ]
    ratios = pca.explained_variance_ratio_
    shown = " + ".join(f"{r:.2%}" for r in ratios[:MAX_TABLE_COLUMNS])
    more = " + ..." if len(ratios) > MAX_TABLE_COLUMNS else ""
    lines.append(f"PCA       {pca.n_components_} components explain {shown}{more} = "
                 f"{ratios.sum():.2%} of the variance")  # fmt: skip
    state = "converged" if gmm.converged_ else "did NOT converge"
    lines.append(
        f"Mixture   {gmm.n_components} components, {gmm.covariance_type} covariance, seed "
        f"{result.config['seed']}: {state} after {gmm.n_iter_} iterations, mean "
        f"log-likelihood {gmm.lower_bound_:.6f}"
    )
    means, stds = cluster_rows(gmm)
    lines += ["", *_matrix_block("Means of the clusters", means, gmm.weights_)]
    lines += ["", *_matrix_block("Standard deviations of the clusters", stds)]
    if result.agreement is not None:
        a = result.agreement
        matching = ", ".join(f"{k}->{v}" for k, v in sorted(a.matching.items()))
        lines += [
            "",
            f"Agreement with the true labels: adjusted Rand index {a.adjusted_rand:.4f}, "
            f"normalised mutual information {a.normalized_mutual_info:.4f}, accuracy after "
            f"matching clusters to labels {a.accuracy:.4f}",
            f"Matching (cluster->label): {matching}",
        ]
    timing = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings.items())
    lines += ["", f"Time      {timing}"]
    if result.computed_on != "this process":
        lines.append(f"          on the {result.computed_on}")
    if result.out is not None:
        lines.append(f"Files     {result.out}/: {', '.join(result.files)}")
    return "\n".join(lines)


def summary(result) -> dict:
    """Everything about a run that fits in JSON (what summary.json holds)."""
    import platform

    import matplotlib
    import scipy
    import sklearn

    from . import __version__

    ds, pca, gmm = result.dataset, result.pca, result.gmm
    means, stds = cluster_rows(gmm)
    return {
        "config": result.config,
        "versions": {
            "pcagmm": __version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "matplotlib": matplotlib.__version__,
            "python": platform.python_version(),
        },
        "data": {
            "name": ds.name,
            "shape": list(ds.shape),
            "dtype": str(ds.X.dtype),
            "source": ds.source,
            "sha256": ds.sha256,
            "verified": ds.verified,
        },
        "pca": {
            "explained_variance": pca.explained_variance_.tolist(),
            "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
            "components": pca.components_.tolist(),
            "mean": pca.mean_.tolist(),
        },
        "mixture": {
            "converged": bool(gmm.converged_),
            "n_iter": int(gmm.n_iter_),
            "lower_bound": float(gmm.lower_bound_),
            "weights": gmm.weights_.tolist(),
            "means": means.tolist(),
            "standard_deviations": stds.tolist(),
            "covariances": np.asarray(gmm.covariances_).tolist(),
        },
        "metrics": result.agreement.as_dict() if result.agreement is not None else None,
        "timings_seconds": result.timings,
        "computed_on": result.computed_on,
    }


def clusters_csv(gmm) -> str:
    """One row per cluster: weight, means, standard deviations."""
    means, stds = cluster_rows(gmm)
    d = means.shape[1]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["cluster", "weight", *(f"mean_pc{j + 1}" for j in range(d)),
                     *(f"std_pc{j + 1}" for j in range(d))])  # fmt: skip
    for k in range(means.shape[0]):
        writer.writerow([k, repr(float(gmm.weights_[k])), *map(repr, means[k].tolist()),
                         *map(repr, stds[k].tolist())])  # fmt: skip
    return buffer.getvalue()


def summary_json(result) -> str:
    return json.dumps(summary(result), indent=2) + "\n"
