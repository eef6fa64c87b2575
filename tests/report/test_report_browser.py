"""report.html in a real headless Chromium (Debian's chromium-headless-shell, driven by
Playwright): opened from a file with no network and no console error; hovering a row's
screen position shows that row's image (the drawn pixels against the data), label and
probabilities (against scikit-learn-compatible ``predict_proba``); pinning, the legend,
the toggles, the axes, a cluster's rows, the sample notice, and labels holding HTML."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

import pcagmm
from browser import Page, chromium
from page_reading import image_data
from pcagmm.datasets import Dataset
from pcagmm.report import html
from pcagmm.workflow.html_report import rebuild

sync_api = pytest.importorskip("playwright.sync_api")

HOVER_RADIUS = 8  # report.js


@pytest.fixture(scope="module")
def browser():
    with chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    path = image_data(folder, n=500, seed=3)
    result = pcagmm.run(str(path), out=str(folder / "run"), clusters=3, plots=False, report=True)
    return result, folder / "run"


@pytest.fixture
def page(browser, image_run):
    opened = Page(browser, image_run[1] / "report.html")
    yield opened
    assert opened.errors == []
    opened.close()


def screen_positions(page) -> np.ndarray:
    n = page.evaluate("pcagmmReport.meta.rows_shown")
    return np.array(page.evaluate(f"[...Array({n}).keys()].map(pcagmmReport.screenOfRow)"))


def isolated_rows(positions: np.ndarray, apart: float = 2.0) -> list[int]:
    """Rows with no other row within ``apart`` pixels on screen (the pointer at such a
    row is nearer to it than to any other, wherever a pixel rounds to)."""
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(positions).query(positions, k=2)
    return np.flatnonzero(distance[:, 1] > apart).tolist()


def drawn_image(page) -> np.ndarray:
    """The grey levels of the row panel's image canvas, as drawn."""
    return np.array(
        page.evaluate(
            """() => { const c = document.getElementById('row-image');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            return [c.height, c.width, Array.from(d.filter((_, i) => i % 4 === 0))]; }"""
        ),
        dtype=object,
    )


def test_the_page_opens_from_a_file_with_no_network_and_no_errors(page):
    assert page.requests == [page.url]
    assert page.evaluate("document.getElementById('status').hidden")
    assert page.evaluate("pcagmmReport.errors") == []
    assert page.page.inner_text("#title").startswith("images.npy: PCA to 2 components")


def expected_positions(page, Z: np.ndarray) -> np.ndarray:
    """Where the page should draw each row, computed here from the data: the first view
    spans each axis' range and 4% more each side, inside the plot's margins."""
    left, top, width, height = page.evaluate(
        "(() => { const b = document.getElementById('overlay').getBoundingClientRect();"
        " return [b.left, b.top, b.width, b.height]; })()"
    )
    margin_left, margin_right, margin_top, margin_bottom = 64, 12, 12, 42  # report.js
    low, high = Z[:, :2].min(axis=0), Z[:, :2].max(axis=0)
    low, high = low - 0.04 * (high - low), high + 0.04 * (high - low)
    fraction = (Z[:, :2] - low) / (high - low)
    x = left + margin_left + fraction[:, 0] * (width - margin_left - margin_right)
    y = top + margin_top + (1 - fraction[:, 1]) * (height - margin_top - margin_bottom)
    return np.column_stack([x, y])


def test_rows_are_drawn_where_their_coordinates_say(page, image_run):
    result, _ = image_run
    np.testing.assert_allclose(screen_positions(page), expected_positions(page, result.Z),
                               atol=1e-3)  # fmt: skip


TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c"]  # matplotlib's first three colours


def test_an_isolated_row_is_a_dot_of_its_class_colour(page, image_run):
    """Points are half-transparent over white: an isolated row's pixel is halfway between
    white and its class' colour."""
    result, _ = image_run
    box = page.evaluate(
        "(() => { const b = document.getElementById('overlay').getBoundingClientRect();"
        " return [b.left, b.top]; })()"
    )
    positions = expected_positions(page, result.Z)
    for row in isolated_rows(positions, apart=6.0)[:5]:
        x, y = np.floor(positions[row] - box).astype(int)
        pixel = page.evaluate(
            f"Array.from(document.getElementById('points').getContext('2d')"
            f".getImageData({x}, {y}, 1, 1).data)"
        )
        colour = TAB10[int(result.dataset.y[row])]
        expected = [(255 + int(colour[i : i + 2], 16)) >> 1 for i in (1, 3, 5)]
        assert pixel[:3] == expected, row


