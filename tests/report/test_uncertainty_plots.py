"""The mixture's uncertainty and density figures (issue 27), read back from what was
drawn and compared with independent computations.

The uncertainty figure's pixels must be the colour bar's colours of ``1 - max_k z_ik``
with ``z`` computed here with scipy.stats (not the estimator's ``predict_proba``), the
unsure rows on top; its printed share must be a direct count. The density figure's
contour levels must enclose their shares of the mixture's mass -- checked on a fresh
sample drawn here (another seed, another sampler) -- and its drawn contours must lie
on their levels; the marginal density must be scipy's.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import Normalize
from scipy.stats import chi2, multivariate_normal

import pcagmm
from pcagmm import GaussianMixture
from pcagmm.report import mixture_plots, plots

TYPES = ("full", "tied", "diag", "spherical")
#: Monte-Carlo tolerance in standard errors: a check fails by chance with probability
#: below 6e-7, so the tests pass for any seed in practice
SIGMAS = 5.0
#: how far a drawn contour may stray from its level (log-density, nats): linear
#: interpolation on the figure's 200 x 200 grid (measured: < 0.003 on these data)
CONTOUR_TOLERANCE = 0.01


def blobs(seed=0, d=2, n=(300, 300, 300), apart=1.0):
    """Three overlapping Gaussian blobs (the third elongated), so uncertainties spread;
    ``apart`` scales the distances between their centres."""
    rng = np.random.default_rng(seed)
    centres = apart * np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -1.0], [-2.0, 3.0, 1.0]])[:, :d]
    scales = np.array([[1.0, 1.0, 1.0], [0.6, 0.6, 0.8], [2.0, 0.7, 1.2]])[:, :d]
    return np.vstack(
        [rng.normal(c, s, size=(m, d)) for c, s, m in zip(centres, scales, n, strict=True)]
    )


def dense_covariances(gmm) -> np.ndarray:
    """Each component's d x d covariance, by the definitions of the four types."""
    K, d = gmm.means_.shape
    c = gmm.covariances_
    return {
        "full": lambda: c,
        "tied": lambda: np.broadcast_to(c, (K, d, d)),
        "diag": lambda: np.stack([np.diag(v) for v in c]),
        "spherical": lambda: np.stack([np.eye(d) * v for v in c]),
    }[gmm.covariance_type]()


def scipy_log_density(points, weights, means, covariances) -> np.ndarray:
    """log sum_k w_k N(x | mu_k, Sigma_k) with scipy.stats, one component at a time."""
    logs = np.column_stack(
        [
            np.log(w) + multivariate_normal(m, c).logpdf(points)
            for w, m, c in zip(weights, means, covariances, strict=True)
        ]
    )
    top = logs.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(logs - top).sum(axis=1, keepdims=True)))[:, 0]


def scipy_uncertainty(Z, gmm) -> np.ndarray:
    """1 - max_k z_ik with z from scipy.stats densities of the fitted parameters."""
    covariances = dense_covariances(gmm)
    densities = np.column_stack(
        [
            w * multivariate_normal(m, c).pdf(Z)
            for w, m, c in zip(gmm.weights_, gmm.means_, covariances, strict=True)
        ]
    )
    return 1.0 - (densities / densities.sum(axis=1, keepdims=True)).max(axis=1)


def marginal(gmm, axes=(0, 1)):
    """The mixture's marginal on two axes, from the dense covariances."""
    axes = list(axes)
    return gmm.weights_, gmm.means_[:, axes], dense_covariances(gmm)[:, axes][:, :, axes]


