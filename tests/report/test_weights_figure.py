"""A variational mixture's figures: weights.png, and the switched-off components in
gmm_clusters.png and cluster_means.png, read back from what was drawn.

The weights figure's bars must be the fitted weights sorted heaviest first, each named by
its component; a kept component's bar in the colour its ellipses have in the clusters
figure (matplotlib's tab10, looked up here), a switched-off one grey; the dashed line at
the run's ``kept_weight``; the title's counts and the legend's total weight those counted
here from the weights. An EM run draws no weights figure, and its clusters figure keeps
every component alike.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, Rectangle

import pcagmm
from page_reading import image_data
from pcagmm.report import mixture_plots, plots

#: a component of at least this weight is kept (the run's default)
KEPT_WEIGHT = 0.01


def three_groups(seed=0):
    """Three well-separated groups of 300 rows in 5 dimensions."""
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(300, 5)) + centre for centre in (0, 6, 12)])


@pytest.fixture(scope="module")
def bayesian_run():
    """Ten components for three groups: a small concentration switches most off."""
    return pcagmm.run(three_groups(), clusters=10, mixture="bayesian",
                      weight_concentration=1e-3, max_iter=500, write=False)  # fmt: skip


@pytest.fixture(scope="module")
def em_run():
    return pcagmm.run(three_groups(), clusters=3, write=False)


def bars_of(figure):
    """The bars drawn (the legend's handles are not in ``ax.patches``)."""
    return [p for p in figure.axes[0].patches if isinstance(p, Rectangle)]


def kept_here(weights, threshold=KEPT_WEIGHT) -> set[int]:
    return {k for k, w in enumerate(weights) if w >= threshold}


def tab10(k):
    return colormaps["tab10"](k)


# ------------------------------------------------------------------------ the weights figure


def test_the_run_keeps_three_of_ten_components(bayesian_run):
    weights = bayesian_run.gmm.weights_
    assert len(weights) == 10
    assert set(bayesian_run.kept.tolist()) == kept_here(weights)
    assert len(bayesian_run.kept) == 3
    assert weights.min() < 1e-12  # some below the figure's axis


def test_the_bars_are_the_weights_heaviest_first_named_by_component(bayesian_run):
    weights = bayesian_run.gmm.weights_
    figure = bayesian_run.plot_weights()
    ax = figure.axes[0]
    bars = bars_of(figure)
    order = sorted(range(10), key=lambda k: -weights[k])
    assert [bar.get_height() for bar in bars] == [weights[k] for k in order]
    assert [round(bar.get_x() + bar.get_width() / 2) for bar in bars] == list(range(10))
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(k) for k in order]
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    assert low < KEPT_WEIGHT < 1 < high
    # the kept ones print their weight above the bar
    printed = [t.get_text() for t in ax.texts]
    assert printed == [f"{weights[k]:.3f}" for k in order[:3]]


def test_kept_bars_have_their_clusters_colour_and_switched_off_ones_are_grey(bayesian_run):
    weights = bayesian_run.gmm.weights_
    figure = bayesian_run.plot_weights()
    clusters = bayesian_run.plot_clusters().axes[0]
    order = sorted(range(10), key=lambda k: -weights[k])
    kept = kept_here(weights)
    # the clusters figure draws the kept components' 1, 2, 3 sigma ellipses in order
    solid = [p for p in clusters.patches if isinstance(p, Ellipse) and p.get_linestyle() == "solid"]
    ellipse_colour = {k: solid[3 * i].get_edgecolor() for i, k in enumerate(sorted(kept))}
    for bar, k in zip(bars_of(figure), order, strict=True):
        face = bar.get_facecolor()
        if k in kept:
            assert face == pytest.approx(tab10(k)), k
            assert face[:3] == pytest.approx(ellipse_colour[k][:3]), k
            assert not bar.get_hatch()
        else:
            assert face[:3] == pytest.approx(mixture_plots.OFF_FILL), k
            assert face[0] == face[1] == face[2]  # grey
            assert bar.get_hatch() == mixture_plots.OFF_HATCH
    labels = figure.axes[0].get_xticklabels()
    for label, k in zip(labels, order, strict=True):
        grey = to_rgba(label.get_color())[:3] == pytest.approx(plots.OFF_GREY)
        assert grey is (k not in kept), k


