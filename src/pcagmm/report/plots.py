"""Figures of a run: the labelled projection, the clusters with their ellipses, the means.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display needed).

Reading 70,000 overlapping points: the points are rendered as a density image, not
as 70,000 markers. Each pixel (about two screen pixels square) gets the mean colour
of the classes of the points that fall in it, weighted by their counts, and an
opacity of ``1 - (1 - 0.35)**count`` -- what stacking translucent markers of alpha
0.35 would give, but without any draw order (no class is painted over the others)
and in a few milliseconds. Sparse regions stay light, dense ones saturate, and mixed
regions show mixed colour instead of whichever class was drawn last.
"""

from __future__ import annotations

import numpy as np

from .labels import label_text

MARKER_ALPHA = 0.35
#: density pixels across the plotting area (each about two screen pixels)
DENSITY_WIDTH = 360
SIGMAS = (1, 2, 3)
#: a switched-off component's colour (a variational mixture's, :attr:`Result.kept`):
#: its ellipse in the clusters figure, its bar in the weights figure
OFF_GREY = (0.55, 0.55, 0.55)
#: a switched-off component's mean image is drawn this faded
OFF_IMAGE_ALPHA = 0.35


def cluster_colours(n_clusters: int) -> list[tuple[float, float, float, float]]:
    """Each cluster's colour (RGBA), as every figure and the report page draw it:
    matplotlib's tab10, or tab20 above 10 clusters (repeating above 20)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n_clusters <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n_clusters)]


def _figure(width=8.0, height=6.5, **margins):
    """A figure on the Agg canvas with fixed margins (a constrained layout would measure
    every text on each save: half the drawing time here)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    figure.subplots_adjust(**{"left": 0.1, "right": 0.97, "bottom": 0.08, "top": 0.94, **margins})
    return figure


def _limits(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = 0.04 * (high - low or 1.0)
    return low - pad, high + pad


def density_image(Z, classes, colours, extent, width=DENSITY_WIDTH, height=None):
    """An RGBA image of the points: per pixel, the count-weighted mean class colour and
    the opacity of ``count`` stacked markers of alpha :data:`MARKER_ALPHA`.

    ``classes`` index ``colours`` (an (n_classes, 3) array of RGB in [0, 1]).
    """
    x0, x1, y0, y1 = extent
    height = height or max(1, round(width * 0.8))
    ix = np.clip(((Z[:, 0] - x0) / (x1 - x0) * width).astype(np.int64), 0, width - 1)
    iy = np.clip(((Z[:, 1] - y0) / (y1 - y0) * height).astype(np.int64), 0, height - 1)
    n_classes = len(colours)
    flat = (np.asarray(classes, dtype=np.int64) * height + iy) * width + ix
    counts = np.bincount(flat, minlength=n_classes * height * width).reshape(
        n_classes, height, width
    )
    total = counts.sum(axis=0)
    image = np.zeros((height, width, 4))
    shown = total > 0
    mixed = np.tensordot(counts, np.asarray(colours, dtype=np.float64), axes=(0, 0))
    image[shown, :3] = mixed[shown] / total[shown, np.newaxis]
    image[..., 3] = 1.0 - (1.0 - MARKER_ALPHA) ** total
    return image


def _draw_points(ax, Z, classes, colours) -> None:
    extent = (*_limits(Z[:, 0]), *_limits(Z[:, 1]))
    image = density_image(Z, classes, colours, extent)
    ax.imshow(
        image, extent=extent, origin="lower", interpolation="nearest", aspect="auto", zorder=1
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])


def _axis_labels(ax, explained_ratio, embedding: str | None = None) -> None:
    """PCA's axes with their share of the variance, or an embedding's (``"UMAP"``)."""
    for setter, i in ((ax.set_xlabel, 0), (ax.set_ylabel, 1)):
        if embedding is not None:
            setter(f"{embedding} {i + 1}")
            continue
        share = (
            f" ({explained_ratio[i]:.1%} of the variance)" if explained_ratio is not None else ""
        )
        setter(f"Principal component {i + 1}{share}")
    ax.grid(True, linewidth=0.5, alpha=0.5)