def fresh_sample(weights, means, covariances, n, seed):
    """Draws from a mixture by another route than the module's (component labels by
    ``choice``, then numpy's ``multivariate_normal``), from another seed."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(weights), size=n, p=np.asarray(weights) / np.sum(weights))
    out = np.empty((n, means.shape[1]))
    for k in range(len(weights)):
        rows = labels == k
        out[rows] = rng.multivariate_normal(means[k], covariances[k], size=rows.sum())
    return out


# ----------------------------------------------------------------------------- the numbers


@pytest.mark.parametrize("d", [2, 3])
def test_log_density_is_scipys_mixture_density(d):
    rng = np.random.default_rng(d)
    K = 4
    weights = rng.dirichlet(np.ones(K))
    means = rng.normal(scale=3.0, size=(K, d)) + 500.0  # far from the origin
    A = rng.normal(size=(K, d, d))
    covariances = A @ A.transpose(0, 2, 1) + 0.3 * np.eye(d)
    points = rng.normal(scale=4.0, size=(300, d)) + 500.0
    np.testing.assert_allclose(
        mixture_plots.log_density(points, weights, means, covariances),
        scipy_log_density(points, weights, means, covariances),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_plane_mixture_is_the_marginal_on_the_first_two_axes(covariance_type):
    Z = blobs(d=3)
    gmm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(Z)
    weights, means, covariances = mixture_plots.plane_mixture(gmm)
    points = Z[:200, :2]
    np.testing.assert_allclose(
        mixture_plots.log_density(points, weights, means, covariances),
        scipy_log_density(points, *marginal(gmm)),
        rtol=1e-10,
    )


def test_for_two_components_the_plane_mixture_is_the_mixture():
    Z = blobs()
    gmm = GaussianMixture(3, random_state=0).fit(Z)
    np.testing.assert_allclose(
        mixture_plots.log_density(Z, *mixture_plots.plane_mixture(gmm)),
        gmm.score_samples(Z),
        rtol=1e-10,
    )


def test_the_density_grid_is_the_density_at_its_points():
    gmm = GaussianMixture(3, random_state=0).fit(blobs())
    weights, means, covariances = mixture_plots.plane_mixture(gmm)
    xs, ys, values = mixture_plots.density_grid(
        weights, means, covariances, (-5, 6, -3, 7), points=31
    )
    assert xs.shape == ys.shape == (31,) and values.shape == (31, 31)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (-5, 6, -3, 7)
    i, j = 7, 19  # values[i, j] is at (xs[j], ys[i])
    expected = scipy_log_density([[xs[j], ys[i]]], weights, means, covariances)[0]
    assert values[i, j] == pytest.approx(expected, rel=1e-10)


def test_uncertainty_is_one_minus_the_largest_probability():
    probabilities = np.array([[1.0, 0.0, 0.0], [0.5, 0.3, 0.2], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(mixture_plots.uncertainty(probabilities), [0.0, 0.5, 2 / 3])
    assert mixture_plots.largest_uncertainty(3) == pytest.approx(2 / 3)
    assert mixture_plots.share_above([0.1, 0.5, 0.6, 0.9]) == 0.5  # 0.5 is not above 0.5


def test_the_draws_come_from_the_generator_passed_in():
    gmm = GaussianMixture(3, random_state=0).fit(blobs())
    parameters = mixture_plots.plane_mixture(gmm)
    first = mixture_plots.sample_mixture(*parameters, 500, np.random.default_rng(7))
    again = mixture_plots.sample_mixture(*parameters, 500, np.random.default_rng(7))
    other = mixture_plots.sample_mixture(*parameters, 500, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(
        mixture_plots.hdr_levels(*parameters), mixture_plots.hdr_levels(*parameters)
    )


def test_the_levels_of_one_gaussian_are_its_chi_square_ellipses():
    """One Gaussian: the region of share p is the ellipse of squared Mahalanobis radius
    chi2(2).ppf(p) = -2 log(1 - p), so its level is known exactly:
    -log(2 pi) - log|Sigma| / 2 + log(1 - p). The estimate's share is off by a binomial
    standard error sqrt(p (1 - p) / N), its level by that over (1 - p)."""
    covariance = np.array([[2.0, 0.6], [0.6, 0.5]])
    shares = np.asarray(mixture_plots.HDR_SHARES)
    levels = mixture_plots.hdr_levels(
        [1.0], [[3.0, -1.0]], [covariance], shares, rng=np.random.default_rng(11)
    )
    exact = -np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(covariance)) - chi2(2).ppf(shares) / 2
    error = np.sqrt(shares * (1 - shares) / mixture_plots.HDR_DRAWS) / (1 - shares)
    assert np.all(np.abs(levels - exact) < SIGMAS * error), (levels - exact) / error


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_each_level_encloses_its_share_of_a_fresh_sample(covariance_type):
    """The share of a fresh sample (another seed, another sampler) whose density is above
    a share's level is that share, within SIGMAS binomial standard errors: the level's
    own estimate from N draws and the fresh sample of M each add p (1 - p) / N (or M) to
    the variance."""
    gmm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(blobs(d=3))
    shares = np.asarray(mixture_plots.HDR_SHARES)
    levels = mixture_plots.hdr_levels(*mixture_plots.plane_mixture(gmm), shares)
    assert_levels_enclose_their_shares(levels, shares, *marginal(gmm), seed=20_271)


def assert_levels_enclose_their_shares(levels, shares, weights, means, covariances, seed):
    """The share of a fresh sample of 200,000 rows from the mixture (``seed``, scipy's
    sampler) whose density is above each level is its share, within SIGMAS binomial
    standard errors of the level's draws and of the sample."""
    M = 200_000
    fresh = fresh_sample(weights, means, covariances, M, seed=seed)
    density = scipy_log_density(fresh, weights, means, covariances)
    enclosed = np.array([np.mean(density >= level) for level in levels])
    error = np.sqrt(shares * (1 - shares) * (1 / mixture_plots.HDR_DRAWS + 1 / M))
    assert np.all(np.abs(enclosed - shares) < SIGMAS * error), (enclosed - shares) / error


