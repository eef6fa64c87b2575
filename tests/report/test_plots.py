"""The figures, read back from what was drawn and compared with independent computations.

Each ellipse's outline must be the set of points at Mahalanobis distance 1, 2, 3 from
its component's mean under that component's covariance (computed here from the fitted
parameters, not with the module's helpers); the density image's pixels must be the
colour and opacity rule applied by hand; the colour bar must name the classes.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.patches import Ellipse

from pcagmm import GaussianMixture
from pcagmm.report import plots

TYPES = ("full", "tied", "diag", "spherical")


def dense_plane_covariance(gmm, k: int) -> np.ndarray:
    """Component k's 2 x 2 covariance of the first two features, by the definitions."""
    c = gmm.covariances_
    return {
        "full": lambda: c[k][:2, :2],
        "tied": lambda: c[:2, :2],
        "diag": lambda: np.diag(c[k][:2]),
        "spherical": lambda: np.eye(2) * c[k],
    }[gmm.covariance_type]()


def elongated_data(seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for centre, angle in (((0, 0), 0.5), ((8, 3), -1.0), ((-6, 6), 2.0)):
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        parts.append(rng.normal(size=(400, 2)) * (3.0, 0.7) @ rotation.T + centre)
    return np.vstack(parts)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_ellipses_are_the_1_2_3_sigma_contours_of_each_component(covariance_type):
    Z = elongated_data()
    gmm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(Z)
    figure = plots.gmm_clusters(Z, gmm.predict(Z), gmm, title="t")
    ax = figure.axes[0]
    drawn = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(drawn) == 3 * len(plots.SIGMAS)
    circle = np.column_stack([np.cos(t := np.linspace(0, 2 * np.pi, 37)), np.sin(t)])
    for index, ellipse in enumerate(drawn):
        k, sigma = divmod(index, 3)
        sigma = plots.SIGMAS[sigma]
        np.testing.assert_allclose(ellipse.center, gmm.means_[k], rtol=1e-12)
        outline = ellipse.get_patch_transform().transform(circle) - gmm.means_[k]
        precision = np.linalg.inv(dense_plane_covariance(gmm, k))
        distances = np.einsum("ni,ij,nj->n", outline, precision, outline)
        np.testing.assert_allclose(distances, sigma**2, rtol=1e-9)
        # opacity follows the weight: the heaviest component is opaque
        assert ellipse.get_alpha() == pytest.approx(
            0.25 + 0.75 * gmm.weights_[k] / gmm.weights_.max()
        )
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == [f"{k}: weight {w:.3f}" for k, w in enumerate(gmm.weights_)]


def test_density_pixels_follow_the_colour_and_opacity_rule():
    # three points in one pixel (two of class 0, one of class 1), one alone, empty pixels
    Z = np.array([[0.1, 0.1], [0.15, 0.12], [0.12, 0.18], [3.5, 1.5]])
    classes = np.array([0, 0, 1, 1])
    colours = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    image = plots.density_image(Z, classes, colours, extent=(0, 4, 0, 2), width=4, height=2)
    assert image.shape == (2, 4, 4)
    alpha = plots.MARKER_ALPHA
    np.testing.assert_allclose(image[0, 0], [2 / 3, 0, 1 / 3, 1 - (1 - alpha) ** 3])
    # rows count up from the bottom (the image is drawn with origin="lower")
    np.testing.assert_allclose(image[1, 3], [0, 0, 1, alpha])
    np.testing.assert_allclose(image[0, 3], [0, 0, 0, 0])


def test_the_scatter_draws_the_density_image_and_names_the_classes():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(500, 2))
    labels = rng.integers(0, 10, size=500)
    figure = plots.pca_scatter(Z, labels, title="t", explained_ratio=np.array([0.1, 0.05]))
    ax, bar = figure.axes
    extent = ax.images[0].get_extent()
    expected = plots.density_image(Z, labels, [plots_colour(i) for i in range(10)], extent)
    np.testing.assert_allclose(ax.images[0].get_array(), expected)
    assert bar.get_ylabel() == "Digit Label"
    assert [t.get_text() for t in bar.get_yticklabels()] == [str(i) for i in range(10)]
    assert ax.get_xlabel() == "Principal component 1 (10.0% of the variance)"
    named = plots.pca_scatter(
        Z, labels % 3, title="t", label_name="Label", class_names=["shirt", "shoe", "bag"]
    )
    assert [t.get_text() for t in named.axes[1].get_yticklabels()] == ["shirt", "shoe", "bag"]
    assert named.axes[1].get_ylabel() == "Label"


def plots_colour(i: int):
    from matplotlib import colormaps

    return colormaps["tab10"](i)[:3]


def test_cluster_mean_images_are_the_inverse_projection_of_the_means():
    rng = np.random.default_rng(2)
    images = rng.uniform(-20, 300, size=(3, 12))  # out-of-range grey levels are clipped
    gmm = GaussianMixture(3)
    gmm.weights_ = np.array([0.5, 0.3, 0.2])
    figure = plots.cluster_means(images, (3, 4), gmm, {0: 7, 2: 1}, title="means")
    drawn = [ax.images[0].get_array() for ax in figure.axes if ax.images]
    assert len(drawn) == 3
    for k in range(3):
        np.testing.assert_allclose(drawn[k], np.clip(images[k], 0, 255).reshape(3, 4))
    titles = [ax.get_title() for ax in figure.axes if ax.images]
    assert titles == ["cluster 0\n→ 7\nw=0.50", "cluster 1\nw=0.30", "cluster 2\n→ 1\nw=0.20"]


def test_a_saved_figure_has_the_pixels_of_matplotlibs_default_png(tmp_path):
    """save_figure writes PNGs at zlib level 1 (faster than Pillow's default 6): the file
    differs, the pixels must not (tolerance: none)."""
    from PIL import Image

    from pcagmm.workflow.artifacts import DPI, PNG_COMPRESS_LEVEL, save_figure

    data = elongated_data()
    gmm = GaussianMixture(3, random_state=0).fit(data)
    figure = plots.gmm_clusters(data, gmm.predict(data), gmm, title="three clusters")
    save_figure(figure, tmp_path / "ours.png")
    figure.savefig(tmp_path / "default.png", dpi=DPI)
    ours = np.asarray(Image.open(tmp_path / "ours.png"))
    default = np.asarray(Image.open(tmp_path / "default.png"))
    assert ours.shape == default.shape and ours.shape[2] == 4
    assert np.array_equal(ours, default)
    assert (tmp_path / "ours.png").read_bytes() != (tmp_path / "default.png").read_bytes()
    assert PNG_COMPRESS_LEVEL == 1
    save_figure(figure, tmp_path / "figure.svg")  # other formats are saved as they were
    assert (tmp_path / "figure.svg").read_text().lstrip().startswith("<?xml")
