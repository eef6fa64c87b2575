"""A run's notebook view, rendered in a real headless Chromium as a notebook's output
would be (work in progress for issue 29): the tables as tables holding the fitted
numbers, the figures as decoded images, and the interactive page inline in its frame,
ready and without errors. A screenshot is saved as /tmp/notebook-result.png."""

from __future__ import annotations

import numpy as np
import pytest

import pcagmm
from browser import launch
from pcagmm.report.files import cluster_rows

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(300, 5)) + c for c in (0, 6, 12)])
    path = tmp_path_factory.mktemp("notebook") / "three.npy"
    np.save(path, X)
    np.save(path.with_suffix(".labels.npy"), np.repeat([0, 1, 2], 300))
    return pcagmm.run(str(path), clusters=3, write=False)


@pytest.fixture
def shown(browser, result, tmp_path):
    """The page a notebook's output would be: the result's HTML, then its inline report."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    document = tmp_path / "output.html"
    document.write_text(
        "<!doctype html><html><body>" + result._repr_html_()
        + result.show_report()._repr_html_() + "</body></html>"
    )  # fmt: skip
    page.goto(document.as_uri())
    yield page
    assert errors == []
    page.close()


def test_the_tables_hold_the_fitted_numbers(shown, result):
    tables = shown.evaluate(
        """() => [...document.querySelectorAll('table.pcagmm-table')].map(t => ({
            caption: t.caption.textContent,
            rows: [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent))}))"""
    )
    assert [t["caption"] for t in tables] == [
        "Means of the clusters", "Standard deviations of the clusters",
        "Agreement with the true labels",
    ]  # fmt: skip
    means, stds = cluster_rows(result.gmm)
    for k in range(3):
        row = tables[0]["rows"][k]
        assert float(row[1]) == pytest.approx(result.gmm.weights_[k], abs=5e-5)
        np.testing.assert_allclose([float(v) for v in row[2:]], means[k], atol=5e-5)
        np.testing.assert_allclose([float(v) for v in tables[1]["rows"][k][1:]], stds[k],
                                   atol=5e-5)  # fmt: skip
    ari = tables[2]["rows"][0]
    assert ari[0] == "adjusted Rand index"
    assert float(ari[1]) == pytest.approx(result.agreement.adjusted_rand, abs=5e-5)


def test_the_figures_are_images_the_browser_decodes(shown):
    images = shown.evaluate(
        """() => [...document.querySelectorAll('figure.pcagmm-figure img')].map(i =>
            ({name: i.alt, width: i.naturalWidth, height: i.naturalHeight}))"""
    )
    assert [i["name"] for i in images] == ["pca_scatter", "gmm_clusters"]  # not images
    assert all(i["width"] > 300 and i["height"] > 200 for i in images)


def test_the_interactive_page_runs_inline(shown):
    frame_element = shown.wait_for_selector("iframe.pcagmm-report")
    frame = frame_element.content_frame()
    frame.wait_for_function("document.body.dataset.ready === 'true'", timeout=30_000)
    rows = frame.evaluate("() => document.querySelectorAll('table tr').length")
    assert rows > 5
    shown.screenshot(path="/tmp/notebook-result.png", full_page=True)