def test_the_uncertainty_grid_keeps_the_most_uncertain_row_of_each_pixel():
    # two rows in pixel (0, 0): the unsure one (0.6 >= LARGE_FROM * 0.9) wins there and
    # covers the pixels around it; the sure one alone in pixel (3, 1) stays one pixel
    Z = np.array([[0.2, 0.2], [0.3, 0.3], [3.5, 1.5]])
    grid = mixture_plots.uncertainty_grid(
        Z, np.array([0.6, 0.1, 0.2]), (0, 4, 0, 2), top=0.9, width=4, height=2
    )
    expected = np.array([[0.6, 0.6, np.nan, np.nan], [0.6, 0.6, np.nan, 0.2]])
    np.testing.assert_array_equal(grid, expected)


# ----------------------------------------------------------------------------- the figures


def expected_uncertainty_grid(Z, u, extent, top, width, height):
    """The figure's pixels by hand: each row paints its pixel (the unsure, at least half
    the largest uncertainty, the 3 x 3 around it), the most uncertain wins."""
    x0, x1, y0, y1 = extent
    grid = np.full((height, width), np.nan)
    for (x, y), value in zip(Z[:, :2], u, strict=True):
        col = min(max(int((x - x0) / (x1 - x0) * width), 0), width - 1)
        row = min(max(int((y - y0) / (y1 - y0) * height), 0), height - 1)
        reach = 1 if value >= 0.5 * top else 0
        for r in range(row - reach, row + reach + 1):
            for c in range(col - reach, col + reach + 1):
                if 0 <= r < height and 0 <= c < width and not grid[r, c] >= value:
                    grid[r, c] = value
    return grid


def drawn_uncertainty(figure):
    """The image's values, its colours as drawn (RGBA), and the colour bar's axes."""
    ax, bar = figure.axes
    image = ax.images[0]
    values = np.ma.filled(np.ma.masked_invalid(image.get_array()).astype(float), np.nan)
    return ax, bar, image, values, image.to_rgba(image.get_array())


