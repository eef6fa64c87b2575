"""``pcagmm run``: the analysis; its options are :class:`~pcagmm.workflow.RunConfig`'s fields."""

from __future__ import annotations

from .console import EXIT_OK, Console
from .options import add_mirror_option, add_run_options, run_options


def register(commands, common) -> None:
    """Add ``run`` to the command tree."""
    sub = commands.add_parser(
        "run",
        parents=[common],
        help="the analysis: PCA, Gaussian mixture, table, figures, files",
        description="Project a data set with PCA, cluster the projection with a Gaussian "
        "mixture, compare the clusters with the labels, and write figures and files. "
        "With no options: the course notebook's MNIST analysis.",
    )
    add_run_options(sub)
    add_mirror_option(sub)  # accepted as by the data commands; a run reads the cache
    sub.set_defaults(handler=handle)


def handle(args, console: Console) -> int:
    from ..workflow import run

    result = run(**run_options(args), progress=console.progress())
    if console.as_json:
        from ..report.files import summary

        console.json({**summary(result), "out": str(result.out), "files": result.files})
    else:
        console.print(result.report())
    return EXIT_OK