def test_hovering_a_row_shows_its_image_label_and_probabilities(page, image_run):
    result, _ = image_run
    positions = expected_positions(page, result.Z)
    rows = isolated_rows(positions)
    assert len(rows) >= 3
    proba = result.gmm.predict_proba(result.Z)
    X = np.asarray(result.dataset.X, float)
    for row in rows[:3]:
        page.page.mouse.move(*positions[row])
        assert page.page.inner_text("#row-title") == f"Row {row}"
        facts = page.page.inner_text("#row-facts")
        assert (
            f"Digit label\t{result.dataset.y[row]}" in facts
            or f"Label\t{result.dataset.y[row]}" in facts
        )
        assert f"cluster\t{result.clusters[row]}" in facts
        height, width, grey = drawn_image(page)
        assert (height, width) == (8, 8)
        levels = (255 - np.array(grey, float)) / 17
        np.testing.assert_allclose(levels, np.rint(X[row] * 15 / X.max()), atol=0.03)
        shown = page.page.locator("#row-probabilities .value").all_inner_texts()
        np.testing.assert_allclose([float(v) for v in shown], proba[row], atol=0.0005 + 1e-9)


def test_a_click_pins_a_row_until_clicked_again(page):
    positions = screen_positions(page)
    first, second = isolated_rows(positions)[:2]
    page.page.mouse.click(*positions[first])
    assert page.page.inner_text("#row-title") == f"Row {first} (pinned)"
    page.page.mouse.move(*positions[second])
    assert page.page.inner_text("#row-title") == f"Row {first} (pinned)"
    page.page.mouse.click(*positions[first])
    page.page.mouse.move(*positions[second])
    assert page.page.inner_text("#row-title") == f"Row {second}"


def test_the_legend_hides_and_shows_a_class(page, image_run):
    result, _ = image_run
    y = np.asarray(result.dataset.y)
    visible = (
        "pcagmmReport.state.screenX.map((x, i) => Number.isNaN(x) ? -1 : i).filter(i => i >= 0)"
    )
    assert len(page.evaluate(visible)) == len(y)
    page.page.click("#legend .entry[data-group='1']")
    assert page.page.get_attribute("#legend .entry[data-group='1']", "class") == "entry hidden"
    shown = np.array(page.evaluate(visible))
    np.testing.assert_array_equal(shown, np.flatnonzero(y != 1))
    hidden_row = int(np.flatnonzero(y == 1)[0])
    page.page.mouse.move(*screen_positions(page)[hidden_row])
    assert page.page.inner_text("#row-title") != f"Row {hidden_row}"  # not hoverable
    page.page.click("#legend .entry[data-group='1']")
    assert len(page.evaluate(visible)) == len(y)


def test_colouring_by_cluster_lists_the_clusters(page):
    page.page.select_option("#colour-by", "cluster")
    assert page.page.locator("#legend .entry").all_inner_texts() == [
        "cluster 0",
        "cluster 1",
        "cluster 2",
    ]


def canvas_pixels(page) -> str:
    """A digest (FNV-1a) of the pixels of the points' canvas, computed in the page."""
    return page.evaluate(
        """() => { const c = document.getElementById('points');
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const d = new Uint32Array(pixels.buffer);
        let h = 2166136261; for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i], 16777619);
        return (h >>> 0).toString(16) + ':' + d.length; }"""
    )


def test_the_ellipses_and_means_toggle(page):
    with_all = canvas_pixels(page)
    page.page.uncheck("#show-ellipses")
    assert not page.evaluate("pcagmmReport.state.showEllipses")
    without_ellipses = canvas_pixels(page)
    page.page.uncheck("#show-means")
    without_either = canvas_pixels(page)
    assert len({with_all, without_ellipses, without_either}) == 3
    page.page.check("#show-ellipses")
    page.page.check("#show-means")
    assert canvas_pixels(page) == with_all