@pytest.mark.parametrize("d", [2, 3])
def test_the_uncertainty_colours_are_the_colour_bar_of_one_minus_max_probability(d):
    """Every pixel: the colour of the most uncertain row drawn over it (computed here from
    scipy's densities); for d = 3 the probabilities use all three components."""
    Z = blobs(d=d)
    gmm = GaussianMixture(3, random_state=0).fit(Z)
    u = scipy_uncertainty(Z, gmm)
    top = 1 - 1 / 3
    figure = mixture_plots.uncertainty_scatter(Z, gmm.predict_proba(Z), title="t")
    _, bar, image, values, rgba = drawn_uncertainty(figure)
    extent = image.get_extent()
    height, width = values.shape
    expected = expected_uncertainty_grid(Z, u, extent, top, width, height)
    np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
    np.testing.assert_allclose(values[~np.isnan(values)], expected[~np.isnan(expected)],
                               atol=1e-9)  # fmt: skip
    # the colours: matplotlib's magma_r over [0, 1 - 1/K], the colour bar's own map
    colours = colormaps["magma_r"](Normalize(0, top)(expected[~np.isnan(expected)]))
    np.testing.assert_allclose(rgba[~np.isnan(expected)], colours, atol=1e-12)
    assert np.all(rgba[np.isnan(expected)][:, 3] == 0)  # no row: transparent
    assert image.norm.vmin == 0 and image.norm.vmax == pytest.approx(top)
    assert bar.get_ylim() == pytest.approx((0, top))
    assert bar.get_ylabel() == "uncertainty, 1 - largest cluster probability"
    assert np.count_nonzero(u >= 0.5 * top) > 10  # the large dots are exercised


def test_the_uncertain_rows_are_drawn_large_and_on_top():
    """A sure row and an unsure one in the same pixel: the pixel is the unsure one's."""
    Z = blobs()
    gmm = GaussianMixture(3, random_state=0).fit(Z)
    u = scipy_uncertainty(Z, gmm)
    figure = mixture_plots.uncertainty_scatter(Z, gmm.predict_proba(Z), title="t")
    _, _, image, values, _ = drawn_uncertainty(figure)
    x0, x1, y0, y1 = image.get_extent()
    height, width = values.shape
    col = np.clip(((Z[:, 0] - x0) / (x1 - x0) * width).astype(int), 0, width - 1)
    row = np.clip(((Z[:, 1] - y0) / (y1 - y0) * height).astype(int), 0, height - 1)
    assert np.all(values[row, col] >= u - 1e-12)  # never painted over by a surer row
    unsure = np.flatnonzero(u >= 0.5 * (1 - 1 / 3))
    assert len(unsure) > 10
    for i in unsure:  # the 3 x 3 around it is at least as uncertain
        block = values[max(row[i] - 1, 0) : row[i] + 2, max(col[i] - 1, 0) : col[i] + 2]
        assert np.all(block >= u[i] - 1e-12)


def test_the_printed_share_is_the_count_of_rows_above_one_half():
    Z = blobs(seed=4)
    gmm = GaussianMixture(3, random_state=0).fit(Z)
    u = scipy_uncertainty(Z, gmm)
    figure = mixture_plots.uncertainty_scatter(Z, gmm.predict_proba(Z), title="t")
    texts = [t.get_text() for t in figure.axes[0].texts]
    found = [re.fullmatch(r"(\d+\.\d)% of rows have uncertainty above 0\.5", t) for t in texts]
    printed = [float(m.group(1)) for m in found if m]
    assert len(printed) == 1
    count = np.count_nonzero(u > 0.5)
    assert count > 0
    assert printed[0] == pytest.approx(100 * count / len(Z), abs=0.05)


def contour_set(figure):
    from matplotlib.contour import ContourSet

    (contours,) = [c for c in figure.axes[0].collections if isinstance(c, ContourSet)]
    return contours


