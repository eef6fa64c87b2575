"""The ``pcagmm`` command line: thin commands over the library.

One entry point (:func:`main`) parses the arguments, builds one
:class:`~pcagmm.cli.console.Console` and maps every
:class:`~pcagmm.errors.PcagmmError` to a one-line message and exit status 2
(parameters named as flags). Results go to standard output (as JSON with
``--json``); progress and notes go to standard error.

Each command is a module here with a ``register(commands, common)`` function that
adds its parser (arguments beside the handler); adding a command is a new module and
its name in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import PcagmmError
from .console import EXIT_INTERRUPTED, EXIT_USAGE, Console, Parser, common_options

#: the modules of pcagmm.cli that each register a command, in the order of --help
COMMANDS = ("data", "run", "select", "stability", "predict", "report")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = Parser(
        prog="pcagmm",
        description="Project a data set with PCA, cluster it with a Gaussian mixture, "
        "and show what came out.",
    )
    parser.add_argument("--version", action="version", version=f"pcagmm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = common_options()
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    console = Console()
    try:
        args = build_parser().parse_args(argv)
        console = Console(quiet=args.quiet, as_json=args.json)
        return args.handler(args, console)
    except PcagmmError as exc:
        from ..workflow.config import flag

        console.error(exc.render(flag))  # parameters named as the flags that set them
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.error("interrupted; nothing half-written was kept, run the command again")
        _forget_handled_interrupt()
        return EXIT_INTERRUPTED


def _forget_handled_interrupt() -> None:
    """Clear CPython's note that a Ctrl-C went unhandled: it was handled, here.

    CPython notes a KeyboardInterrupt that leaves code run from a string (``eval`` or
    ``exec`` of source, as ``collections.namedtuple`` does while a module is imported)
    as unhandled, even when an ``except`` further out catches it; under ``python -m``
    the interpreter then kills itself with SIGINT at exit instead of returning 130.
    The note is a C global on CPython 3.11; where it is not found (other versions keep
    it elsewhere, other interpreters have none) nothing is done.
    """
    try:
        import ctypes

        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0
    except (ImportError, AttributeError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
