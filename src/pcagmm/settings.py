"""Every ``PCAGMM_*`` environment variable, read (and checked) in one place.

Nothing here is read at import time: each function looks at the environment when
called, so a test or a notebook can change a variable between calls.

======================== =====================================================
``PCAGMM_CACHE``         the cache folder (default: the platform's user cache)
``PCAGMM_<NAME>_DIR``    a local folder with a built-in data set's files
``PCAGMM_<NAME>_MIRRORS`` base URLs replacing its mirrors (separated by spaces)
``PCAGMM_HTTP_TIMEOUT``  seconds for a mirror download's connect and read
``PCAGMM_DASK_TIMEOUT``  how long to wait for a Dask scheduler (default ``10s``)
``PCAGMM_MEMORY_LIMIT``  memory a run may use (bytes, or a number with K, M or G)
======================== =====================================================
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import PcagmmError

CACHE_ENV = "PCAGMM_CACHE"
HTTP_TIMEOUT_ENV = "PCAGMM_HTTP_TIMEOUT"
DASK_TIMEOUT_ENV = "PCAGMM_DASK_TIMEOUT"
MEMORY_LIMIT_ENV = "PCAGMM_MEMORY_LIMIT"

#: (connect, read) timeouts in seconds for mirror downloads when none is set
HTTP_TIMEOUT = (5.0, 30.0)
DASK_TIMEOUT = "10s"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def cache_folder() -> Path:
    """The cache folder: ``$PCAGMM_CACHE`` or the platform's user cache folder (not created)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("pcagmm", appauthor=False))


def data_folder(variable: str | None) -> str | None:
    """The local folder named by ``variable`` (e.g. ``PCAGMM_MNIST_DIR``), or None."""
    return os.environ.get(variable) or None if variable else None


def mirrors(variable: str | None) -> list[str] | None:
    """The base URLs listed in ``variable`` (separated by spaces), or None when it is unset."""
    if not variable or os.environ.get(variable) is None:
        return None
    return os.environ[variable].split()


def http_timeout() -> tuple[float, float]:
    """(connect, read) seconds for mirror downloads: ``$PCAGMM_HTTP_TIMEOUT`` sets both."""
    text = os.environ.get(HTTP_TIMEOUT_ENV)
    if not text:
        return HTTP_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise PcagmmError(
            f"{HTTP_TIMEOUT_ENV}={text!r} is not a positive number of seconds",
            f"set it to e.g. 10, or unset it for the defaults {HTTP_TIMEOUT}",
        )
    return (seconds, seconds)


def dask_timeout() -> str:
    """How long to wait for a Dask scheduler and its workers (a Dask duration, e.g. ``10s``)."""
    return os.environ.get(DASK_TIMEOUT_ENV, DASK_TIMEOUT)


def memory_limit() -> int | None:
    """``$PCAGMM_MEMORY_LIMIT`` in bytes, or None when it is not set."""
    text = os.environ.get(MEMORY_LIMIT_ENV)
    return parse_bytes(text) if text else None


def parse_bytes(text: str) -> int:
    """Bytes from ``"8G"``, ``"512 MiB"``, ``"1000000"``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise PcagmmError(
            f"{MEMORY_LIMIT_ENV}={text!r} is not an amount of memory",
            "give bytes or a number with K, M or G, e.g. 8G",
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])
