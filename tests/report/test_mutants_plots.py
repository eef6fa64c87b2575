"""The cluster-means figure: what mutation testing (tools/mutation.md) found untested.

The grid must hold ten panels a row, one panel per cluster and nothing drawn in the
spare cells; every panel's grey scale must be the same (0 white, the brightest mean
black); the texts must fit in the figure without overlapping one another; a run
without a matching names no digit. Checked on the drawn figure (rendered with Agg),
against the counts and values computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pcagmm import GaussianMixture
from pcagmm.report import plots


def mixture(K):
    gmm = GaussianMixture(K)
    weights = np.arange(1.0, K + 1)
    gmm.weights_ = weights / weights.sum()
    return gmm


def means_figure(K, matching="digits", seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-20, 300, size=(K, 28 * 28))
    if matching == "digits":
        matching = {k: k % 10 for k in range(K)}
    figure = plots.cluster_means(images, (28, 28), mixture(K), matching, title="Cluster means")
    return figure, images


@pytest.mark.parametrize("K", [1, 3, 10, 12, 25])
def test_ten_panels_a_row_one_per_cluster(K):
    figure, _ = means_figure(K)
    columns, rows = min(K, 10), math.ceil(K / 10)
    assert len(figure.axes) == rows * columns
    # row-major from the top left, as the clusters are numbered
    cells = [ax.get_subplotspec() for ax in figure.axes]
    assert [(c.rowspan.start, c.colspan.start) for c in cells] == [
        divmod(i, columns) for i in range(rows * columns)
    ]
    assert all(c.get_gridspec().get_geometry() == (rows, columns) for c in cells)
    assert [bool(ax.images) for ax in figure.axes] == [k < K for k in range(rows * columns)]
    assert all(not ax.axison for ax in figure.axes)  # no frame or ticks, spare cells blank
    assert all(ax.get_title() == "" for ax in figure.axes[K:])


def test_every_panel_shares_one_grey_scale():
    # no mean is 0 anywhere: the scale still starts at 0 (white), not at the faintest
    images = np.random.default_rng(3).uniform(10, 200, size=(4, 12))
    figure = plots.cluster_means(images, (3, 4), mixture(4), None, title="t")
    for ax in figure.axes:
        image = ax.images[0]
        assert image.get_cmap().name == "gray_r"  # ink dark on white paper
        assert image.get_clim() == (0.0, float(images.max()))
    # means that are all 0 (white): still a scale of positive width, not a singular one
    assert plots.cluster_means(np.zeros((2, 4)), (2, 2), mixture(2), None, title="t").axes[
        0
    ].images[0].get_clim() == (0.0, 1.0)


@pytest.mark.parametrize("K", [3, 10, 12])
def test_the_texts_and_panels_fit_in_the_figure_without_overlapping(K):
    """Every panel and text inside the page; no title over a panel or another title;
    the figure's title above every panel. (With two rows the figure's title touches
    the first row's titles, by a few pixels: left as it is, see tools/mutation.md.)"""
    figure, _ = means_figure(K)
    figure.canvas.draw()  # the panels take their final (square image) shape
    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    assert figure.get_suptitle() == "Cluster means"
    suptitle = figure._suptitle.get_window_extent(renderer)
    titles = [ax.title.get_window_extent(renderer) for ax in figure.axes if ax.get_title()]
    panels = [ax.get_window_extent(renderer) for ax in figure.axes if ax.images]
    for box in [suptitle, *titles, *panels]:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    for i, a in enumerate(titles):
        assert not any(a.overlaps(b) for b in titles[i + 1 :])
        assert not any(a.overlaps(panel) for panel in panels)
    assert all(suptitle.y0 > panel.y1 for panel in panels)


def test_without_a_matching_the_titles_name_no_digit():
    figure, _ = means_figure(3, matching=None)
    assert [ax.get_title() for ax in figure.axes] == [
        "cluster 0\nw=0.17",
        "cluster 1\nw=0.33",
        "cluster 2\nw=0.50",
    ]


# ----------------------------------------------------------------------------- the other figures


def test_a_point_on_the_far_edges_lands_in_the_last_pixel_away_from_the_origin():
    """Pixels are found from the extent's corner (x0, y0), not the origin; a point on
    the top or right edge belongs to the last row or column."""
    Z = np.array([[10.5, -4.5], [14.0, -2.0], [10.0, -2.0]])
    image = plots.density_image(
        Z, np.zeros(3, dtype=int), [(1.0, 0.0, 0.0)], extent=(10, 14, -5, -2), width=4, height=3
    )
    seen = np.argwhere(image[..., 3] > 0).tolist()
    assert sorted(seen) == [[0, 0], [2, 0], [2, 3]]


def test_the_scatter_frames_the_points_and_labels_the_axes():
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(300, 2)) * (5.0, 0.5) + (100.0, -40.0)
    figure = plots.pca_scatter(Z, None, title="t")
    ax = figure.axes[0]
    extent = ax.images[0].get_extent()
    assert ax.get_xlim() == pytest.approx(extent[:2]) and ax.get_ylim() == pytest.approx(extent[2:])
    for low, high, values in ((*ax.get_xlim(), Z[:, 0]), (*ax.get_ylim(), Z[:, 1])):
        span = values.max() - values.min()
        assert low < values.min() and values.max() < high  # every point inside the frame
        assert high - low < 1.2 * span  # and the points fill it
    assert [ax.get_xlabel(), ax.get_ylabel()] == ["Principal component 1", "Principal component 2"]
    assert_inside_the_page(figure)


