"""Every PCAGMM_* variable is read in pcagmm.settings, when asked for (never at import)."""

from __future__ import annotations

import pytest

from pcagmm import settings
from pcagmm.errors import PcagmmError


def test_each_variable_when_set_and_when_not(monkeypatch, tmp_path):
    monkeypatch.setenv("PCAGMM_CACHE", str(tmp_path / "c"))
    assert settings.cache_folder() == tmp_path / "c"
    assert not (tmp_path / "c").exists()  # nothing is created by reading a setting
    monkeypatch.delenv("PCAGMM_DASK_TIMEOUT", raising=False)
    assert settings.dask_timeout() == "10s"
    monkeypatch.setenv("PCAGMM_DASK_TIMEOUT", "2s")
    assert settings.dask_timeout() == "2s"
    monkeypatch.delenv("PCAGMM_MEMORY_LIMIT", raising=False)
    assert settings.memory_limit() is None
    monkeypatch.setenv("PCAGMM_MEMORY_LIMIT", "1.5G")
    assert settings.memory_limit() == 3 << 29
    monkeypatch.setenv("PCAGMM_MNIST_MIRRORS", "http://a/ http://b/")
    assert settings.mirrors("PCAGMM_MNIST_MIRRORS") == ["http://a/", "http://b/"]
    assert settings.mirrors(None) is None
    monkeypatch.setenv("PCAGMM_MNIST_DIR", "")
    assert settings.data_folder("PCAGMM_MNIST_DIR") is None
    monkeypatch.delenv("PCAGMM_HTTP_TIMEOUT", raising=False)
    assert settings.http_timeout() == settings.HTTP_TIMEOUT


def test_bad_values_say_what_to_set(monkeypatch):
    monkeypatch.setenv("PCAGMM_MEMORY_LIMIT", "lots")
    with pytest.raises(PcagmmError, match="PCAGMM_MEMORY_LIMIT='lots' is not an amount"):
        settings.memory_limit()
    monkeypatch.setenv("PCAGMM_HTTP_TIMEOUT", "0")
    with pytest.raises(PcagmmError, match="PCAGMM_HTTP_TIMEOUT='0' is not a positive number"):
        settings.http_timeout()


def test_the_readme_lists_every_variable_once_in_one_table():
    """One table of environment variables (issue 25: PCAGMM_MEMORY_LIMIT stood in two), and
    it names exactly the variables pcagmm reads. The table moved from the README to the
    command line's page of the user guide (issue 29); neither the README nor any other page
    holds another."""
    import re

    from documents import GUIDE, README, SITE, page_text
    from pcagmm.datasets.registry import BUILTIN

    pages = [README, SITE / "getting-started.md", *sorted(GUIDE.glob("*.md"))]
    headers = [line for path in pages for line in path.read_text().splitlines()
               if line.startswith("| environment variable")]  # fmt: skip
    assert len(headers) == 1
    text = page_text("Environment variables")
    assert headers[0] in text
    rows = [line for line in text.splitlines() if line.startswith("| `PCAGMM_")]
    listed = [name for row in rows for name in re.findall(r"`(PCAGMM_[A-Z_]+)`", row)]
    assert len(listed) == len(set(listed)), listed
    read = {settings.CACHE_ENV, settings.HTTP_TIMEOUT_ENV, settings.DASK_TIMEOUT_ENV}
    read |= {settings.MEMORY_LIMIT_ENV}
    read |= {spec.folder_env for spec in BUILTIN.values() if spec.folder_env}
    read |= {spec.mirrors_env for spec in BUILTIN.values() if spec.mirrors_env}
    assert set(listed) == read
