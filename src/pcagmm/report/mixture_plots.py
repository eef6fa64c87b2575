"""The fitted mixture's own figures, after mclust's ``plot(..., what="uncertainty")`` and
its density plot: how sure the classification of each row is, and where the mixture
puts its probability mass.

:mod:`.plots` draws the data and the fitted parameters (labels, clusters, ellipses);
this module draws what the mixture's *density* says about them, so the numbers behind
the two figures live here as pure functions of arrays:

* :func:`uncertainty` -- each row's classification uncertainty ``1 - max_k z_ik``;
* :func:`log_density`, :func:`density_grid` -- the log-density of a Gaussian mixture
  (the marginal on two axes: the same weights and means, the 2 x 2 blocks of the
  covariances), at points and on a grid;
* :func:`sample_mixture`, :func:`hdr_levels` -- the highest-density-region levels: the
  log-density whose contour encloses a stated share of the mass, estimated as mclust's
  ``hdrlevels`` does, by the ``1 - p`` quantile of ``log f(X)`` over draws ``X`` from
  the mixture itself.

Reading 70,000 rows: as in :mod:`.plots`, the points are an image, not markers. The
uncertainty image holds, per pixel, the largest uncertainty among the rows drawn there
-- what drawing the rows as opaque dots in order of increasing uncertainty gives: the
unsure rows end on top. Rows at least half as uncertain as a row can be
(:data:`LARGE_FROM`) are drawn 3 x 3 pixels, the others 1: the unsure stand out large
and dark, the sure ones small and pale.
"""

from __future__ import annotations

import numpy as np

from . import plots