def test_the_dashed_line_is_at_the_kept_weight_and_named(bayesian_run):
    ax = bayesian_run.plot_weights().axes[0]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    assert list(dashed[0].get_ydata()) == [KEPT_WEIGHT, KEPT_WEIGHT]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "kept from weight 0.01"


def test_the_title_and_legend_count_the_kept_and_the_switched_off(bayesian_run):
    weights = bayesian_run.gmm.weights_
    ax = bayesian_run.plot_weights().axes[0]
    found = re.fullmatch(
        r"array: mixture weights, (\d+) of (\d+) components kept \(weight ≥ 0\.01\)",
        ax.get_title(),
    )
    assert found and (int(found.group(1)), int(found.group(2))) == (3, 10)
    off_total = sum(w for k, w in enumerate(weights) if k not in kept_here(weights))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1] == f"switched off: 7, total weight {off_total:.2g}"
    assert legend[2] == "weight below 1e-12"


def test_weights_below_the_axis_are_marked_at_its_foot(bayesian_run):
    weights = bayesian_run.gmm.weights_
    ax = bayesian_run.plot_weights().axes[0]
    low = ax.get_ylim()[0]
    assert low == mixture_plots.WEIGHT_FLOOR
    order = sorted(range(10), key=lambda k: -weights[k])
    below = [i for i, k in enumerate(order) if weights[k] < low]
    assert below  # the smallest weights here are ~1e-18
    markers = [line for line in ax.lines if line.get_marker() == "v"]
    assert len(markers) == 1
    assert list(markers[0].get_xdata()) == below
    assert set(markers[0].get_ydata()) == {low}


def test_another_threshold_keeps_other_components(bayesian_run):
    """The run's own ``kept_weight`` sets the colours, the line and the counts."""
    weights = bayesian_run.gmm.weights_
    threshold = float(np.sort(weights)[-5]) * 0.99  # five kept
    lowered = copy.copy(bayesian_run)
    lowered.config = {**bayesian_run.config, "kept_weight": threshold}
    ax = lowered.plot_weights().axes[0]
    assert f"5 of 10 components kept (weight ≥ {threshold:g})" in ax.get_title()
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert list(dashed[0].get_ydata()) == [threshold, threshold]
    grey = [bar.get_hatch() == mixture_plots.OFF_HATCH for bar in bars_of(lowered.plot_weights())]
    assert grey == [False] * 5 + [True] * 5
    assert ax.get_ylim()[0] < threshold


def test_with_every_component_kept_the_legend_names_only_the_line():
    weights = np.array([0.5, 0.3, 0.2])
    figure = mixture_plots.weight_bars(weights, [0, 1, 2], 0.01, title="t")
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["kept from weight 0.01"]
    assert [bar.get_facecolor() for bar in bars_of(figure)] == [tab10(k) for k in range(3)]
    assert ax.get_ylim()[0] < 0.01  # the threshold's line is inside


def test_an_em_run_draws_no_weights_figure(em_run):
    assert em_run.kept is None
    assert em_run.plot_weights() is None
    assert mixture_plots.weights_figure(em_run) is None


def test_a_run_folder_holds_weights_png_only_for_a_bayesian_run(tmp_path):
    X = three_groups(seed=1)
    bayesian = pcagmm.run(X, out=str(tmp_path / "vb"), clusters=6, mixture="bayesian",
                          weight_concentration=1e-3, max_iter=500, plots=True,
                          report=False)  # fmt: skip
    assert "weights.png" in bayesian.files
    assert (tmp_path / "vb" / "weights.png").stat().st_size > 5_000
    em = pcagmm.run(X, out=str(tmp_path / "em"), clusters=3, plots=True, report=False)
    assert "weights.png" not in em.files
    assert not (tmp_path / "em" / "weights.png").exists()