def assert_inside_the_page(figure):
    figure.canvas.draw()
    page = figure.bbox
    for ax in figure.axes:
        box = ax.get_window_extent()
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1


@pytest.mark.parametrize("n", [3, 12, 25])
def test_the_colour_bar_shows_each_class_in_the_colour_of_its_points(n):
    """The colour bar's colour at class i's tick is the colour its points are drawn in
    (tab10 up to 10 classes, tab20 beyond, repeating past 20). Mutation testing led
    here: the bar took ``cmap.resampled(n)``, n colours spread over the whole map, so
    3 classes drawn blue, orange, green were named blue, brown, cyan (fixed)."""
    from matplotlib import colormaps

    rng = np.random.default_rng(5)
    Z = rng.normal(size=(40 * n, 2))
    labels = np.repeat(np.arange(n), 40)
    figure = plots.pca_scatter(Z, labels, title="t")
    colourbar = figure.axes[1]._colorbar
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    for i in range(n):
        shown = colourbar.cmap(colourbar.norm(i))[:3]
        np.testing.assert_allclose(shown, cmap(i % cmap.N)[:3], err_msg=f"class {i}")
    assert_inside_the_page(figure)


def clusters_figure_of(K, d=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=8.0, size=(K, d))
    Z = np.vstack([c + rng.normal(size=(60, d)) for c in centres])
    gmm = GaussianMixture(K, random_state=0).fit(Z)
    return plots.gmm_clusters(Z, gmm.predict(Z), gmm, title="t"), gmm


@pytest.mark.parametrize("K", [3, 11])
def test_each_cluster_has_its_own_colour_number_and_legend_entry(K):
    figure, gmm = clusters_figure_of(K)
    ax = figure.axes[0]
    from matplotlib.patches import Ellipse

    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    colours = [tuple(ellipses[3 * k].get_edgecolor()[:3]) for k in range(K)]
    assert len(set(colours)) == K  # no two clusters share a colour
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "cluster (1, 2, 3 sigma)"
    handles = legend.legend_handles
    assert [tuple(h.get_edgecolor()[:3]) for h in handles] == colours
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    assert [t.get_text() for t in numbers] == [str(k) for k in range(K)]
    for k, text in enumerate(numbers):
        np.testing.assert_allclose(text.xy, gmm.means_[k, :2])
    assert_inside_the_page(figure)


# ----------------------------------------------------------------------------- a run's figures


def run_result(target_names, image_shape=(2, 3), matching=None, seed=0):
    """A run's Result, built from real fits (its data set a stand-in with what the
    figures read)."""
    from types import SimpleNamespace

    from pcagmm import PCA
    from pcagmm.workflow.result import Result

    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), 50)
    X = rng.normal(size=(150, 6)) + 6.0 * y[:, np.newaxis] * rng.normal(size=6)
    pca = PCA(2).fit(X)
    Z = pca.transform(X)
    gmm = GaussianMixture(3, random_state=0).fit(Z)
    dataset = SimpleNamespace(
        name="toy", y=y, target_names=target_names, image_shape=image_shape, X=X
    )
    agreement = None if matching is None else SimpleNamespace(matching=matching)
    return Result({}, dataset, pca, gmm, Z, gmm.predict(Z), agreement, timings={})


def test_a_runs_figures_name_the_data_the_labels_and_the_clusters():
    digits = run_result(("0", "1", "2"), matching={0: "1", 1: "0", 2: "2"})
    scatter = plots.scatter_figure(digits)
    assert scatter.axes[0].get_title() == "toy: PCA projection"
    assert scatter.axes[1].get_ylabel() == "Digit Label"
    assert [t.get_text() for t in scatter.axes[1].get_yticklabels()] == ["0", "1", "2"]
    clusters = plots.clusters_figure(digits)
    assert clusters.axes[0].get_title() == ("toy: Gaussian mixture, 3 components, full covariance")
    means = plots.means_figure(digits)
    assert means.get_suptitle() == "toy: Cluster means in image space"
    images = digits.reducer.inverse_transform(digits.gmm.means_)
    for k, ax in enumerate(means.axes):
        np.testing.assert_allclose(
            ax.images[0].get_array(), np.clip(images[k], 0, 255).reshape(2, 3)
        )
        assert ax.get_title().startswith(f"cluster {k}\n→ {digits.agreement.matching[k]}\n")

    clothes = run_result(("shirt", "shoe", "bag"))
    scatter = plots.scatter_figure(clothes)
    assert scatter.axes[1].get_ylabel() == "Label"
    assert [t.get_text() for t in scatter.axes[1].get_yticklabels()] == ["shirt", "shoe", "bag"]
    unnamed = plots.scatter_figure(run_result(None))
    assert unnamed.axes[1].get_ylabel() == "Label"
    assert [t.get_text() for t in unnamed.axes[1].get_yticklabels()] == ["0", "1", "2"]
    assert plots.means_figure(run_result(None, image_shape=None)) is None
