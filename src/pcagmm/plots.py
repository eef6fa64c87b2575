"""Figures of a run: the labelled projection, the clusters with their ellipses, the means.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display needed).

Reading 70,000 overlapping points: markers are small (2 pt^2) and translucent
(alpha 0.35), without edges, drawn in a random order (so no class is painted over
all the others) and rasterised (so a vector figure stays small); dense regions then
show as deeper colour instead of one solid blob.
"""

from __future__ import annotations

import numpy as np

MARKER_SIZE = 2.0
MARKER_ALPHA = 0.35
SIGMAS = (1, 2, 3)


def _figure(width=8.0, height=6.5):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _draw_order(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n)


def _axis_labels(ax, explained_ratio) -> None:
    for setter, i in ((ax.set_xlabel, 0), (ax.set_ylabel, 1)):
        share = (
            f" ({explained_ratio[i]:.1%} of the variance)" if explained_ratio is not None else ""
        )
        setter(f"Principal component {i + 1}{share}")
    ax.grid(True, linewidth=0.5, alpha=0.5)


def pca_scatter(Z, labels, *, title, explained_ratio=None, label_name="Digit Label",
                class_names=None):  # fmt: skip
    """The projection coloured by the true label, with a colour bar (the notebook's first)."""
    figure = _figure()
    ax = figure.add_subplot()
    order = _draw_order(len(Z))
    if labels is None:
        ax.scatter(Z[order, 0], Z[order, 1], s=MARKER_SIZE, alpha=MARKER_ALPHA,
                   linewidths=0, rasterized=True)  # fmt: skip
    else:
        from matplotlib.colors import BoundaryNorm

        values = np.unique(labels)
        n = int(values.max()) + 1 if values.dtype.kind in "iu" else len(values)
        norm = BoundaryNorm(np.arange(-0.5, n + 0.5), n) if n <= 20 else None
        points = ax.scatter(Z[order, 0], Z[order, 1], c=np.asarray(labels)[order],
                            cmap="tab10" if n <= 10 else "tab20", norm=norm,
                            s=MARKER_SIZE, alpha=MARKER_ALPHA, linewidths=0,
                            rasterized=True)  # fmt: skip
        bar = figure.colorbar(points, ax=ax, label=label_name)
        bar.solids.set_alpha(1)
        if n <= 20:
            bar.set_ticks(np.arange(n))
            if class_names is not None and len(class_names) == n:
                bar.set_ticklabels(class_names)
    ax.set_title(title)
    _axis_labels(ax, explained_ratio)
    return figure


def ellipse_axes(covariance_2d: np.ndarray) -> tuple[float, float, float]:
    """Width, height (both at one sigma, full axis lengths) and angle in degrees."""
    values, vectors = np.linalg.eigh(covariance_2d)
    values = np.clip(values, 0.0, None)
    angle = float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])))
    return 2 * float(np.sqrt(values[1])), 2 * float(np.sqrt(values[0])), angle


def plane_covariances(gmm) -> np.ndarray:
    """Each component's covariance in the plane of the first two coordinates (K, 2, 2)."""
    K = gmm.weights_.shape[0]
    kind = gmm.covariance_type
    if kind == "full":
        return gmm.covariances_[:, :2, :2]
    if kind == "tied":
        return np.broadcast_to(gmm.covariances_[:2, :2], (K, 2, 2))
    if kind == "diag":
        return np.stack([np.diag(c[:2]) for c in gmm.covariances_])
    return np.stack([np.eye(2) * c for c in gmm.covariances_])


def gmm_clusters(Z, clusters, gmm, *, title, explained_ratio=None):
    """Points coloured by cluster; each component as 1, 2, 3 sigma ellipses whose opacity
    follows its weight (the notebook's second figure)."""
    from matplotlib import colormaps
    from matplotlib.patches import Ellipse

    figure = _figure()
    ax = figure.add_subplot()
    K = gmm.weights_.shape[0]
    cmap = colormaps["tab10" if K <= 10 else "tab20"]
    colours = [cmap(k % cmap.N) for k in range(K)]
    order = _draw_order(len(Z))
    ax.scatter(Z[order, 0], Z[order, 1], c=[colours[c] for c in np.asarray(clusters)[order]],
               s=MARKER_SIZE, alpha=MARKER_ALPHA, linewidths=0, rasterized=True)  # fmt: skip
    opacity = 0.25 + 0.75 * gmm.weights_ / gmm.weights_.max()
    for k, (mean, covariance) in enumerate(zip(gmm.means_[:, :2], plane_covariances(gmm),
                                               strict=True)):  # fmt: skip
        width, height, angle = ellipse_axes(covariance)
        for sigma in SIGMAS:
            ax.add_patch(Ellipse(mean, sigma * width, sigma * height, angle=angle, fill=False,
                                 edgecolor=colours[k], linewidth=1.6 if sigma == 1 else 1.0,
                                 alpha=float(opacity[k])))  # fmt: skip
        ax.plot(*mean, marker="x", color="black", markersize=6, alpha=float(opacity[k]))
        ax.annotate(str(k), mean, textcoords="offset points", xytext=(4, 4), fontsize=9,
                    alpha=float(opacity[k]))  # fmt: skip
    ax.set_title(title)
    _axis_labels(ax, explained_ratio)
    handles = [
        Ellipse((0, 0), 1, 1, fill=False, edgecolor=colours[k], alpha=float(opacity[k]),
                label=f"{k}: weight {gmm.weights_[k]:.3f}")
        for k in range(K)
    ]  # fmt: skip
    ax.legend(handles=handles, title="cluster (1, 2, 3 sigma)", fontsize=8, loc="best",
              framealpha=0.8)  # fmt: skip
    return figure


def cluster_means(images: np.ndarray, image_shape, gmm, matching: dict | None, *, title):
    """Each cluster's mean mapped back to image space, with the digit it was matched to."""
    K = len(images)
    columns = min(K, 10)
    rows = int(np.ceil(K / columns))
    figure = _figure(width=1.3 * columns + 0.4, height=1.6 * rows + 0.6)
    axes = figure.subplots(rows, columns, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= K:
            continue
        ax.imshow(np.clip(images[k], 0, 255).reshape(image_shape), cmap="gray_r", vmin=0,
                  vmax=max(1.0, float(images.max())))  # fmt: skip
        matched = matching.get(k) if matching else None
        label = f"cluster {k}" + (f"\n-> {matched}" if matched is not None else "")
        ax.set_title(f"{label}\nw={gmm.weights_[k]:.2f}", fontsize=8)
    figure.suptitle(title)
    return figure
