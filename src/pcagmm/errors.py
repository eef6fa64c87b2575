"""Errors that pcagmm raises for bad input and faults it cannot work around.

Every error carries a one-line message that names the problem and says what to
do about it. The command line prints that line and exits with status 2; library
users catch :class:`PcagmmError` (or the built-in class each one also derives
from, so ``except ValueError`` keeps working as with scikit-learn).

Errors about a run's parameters (:class:`ParameterError`) name them as the caller
spelled them: ``str(error)`` says ``components=5`` (Python), and the command line
renders the same error as ``--components 5`` (see :meth:`ParameterError.render`).
"""

from __future__ import annotations

import re
from collections.abc import Callable


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

    def render(self, flags: Callable[[str], str] | None = None) -> str:
        """Return the one-line message.

        Parameters
        ----------
        flags : callable, optional
            Name -> command-line flag: the parameters named as the command line
            spells them (used by :class:`~pcagmm.errors.ParameterError` only).

        Returns
        -------
        str
            The message, ``problem; fix``.
        """
        return str(self)


class RunError(PcagmmError, ValueError):
    """A run that cannot start as configured.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`PcagmmError`).
    """


#: ``{name}``, ``{name=value}``, and ``{{`` / ``}}`` for literal braces
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*)(?:=([^{}]*))?\}")


def literal(text: object) -> str:
    """``text`` (a path, a data set's name) made safe to put into a :class:`ParameterError`
    template: its braces are doubled, so they are never read as a parameter."""
    return str(text).replace("{", "{{").replace("}", "}}")


class ParameterError(RunError):
    """A parameter whose value a run cannot use.

    ``problem`` and ``fix`` are templates: ``{name}`` names a parameter and
    ``{name=value}`` names it with a value; other text goes through ``literal()``.
    ``str(error)`` spells them as Python does (``components``, ``components=5``);
    :meth:`render` with a flag map spells them as the command line does
    (``--components``, ``--components 5``; a boolean ``{force=True}`` is ``--force``).

    Parameters
    ----------
    problem, fix : str
        Templates of what is wrong and of what to do about it.
    """

    def __init__(self, problem: str, fix: str | None = None):
        self.templates = (problem, fix)
        super().__init__(_fill(problem, _python), _fill(fix, _python) if fix else None)

    def render(self, flags: Callable[[str], str] | None = None) -> str:
        """Return the one-line message, the parameters spelled by ``flags``.

        Parameters
        ----------
        flags : callable, optional
            Name -> command-line flag (None: the parameters as Python spells them).

        Returns
        -------
        str
            The message, ``problem; fix``.
        """
        if flags is None:
            return str(self)

        def spell(name: str, value: str | None) -> str:
            flag = flags(name)
            return flag if value is None or value in ("True", "False") else f"{flag} {value}"

        problem, fix = (_fill(text, spell) if text else text for text in self.templates)
        return f"{problem}; {fix}" if fix else problem


def _python(name: str, value: str | None) -> str:
    return name if value is None else f"{name}={value}"


def _fill(template: str, spell: Callable[[str, str | None], str]) -> str:
    def replace(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)[0]  # "{{" or "}}"
        return spell(match.group(1), match.group(2))

    return _PLACEHOLDER.sub(replace, template)


class UnknownDatasetError(PcagmmError, KeyError):
    """A data set name that is neither built in nor a path to a file.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`PcagmmError`).
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class DataFormatError(PcagmmError, ValueError):
    """A file that cannot be read as the format it claims to be.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`PcagmmError`).
    """


class HashMismatchError(PcagmmError, ValueError):
    """Content whose SHA-256 is not the one recorded for it.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`PcagmmError`).
    """


class FetchError(PcagmmError, OSError):
    """No source could supply a data set.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`PcagmmError`).
    """


class CacheError(PcagmmError, OSError):
    """The cache folder cannot be created, written or read.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`PcagmmError`).
    """


class DiskFullError(PcagmmError, OSError):
    """A write that ran out of space, or of quota, on the device it wrote to.

    It is also an :class:`OSError` with the ``errno`` of the failure (``ENOSPC`` or
    ``EDQUOT``) and, as ``strerror``, the reason with the estimate of the space
    needed, so code that catches ``OSError`` and quotes ``strerror`` passes it on.

    Parameters
    ----------
    problem, fix : str
        As for :class:`PcagmmError`.
    reason : str
        The problem without the folder (what ``strerror`` holds).
    folder : path-like
        The folder whose device is full.
    needed : int
        Bytes the write needs (an estimate; see ``pcagmm._files.disk_full_error``).
    written : int
        Bytes it had written when the device filled.
    free : int or None
        Bytes free on the device once the partial files were removed (None: unknown).
    code : int
        ``errno.ENOSPC`` or ``errno.EDQUOT``.
    """

    def __init__(self, problem, fix, *, reason, folder, needed, written, free, code):
        super().__init__(problem, fix)
        self.errno, self.strerror = code, reason
        self.folder, self.needed, self.written, self.free = folder, needed, written, free

    def __str__(self) -> str:  # OSError would print "[Errno 28] <strerror>"
        return Exception.__str__(self)


class FileChangedError(PcagmmError, OSError):
    """A data file that another program changed (shortened) while pcagmm read it.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`PcagmmError`).
    """
