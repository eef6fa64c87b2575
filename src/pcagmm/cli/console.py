"""Where a command writes, and the parser pieces the commands share."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import PcagmmError
from ..report.text import table_lines

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(PcagmmError):
    """Arguments the parser refused."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and an exception, not an exit."""

    def error(self, message: str):
        raise UsageError(message, f"see {self.prog} --help")


def common_options() -> Parser:
    """``--quiet`` and ``--json``, which every command takes."""
    common = Parser(add_help=False)
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress or notes on stderr (the result is still printed)",
    )
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    return common


class Console:
    """Where a command writes: results to stdout, progress and notes to stderr.

    ``quiet`` silences stderr but for errors: a command's result (a run's table, a
    fetch's line) is neither progress nor a note, and is printed all the same.
    """

    def __init__(self, *, quiet: bool = False, as_json: bool = False):
        self.quiet = quiet
        self.as_json = as_json

    def print(self, line: str) -> None:
        sys.stdout.write(f"{line}\n")

    def progress(self):
        """The progress reporter for library calls: silent with ``--quiet``."""
        from ..progress import Progress, RichProgress

        return Progress() if self.quiet else RichProgress()

    def table(self, rows: list[tuple[str, ...]], header: bool = True) -> None:
        """Aligned columns of plain text (never wrapped, so logs and pipes stay readable)."""
        for line in table_lines(rows, underline=header):
            sys.stdout.write(f"{line}\n")

    def json(self, value) -> None:
        sys.stdout.write(json.dumps(value, indent=2) + "\n")

    def result(self, value, line: str) -> None:
        """A command's result: ``value`` as JSON with ``--json``, else ``line``."""
        if self.as_json:
            self.json(value)
        else:
            self.print(line)

    def error(self, message: str) -> None:
        sys.stderr.write(f"pcagmm: error: {message}\n")
