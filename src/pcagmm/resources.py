"""Memory a step will need, checked before the step starts rather than after the kernel
kills the process.

The memory available is the kernel's ``MemAvailable``, or ``PCAGMM_MEMORY_LIMIT``
(bytes, or a number with K, M or G) when that is set and smaller.
"""

from __future__ import annotations

import os

from . import settings
from .errors import PcagmmError


class ResourceError(PcagmmError, MemoryError):
    """A step that would need more memory than there is.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`~pcagmm.PcagmmError`).
    """


def available_memory() -> int:
    """Bytes of memory a new allocation can use without swapping or being killed."""
    available = None
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 1 << 62  # unknown: do not refuse
    limit = settings.memory_limit()
    if limit is not None:
        available = min(available, limit)
    return available


def require_memory(needed: int, what: str, alternative: str) -> None:
    """Refuse, with the estimate and what to do instead, if ``needed`` bytes are not there."""
    available = available_memory()
    if needed > available:
        raise ResourceError(
            f"{what} needs about {format_bytes(needed)} of memory but "
            f"{format_bytes(available)} is available",
            alternative,
        )


def format_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
