"""The timed-stage helper: how long each stage took, and its progress bar.

It is the one place that connects the passes' row counts
(:func:`pcagmm.progress.rows_done`) to a bar: a stage that says how many rows its
passes read gets a bar with rows per second and the time left.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from ..progress import Progress, reporting_rows


class StageTimer:
    """Time stages into ``timings`` (name -> seconds) and show them on ``progress``.

    Parameters
    ----------
    progress : Progress, optional
        Where to show the stages (default: nowhere).

    Attributes
    ----------
    progress : Progress
        Where the stages are shown.
    timings : dict of str to float
        Seconds per stage, by name, in the order they ran.

    Examples
    --------
    >>> timer = StageTimer()
    >>> with timer.stage("pca", "PCA", rows=1000, passes=2):
    ...     pass
    >>> list(timer.timings)
    ['pca']
    """

    def __init__(self, progress: Progress | None = None):
        self.progress = progress or Progress()
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(
        self, name: str, description: str, rows: int | None = None, passes: int = 1
    ) -> Iterator[None]:
        """Time a stage and show it; with ``rows``, a bar of rows per second and time left.

        Parameters
        ----------
        name : str
            The stage's key in ``timings``.
        description : str
            What the progress bar says.
        rows : int, optional
            The rows a pass goes through (None: no count of rows).
        passes : int, default=1
            The passes over ``rows`` rows expected (0: an unknown number, the bar then
            restarts with each pass).

        Yields
        ------
        None
            The stage runs in the ``with`` block.
        """
        started = time.perf_counter()
        total = rows * passes if rows and passes else rows
        with self.progress.task(description, total=total, unit="rows" if rows else "") as task:
            if rows:

                def advance(count: int) -> None:
                    if not passes and task.completed >= rows:
                        task.reset()
                    task.advance(count)

                with reporting_rows(advance):
                    yield
            else:
                yield
        self.timings[name] = round(time.perf_counter() - started, 4)
