"""Errors that pcagmm raises for bad input and faults it cannot work around.

Every error carries a one-line message that names the problem and says what to
do about it. The command line prints that line and exits with status 2; library
users catch :class:`PcagmmError` (or the built-in class each one also derives
from, so ``except ValueError`` keeps working as with scikit-learn).
"""

from __future__ import annotations


class PcagmmError(Exception):
    """Base class of every error pcagmm raises on purpose.

    Parameters
    ----------
    problem : str
        What is wrong, in one line.
    fix : str, optional
        What the user can do about it, in one line.
    """

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}; {fix}" if fix else problem)


class UnknownDatasetError(PcagmmError, KeyError):
    """A data set name that is neither built in nor a path to a file."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class DataFormatError(PcagmmError, ValueError):
    """A file that cannot be read as the format it claims to be."""


class HashMismatchError(PcagmmError, ValueError):
    """Content whose SHA-256 is not the one recorded for it."""


class FetchError(PcagmmError, OSError):
    """No source could supply a data set."""


class CacheError(PcagmmError, OSError):
    """The cache folder cannot be created, written or read."""