#: shares of the mixture's probability mass the density contours enclose
HDR_SHARES = (0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
#: draws from the mixture that set the contour levels (the share a level encloses is
#: then off by a binomial standard error of at most sqrt(0.25 / 200,000) = 0.0011)
HDR_DRAWS = 200_000
#: the seed of those draws (the figure is the same on every run of the same model)
HDR_SEED = 0
#: grid points along each axis where the density is evaluated for its contours
GRID_POINTS = 200
#: the uncertainty the figure counts rows above ("3.1% of rows have uncertainty above 0.5")
UNSURE = 0.5
#: rows at least this share of the largest possible uncertainty are drawn 3 x 3 pixels
LARGE_FROM = 0.5
#: the uncertainty's colours: pale for the sure rows, dark for the unsure
UNCERTAINTY_CMAP = "magma_r"
#: the contours' colours (the 99% contour the lightest) and the rows' grey beneath
CONTOUR_CMAP = "viridis"
ROWS_GREY = (0.6, 0.6, 0.6)
#: the weights figure's lowest weight: a switched-off component's weight can be 1e-300,
#: and a log axis down to it would squeeze the kept ones into its top; a bar below it is
#: marked at the axis' foot instead
WEIGHT_FLOOR = 1e-12
#: a switched-off component's bar: light grey, hatched (tab10 has a grey of its own,
#: cluster 7's), outlined in :data:`~.plots.OFF_GREY`
OFF_FILL = (0.85, 0.85, 0.85)
OFF_HATCH = "///"


# ------------------------------------------------------------------------------ the numbers


def uncertainty(probabilities) -> np.ndarray:
    """Each row's classification uncertainty, ``1 - max_k z_ik``.

    Parameters
    ----------
    probabilities : array-like of shape (n_rows, n_components)
        Each row's posterior probability of each component (``predict_proba``).

    Returns
    -------
    ndarray of shape (n_rows,)
        Between 0 (sure) and ``1 - 1/n_components`` (every component equally likely).
    """
    return 1.0 - np.asarray(probabilities, dtype=np.float64).max(axis=1)


def largest_uncertainty(n_components: int) -> float:
    """The largest uncertainty a row can have, ``1 - 1/n_components``."""
    return 1.0 - 1.0 / n_components


def share_above(values, threshold: float = UNSURE) -> float:
    """The share of ``values`` strictly above ``threshold``."""
    values = np.asarray(values)
    return float(np.count_nonzero(values > threshold) / max(len(values), 1))


def plane_mixture(gmm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mixture's marginal on the first two coordinates: its weights, its means'
    first two coordinates (K, 2) and its covariances' 2 x 2 blocks (K, 2, 2). For a
    two-dimensional mixture, the mixture itself."""
    weights = np.asarray(gmm.weights_, dtype=np.float64)
    means = np.asarray(gmm.means_, dtype=np.float64)[:, :2]
    return weights, means, np.asarray(plots.plane_covariances(gmm), dtype=np.float64)


def log_density(points, weights, means, covariances) -> np.ndarray:
    """The log-density of a Gaussian mixture at each point.

    Parameters
    ----------
    points : array-like of shape (n_points, d)
    weights : array-like of shape (K,)
    means : array-like of shape (K, d)
    covariances : array-like of shape (K, d, d)
        Dense, positive definite (a marginal's blocks: see :func:`plane_mixture`).

    Returns
    -------
    ndarray of shape (n_points,)
        ``log sum_k w_k N(x | mu_k, Sigma_k)``, computed in log space (no underflow far
        from the means) by the mixture's own kernels (:mod:`pcagmm.mixture.kernels`, as
        ``score_samples`` of a "full" mixture).
    """
    from ..mixture import kernels
    from ..rows.chunks import blas_threads

    points = np.asarray(points, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    # one BLAS thread: waking a second for each small solve cost ~8 ms apiece here
    with blas_threads(1):
        factor = kernels.precision_cholesky(np.asarray(covariances, dtype=np.float64), "full")
        shift = weights @ means / weights.sum()  # the kernels' rows sit near their shift
        model = kernels.Model.build("full", weights, means - shift, factor)
        return kernels.responsibilities(points - shift, model)[1]


def sample_mixture(weights, means, covariances, n: int, rng) -> np.ndarray:
    """``n`` draws from a Gaussian mixture (component counts multinomial in the weights),
    stacked in component order.

    Parameters
    ----------
    weights, means, covariances
        As :func:`log_density`.
    n : int
    rng : numpy.random.Generator
        The draws' only source of randomness.

    Returns
    -------
    ndarray of shape (n, d)
    """
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    factors = np.linalg.cholesky(np.asarray(covariances, dtype=np.float64))
    counts = rng.multinomial(n, weights / weights.sum())
    return np.vstack(
        [
            mean + rng.standard_normal((count, len(mean))) @ factor.T
            for mean, factor, count in zip(means, factors, counts, strict=True)
        ]
    )


def hdr_levels(
    weights, means, covariances, shares=HDR_SHARES, *, n_draws: int = HDR_DRAWS, rng=None
) -> np.ndarray:
    """The highest-density-region levels of a Gaussian mixture, as log-densities.

    The region ``{x : log f(x) >= level}`` of share ``p`` holds a share ``p`` of the
    mixture's mass and is the smallest region that does. Its level is estimated as
    mclust's ``hdrlevels`` does: the ``1 - p`` quantile of ``log f(X)`` over ``n_draws``
    draws ``X`` from the mixture itself (:func:`sample_mixture`). The share a level
    truly encloses is then off by about ``sqrt(p (1 - p) / n_draws)`` (binomial).

    Parameters
    ----------
    weights, means, covariances
        As :func:`log_density`.
    shares : sequence of float in (0, 1)
    n_draws : int
    rng : numpy.random.Generator, optional
        The draws' source of randomness (default ``default_rng(HDR_SEED)``).

    Returns
    -------
    ndarray of shape (len(shares),)
        The level of each share, in the order given (a larger share, a lower level).
    """
    rng = np.random.default_rng(HDR_SEED) if rng is None else rng
    draws = sample_mixture(weights, means, covariances, n_draws, rng)
    values = log_density(draws, weights, means, covariances)
    return np.quantile(values, 1.0 - np.asarray(shares, dtype=np.float64))


def density_grid(weights, means, covariances, extent, points: int = GRID_POINTS):
    """A two-dimensional mixture's log-density on a regular grid over ``extent``.

    Parameters
    ----------
    weights, means, covariances
        A mixture on two axes (:func:`plane_mixture`).
    extent : (x0, x1, y0, y1)
    points : int
        Grid points along each axis, ends included.

    Returns
    -------
    xs : ndarray of shape (points,)
    ys : ndarray of shape (points,)
    values : ndarray of shape (points, points)
        ``values[i, j]`` is the log-density at ``(xs[j], ys[i])`` (matplotlib's
        ``contour`` layout).
    """
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, points), np.linspace(y0, y1, points)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    return xs, ys, log_density(grid, weights, means, covariances).reshape(points, points)


def uncertainty_grid(Z, values, extent, top: float, width: int = plots.DENSITY_WIDTH, height=None):
    """Per pixel, the largest uncertainty among the rows drawn over it (NaN: none).

    A row covers its own pixel; a row whose uncertainty is at least
    :data:`LARGE_FROM` of ``top`` (the largest possible) covers the 3 x 3 pixels around
    it. Taking the largest is what drawing opaque dots in order of increasing
    uncertainty gives, with no draw loop.

    Parameters
    ----------
    Z : ndarray of shape (n_rows, >= 2)
        The rows' coordinates (the first two are drawn).
    values : ndarray of shape (n_rows,)
        Their uncertainties (:func:`uncertainty`).
    extent : (x0, x1, y0, y1)
    top : float
        The largest possible uncertainty (:func:`largest_uncertainty`).
    width, height : int
        Pixels across and up (height: 0.8 of the width by default).

    Returns
    -------
    ndarray of shape (height, width)
        Row 0 at the bottom (drawn with ``origin="lower"``).
    """
    x0, x1, y0, y1 = extent
    height = height or max(1, round(width * 0.8))
    values = np.asarray(values, dtype=np.float64)
    ix = np.clip(((Z[:, 0] - x0) / (x1 - x0) * width).astype(np.int64), 0, width - 1)
    iy = np.clip(((Z[:, 1] - y0) / (y1 - y0) * height).astype(np.int64), 0, height - 1)
    grid = np.full(height * width, -np.inf)
    np.maximum.at(grid, iy * width + ix, values)
    large = values >= LARGE_FROM * top
    lx, ly, lv = ix[large], iy[large], values[large]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx == dy == 0:
                continue
            jx, jy = lx + dx, ly + dy
            inside = (jx >= 0) & (jx < width) & (jy >= 0) & (jy < height)
            np.maximum.at(grid, jy[inside] * width + jx[inside], lv[inside])
    grid[np.isneginf(grid)] = np.nan
    return grid.reshape(height, width)


# ----------------------------------------------------------------------------- the figures


def uncertainty_scatter(
    Z, probabilities, *, title, explained_ratio=None, embedding=None, note=None
):
    """Each row coloured by its classification uncertainty (mclust's
    ``what="uncertainty"``), with a colour bar from 0 to the largest possible
    uncertainty and the share of rows above :data:`UNSURE` printed in the plot.

    Parameters
    ----------
    Z : ndarray of shape (n_rows, >= 2)
        The rows (the first two coordinates are drawn).
    probabilities : ndarray of shape (n_rows, n_components)
        Each row's cluster probabilities.
    title : str
    explained_ratio, embedding
        The axes' names (as :func:`.plots.pca_scatter`).
    note : str, optional
        A line added under the share (where the probabilities come from).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    values = uncertainty(probabilities)
    top = largest_uncertainty(probabilities.shape[1])
    figure = plots._figure(right=0.99)
    ax = figure.add_subplot()
    extent = (*plots._limits(Z[:, 0]), *plots._limits(Z[:, 1]))
    cmap = colormaps[UNCERTAINTY_CMAP].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    image = ax.imshow(
        uncertainty_grid(Z, values, extent, top),
        extent=extent,
        origin="lower",
        interpolation="nearest",
        aspect="auto",
        cmap=cmap,
        norm=Normalize(0.0, top if top > 0 else 1.0),
        zorder=1,
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    bar = figure.colorbar(image, ax=ax, label="uncertainty, 1 - largest cluster probability")
    if 0 < UNSURE < top:
        bar.ax.axhline(UNSURE, color="black", linewidth=1.0)
    text = f"{share_above(values):.1%} of rows have uncertainty above {UNSURE:g}"
    ax.text(
        0.02,
        0.98,
        text + (f"\n{note}" if note else ""),
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=9,
        zorder=3,
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
    )
    ax.set_title(title)
    plots._axis_labels(ax, explained_ratio, embedding)
    return figure


def density_contours(
    Z,
    weights,
    means,
    covariances,
    *,
    title,
    shares=HDR_SHARES,
    rng=None,
    explained_ratio=None,
    embedding=None,
    note=None,
):
    """The rows in light grey beneath the contours of a two-dimensional mixture's
    log-density, each contour enclosing a share of its mass (:func:`hdr_levels`),
    labelled with that share.

    Parameters
    ----------
    Z : ndarray of shape (n_rows, >= 2)
        The rows (the first two coordinates are drawn).
    weights, means, covariances
        The mixture on the two axes drawn (:func:`plane_mixture`).
    title : str
    shares : sequence of float
        The shares of the mass the contours enclose.
    rng : numpy.random.Generator, optional
        The draws that set the levels (default ``default_rng(HDR_SEED)``).
    explained_ratio, embedding
        The axes' names (as :func:`.plots.pca_scatter`).
    note : str, optional
        A line added to the legend (what the density is a marginal of).

    Returns
    -------
    matplotlib.figure.Figure
        Its axes hold the ContourSet (``ax.collections``), levels ascending (the largest
        share first).
    """
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    figure = plots._figure()
    ax = figure.add_subplot()
    extent = (*plots._limits(Z[:, 0]), *plots._limits(Z[:, 1]))
    rows = plots.density_image(Z, np.zeros(len(Z), dtype=np.int64), [ROWS_GREY], extent)
    ax.imshow(rows, extent=extent, origin="lower", interpolation="nearest", aspect="auto")
    shares = np.asarray(shares, dtype=np.float64)
    levels = hdr_levels(weights, means, covariances, shares, rng=rng)
    order = np.argsort(levels, kind="stable")  # contour wants them ascending
    xs, ys, values = density_grid(weights, means, covariances, extent)
    cmap = colormaps[CONTOUR_CMAP]
    colours = [cmap(0.85 * i / max(len(shares) - 1, 1)) for i in range(len(shares))][::-1]
    contours = ax.contour(
        xs, ys, values, levels=levels[order], colors=colours, linewidths=1.3, zorder=2
    )
    ascending, named = levels[order], [f"{share:.0%}" for share in shares[order]]
    ax.clabel(
        contours,
        fmt=lambda level: named[int(np.argmin(np.abs(ascending - level)))],
        fontsize=8,
        inline=True,
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    handles = [
        Line2D([], [], color=colour, linewidth=1.3, label=f"{share:.0%} of the mass")
        for colour, share in zip(colours, shares[order], strict=True)
    ]
    ax.legend(
        handles=handles[::-1],
        title="smallest region holding" + (f"\n{note}" if note else ""),
        fontsize=8,
        title_fontsize=8,
        loc="best",
        framealpha=0.85,
    )
    ax.set_title(title)
    plots._axis_labels(ax, explained_ratio, embedding)
    return figure


def weight_axis_floor(weights, kept_weight: float) -> float:
    """The lowest weight the weights figure's log axis shows: a third of the smallest
    positive weight, or of ``kept_weight`` if that is smaller (the threshold's line is
    always inside), but not below :data:`WEIGHT_FLOOR`."""
    weights = np.asarray(weights, dtype=np.float64)
    positive = weights[weights > 0]
    smallest = min(float(positive.min()), kept_weight) if positive.size else kept_weight
    return max(WEIGHT_FLOOR, smallest / 3.0)


def weight_bars(weights, kept, kept_weight: float, *, title):
    """A variational mixture's weights as bars, heaviest first, on a log axis.

    A log axis because the weights a prior switches off are orders of magnitude below
    the kept ones (1e-3 to 1e-18 beside 0.3): on a linear axis they are all a flat zero,
    and the line of the threshold sits on the axis. Each bar is labelled below by its
    component's number; a kept component's bar is in its cluster's colour (as in the
    clusters figure and the report page) with its weight printed above it, a switched-off
    one light grey and hatched. A dashed line marks ``kept_weight``; the legend names it
    and the switched-off components' number and total weight. A weight below the axis'
    foot (:func:`weight_axis_floor`) is marked there by a grey triangle.

    Parameters
    ----------
    weights : array-like of shape (K,)
        Every component's weight.
    kept : array-like of int
        The components kept (weight at least ``kept_weight``).
    kept_weight : float
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Its axes hold the K bars (``ax.patches``) in the order drawn, heaviest first.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    weights = np.asarray(weights, dtype=np.float64)
    K = len(weights)
    order = np.argsort(-weights, kind="stable")
    on = np.zeros(K, dtype=bool)
    on[np.asarray(kept, dtype=np.int64)] = True
    colours = plots.cluster_colours(K)
    figure = plots._figure(
        width=max(6.5, 2.0 + 0.3 * K), height=5.0, left=0.12, bottom=0.12, top=0.92
    )
    ax = figure.add_subplot()
    ax.set_yscale("log")
    positions = np.arange(K)
    bars = ax.bar(positions, weights[order], width=0.75, zorder=2)
    for bar, k in zip(bars, order, strict=True):
        if on[k]:
            bar.set_facecolor(colours[k])
            bar.set_edgecolor("black")
            bar.set_linewidth(0.6)
        else:
            bar.set_facecolor(OFF_FILL)
            bar.set_edgecolor(plots.OFF_GREY)
            bar.set_hatch(OFF_HATCH)
            bar.set_linewidth(0.6)
    floor = weight_axis_floor(weights, kept_weight)
    ax.set_ylim(floor, 3.0)  # room above a weight of 1 for its printed value
    ax.set_xlim(-0.6, K - 0.4)
    for position, k in zip(positions, order, strict=True):
        if on[k]:
            ax.annotate(
                f"{weights[k]:.3f}",
                (position, weights[k]),
                textcoords="offset points",
                xytext=(0, 2),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    below = weights[order] < floor
    if below.any():
        ax.plot(
            positions[below],
            np.full(below.sum(), floor),
            linestyle="none",
            marker="v",
            color=plots.OFF_GREY,
            markersize=5,
            clip_on=False,
            zorder=3,
        )
    ax.axhline(kept_weight, color="black", linestyle="--", linewidth=1.0, zorder=3)
    ax.set_xticks(positions, [str(int(k)) for k in order], fontsize=8 if K > 20 else 9)
    for label, k in zip(ax.get_xticklabels(), order, strict=True):
        if not on[k]:
            label.set_color(plots.OFF_GREY)
    ax.set_xlabel("component, heaviest first")
    ax.set_ylabel("weight (log scale)")
    ax.grid(True, axis="y", which="major", linewidth=0.5, alpha=0.5, zorder=0)
    ax.set_title(title)
    n_off = K - int(on.sum())
    handles = [
        Line2D(
            [],
            [],
            color="black",
            linestyle="--",
            linewidth=1.0,
            label=f"kept from weight {kept_weight:g}",
        ),
    ]
    if n_off:
        off_total = float(weights[~on].sum())
        handles.append(
            Patch(
                facecolor=OFF_FILL,
                edgecolor=plots.OFF_GREY,
                hatch=OFF_HATCH,
                label=f"switched off: {n_off}, total weight {off_total:.2g}",
            )
        )
    if below.any():
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="v",
                color=plots.OFF_GREY,
                label=f"weight below {floor:.0e}",
            )
        )
    ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.9)
    return figure


# ----------------------------------------------------------------------------- a run's figures
# As in plots: each takes a run's Result and returns a Figure, or None when it does not
# apply (pcagmm.workflow.artifacts.FIGURES names them).


def uncertainty_figure(result):
    """Each row's classification uncertainty, ``1 - max_k z_ik``, or None with fewer than
    2 components.

    The probabilities are the fitted mixture's (``predict_proba``) on every component
    of the projection: with more than two, the real classification uncertainty, drawn
    at the rows' first two coordinates (a row that looks sure in the plane may not be).
    """
    if result.reducer.n_components_ < 2:
        return None
    Z = plots._projection(result)
    gmm = result.gmm
    with np.errstate(all="ignore"):
        probabilities = np.asarray(gmm.predict_proba(Z))
    d = Z.shape[1]
    return uncertainty_scatter(
        Z,
        probabilities,
        title=plots._title(result, f"classification uncertainty, {gmm.n_components} clusters"),
        explained_ratio=result.reducer.explained_variance_ratio_,
        embedding=plots._embedding(result),
        note=f"(probabilities from all {d} components)" if d > 2 else None,
    )


def density_figure(result):
    """The mixture's density with contours enclosing :data:`HDR_SHARES` of its mass, over
    the rows; with more than two components, the density of its marginal on the first
    two. None with fewer than 2 components."""
    if result.reducer.n_components_ < 2:
        return None
    Z = plots._projection(result)
    gmm = result.gmm
    weights, means, covariances = plane_mixture(gmm)
    return density_contours(
        Z,
        weights,
        means,
        covariances,
        title=plots._title(
            result,
            f"mixture density, {gmm.n_components} components, {gmm.covariance_type} covariance",
        ),
        rng=np.random.default_rng(HDR_SEED),
        explained_ratio=result.reducer.explained_variance_ratio_,
        embedding=plots._embedding(result),
        note=f"(its marginal on the first 2 of {Z.shape[1]} axes)" if Z.shape[1] > 2 else None,
    )


def weights_figure(result):
    """A variational mixture's weights, heaviest first, on a log scale: the kept in their
    clusters' colours, the switched off grey, the line from which a component is kept.
    None for EM's mixture (``result.kept`` is None), which switches none off."""
    kept = result.kept
    if kept is None:
        return None
    gmm = result.gmm
    K, n_kept = gmm.weights_.shape[0], len(kept)
    return weight_bars(
        gmm.weights_,
        kept,
        result.kept_weight,
        title=plots._title(
            result,
            f"mixture weights, {n_kept} of {K} components kept (weight ≥ {result.kept_weight:g})",
        ),
    )