@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_drawn_contours_lie_on_the_levels_of_their_shares(covariance_type):
    Z = blobs(d=3)
    gmm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(Z)
    weights, means, covariances = marginal(gmm)  # the marginal by the definitions
    figure = mixture_plots.density_contours(
        Z, *mixture_plots.plane_mixture(gmm), title="t", rng=np.random.default_rng(3)
    )
    contours = contour_set(figure)
    shares = np.asarray(mixture_plots.HDR_SHARES)
    levels = mixture_plots.hdr_levels(
        *mixture_plots.plane_mixture(gmm), shares, rng=np.random.default_rng(3)
    )
    np.testing.assert_array_equal(contours.levels, np.sort(levels))
    for level, path in zip(contours.levels, contours.get_paths(), strict=True):
        assert len(path.vertices) > 20
        density = scipy_log_density(path.vertices, weights, means, covariances)
        np.testing.assert_allclose(density, level, atol=CONTOUR_TOLERANCE)
    # labelled with their shares, the largest share on the lowest level
    labels = {t.get_text() for t in contours.labelTexts}
    assert labels <= {"25%", "50%", "75%", "90%", "95%", "99%"} and len(labels) >= 4
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == [f"{share:.0%} of the mass" for share in shares]
    assert figure.axes[0].images[0].get_array()[..., :3].max() <= 0.6 + 1e-12  # grey rows


# ----------------------------------------------------------------------------- a run


@pytest.fixture(scope="module")
def three_component_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mixture-plots") / "run"
    rng = np.random.default_rng(5)
    X = np.hstack([blobs(seed=5, d=3), rng.normal(scale=0.1, size=(900, 3))])
    return pcagmm.run(X, components=3, clusters=3, out=str(out), plots=True), out


def test_a_run_writes_the_uncertainty_and_density_figures(three_component_run):
    result, out = three_component_run
    # no cluster_means.png: the rows are not images
    assert result.files[:5] == [
        "pca_scatter.png", "gmm_clusters.png", "uncertainty.png", "density.png", "clusters.csv",
    ]  # fmt: skip
    for name in ("uncertainty.png", "density.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    title = result.plot_uncertainty().axes[0].get_title()
    assert title == f"{result.dataset.name}: classification uncertainty, 3 clusters"
    title = result.plot_density().axes[0].get_title()
    assert title == f"{result.dataset.name}: mixture density, 3 components, full covariance"


def test_a_runs_uncertainty_uses_every_component_of_its_projection(three_component_run):
    result, _ = three_component_run
    Z = result.Z
    assert Z.shape[1] == 3
    figure = result.plot_uncertainty()
    _, _, image, values, _ = drawn_uncertainty(figure)
    height, width = values.shape
    expected = expected_uncertainty_grid(
        Z, scipy_uncertainty(Z, result.gmm), image.get_extent(), 2 / 3, width, height
    )
    np.testing.assert_allclose(values, expected, atol=1e-9)  # NaN where no row, in both
    texts = " ".join(t.get_text() for t in figure.axes[0].texts)
    assert "(probabilities from all 3 components)" in texts
    assert figure.axes[0].get_xlabel().startswith("Principal component 1 (")


def test_a_runs_density_is_the_marginal_on_its_first_two_axes(three_component_run):
    result, _ = three_component_run
    figure = result.plot_density()
    contours = contour_set(figure)
    weights, means, covariances = marginal(result.gmm)
    levels = mixture_plots.hdr_levels(weights, means, covariances)  # the figure's seed
    np.testing.assert_allclose(contours.levels, np.sort(levels), rtol=1e-12)
    for level, path in zip(contours.levels, contours.get_paths(), strict=True):
        density = scipy_log_density(path.vertices, weights, means, covariances)
        np.testing.assert_allclose(density, level, atol=CONTOUR_TOLERANCE)
    assert "marginal on the first 2 of 3 axes" in figure.axes[0].get_legend().get_title().get_text()


def test_one_component_draws_neither_figure(tmp_path):
    X = blobs(d=3)
    result = pcagmm.run(X, components=1, clusters=2, out=str(tmp_path / "one"), plots=True)
    assert "uncertainty.png" not in result.files and "density.png" not in result.files
    assert result.plot_uncertainty() is None and result.plot_density() is None
    assert mixture_plots.uncertainty_figure(result) is plots.scatter_figure(result) is None
