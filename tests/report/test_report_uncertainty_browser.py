"""report.html's uncertainty colouring and density contours (issue 27), in a real
headless Chromium (as tests/report/test_report_browser.py): what the page drew, read
back through its ``pcagmmReport`` api and its canvas, against Python.

* "Colour by: uncertainty": each row's value is 1 - its largest cluster probability
  (computed here with scipy.stats from the fitted parameters, every component of the
  projection); a row's dot has the colour of matplotlib's magma_r at that value over
  [0, 1 - 1/K] (the figure's colour bar); the printed share is a direct count.
* "density contours": the page computes its levels itself, by the figure's rule, from
  its own seeded draws. Each level must enclose its share of a fresh sample drawn here
  (another generator), within 5 binomial standard errors of both samples; the traced
  contours must lie on their levels, for the pair of axes shown.

One screenshot of each is saved under /tmp for looking at.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_hex
from test_report_browser import expected_positions, isolated_rows
from test_uncertainty_plots import (
    assert_levels_enclose_their_shares,
    blobs,
    marginal,
    scipy_log_density,
    scipy_uncertainty,
)

import pcagmm
from browser import Page, chromium
from pcagmm.report import mixture_plots

sync_api = pytest.importorskip("playwright.sync_api")

#: how far a traced contour may stray from its level (nats): linear interpolation on
#: the page's grid of 4 CSS pixels (about 200 cells across; measured < 0.004 here)
CONTOUR_TOLERANCE = 0.02
#: the page's colours are matplotlib's at 17 points, interpolated (report.js)
RAMP_TOLERANCE = 5


@pytest.fixture(scope="module")
def browser():
    with chromium() as opened:
        yield opened


def blob_run(folder, d):
    X = blobs(seed=2, d=d, apart=0.6)  # closer: rows above 0.5 in the plane too
    return pcagmm.run(
        X, out=str(folder / "run"), components=d, clusters=3, plots=False, report=True
    )


@pytest.fixture(scope="module")
def plane_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uncertainty-page")
    return blob_run(folder, 2), folder / "run"


@pytest.fixture(scope="module")
def space_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uncertainty-page-3d")
    return blob_run(folder, 3), folder / "run"


def opened(browser, folder):
    page = Page(browser, folder / "report.html")
    return page


@pytest.fixture
def page(browser, plane_run):
    page = opened(browser, plane_run[1])
    yield page
    assert page.errors == []
    page.close()


def test_uncertainty_is_one_minus_the_largest_probability_of_every_component(browser, space_run):
    result, folder = space_run
    page = opened(browser, folder)
    page.page.select_option("#colour-by", "uncertainty")
    shown = np.array(page.evaluate("pcagmmReport.uncertainties()"))
    expected = scipy_uncertainty(result.Z, result.gmm)  # all three components
    # the page holds the coordinates in float32 (relative error 6e-8)
    np.testing.assert_allclose(shown, expected, atol=1e-5)
    assert page.errors == []
    page.close()


def test_the_share_above_one_half_is_a_direct_count(page, plane_run):
    result, _ = plane_run
    page.page.select_option("#colour-by", "uncertainty")
    u = scipy_uncertainty(result.Z, result.gmm)
    count = np.count_nonzero(u > 0.5)
    assert count > 0
    # a row within float32's error of 0.5 could count either way
    near = np.count_nonzero(np.abs(u - 0.5) < 1e-5)
    share = page.evaluate("pcagmmReport.uncertaintyShare()")
    assert abs(share * len(u) - count) <= near
    text = page.page.inner_text("#uncertainty-share")
    printed = re.fullmatch(r"(\d+\.\d)% of rows have uncertainty above 0\.5", text)
    assert printed and float(printed.group(1)) == pytest.approx(100 * share, abs=0.05)


def test_each_row_is_drawn_in_the_colour_bars_colour_of_its_uncertainty(page, plane_run):
    """An isolated row's dot (opaque) is the ramp's colour at its uncertainty, which is
    matplotlib's magma_r over [0, 1 - 1/K] to within the interpolation's error."""
    result, _ = plane_run
    page.page.uncheck("#show-ellipses")  # drawn on the same canvas, over the rows
    page.page.uncheck("#show-means")
    page.page.select_option("#colour-by", "uncertainty")
    u = scipy_uncertainty(result.Z, result.gmm)
    top = 1 - 1 / 3
    box = page.evaluate(
        "(() => { const b = document.getElementById('overlay').getBoundingClientRect();"
        " return [b.left, b.top]; })()"
    )
    positions = expected_positions(page, result.Z)
    rows = isolated_rows(positions, apart=8.0)
    rows = sorted(rows, key=lambda i: u[i])[:: max(1, len(rows) // 12)]  # a spread of values
    assert len(rows) >= 8 and u[rows].max() - u[rows].min() > 0.3
    magma = colormaps["magma_r"]
    for row in rows:
        x, y = np.floor(positions[row] - box).astype(int)
        pixel = page.evaluate(
            f"Array.from(document.getElementById('points').getContext('2d')"
            f".getImageData({x}, {y}, 1, 1).data)"
        )
        ramp = page.evaluate(f"pcagmmReport.uncertaintyColour({u[row]})")
        assert pixel[:3] == ramp, row
        expected = np.array(magma(u[row] / top)[:3]) * 255
        assert np.abs(np.array(pixel[:3]) - expected).max() <= RAMP_TOLERANCE, row
    page.page.locator("#plot").screenshot(path="/tmp/report-uncertainty.png")


def check_contours(page, result, axes):
    """The page's drawn contours on ``axes``: their levels enclose their shares of a
    fresh sample of the marginal, and their segments lie on their levels."""
    drawn = page.evaluate("pcagmmReport.contours")
    assert (drawn["x"], drawn["y"]) == axes
    shares = np.asarray(drawn["shares"])
    assert shares.tolist() == list(mixture_plots.HDR_SHARES)
    levels = np.asarray(drawn["levels"])
    weights, means, covariances = marginal(result.gmm, axes)
    assert_levels_enclose_their_shares(levels, shares, weights, means, covariances, seed=31_415)
    # the same rule as the figure's levels (Python's draws): near them
    python = mixture_plots.hdr_levels(weights, means, covariances)
    np.testing.assert_allclose(levels, python, atol=0.05)
    # each share in the figure's colour
    figure = mixture_plots.density_contours(result.Z[:, list(axes)], weights, means,
                                            covariances, title="t")  # fmt: skip
    handles = figure.axes[0].get_legend().legend_handles
    figure_colours = {h.get_label(): to_hex(h.get_color()) for h in handles}
    assert drawn["colours"] == [figure_colours[f"{share:.0%} of the mass"] for share in shares]
    for level, segments in zip(levels, drawn["segments"], strict=True):
        ends = np.asarray(segments, dtype=float).reshape(-1, 2)
        assert len(ends) > 40
        np.testing.assert_allclose(
            scipy_log_density(ends, weights, means, covariances), level, atol=CONTOUR_TOLERANCE
        )


def test_the_density_contours_enclose_their_shares_and_lie_on_their_levels(page, plane_run):
    result, _ = plane_run
    assert page.evaluate("pcagmmReport.contours") is None  # off until asked for
    page.page.check("#show-density")
    check_contours(page, result, (0, 1))
    page.page.locator("#plot").screenshot(path="/tmp/report-density.png")
    page.page.uncheck("#show-density")
    assert page.evaluate("pcagmmReport.contours") is None


def test_the_contours_follow_the_axes_shown(browser, space_run):
    result, folder = space_run
    page = opened(browser, folder)
    page.page.check("#show-density")
    page.page.select_option("#y-axis", "2")
    check_contours(page, result, (0, 2))
    page.page.select_option("#y-axis", "0")  # x against itself: no plane, no contours
    assert page.evaluate("pcagmmReport.contours") is None
    assert page.errors == []
    page.close()


def test_a_hovered_row_shows_its_uncertainty(page, plane_run):
    result, _ = plane_run
    u = scipy_uncertainty(result.Z, result.gmm)
    positions = expected_positions(page, result.Z)
    row = max(isolated_rows(positions), key=lambda i: u[i])
    page.page.mouse.move(*positions[row])
    assert page.page.inner_text("#row-title") == f"Row {row}"
    assert f"uncertainty\t{u[row]:.3f}" in page.page.inner_text("#row-facts").splitlines()


def test_the_tables_show_each_number_with_its_bootstrap_error(browser, tmp_path):
    """A run with uncertainty: every cell of the page's two tables is the terminal's
    ``value ± error`` (report/text.py's plus_minus of summary.json's numbers), and the
    bootstrap is described above them."""
    from pcagmm.report.text import plus_minus

    X = blobs(seed=3, d=2, apart=1.0)
    result = pcagmm.run(X, out=str(tmp_path / "run"), clusters=3, uncertainty=True,
                        bootstrap=12, plots=False, report=True)  # fmt: skip
    page = opened(browser, tmp_path / "run")
    cells = page.evaluate(
        "[...document.querySelectorAll('#tables table.data')].slice(0, 2).map((t) =>"
        " [...t.querySelectorAll('tr')].slice(1).map((r) =>"
        " [...r.querySelectorAll('td')].map((c) => c.textContent)))"
    )
    errors = result.bootstrap.standard_errors()
    gmm = result.gmm
    stds = np.sqrt(np.diagonal(gmm.covariances_, axis1=1, axis2=2))
    for k in range(3):
        assert cells[0][k] == [
            str(k),
            plus_minus(gmm.weights_[k], errors["weights"][k]),
            *(plus_minus(gmm.means_[k, j], errors["means"][k, j]) for j in range(2)),
        ]
        assert cells[1][k] == [
            str(k),
            *(plus_minus(stds[k, j], errors["standard_deviations"][k, j]) for j in range(2)),
        ]
    note = page.page.inner_text("#bootstrap-note")
    assert note.startswith("12 nonparametric resamples (seed 42)")
    assert page.errors == []
    page.close()
