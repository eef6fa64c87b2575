"""report.html of a variational (``mixture="bayesian"``) run, in a real headless Chromium
(as tests/report/test_report_browser.py): the components below the run's ``kept_weight``
are switched off, and the page must say so where it shows them.

* its data hold the kept components and the threshold (an EM page's hold neither);
* the note under the title counts them: "3 of 8 components kept (weight ≥ W)", the
  switched-off ones listed with their total weight, counted here from the weights;
* the tables of means and standard deviations grey the switched-off rows (the means'
  table says "off" in a status column); the legend marks them "(off)";
* the ellipse layer draws a switched-off component as one dashed grey 1 sigma ellipse
  and leaves out its mean; a kept one as before;
* its stopping table names the variational lower bound, not a mean log-likelihood;
* an EM run's page has none of this; a page rebuilt from the run folder reads the
  threshold back from summary.json.

A screenshot of the page is saved as /tmp/report-bayesian.png for looking at.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import pcagmm
from browser import Page, chromium
from page_reading import image_data, page_meta
from pcagmm.workflow.html_report import rebuild

sync_api = pytest.importorskip("playwright.sync_api")

#: the run's threshold (not the default 0.01: the page must take the run's)
KEPT_WEIGHT = 0.005
#: report.js's grey of a switched-off component (matplotlib's 0.55 grey) and the
#: tables' grey of a switched-off row (report.css)
OFF_GREY = "#8c8c8c"
OFF_ROW_COLOUR = "rgb(154, 154, 154)"
TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
         "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    with chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A variational run with more components than the three classes need, and an EM
    run on the same images."""
    folder = tmp_path_factory.mktemp("bayesian-page")
    path = image_data(folder, n=500, seed=3)
    bayesian = pcagmm.run(str(path), out=str(folder / "vb"), clusters=8, mixture="bayesian",
                          weight_concentration=1e-3, max_iter=500, kept_weight=KEPT_WEIGHT,
                          plots=False, report=True)  # fmt: skip
    em = pcagmm.run(str(path), out=str(folder / "em"), clusters=3, plots=False, report=True)
    return bayesian, em


@pytest.fixture
def page(browser, runs):
    opened = Page(browser, runs[0].out / "report.html")
    yield opened
    assert opened.errors == []
    opened.close()


@pytest.fixture
def em_page(browser, runs):
    opened = Page(browser, runs[1].out / "report.html")
    yield opened
    assert opened.errors == []
    opened.close()


def switched_off(result) -> list[int]:
    """The components below the threshold, counted here from the weights."""
    return [k for k, w in enumerate(result.gmm.weights_) if w < KEPT_WEIGHT]


def table_rows(page, heading: str) -> list[dict]:
    """The rows of the table under the section titled ``heading``: cells and classes."""
    return page.evaluate(
        """(heading) => {
          const box = [...document.querySelectorAll('#tables > div')]
            .find((d) => d.querySelector('h2').textContent.startsWith(heading));
          return [...box.querySelectorAll('table.data tr')].map((tr) => ({
            cells: [...tr.children].map((c) => c.textContent),
            off: tr.classList.contains('off'),
            colour: tr.children[0].tagName === 'TD' ? getComputedStyle(tr.children[0]).color : null,
          }));
        }""",
        heading,
    )


def test_the_run_switches_off_some_components(runs):
    bayesian, _ = runs
    off = switched_off(bayesian)
    assert 0 < len(off) < 8
    assert sorted(bayesian.kept.tolist()) == sorted(set(range(8)) - set(off))


def test_the_page_holds_the_kept_components_and_the_threshold(runs):
    bayesian, em = runs
    mixture = page_meta((bayesian.out / "report.html").read_text())["mixture"]
    assert mixture["kept"] == bayesian.kept.tolist()  # heaviest first
    assert mixture["kept_weight"] == KEPT_WEIGHT
    em_mixture = page_meta((em.out / "report.html").read_text())["mixture"]
    assert "kept" not in em_mixture and "kept_weight" not in em_mixture


def test_the_note_counts_the_kept_and_the_switched_off(page, runs):
    bayesian, _ = runs
    off = switched_off(bayesian)
    note = page.page.inner_text("#kept-note")
    found = re.fullmatch(
        r"(\d+) of (\d+) components kept \(weight ≥ ([0-9.e-]+)\); "
        r"switched off: ([0-9, ]+) \(total weight ([0-9.e-]+)\)",
        note,
    )
    assert found, note
    assert (int(found.group(1)), int(found.group(2))) == (8 - len(off), 8)
    assert float(found.group(3)) == KEPT_WEIGHT
    assert found.group(4) == ", ".join(map(str, off))
    total = sum(bayesian.gmm.weights_[k] for k in off)
    assert float(found.group(5)) == pytest.approx(total, rel=0.05)  # two digits
    assert "variational Gaussian mixture" in page.page.inner_text("#subtitle")