def pca_scatter(
    Z,
    labels,
    *,
    title,
    explained_ratio=None,
    label_name="Digit Label",
    class_names=None,
    embedding=None,
):
    """The projection coloured by the true label, with a colour bar (the notebook's first)."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm, ListedColormap

    figure = _figure()
    ax = figure.add_subplot()
    if labels is None:
        _draw_points(ax, Z, np.zeros(len(Z), dtype=np.int64), [(0.12, 0.47, 0.71)])
    else:
        values, classes = np.unique(np.asarray(labels), return_inverse=True)
        cmap = colormaps["tab10" if len(values) <= 10 else "tab20"]
        colours = [cmap(i % cmap.N)[:3] for i in range(len(values))]
        _draw_points(ax, Z, classes, colours)
        n = len(values)
        norm = BoundaryNorm(np.arange(-0.5, n + 0.5), n)
        # the bar's colours are the points' (cmap.resampled(n) would spread n colours
        # over the whole map: blue, brown, cyan for 3 classes drawn blue, orange, green)
        listed = ListedColormap(colours)
        bar = figure.colorbar(ScalarMappable(norm=norm, cmap=listed), ax=ax, label=label_name)
        bar.set_ticks(np.arange(n))
        names = class_names if class_names is not None and len(class_names) == n else values
        bar.set_ticklabels([str(v) for v in names])
    ax.set_title(title)
    _axis_labels(ax, explained_ratio, embedding)
    return figure


def ellipse_axes(covariance_2d: np.ndarray) -> tuple[float, float, float]:
    """Width, height (both at one sigma, full axis lengths) and angle in degrees."""
    values, vectors = np.linalg.eigh(covariance_2d)
    values = np.clip(values, 0.0, None)
    angle = float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])))
    return 2 * float(np.sqrt(values[1])), 2 * float(np.sqrt(values[0])), angle


def plane_covariances(gmm) -> np.ndarray:
    """Each component's covariance in the plane of the first two coordinates (K, 2, 2)."""
    from ..mixture.covariance import covariance_type

    K = gmm.weights_.shape[0]
    return covariance_type(gmm.covariance_type).plane(gmm.covariances_, K)