# ------------------------------------------------------------------------ the clusters figure


def test_switched_off_components_are_one_dashed_grey_ellipse_each(bayesian_run):
    gmm = bayesian_run.gmm
    ax = bayesian_run.plot_clusters().axes[0]
    kept = kept_here(gmm.weights_)
    off = sorted(set(range(10)) - kept)
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    solid = [p for p in ellipses if p.get_linestyle() == "solid"]
    dashed = [p for p in ellipses if p.get_linestyle() != "solid"]
    assert len(solid) == 3 * len(kept) and len(dashed) == len(off)
    for patch, k in zip(dashed, off, strict=True):
        np.testing.assert_allclose(patch.center, gmm.means_[k, :2])
        assert patch.get_edgecolor()[:3] == pytest.approx(plots.OFF_GREY)
        # one sigma: its width is that of the component's 1 sigma ellipse
        width, height, _ = plots.ellipse_axes(plots.plane_covariances(gmm)[k])
        assert (patch.width, patch.height) == pytest.approx((width, height))
    numbers = sorted(int(t.get_text()) for t in ax.texts if t.get_text().isdigit())
    assert numbers == sorted(kept)  # the switched off are not numbered
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == [f"{k}: weight {gmm.weights_[k]:.3f}" for k in sorted(kept)]
    assert legend[3] == f"switched off ({len(off)}), 1 sigma:\n" + ", ".join(map(str, off))
    assert "3 of 10 components kept" in ax.get_title()


def test_an_em_runs_clusters_figure_draws_every_component_alike(em_run):
    gmm = em_run.gmm
    ax = em_run.plot_clusters().axes[0]
    assert ax.get_title() == "array: Gaussian mixture, 3 components, full covariance"
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 9 and all(p.get_linestyle() == "solid" for p in ellipses)
    for index, patch in enumerate(ellipses):
        assert patch.get_edgecolor()[:3] == pytest.approx(tab10(index // 3)[:3])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"{k}: weight {w:.3f}" for k, w in enumerate(gmm.weights_)]
    assert [t.get_text() for t in ax.texts] == ["0", "1", "2"]
    assert not any(isinstance(line, Line2D) and line.get_linestyle() == "--" for line in ax.lines)


# ------------------------------------------------------------------------ the cluster means


@pytest.fixture(scope="module")
def image_runs(tmp_path_factory):
    path = image_data(tmp_path_factory.mktemp("images"), n=500, seed=3)
    bayesian = pcagmm.run(str(path), clusters=6, mixture="bayesian",
                          weight_concentration=1e-3, max_iter=500, write=False)  # fmt: skip
    em = pcagmm.run(str(path), clusters=3, write=False)
    return bayesian, em


def test_switched_off_means_are_titled_off_and_faded(image_runs):
    bayesian, _ = image_runs
    weights = bayesian.gmm.weights_
    kept = kept_here(weights)
    assert 0 < len(kept) < 6
    axes = [ax for ax in bayesian.plot_means().axes if ax.images]
    assert len(axes) == 6
    for k, ax in enumerate(axes):
        title = ax.get_title()
        if k in kept:
            assert title.endswith(f"\nw={weights[k]:.2f}") and "off" not in title, k
            assert ax.images[0].get_alpha() is None
        else:
            assert title.startswith(f"cluster {k}") and " · off\n" in title, k
            assert title.endswith(f"\nw={weights[k]:.2g}"), k
            assert ax.images[0].get_alpha() == plots.OFF_IMAGE_ALPHA


def test_an_em_runs_means_have_no_off(image_runs):
    _, em = image_runs
    weights = em.gmm.weights_
    for k, ax in enumerate(ax for ax in em.plot_means().axes if ax.images):
        assert "off" not in ax.get_title()
        assert ax.get_title().endswith(f"\nw={weights[k]:.2f}")
        assert ax.images[0].get_alpha() is None
