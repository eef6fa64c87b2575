"""``pcagmm stability``: the same analysis from several seeds (and on bootstrap
resamples of the rows), and how alike the fits are."""

from __future__ import annotations

from .console import EXIT_OK, Console
from .options import FIELDS, RUN_ONLY, add_config_option, add_mirror_option


def register(commands, common) -> None:
    """Add ``stability`` to the command tree."""
    from ..workflow.stability_study import DEFAULT_SEEDS, MAX_FITS

    sub = commands.add_parser(
        "stability",
        parents=[common],
        help="fit the run's mixture from N seeds (and bootstrap resamples); how stable is it?",
        description="Project once with PCA, fit the run's Gaussian mixture from each seed "
        "(and on bootstrap resamples of the rows), in parallel; report the spread of the "
        "log-likelihood and of the agreement with the labels, the pairwise ARI between the "
        "seeds' partitions, each reference cluster's best-match Jaccard (Hennig's "
        "clusterboot; flagged below 0.6) and the distinct optima found; write "
        "stability.csv, stability.json, stability.png and the reference run's outputs.",
    )
    sub.add_argument(
        "--seeds",
        default=str(DEFAULT_SEEDS),
        metavar="N|LIST",
        help=f"a number of seeds, counted from --seed (default {DEFAULT_SEEDS}), or the seeds "
        f"themselves: 42,42,7 (at most {MAX_FITS}); the first is the reference",
    )
    sub.add_argument(
        "--bootstrap",
        default="0",
        metavar="B",
        help="also fit B resamples of the rows drawn with replacement (from the first seed)",
    )
    for name, field in FIELDS.items():
        if field.metadata["cli"] and name not in RUN_ONLY:
            add_config_option(sub, name)
    add_mirror_option(sub)
    sub.set_defaults(handler=handle)


def handle(args, console: Console) -> int:
    from ..workflow.stability_study import stability

    options = {
        name: getattr(args, name)
        for name, field in FIELDS.items()
        if field.metadata["cli"] and name not in RUN_ONLY
    }
    study = stability(
        **options, seeds=args.seeds, bootstrap=args.bootstrap, progress=console.progress()
    )
    if console.as_json:
        from ..report.stability import stability_record

        console.json({**stability_record(study), "out": str(study.out), "files": study.files})
    else:
        console.print(study.report())
    return EXIT_OK