def test_the_stopping_table_names_the_variational_lower_bound(page, em_page, runs):
    bayesian, _ = runs
    stop = table_rows(page, "How the variational fit stopped")
    named = {row["cells"][0]: row["cells"][1] for row in stop[1:]}
    assert float(named["lower bound"]) == pytest.approx(bayesian.gmm.lower_bound_, abs=1e-6)
    assert "last change of the lower bound" in named and "mean log-likelihood" not in named
    em_stop = table_rows(em_page, "How EM stopped")
    assert "mean log-likelihood" in [row["cells"][0] for row in em_stop]


def test_the_tables_grey_the_switched_off_rows(page, runs):
    bayesian, _ = runs
    off = set(switched_off(bayesian))
    means = table_rows(page, "Means of the clusters")
    assert means[0]["cells"][-1] == "status"
    assert [row["cells"][0] for row in means[1:]] == [str(k) for k in range(8)]
    for k, row in enumerate(means[1:]):
        assert row["cells"][-1] == ("off" if k in off else "kept"), k
        assert row["off"] is (k in off), k
        assert (row["colour"] == OFF_ROW_COLOUR) is (k in off), k
        weight = float(row["cells"][1])
        assert weight == pytest.approx(bayesian.gmm.weights_[k], abs=5e-5)
    deviations = table_rows(page, "Standard deviations of the clusters")
    assert "status" not in deviations[0]["cells"]
    assert [row["off"] for row in deviations[1:]] == [k in off for k in range(8)]


def test_switched_off_ellipses_are_dashed_grey_and_their_means_left_out(page, runs):
    bayesian, _ = runs
    off = set(switched_off(bayesian))
    drawn = page.evaluate("pcagmmReport.ellipses")
    assert [e["cluster"] for e in drawn] == list(range(8))
    for e in drawn:
        k = e["cluster"]
        if k in off:
            assert (e["off"], e["dashed"], e["sigmas"], e["colour"]) == (True, True, [1], OFF_GREY)
        else:
            assert (e["off"], e["dashed"], e["sigmas"]) == (False, False, [1, 2, 3])
            assert e["colour"] == TAB10[k]
    page.page.select_option("#colour-by", "cluster")
    legend = page.evaluate(
        "[...document.querySelectorAll('#legend .entry')].map((e) => [e.textContent,"
        " e.classList.contains('off')])"
    )
    assert legend == [[f"cluster {k}" + (" (off)" if k in off else ""), k in off] for k in range(8)]
    page.page.screenshot(path="/tmp/report-bayesian.png", full_page=True)


def test_a_switched_off_mean_is_not_drawn_but_its_row_opens_it(page, runs):
    bayesian, _ = runs
    k = switched_off(bayesian)[0]
    x, y = page.evaluate(
        f"(() => {{ const m = pcagmmReport.meta.mixture.means[{k}];"
        " const [sx, sy] = pcagmmReport.toScreen(m[0], m[1]);"
        " const b = document.getElementById('overlay').getBoundingClientRect();"
        " return [b.left + sx, b.top + sy]; })()"
    )
    page.page.mouse.click(x, y)  # no mean there to click: no cluster opened
    assert page.evaluate("pcagmmReport.state.clusterShown") != k
    row = page.page.locator("#tables table.data").first.locator("tr").nth(k + 1)
    row.click()
    title = page.page.inner_text("#cluster-title")
    assert title.startswith(f"Cluster {k}: ")
    assert f"(switched off: below {KEPT_WEIGHT})" in title


def test_an_em_page_marks_nothing_off(em_page):
    assert em_page.evaluate("document.getElementById('kept-note').hidden")
    assert "variational" not in em_page.page.inner_text("#subtitle")
    means = table_rows(em_page, "Means of the clusters")
    assert means[0]["cells"] == ["cluster", "weight", "PC1", "PC2"]
    assert not any(row["off"] for row in means)
    drawn = em_page.evaluate("pcagmmReport.ellipses")
    assert [(e["off"], e["sigmas"], e["colour"]) for e in drawn] == [
        (False, [1, 2, 3], TAB10[k]) for k in range(3)
    ]
    em_page.page.select_option("#colour-by", "cluster")
    assert em_page.evaluate("document.querySelectorAll('#legend .entry.off').length") == 0


def test_a_rebuilt_page_reads_the_threshold_back_from_the_summary(runs, tmp_path):
    bayesian, _ = runs
    folder = tmp_path / "copy"
    shutil.copytree(bayesian.out, folder)
    (folder / "report.html").unlink()
    rebuild(folder)
    mixture = page_meta((folder / "report.html").read_text())["mixture"]
    assert mixture["kept_weight"] == KEPT_WEIGHT
    assert mixture["kept"] == bayesian.kept.tolist()
    np.testing.assert_allclose(mixture["weights"], bayesian.gmm.weights_)
