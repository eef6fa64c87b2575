"""What the browser tests of report.html share."""

from __future__ import annotations

import pytest

from browser import launch


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, driven by Playwright, for one test module (a skip
    naming what is missing, a failure on CI: see tests/browser.py)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()
