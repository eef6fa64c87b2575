"""Back-to-back runs in one process leak no file descriptors or threads (issue 14).

The short form of ``benchmarks/soak.py`` (200 runs of each kind, with memory): 10 runs
that compute only and 10 that write a run folder, after a warm-up.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading

import pcagmm


def open_descriptors() -> list[str]:
    """What each open file descriptor of this process points at."""
    fds = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the descriptor listdir used, closed by now
            fds.append(os.readlink(f"/proc/self/fd/{fd}"))
    return sorted(fds)


def test_twenty_runs_leak_no_descriptors_or_threads(tmp_path):
    def both(number: int) -> None:
        pcagmm.run("digits", write=False)
        pcagmm.run("digits", out=tmp_path / f"run-{number}", plots=False, report=True)

    both(-1)  # warm-up: the data set is fetched, modules and thread pools start
    gc.collect()
    fds, threads = open_descriptors(), threading.active_count()
    for number in range(10):
        both(number)
    gc.collect()
    # no growth (a thread or descriptor of an earlier test may end meanwhile)
    assert sorted(set(open_descriptors()) - set(fds)) == []
    assert len(open_descriptors()) <= len(fds)
    assert threading.active_count() <= threads
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("run-")) == sorted(
        f"run-{number}" for number in range(-1, 10)
    )
