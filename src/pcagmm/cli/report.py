"""``pcagmm report``: build or rebuild report.html, a run folder's interactive page."""

from __future__ import annotations

from .console import EXIT_OK, Console
from .options import add_config_option


def register(commands, common) -> None:
    """Add ``report`` to the command tree."""
    from ..report.html import MAX_POINTS

    sub = commands.add_parser(
        "report",
        parents=[common],
        help="build report.html, the interactive page of a run folder, from its files",
    )
    sub.add_argument("run_folder", metavar="RUN_FOLDER", help="a folder written by pcagmm run")
    sub.add_argument(
        "--max-points",
        type=int,
        default=MAX_POINTS,
        metavar="N",
        help=f"above N rows the page shows a uniform sample of N (default {MAX_POINTS:,})",
    )
    add_config_option(sub, "folder")
    add_config_option(sub, "label_column")
    sub.set_defaults(handler=handle)


def handle(args, console: Console) -> int:
    from ..workflow.html_report import rebuild

    path = rebuild(
        args.run_folder,
        data_folder=args.folder,
        label_column=args.label_column,
        max_points=args.max_points,
        progress=console.progress(),
    )
    console.result({"report": str(path)}, f"wrote {path}; open it in a browser (no network needed)")
    return EXIT_OK