def gmm_clusters(Z, clusters, gmm, *, title, explained_ratio=None, embedding=None, kept=None):
    """Points coloured by cluster; each component as 1, 2, 3 sigma ellipses whose opacity
    follows its weight (the notebook's second figure).

    Parameters
    ----------
    Z : ndarray of shape (n_rows, >= 2)
        The rows (the first two coordinates are drawn).
    clusters : ndarray of shape (n_rows,)
        The cluster of each row.
    gmm
        The fitted mixture (``weights_``, ``means_``, ``covariances_``).
    title : str
    explained_ratio, embedding
        The axes' names (as :func:`pca_scatter`).
    kept : array-like of int, optional
        A variational mixture's kept components (:attr:`Result.kept`). The others are
        switched off: each is drawn as one thin dashed grey 1 sigma ellipse, without
        its number, and the legend lists them in one entry. None (EM's mixture): every
        component is drawn alike.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Ellipse

    figure = _figure()
    ax = figure.add_subplot()
    K = gmm.weights_.shape[0]
    colours = cluster_colours(K)
    _draw_points(ax, Z, np.asarray(clusters), [c[:3] for c in colours])
    opacity = 0.25 + 0.75 * gmm.weights_ / gmm.weights_.max()
    on = np.ones(K, dtype=bool)
    if kept is not None:
        on[:] = False
        on[np.asarray(kept, dtype=np.int64)] = True
    for k, (mean, covariance) in enumerate(
        zip(gmm.means_[:, :2], plane_covariances(gmm), strict=True)
    ):
        width, height, angle = ellipse_axes(covariance)
        if not on[k]:
            ax.add_patch(_off_ellipse(mean, width, height, angle))
            continue
        for sigma in SIGMAS:
            ax.add_patch(
                Ellipse(
                    mean,
                    sigma * width,
                    sigma * height,
                    angle=angle,
                    fill=False,
                    edgecolor=colours[k],
                    linewidth=1.6 if sigma == 1 else 1.0,
                    alpha=float(opacity[k]),
                )
            )
        ax.plot(*mean, marker="x", color="black", markersize=6, alpha=float(opacity[k]))
        ax.annotate(
            str(k),
            mean,
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=9,
            alpha=float(opacity[k]),
        )
    ax.set_title(title)
    _axis_labels(ax, explained_ratio, embedding)
    handles = [
        Ellipse(
            (0, 0),
            1,
            1,
            fill=False,
            edgecolor=colours[k],
            alpha=float(opacity[k]),
            label=f"{k}: weight {gmm.weights_[k]:.3f}",
        )
        for k in range(K)
        if on[k]
    ]
    if not on.all():
        off = np.flatnonzero(~on)
        handles.append(
            _off_ellipse(
                (0, 0), 1, 1, 0.0, label=f"switched off ({len(off)}), 1 sigma:\n{_listed(off)}"
            )
        )
    ax.legend(
        handles=handles, title="cluster (1, 2, 3 sigma)", fontsize=8, loc="best", framealpha=0.8
    )
    return figure


def _off_ellipse(mean, width, height, angle, label=None):
    """A switched-off component's outline: one thin dashed grey 1 sigma ellipse."""
    from matplotlib.patches import Ellipse

    return Ellipse(
        mean,
        width,
        height,
        angle=angle,
        fill=False,
        edgecolor=OFF_GREY,
        linestyle=(0, (4, 3)),
        linewidth=0.8,
        label=label,
    )


def _listed(components, per_line: int = 10) -> str:
    """Component numbers, comma-separated, ``per_line`` to a line."""
    numbers = [str(int(k)) for k in components]
    lines = [", ".join(numbers[i : i + per_line]) for i in range(0, len(numbers), per_line)]
    return ",\n".join(lines)


def cluster_means(
    images: np.ndarray,
    image_shape,
    gmm,
    matching: dict | None,
    *,
    title,
    target_names=None,
    kept=None,
):
    """Each cluster's mean mapped back to image space, titled with the label it was
    matched to (:func:`~pcagmm.report.labels.label_text` of ``target_names``:
    ``→ Ankle boot (9)``, or ``→ 9`` where the labels have no names).

    ``image_shape`` is ``(height, width)`` for grey pictures, drawn with the grey levels
    reversed (light strokes dark on white), or ``(height, width, 3)`` for colour ones,
    drawn in their own colours.

    ``kept``: a variational mixture's kept components (:attr:`Result.kept`); each other
    one is switched off: its title says ``off`` and its weight to two significant
    digits (``w=1.1e-06``), its image faded. None (EM's mixture): all drawn alike."""
    K = len(images)
    columns = min(K, 10)
    rows = int(np.ceil(K / columns))
    top = 0.72 if rows == 1 else 0.85
    figure = _figure(
        width=1.3 * columns + 0.4,
        height=1.6 * rows + 0.6,
        left=0.01,
        right=0.99,
        bottom=0.02,
        top=top,
        wspace=0.1,
    )
    axes = figure.subplots(rows, columns, squeeze=False)
    off = set() if kept is None else set(range(K)) - {int(k) for k in kept}
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= K:
            continue
        faded = {"alpha": OFF_IMAGE_ALPHA} if k in off else {}
        if len(image_shape) == 3:  # colour: as it is
            ax.imshow(np.clip(images[k], 0, 255).reshape(image_shape) / 255, **faded)
        else:
            ax.imshow(
                np.clip(images[k], 0, 255).reshape(image_shape),
                cmap="gray_r",
                vmin=0,
                vmax=max(1.0, float(images.max())),
                **faded,
            )
        matched = matching.get(k) if matching else None
        label = f"cluster {k}" + (
            f"\n→ {label_text(matched, target_names)}" if matched is not None else ""
        )
        if k in off:
            ax.set_title(f"{label} · off\nw={gmm.weights_[k]:.2g}", fontsize=8, color=OFF_GREY)
        else:
            ax.set_title(f"{label}\nw={gmm.weights_[k]:.2f}", fontsize=8)
    figure.suptitle(title)
    return figure