def test_clicking_a_clusters_mean_lists_its_rows(page, image_run):
    result, _ = image_run
    proba = result.gmm.predict_proba(result.Z)
    mean = page.evaluate(
        """() => { const b = document.getElementById('overlay').getBoundingClientRect();
        const m = pcagmmReport.meta.mixture.means[2];
        const [x, y] = pcagmmReport.toScreen(m[0], m[1]); return [b.left + x, b.top + y]; }"""
    )
    page.page.mouse.click(*mean)
    assert page.page.is_visible("#cluster-panel")
    assert page.page.inner_text("#cluster-title").startswith("Cluster 2:")
    members = np.flatnonzero(result.clusters == 2)
    sample = [int(v) for v in page.page.locator("#cluster-sample .thumb").evaluate_all(
        "nodes => nodes.map(n => n.dataset.row)")]  # fmt: skip
    assert len(sample) == min(html.CLUSTER_ROWS, len(members))
    assert set(sample) <= set(members.tolist())
    uncertain = [int(v) for v in page.page.locator("#cluster-uncertain .thumb").evaluate_all(
        "nodes => nodes.map(n => n.dataset.row)")]  # fmt: skip
    np.testing.assert_allclose(
        proba[uncertain].max(axis=1), np.sort(proba[members].max(axis=1))[: len(uncertain)]
    )
    page.page.click(f"#cluster-uncertain .thumb[data-row='{uncertain[0]}']")
    assert page.page.inner_text("#row-title") == f"Row {uncertain[0]} (pinned)"


def test_the_sample_notice_appears_above_the_limit(browser, image_run, tmp_path):
    _result, folder = image_run
    target = tmp_path / "run"
    shutil.copytree(folder, target)
    rebuild(target, max_points=120)
    opened = Page(browser, target / "report.html")
    notice = opened.page.inner_text("#sample-notice")
    assert notice.startswith("Showing a uniform sample of 120 of the 500 rows")
    assert opened.evaluate("pcagmmReport.state.clusters.length") == 120
    rows = opened.evaluate("Array.from(pcagmmReport.state.rows)")
    positions = screen_positions(opened)
    row = isolated_rows(positions)[0]
    opened.page.mouse.move(*positions[row])
    assert opened.page.inner_text("#row-title") == f"Row {rows[row]}"
    assert opened.errors == []
    opened.close()


def test_the_full_page_has_no_sample_notice(page):
    assert not page.page.is_visible("#sample-notice")


HOSTILE_LABELS = [
    '<img src=x onerror="window.__attacked=1">',
    "</script><script>window.__attacked=2</script>",
    "a & b",
]


def hostile_dataset(n=240, scale=1.0, seed=5, labels=HOSTILE_LABELS):
    """Three clusters of rows in three features, labelled with ``labels``."""
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 3
    X = scale * (rng.normal(size=(n, 3)) + 4 * group[:, None])
    return Dataset(X, np.asarray(labels)[group], name="<b>hostile</b>", source="a test")


def test_labels_holding_html_are_shown_as_text_never_run(browser, tmp_path):
    pcagmm.run(hostile_dataset(), out=str(tmp_path / "run"), clusters=3, report=True)
    opened = Page(browser, tmp_path / "run" / "report.html")
    assert opened.evaluate("window.__attacked === undefined")
    legend = opened.page.locator("#legend .entry").all_inner_texts()
    assert sorted(legend) == sorted(HOSTILE_LABELS)
    assert opened.page.inner_text("#title").startswith("<b>hostile</b>: PCA")
    assert opened.page.locator("#title b").count() == 0
    assert not opened.page.is_visible("#row-image")  # no images for rows of features
    assert opened.errors == [] and opened.requests == [opened.url]
    opened.close()


def test_extreme_coordinates_draw_and_hover(browser, tmp_path):
    result = pcagmm.run(
        hostile_dataset(scale=1e120, labels=["a", "b", "c"]),
        out=str(tmp_path / "run"),
        clusters=3,
        report=True,
    )
    opened = Page(browser, tmp_path / "run" / "report.html")
    positions = screen_positions(opened)
    assert np.all(np.isfinite(positions))
    row = isolated_rows(positions)[0]
    opened.page.mouse.move(*positions[row])
    facts = opened.page.inner_text("#row-facts")
    assert f"cluster\t{result.clusters[row]}" in facts and "e+" in facts
    assert opened.errors == []
    opened.close()


def test_more_components_give_selectable_axes(browser, tmp_path):
    path = image_data(tmp_path, n=300, seed=9)
    result = pcagmm.run(
        str(path), out=str(tmp_path / "run"), components=4, clusters=3, plots=False, report=True
    )
    opened = Page(browser, tmp_path / "run" / "report.html")
    assert opened.page.is_visible("#x-axis") and opened.page.is_visible("#y-axis")
    assert len(opened.page.locator("#y-axis option").all()) == 4
    opened.page.select_option("#y-axis", "3")
    positions = screen_positions(opened)
    row = isolated_rows(positions)[0]
    opened.page.mouse.move(*positions[row])
    assert opened.page.inner_text("#row-title") == f"Row {row}"
    shown = opened.page.locator("#row-probabilities .value").all_inner_texts()
    expected = result.gmm.predict_proba(result.Z[row : row + 1])[0]
    np.testing.assert_allclose([float(v) for v in shown], expected, atol=0.0005 + 1e-9)
    opened.close()


