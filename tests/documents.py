"""Where the documents' sentences are, for the tests that check them.

Issue 29 moved the README's user guide into pages of the documentation site
(``docs/site/guide/``); a sentence that moved keeps its test, which reads it from its page.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SITE = REPO / "docs" / "site"
GUIDE = SITE / "guide"

#: the README's sections before issue 29 -> the page each moved to
MOVED = {
    "More runs": GUIDE / "command-line.md",
    "Command line": GUIDE / "command-line.md",
    "Environment variables": GUIDE / "command-line.md",
    "Explore it in a browser": GUIDE / "report.md",
    "Has EM converged?": GUIDE / "converge.md",
    "How sure is each number?": GUIDE / "uncertainty.md",
    "Which model the data support": GUIDE / "select.md",
    "How many components the data keep": GUIDE / "bayesian.md",
    "How stable the answer is": GUIDE / "stability.md",
    "Clusters that find the digits": GUIDE / "umap.md",
    "Data sets": GUIDE / "data.md",
    "The cache": GUIDE / "data.md",
    "Python": GUIDE / "python.md",
    "Estimators": GUIDE / "python.md",
    "Larger than memory, and Dask clusters": GUIDE / "large-data.md",
    "How the code is organised": GUIDE / "design.md",
    "Development": GUIDE / "development.md",
}


def page(section: str) -> Path:
    """The page that holds the README section ``section`` now."""
    return MOVED[section]


def page_text(section: str) -> str:
    """The text of the page that holds the README section ``section`` now."""
    return page(section).read_text()


def fenced_block(text: str, after: str) -> list[str]:
    """The lines of the first fenced block after the text ``after``."""
    start = text.index("```", text.index(after))
    body = text[text.index("\n", start) + 1 : text.index("```", start + 3)]
    return body.splitlines()
