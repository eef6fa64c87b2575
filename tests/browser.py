"""A real headless Chromium (Debian's chromium-headless-shell) driven by Playwright, for
the report page's tests. Never ``playwright install``: it downloads from a host these
machines cannot reach."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/lib/chromium/chromium-headless-shell")
#: no sandbox (tests run as root), and none of Chromium's own network traffic
ARGUMENTS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def launch(playwright):
    """The browser, or a skip naming what is missing (a failure on CI, see conftest)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"Debian's chromium-headless-shell is not installed at {CHROMIUM}")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGUMENTS)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Playwright with the browser (:func:`launch`), closed when the block ends."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A page opened from a file, with its console errors and network requests kept."""

    def __init__(self, browser, path: Path, width: int = 1400, height: int = 1000):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_function("document.body.dataset.ready === 'true'", timeout=30_000)

    def evaluate(self, script: str, argument=None):
        return self.page.evaluate(script, argument)

    def close(self) -> None:
        self.page.close()