@pytest.mark.parametrize("analysis", ["selection", "stability"])
def test_a_select_or_stability_folder_shows_its_figure_and_table(browser, tmp_path, analysis):
    from pcagmm.workflow.selection import select
    from pcagmm.workflow.stability_study import stability

    out = tmp_path / analysis
    if analysis == "selection":
        select("digits", clusters="1-3", covariance_types="full", out=out)
    else:
        stability("digits", seeds=3, clusters=3, out=out)
    opened = Page(browser, out / "report.html")
    section = opened.page.locator(f"#analysis-{analysis}")
    assert section.locator("h2").inner_text() in ("Model selection", "Stability")
    width = section.locator("img").evaluate("image => image.naturalWidth")
    assert width > 0  # the figure decoded
    with open(out / f"{analysis}.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert section.locator("th").all_inner_texts() == table[0]
    rows = section.locator("tr").all()[1:]
    assert [row.locator("td").all_inner_texts() for row in rows] == table[1:]
    assert opened.errors == [] and opened.requests == [opened.url]
    opened.close()


def test_one_component_is_drawn_against_the_row_order(browser, tmp_path):
    path = image_data(tmp_path, n=200, seed=11)
    pcagmm.run(
        str(path), out=str(tmp_path / "run"), components=1, clusters=2, plots=False, report=True
    )
    opened = Page(browser, tmp_path / "run" / "report.html")
    assert opened.evaluate("pcagmmReport.state.y") is None
    positions = screen_positions(opened)
    row = isolated_rows(positions)[0]
    opened.page.mouse.move(*positions[row])
    assert opened.page.inner_text("#row-title") == f"Row {row}"
    opened.page.set_viewport_size({"width": 1000, "height": 800})  # redrawn at the new size
    opened.page.wait_for_timeout(300)
    assert opened.evaluate("document.getElementById('points').style.width") == "580px"
    assert opened.errors == []
    opened.close()


def test_the_wheel_zooms_about_the_pointer_and_a_drag_pans(page):
    positions = screen_positions(page)
    row = isolated_rows(positions)[0]
    view = page.evaluate("({...pcagmmReport.state.view})")
    page.page.mouse.move(*positions[row])
    page.page.mouse.wheel(0, -300)  # zoom in about the pointer
    page.page.wait_for_function("pcagmmReport.state.view.x1 - pcagmmReport.state.view.x0 < "
                                f"{view['x1'] - view['x0']}")  # fmt: skip
    zoomed = page.evaluate("({...pcagmmReport.state.view})")
    assert zoomed["x1"] - zoomed["x0"] < 0.9 * (view["x1"] - view["x0"])
    np.testing.assert_allclose(screen_positions(page)[row], positions[row], atol=0.5)
    start = screen_positions(page)[row]
    page.page.mouse.move(*start)
    page.page.mouse.down()
    page.page.mouse.move(start[0] + 40, start[1] + 25, steps=4)
    page.page.mouse.up()
    np.testing.assert_allclose(screen_positions(page)[row], start + np.array([40, 25]), atol=0.5)
    assert page.page.inner_text("#row-title") == f"Row {row}"  # a drag does not pin


def test_clicking_a_row_of_the_means_table_lists_that_clusters_rows(page, image_run):
    result, _ = image_run
    table = page.page.locator("#tables table").first
    assert table.locator("th").all_inner_texts()[:2] == ["cluster", "weight"]
    weights = [float(v) for v in table.locator("tr td:nth-child(2)").all_inner_texts()]
    np.testing.assert_allclose(weights, result.gmm.weights_, atol=5e-5)  # shown to 4 places
    table.locator("tr").nth(2).click()  # cluster 1
    assert page.page.inner_text("#cluster-title").startswith("Cluster 1:")
    rows = [int(v) for v in page.page.locator("#cluster-sample .thumb").evaluate_all(
        "nodes => nodes.map(n => n.dataset.row)")]  # fmt: skip
    assert set(rows) <= set(np.flatnonzero(result.clusters == 1).tolist())
