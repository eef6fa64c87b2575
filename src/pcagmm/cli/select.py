"""``pcagmm select``: which number of clusters and covariance type the data support."""

from __future__ import annotations

import dataclasses

from .console import EXIT_OK, Console
from .options import FIELDS, RUN_ONLY, add_config_option, add_mirror_option

#: RunConfig's fields the sweep replaces with lists of its own
#: run options a sweep sets itself, or that a study does not take
SWEPT = ("components", "clusters", "covariance_type", *RUN_ONLY)


def register(commands, common) -> None:
    """Add ``select`` to the command tree."""
    from ..mixture import CRITERIA
    from ..mixture.initialization import INIT_PARAMS
    from ..workflow.selection import SelectConfig

    # the defaults are SelectConfig's, written as the command line writes them
    default = {f.name: f.default for f in dataclasses.fields(SelectConfig)}
    clusters = default["clusters"]

    sub = commands.add_parser(
        "select",
        parents=[common],
        help="model selection: fit every K and covariance type, choose by BIC/AIC/ICL",
        description="Project once with PCA, fit a Gaussian mixture for every number of "
        "clusters, covariance type (and projection size), score each by an information "
        "criterion (lower is better), print the table with the best marked, and write "
        "selection.csv, selection.json, selection.png and the chosen model's run outputs. "
        "Criteria compare models of the same projection: with several --components the "
        "best is chosen per size, and the first size's best is run through the outputs.",
    )
    sub.add_argument(
        "--clusters",
        default=f"{clusters[0]}-{clusters[-1]}",
        metavar="RANGE",
        help="numbers of clusters: a range, a list or both (1-15, 2,4,8, 1-5,10)",
    )
    sub.add_argument(
        "--covariance-types",
        default=",".join(default["covariance_types"]),
        metavar="LIST",
        help=(
            "covariance types, comma-separated: scikit-learn's (full, tied, diag, "
            "spherical) or mclust's (EII ... VVV); all: mclust's fourteen"
        ),
    )
    sub.add_argument(
        "--components",
        default=",".join(map(str, default["components"])),
        metavar="LIST",
        help="PCA projection sizes, comma-separated (PCA is fitted once, to the largest)",
    )
    sub.add_argument(
        "--criterion", default=default["criterion"], choices=CRITERIA, help="lower is better"
    )
    sub.add_argument(
        "--init-params",
        default=default["init_params"],
        choices=INIT_PARAMS,
        help="EM's start in every fit (hierarchical: mclust's model-based agglomeration)",
    )
    sub.add_argument(
        "--lrt",
        action="store_true",
        help="test K against K+1 for the chosen covariance type by mclust's sequential "
        "bootstrap likelihood-ratio test; writes lrt.csv",
    )
    sub.add_argument(
        "--lrt-bootstrap",
        default=default["lrt_bootstrap"],
        metavar="B",
        help=f"replicates per step of --lrt (default {default['lrt_bootstrap']})",
    )
    sub.add_argument(
        "--lrt-level",
        default=default["lrt_level"],
        metavar="LEVEL",
        help=f"the level of --lrt: it stops at the first p-value above it (default "
        f"{default['lrt_level']})",
    )
    for name, field in FIELDS.items():
        if field.metadata["cli"] and name not in SWEPT:
            add_config_option(sub, name)
    add_mirror_option(sub)
    sub.set_defaults(handler=handle)


def handle(args, console: Console) -> int:
    from ..workflow.selection import select

    options = {
        name: getattr(args, name)
        for name, field in FIELDS.items()
        if field.metadata["cli"] and name not in SWEPT
    }
    options.update(
        clusters=args.clusters,
        covariance_types=args.covariance_types,
        components=args.components,
        criterion=args.criterion,
        init_params=args.init_params,
        lrt=args.lrt,
        lrt_bootstrap=args.lrt_bootstrap,
        lrt_level=args.lrt_level,
    )
    selection = select(**options, progress=console.progress())
    if console.as_json:
        from ..report.selection import selection_record

        console.json(
            {**selection_record(selection), "out": str(selection.out), "files": selection.files}
        )
    else:
        console.print(selection.report())
    return EXIT_OK
