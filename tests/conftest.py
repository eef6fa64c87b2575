"""Shared fixtures: every test gets its own cache and can reach no public host."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


#: on CI (``CI=true``, as ``.ci/run`` sets it) a test that skips for want of one of
#: these fails instead: CI must not go green having tested less. Locally the skips stay.
REQUIRED_ON_CI = (
    "shared MNIST",
    "dataset-fashion-mnist",
    "chromium",
    "R's mclust",
    "could not import 'dask",
    "could not import 'distributed'",
    "could not import 'playwright",
    "could not import 'umap",
    "could not import 'nbformat'",
    "could not import 'nbclient'",
    "no Jupyter kernel",
)


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _fail_a_required_skip(report) -> None:
    if not (report.skipped and on_ci()):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if any(fragment in reason for fragment in REQUIRED_ON_CI):
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, where what it needs must be present: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_a_required_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_a_required_skip(outcome.get_result())  # a module's importorskip


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory):
    """A private cache for module- and session-scoped fixtures too, which are set up
    before :func:`isolated` (a run in one would otherwise write into the user's cache:
    report.html's images are kept there)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PCAGMM_CACHE", str(tmp_path_factory.mktemp("session-cache")))
        yield


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private cache; mirrors and pip pointed at nothing, so no test leaves this machine."""
    monkeypatch.setenv("PCAGMM_CACHE", str(tmp_path / "cache"))
    for name in ("PCAGMM_MNIST_DIR", "PCAGMM_FASHION_MNIST_DIR"):
        monkeypatch.delenv(name, raising=False)
    # No mirror unless a test names one (a closed port answers at once).
    monkeypatch.setenv("PCAGMM_MNIST_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setenv("PCAGMM_FASHION_MNIST_MIRRORS", "http://127.0.0.1:9/")
    # pip may read only what a test puts in a local folder.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels-here"))
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def cache_dir(isolated) -> Path:
    return isolated / "cache"


@pytest.fixture(scope="session")
def shared_mnist() -> Path:
    """The canonical MNIST IDX files (gzip) in ../shared."""
    if not all((SHARED_MNIST / f"{f}.gz").is_file() for f in MNIST_FILES):
        pytest.skip(f"the shared MNIST files are not at {SHARED_MNIST}")
    return SHARED_MNIST


@pytest.fixture
def mnist_copy(shared_mnist, tmp_path) -> Path:
    """A writable copy of the MNIST gzip files, to corrupt."""
    folder = tmp_path / "mnist-files"
    folder.mkdir()
    for name in MNIST_FILES:
        shutil.copy(shared_mnist / f"{name}.gz", folder / f"{name}.gz")
    return folder


def idx_payload(folder: Path, name: str) -> np.ndarray:
    """The values of ``folder/name.gz``, read with gzip and numpy from the IDX definition
    (a 4-byte magic, 4 bytes per dimension, then uint8 values): a reference independent of
    pcagmm's reader."""
    raw = gzip.decompress((folder / f"{name}.gz").read_bytes())
    return np.frombuffer(raw[4 + 4 * raw[3] :], np.uint8)
