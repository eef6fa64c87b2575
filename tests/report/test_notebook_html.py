"""What a notebook shows of a run and of the studies (issue 29), rendered in a real
headless Chromium as a notebook's output would be: the tables as tables holding the
fitted numbers, the figures as decoded images, the header with how EM stopped and a
variational run's switched-off components marked, the interactive page inline in its
frame, a style sheet scoped to the views, nothing fetched, no errors. Screenshots are
saved in /tmp/views/ (notebook-result.png, notebook-selection.png,
notebook-stability.png)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import pcagmm
from browser import chromium
from pcagmm.report import notebook
from pcagmm.report.files import cluster_rows
from pcagmm.report.stability import summary as stability_summary

sync_api = pytest.importorskip("playwright.sync_api")
SCREENSHOTS = Path("/tmp/views")


@pytest.fixture(scope="module")
def browser():
    with chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(300, 5)) + c for c in (0, 6, 12)])
    path = tmp_path_factory.mktemp("notebook") / "three.npy"
    np.save(path, X)
    np.save(path.with_suffix(".labels.npy"), np.repeat([0, 1, 2], 300))
    return path


@pytest.fixture(scope="module")
def result(three):
    return pcagmm.run(str(three), clusters=3, write=False)


@pytest.fixture(scope="module")
def variational(three):
    """Eight components for three groups, stopped early: five switched off, EM's stop
    explained."""
    return pcagmm.run(str(three), clusters=8, mixture="bayesian", weight_concentration=1e-3,
                      max_iter=20, write=False)  # fmt: skip


@pytest.fixture(scope="module")
def selection(three):
    return pcagmm.select(str(three), clusters=[1, 2, 3, 4], covariance_types=["full", "diag"],
                         lrt=True, lrt_bootstrap=39, write=False)  # fmt: skip


@pytest.fixture(scope="module")
def study(three):
    return pcagmm.stability(str(three), clusters=3, seeds=4, bootstrap=3, write=False)


class Output:
    """A page holding what a notebook's output cells would, with its errors and the
    requests it made."""

    def __init__(self, browser, folder: Path, *views: str):
        self.page = browser.new_page(viewport={"width": 1100, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda request: self.requests.append(request.url))
        document = folder / "output.html"
        document.write_text("<!doctype html><html><body>" + "".join(views) + "</body></html>")
        self.url = document.as_uri()
        self.page.goto(self.url)

    def tables(self, selector: str = "table.pcagmm-table") -> list[dict]:
        return self.page.evaluate(
            """(selector) => [...document.querySelectorAll(selector)].map(t => ({
                caption: t.caption.textContent, name: t.dataset.name || null,
                head: [...t.tHead.rows[0].cells].map(c => c.textContent),
                rows: [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent)),
                classes: [...t.tBodies[0].rows].map(r => r.className),
                cells: [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.className)),
                align: [...t.tBodies[0].rows].map(r => [...r.cells].map(c =>
                    getComputedStyle(c).textAlign))}))""",
            selector,
        )

    def images(self, selector: str = "figure.pcagmm-figure img") -> list[dict]:
        self.page.wait_for_function(
            f"[...document.querySelectorAll('{selector}')].every(i => i.complete)"
        )
        return self.page.evaluate(
            """(selector) => [...document.querySelectorAll(selector)].map(i =>
                ({name: i.alt, width: i.naturalWidth, height: i.naturalHeight,
                  shown: i.getBoundingClientRect().width}))""",
            selector,
        )

    def close(self) -> None:
        assert self.errors == []
        assert set(self.requests) == {self.url}, "a view fetched something"
        self.page.close()


@pytest.fixture
def shown(browser, result, tmp_path):
    """The page a notebook's output would be: the result's HTML, then its inline report."""
    output = Output(browser, tmp_path, result._repr_html_(), result.show_report()._repr_html_())
    yield output
    output.close()


def numbers(cells) -> list[float]:
    return [float(cell) for cell in cells]


# ---------------------------------------------------------------------------------- a run


def test_the_tables_hold_the_fitted_numbers(shown, result):
    tables = shown.tables()
    assert [t["caption"] for t in tables] == [
        "Means of the clusters", "Standard deviations of the clusters",
        "Agreement with the true labels",
    ]  # fmt: skip
    means, stds = cluster_rows(result.gmm)
    for k in range(3):
        row = tables[0]["rows"][k]
        assert float(row[1]) == pytest.approx(result.gmm.weights_[k], abs=5e-5)
        np.testing.assert_allclose(numbers(row[2:]), means[k], atol=5e-5)
        np.testing.assert_allclose(numbers(tables[1]["rows"][k][1:]), stds[k], atol=5e-5)
    ari = tables[2]["rows"][0]
    assert ari[0] == "adjusted Rand index"
    assert float(ari[1]) == pytest.approx(result.agreement.adjusted_rand, abs=5e-5)
    # numbers right-aligned, words left
    assert set(tables[0]["align"][0]) == {"right"} and tables[2]["align"][0] == ["left", "right"]


def test_the_header_says_what_was_fitted_and_how_em_stopped(shown, result):
    header = shown.page.evaluate(
        """() => [...document.querySelectorAll('dl.pcagmm-header dt')].map(dt =>
            [dt.textContent, dt.nextElementSibling.textContent])"""
    )
    labels = [label for label, _ in header]
    assert labels == ["Data", "PCA", "Mixture", "Matching"]
    mixture = dict(header)["Mixture"]
    assert f"converged after {result.gmm.n_iter_} iterations" in mixture
    assert "cluster→label" in dict(header)["Matching"]
    assert "show_report()" in shown.page.inner_text(".pcagmm-footer")


def test_the_figures_are_images_the_browser_decodes(shown):
    images = shown.images()
    assert [i["name"] for i in images] == ["pca_scatter", "gmm_clusters"]  # not images
    assert all(i["width"] > 300 and i["height"] > 200 for i in images)
    # side by side, at most their own size
    assert all(250 < i["shown"] <= min(i["width"], notebook.FIGURE_WIDTH) for i in images)


def test_the_interactive_page_runs_inline(shown):
    frame_element = shown.page.wait_for_selector("iframe.pcagmm-report")
    frame = frame_element.content_frame()
    frame.wait_for_function("document.body.dataset.ready === 'true'", timeout=30_000)
    rows = frame.evaluate("() => document.querySelectorAll('table tr').length")
    assert rows > 5
    SCREENSHOTS.mkdir(exist_ok=True)
    shown.page.screenshot(path=SCREENSHOTS / "notebook-result.png", full_page=True)


def test_a_variational_runs_switched_off_components_are_marked(browser, variational, tmp_path):
    output = Output(browser, tmp_path, variational._repr_html_())
    means = output.tables()[0]
    off = set(variational.gmm.switched_off(variational.kept_weight).tolist())
    assert off and len(off) < 8
    for k, (row, classes) in enumerate(zip(means["rows"], means["classes"], strict=True)):
        assert (row[0] == f"{k} off") == (classes == "pcagmm-off") == (k in off)
    header = output.page.inner_text("dl.pcagmm-header")
    assert "Kept" in header and "switched off" in header
    # how EM stopped, in Python's words: did not converge in 20 iterations, and what to do
    note = output.page.inner_text("dl.pcagmm-header .pcagmm-note >> nth=-1")
    assert "converge=True" in note and "max_iter" in note and "--" not in note
    assert "weights" in [i["name"] for i in output.images()]
    output.close()


def test_the_style_sheet_is_scoped_to_the_views_and_fetches_nothing(result):
    style = re.search(r"<style>(.*?)</style>", notebook.STYLE, re.S).group(1)
    selectors = [s.strip() for rule in re.findall(r"([^{}]+)\{", style) for s in rule.split(",")]
    assert selectors and all(s.startswith(".pcagmm-view") for s in selectors)
    shown = result._repr_html_()
    assert shown.startswith('<div class="pcagmm-view pcagmm-result">')
    for fetching in ("http:", "https:", "url(", "@import", "<link", "<script"):
        assert fetching not in shown


# ---------------------------------------------------------------------------- the studies


def test_the_selection_view_shows_its_grid_with_the_chosen_model_marked(
    browser, selection, tmp_path
):
    output = Output(browser, tmp_path, selection._repr_html_())
    grid = output.tables("table.pcagmm-table[data-name='grid-2']")[0]
    assert grid["caption"] == "BIC of each model (lower is better)"
    assert grid["head"] == ["K", "full", "diag"]
    chosen = selection.best
    for r, K in enumerate([1, 2, 3, 4]):
        assert grid["rows"][r][0] == str(K)
        for c, kind in enumerate(["full", "diag"], start=1):
            row = next(x for x in selection.results
                       if x["n_components"] == K and x["covariance_type"] == kind)  # fmt: skip
            assert float(grid["rows"][r][c]) == pytest.approx(row["bic"], abs=0.05)
            marked = "pcagmm-chosen" in grid["cells"][r][c]
            assert marked == (row is chosen)
    every = output.tables("table.pcagmm-table[data-name='models']")[0]
    assert len(every["rows"]) == len(selection.results) == 8
    assert every["classes"][selection.chosen] == "pcagmm-chosen"
    assert every["rows"][selection.chosen][-1] == "best"
    lrt = output.tables("table.pcagmm-table[data-name='lrt']")[0]
    steps = selection.lrt.steps
    assert [row[0] for row in lrt["rows"]] == [f"{s.n_components} vs {s.n_components + 1}"
                                               for s in steps]  # fmt: skip
    np.testing.assert_allclose(numbers(row[2] for row in lrt["rows"]),
                               [s.p_value for s in steps], atol=5e-5)  # fmt: skip
    assert f"{selection.lrt.supported} components" in output.page.inner_text("dl.pcagmm-header")
    images = output.images()
    assert images[0]["name"] == "selection" and images[0]["width"] > 300
    assert all(i["width"] > 0 for i in images)  # the chosen run's figures, folded, too
    header = output.page.inner_text("dl.pcagmm-header")
    assert f"K={chosen['n_components']}, {chosen['covariance_type']} covariance" in header
    output.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    SCREENSHOTS.mkdir(exist_ok=True)
    output.page.screenshot(path=SCREENSHOTS / "notebook-selection.png", full_page=True)
    output.close()


def test_the_stability_view_holds_the_studys_measures(browser, study, tmp_path):
    output = Output(browser, tmp_path, study._repr_html_())
    tables = {t["name"]: t for t in output.tables()}
    spread = tables["spread"]
    measured = stability_summary(study)
    first = spread["rows"][0]
    assert first[:2] == ["seeds", "mean log-likelihood"]
    expected = measured["seed"]["log_likelihood"]
    np.testing.assert_allclose(numbers(first[2:]), [expected[s] for s in ("min", "median", "max")],
                               atol=5e-7)  # fmt: skip
    jaccard = tables["jaccard"]
    assert jaccard["head"][:2] == ["cluster", "label"]
    for index, row in enumerate(jaccard["rows"]):
        assert row[0] == str(study.clusters[index])
        np.testing.assert_allclose(float(row[2]), study.jaccard["seed"]["mean"][index], atol=5e-4)
    optima = tables["optima"]
    assert sum(int(row[1]) for row in optima["rows"]) == 4  # the four seeds
    images = output.images()
    assert images[0]["name"] == "stability" and images[0]["width"] > 300
    assert all(i["width"] > 0 for i in images)
    assert "Stability" in output.page.inner_text("dl.pcagmm-header")
    SCREENSHOTS.mkdir(exist_ok=True)
    output.page.screenshot(path=SCREENSHOTS / "notebook-stability.png", full_page=True)
    output.close()


def test_select_is_exported_beside_run_and_stability():
    from pcagmm.workflow.selection import Selection, select

    assert pcagmm.select is select and "select" in pcagmm.__all__
    assert pcagmm.workflow.Selection is Selection
