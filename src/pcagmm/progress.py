"""Progress reporting for long stages (downloads, conversions).

Library functions take a :class:`Progress` and report through it; the default
:class:`Progress` reports nothing. The command line passes a
:class:`RichProgress`, which draws bars on standard error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class Task:
    """A running stage: advance it as work is done."""

    def __init__(self, total: float | None = None):
        self.total = total
        self.completed = 0.0

    def advance(self, amount: float) -> None:
        self.completed += amount

    def set_total(self, total: float | None) -> None:
        self.total = total

    def reset(self) -> None:
        self.completed = 0.0


class Progress:
    """Reports nothing; the base of every progress reporter."""

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None, unit: str = "") -> Iterator[Task]:
        """A stage of ``total`` units (bytes when ``unit == "B"``), shown while it runs."""
        yield Task(total)

    def note(self, message: str) -> None:
        """A one-off status message (which source is tried, what is waited for)."""


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
        speed = rp.TransferSpeedColumn() if unit == "B" else rp.TimeElapsedColumn()
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
