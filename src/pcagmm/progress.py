"""Progress reporting for long stages (downloads, conversions, passes over rows).

Library functions take a :class:`Progress` and report through it; the default
:class:`Progress` reports nothing. The command line passes a
:class:`RichProgress`, which draws bars on standard error.

The passes over rows report through one channel, :func:`rows_done`; the one place
that connects it to a bar is :class:`pcagmm.workflow.timing.StageTimer`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

_row_listeners: list[Callable[[int], None]] = []
_row_lock = threading.Lock()


@contextlib.contextmanager
def reporting_rows(listener: Callable[[int], None]) -> Iterator[None]:
    """Call ``listener(count)`` whenever a pass has consumed ``count`` more rows.

    The passes of the estimators (chunk loops, threads, Dask blocks) report through
    :func:`rows_done`; a run turns that into rows per second and time left.
    """
    _row_listeners.append(listener)
    try:
        yield
    finally:
        _row_listeners.remove(listener)


def rows_done(count: int) -> None:
    """Report that ``count`` more rows went through a pass (cheap when nobody listens)."""
    if not _row_listeners:
        return
    with _row_lock:
        for listener in _row_listeners:
            listener(count)


class Task:
    """A running stage: advance it as work is done.

    Parameters
    ----------
    total : float, optional
        The units of work the stage has (None: unknown).

    Attributes
    ----------
    total : float or None
        The units of work the stage has.
    completed : float
        The units done so far.
    """

    def __init__(self, total: float | None = None):
        self.total = total
        self.completed = 0.0

    def advance(self, amount: float) -> None:
        """Count ``amount`` more units as done.

        Parameters
        ----------
        amount : float
            The units just done.
        """
        self.completed += amount

    def set_total(self, total: float | None) -> None:
        """Change the units of work the stage has, once they are known.

        Parameters
        ----------
        total : float or None
            The units of work (None: unknown).
        """
        self.total = total

    def reset(self) -> None:
        """Start counting again from zero (a new pass over the same rows)."""
        self.completed = 0.0


class Progress:
    """Report nothing: the base of every progress reporter.

    Library functions take a ``progress`` and report their stages through it; a
    subclass overrides :meth:`task` and :meth:`note` to show them (the command line's
    draws bars on standard error with rich).
    """

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None, unit: str = "") -> Iterator[Task]:
        """Show a stage of ``total`` units while it runs.

        Parameters
        ----------
        description : str
            What the stage does, in a few words.
        total : float, optional
            The units of work (None: unknown).
        unit : str, default=""
            What a unit is: ``"B"`` for bytes, ``"rows"``, or nothing.

        Yields
        ------
        Task
            The stage, to advance as work is done.
        """
        yield Task(total)

    def note(self, message: str) -> None:
        """Show a one-off status message (which source is tried, what is waited for).

        Parameters
        ----------
        message : str
            The message, one line.
        """


class RichProgress(Progress):
    """Progress bars and notes on standard error, drawn with rich."""

    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=True)

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None, unit: str = "") -> Iterator[Task]:
        if not self.console.is_terminal:  # no bars in logs and pipes
            yield Task(total)
            return
        from rich import progress as rp

        counter = rp.DownloadColumn() if unit == "B" else rp.MofNCompleteColumn()
        if unit == "B":
            speed = rp.TransferSpeedColumn()
        elif unit:
            speed = _RateColumn(unit)
        else:
            speed = rp.TimeElapsedColumn()
        columns = (
            rp.TextColumn("{task.description}"),
            rp.BarColumn(),
            counter,
            speed,
            rp.TimeRemainingColumn(),
        )
        with rp.Progress(*columns, console=self.console, transient=True) as bars:
            task_id = bars.add_task(description, total=total)
            yield _RichTask(bars, task_id, total)

    def note(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False, soft_wrap=True)


def _RateColumn(unit: str):
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Units per second, e.g. ``1,234,567 rows/s``."""

        def render(self, task):
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text(f"? {unit}/s", style="progress.data.speed")
            return Text(f"{speed:,.0f} {unit}/s", style="progress.data.speed")

    return RateColumn()


class _RichTask(Task):
    def __init__(self, bars, task_id, total):
        super().__init__(total)
        self._bars = bars
        self._id = task_id

    def advance(self, amount: float) -> None:
        super().advance(amount)
        self._bars.update(self._id, advance=amount)

    def set_total(self, total: float | None) -> None:
        super().set_total(total)
        self._bars.update(self._id, total=total)

    def reset(self) -> None:
        super().reset()
        self._bars.update(self._id, completed=0)


class PoochBar:
    """Adapts a :class:`Task` to the progress-bar object pooch's downloaders drive."""

    def __init__(self, task: Task):
        self._task = task

    @property
    def total(self):
        return self._task.total

    @total.setter
    def total(self, value):
        self._task.set_total(value or None)

    def update(self, amount):
        self._task.advance(amount)

    def reset(self):
        self._task.reset()

    def close(self):
        pass