# ----------------------------------------------------------------------------- a run's figures
# Each takes a run's Result and returns a Figure, or None when it does not apply to the
# run; pcagmm.workflow.artifacts.FIGURES names them (the file names of a run folder).


def scatter_figure(result):
    """The projection coloured by the true label, or None with fewer than 2 components."""
    if result.reducer.n_components_ < 2:  # a scatter plot needs two axes
        return None
    return pca_scatter(
        _projection(result),
        result.dataset.y,
        title=_title(result, f"{_reducer_name(result)} projection"),
        explained_ratio=result.reducer.explained_variance_ratio_,
        label_name=label_name(result.dataset.target_names),
        class_names=_class_names(result.dataset),
        embedding=_embedding(result),
    )


def clusters_figure(result):
    """Points coloured by cluster with 1-2-3 sigma ellipses, or None with fewer than 2
    components."""
    if result.reducer.n_components_ < 2:
        return None
    gmm = result.gmm
    kept = result.kept
    components = (
        f"Gaussian mixture, {gmm.n_components} components"
        if kept is None
        else f"variational Gaussian mixture, {len(kept)} of {gmm.n_components} components kept"
    )
    title = _title(result, f"{components}, {gmm.covariance_type} covariance")
    return gmm_clusters(
        _projection(result),
        result.clusters,
        gmm,
        title=title,
        explained_ratio=result.reducer.explained_variance_ratio_,
        embedding=_embedding(result),
        kept=kept,
    )


def means_figure(result):
    """Each cluster as an image, or None for non-image data: its mean mapped back by
    PCA, or (an embedding has no inverse) the average of its rows; colour pictures
    (``dataset.rgb_shape``) in colour."""
    from ..datasets.dataset import picture_shape

    shape = picture_shape(result.dataset)
    if shape is None:
        return None
    images = result.cluster_images
    matching = result.agreement.matching if result.agreement is not None else None
    what = (
        "Cluster means in image space"
        if _embedding(result) is None
        else "Each cluster's average image (UMAP has no inverse)"
    )
    return cluster_means(
        images,
        shape,
        result.gmm,
        matching,
        title=_title(result, what),
        target_names=result.dataset.target_names,
        kept=result.kept,
    )


def _reducer_name(result) -> str:
    from ..reducers import name_of

    return name_of(result.reducer)


def _embedding(result) -> str | None:
    """The embedding's name for its axes ("UMAP"), or None for PCA's."""
    from ..reducers import is_embedding

    return _reducer_name(result) if is_embedding(result.reducer) else None


def _projection(result) -> np.ndarray:
    if result.Z is None:
        from ..errors import ParameterError

        raise ParameterError(
            "this run left its projection on the Dask cluster (it drew no figures)",
            "run again without {plots=False}",
        )
    return result.Z


def _title(result, what: str) -> str:
    return f"{result.dataset.name}: {what}"


def label_name(target_names) -> str:
    """What the labels are, as the figures name them: digits or plain labels."""
    return "Digit Label" if target_names and target_names[0] == "0" else "Label"


def _class_names(dataset):
    names = dataset.target_names
    return list(names) if names and names[0] != "0" else None
