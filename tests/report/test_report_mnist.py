"""The notebook's run on all of MNIST: its report.html within the page budget (10 MB),
every row in it, and a hovered row's image drawn as the data hold it."""

from __future__ import annotations

import numpy as np
import pytest
from test_report_browser import drawn_image, isolated_rows, screen_positions

from browser import Page, chromium
from pcagmm import run

sync_api = pytest.importorskip("playwright.sync_api")

#: the budget of issue 13 for MNIST's page
MNIST_PAGE_BYTES = 10_000_000


@pytest.mark.slow
def test_mnist_page_fits_the_budget_and_shows_each_rows_image(shared_mnist, tmp_path):
    result = run(folder=shared_mnist, out=tmp_path / "run", plots=False, report=True)
    page_file = tmp_path / "run" / "report.html"
    assert page_file.stat().st_size <= MNIST_PAGE_BYTES
    with chromium() as browser:
        page = Page(browser, page_file)
        assert page.evaluate("pcagmmReport.meta.rows_shown") == 70_000
        assert not page.page.is_visible("#sample-notice")
        positions = screen_positions(page)
        rows = isolated_rows(positions)
        assert rows, "some digit lies apart from the others on screen"
        X = np.asarray(result.dataset.X, dtype=float)
        for row in rows[:3]:
            page.page.mouse.move(*positions[row])
            assert page.page.inner_text("#row-title") == f"Row {row}"
            assert f"Digit label\t{result.dataset.y[row]}" in page.page.inner_text("#row-facts")
            height, width, grey = drawn_image(page)
            assert (height, width) == (28, 28)
            levels = (255 - np.array(grey, float)) / 17
            np.testing.assert_allclose(levels, np.rint(X[row] * 15 / 255), atol=0.03)
        assert page.errors == [] and page.requests == [page.url]
