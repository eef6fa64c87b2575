"""The ``pcagmm`` command line: thin commands over the library.

One entry point (:func:`main`) parses the arguments, builds one :class:`Console`
and maps every :class:`~pcagmm.errors.PcagmmError` to a one-line message and exit
status 2. Results go to standard output (as JSON with ``--json``); progress and
notes go to standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from .errors import PcagmmError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(PcagmmError):
    """Arguments the parser refused."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and an exception, not an exit."""

    def error(self, message: str):
        raise UsageError(message, f"see {self.prog} --help")


class Console:
    """Where a command writes: results to stdout, progress and notes to stderr."""

    def __init__(self, *, quiet: bool = False, as_json: bool = False):
        self.quiet = quiet
        self.as_json = as_json

    def print(self, line: str) -> None:
        sys.stdout.write(f"{line}\n")

    def progress(self):
        """The progress reporter for library calls: silent with ``--quiet``."""
        from .progress import Progress, RichProgress

        return Progress() if self.quiet else RichProgress()

    def table(self, rows: list[tuple[str, ...]], header: bool = True) -> None:
        """Aligned columns of plain text (never wrapped, so logs and pipes stay readable)."""
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for number, row in enumerate(rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            line = "  ".join([*cells, row[-1]])
            sys.stdout.write(f"{line}\n")
            if header and number == 0:
                sys.stdout.write("  ".join("-" * len(c) for c in [*cells, row[-1]]) + "\n")

    def json(self, value) -> None:
        sys.stdout.write(json.dumps(value, indent=2) + "\n")

    def error(self, message: str) -> None:
        sys.stderr.write(f"pcagmm: error: {message}\n")


# ----------------------------------------------------------------------------- data commands


def cmd_data_list(args, console: Console) -> int:
    from .datasets import list_datasets

    rows = list_datasets()
    if console.as_json:
        console.json(rows)
        return EXIT_OK
    lines = [("name", "rows x features", "classes", "cached", "description")]
    for row in rows:
        n, d = row["shape"]
        cached = f"yes ({row['bytes'] / 2**20:.1f} MiB)" if row["cached"] else "no"
        lines.append((row["name"], f"{n:,} x {d:,}", str(row["classes"]), cached, row["title"]))
    console.table(lines)
    return EXIT_OK


def cmd_data_fetch(args, console: Console) -> int:
    from .datasets import fetch, load

    entry = fetch(
        args.name,
        folder=args.folder,
        mirrors=args.mirror,
        progress=console.progress(),
        force=args.force,
    )
    dataset = load(args.name)
    if console.as_json:
        console.json(dataset.describe())
    elif not console.quiet:
        n, d = dataset.shape
        console.print(
            f"{dataset.name}: {n:,} x {d:,} {dataset.X.dtype}, SHA-256 verified, "
            f"from {dataset.source}, cached in {entry}"
        )
    return EXIT_OK


def cmd_data_info(args, console: Console) -> int:
    from .datasets import load
    from .datasets.formats import content_sha256
    from .datasets.registry import BUILTIN

    dataset = load(
        args.name,
        folder=args.folder,
        mirrors=args.mirror,
        label_column=args.label_column,
        progress=console.progress(),
    )
    spec = BUILTIN.get(dataset.name)
    if spec is not None and dataset.location and dataset.location.is_dir():
        # Recompute rather than trust the recorded hash: it takes a fraction of a second.
        dataset.verified = content_sha256(dataset.X, dataset.y) == spec.content_sha256
    info = dataset.describe()
    if console.as_json:
        console.json(info)
        return EXIT_OK
    _print_info(console, dataset, info)
    return EXIT_OK


def _print_info(console: Console, dataset, info: dict) -> None:
    n, d = dataset.shape
    images = f" ({'x'.join(map(str, dataset.image_shape))} images)" if dataset.image_shape else ""
    rows = [
        ("data set", f"{dataset.name}  {dataset.title}".rstrip()),
        ("shape", f"{n:,} x {d:,} {dataset.X.dtype}{images}"),
    ]
    counts = dataset.class_counts()
    names = dataset.target_names or ()
    parts = []
    for label, count in counts.items():
        named = names[label] if isinstance(label, int) and 0 <= label < len(names) else None
        shown = f"{label} {named}" if named and named != str(label) else str(label)
        parts.append(f"{shown}: {count}")
    rows.append(("classes", f"{len(counts)} ({', '.join(parts)})" if counts else "no labels"))
    ranges = [
        f"{name} rows {start:,}-{stop - 1:,} ({stop - start:,})"
        for name, (start, stop) in dataset.split.items()
    ]
    rows.append(("split", ", ".join(ranges)))
    rows.append(("source", dataset.source))
    status = {True: "verified", False: "MISMATCH", None: "(no recorded hash to check)"}
    rows.append(("sha256", f"{info['sha256']} {status[dataset.verified]}"))
    if dataset.location:
        rows.append(("location", str(dataset.location)))
    console.table(rows, header=False)


def cmd_data_verify(args, console: Console) -> int:
    from .datasets import verify

    dataset = verify(args.name)
    if console.as_json:
        console.json({"name": dataset.name, "sha256": dataset.sha256, "verified": True})
    elif not console.quiet:
        console.print(f"{dataset.name}: SHA-256 {dataset.sha256} verified")
    return EXIT_OK


def cmd_data_path(args, console: Console) -> int:
    from .datasets import cached_path

    entry = cached_path(args.name)
    if console.as_json:
        console.json({"name": args.name, "path": str(entry)})
    else:
        sys.stdout.write(f"{entry}\n")
    return EXIT_OK


def cmd_data_make_big(args, console: Console) -> int:
    from .datasets.generate import labels_path, make_big

    out = make_big(args.rows, args.out, source=args.source, seed=args.seed,
                   progress=console.progress())  # fmt: skip
    if console.as_json:
        console.json({"out": str(out), "labels": str(labels_path(out)), "rows": args.rows})
    elif not console.quiet:
        console.print(f"{out}: {args.rows:,} rows made from {args.source}; labels in "
                      f"{labels_path(out)}")  # fmt: skip
    return EXIT_OK


# ----------------------------------------------------------------------------- run, predict


def cmd_run(args, console: Console) -> int:
    from .pipeline import run

    result = run(
        args.dataset,
        components=args.components,
        clusters=args.clusters,
        covariance_type=args.covariance_type,
        seed=args.seed,
        n_init=args.n_init,
        tol=args.tol,
        max_iter=args.max_iter,
        out=args.out,
        figure_format=args.format,
        plots=not args.no_plots,
        force=args.force,
        folder=args.folder,
        label_column=args.label_column,
        dask=args.dask,
        progress=console.progress(),
    )
    if console.as_json:
        from .outputs import summary

        console.json({**summary(result), "out": str(result.out), "files": result.files})
    elif not console.quiet:
        console.print(result.report())
    return EXIT_OK


def cmd_predict(args, console: Console) -> int:
    from .predict import predict

    rows = predict(args.model, args.input, label_column=args.label_column,
                   progress=console.progress())  # fmt: skip
    if console.as_json:
        console.json(rows)
        return EXIT_OK
    table = [("row", "cluster", "probability", "matched label")]
    for row in rows:
        label = "" if row["matched_label"] is None else str(row["matched_label"])
        table.append((row["row"], str(row["cluster"]), f"{row['probability']:.4f}", label))
    console.table(table)
    return EXIT_OK


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    common = _Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress or notes")
    common.add_argument("--json", action="store_true", help="print the result as JSON")

    source_options = _Parser(add_help=False)
    source_options.add_argument(
        "--from",
        dest="folder",
        metavar="DIR",
        help="a local folder holding the data set's files (gzipped or not), tried first",
    )
    source_options.add_argument(
        "--mirror",
        action="append",
        metavar="URL",
        help="a base URL to download from instead of the public mirrors (repeatable)",
    )

    parser = _Parser(
        prog="pcagmm",
        description="Project a data set with PCA, cluster it with a Gaussian mixture, "
        "and show what came out.",
    )
    parser.add_argument("--version", action="version", version=f"pcagmm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    data = commands.add_parser("data", help="list, fetch, inspect and verify data sets")
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    sub = data_commands.add_parser("list", parents=[common], help="the built-in data sets")
    sub.set_defaults(handler=cmd_data_list)

    sub = data_commands.add_parser(
        "fetch", parents=[common, source_options], help="fetch a data set into the cache"
    )
    sub.add_argument("name", help="mnist, fashion-mnist or digits")
    sub.add_argument("--force", action="store_true", help="fetch again even if cached")
    sub.set_defaults(handler=cmd_data_fetch)

    sub = data_commands.add_parser(
        "info", parents=[common, source_options], help="shape, classes, split, source, hash"
    )
    sub.add_argument("name", help="a built-in name or the path of a data file")
    sub.add_argument(
        "--label-column", metavar="COLUMN", help="CSV files: the column (name or number) of labels"
    )
    sub.set_defaults(handler=cmd_data_info)

    sub = data_commands.add_parser(
        "verify", parents=[common], help="recompute a cached data set's SHA-256"
    )
    sub.add_argument("name")
    sub.set_defaults(handler=cmd_data_verify)

    sub = data_commands.add_parser("path", parents=[common], help="the cache folder of a data set")
    sub.add_argument("name")
    sub.set_defaults(handler=cmd_data_path)

    sub = data_commands.add_parser(
        "make-big", parents=[common],
        help="write a large data set of randomly deformed images (labels kept)",
    )  # fmt: skip
    sub.add_argument("--rows", type=int, required=True, help="rows to write")
    sub.add_argument("--out", required=True, metavar="FILE", help="the .npy file to write")
    sub.add_argument("--source", default="mnist", help="the data set to deform (default mnist)")
    sub.add_argument("--seed", type=int, default=0, help="seed of the deformations")
    sub.set_defaults(handler=cmd_data_make_big)

    sub = commands.add_parser(
        "run",
        parents=[common, source_options],
        help="the analysis: PCA, Gaussian mixture, table, figures, files",
        description="Project a data set with PCA, cluster the projection with a Gaussian "
        "mixture, compare the clusters with the labels, and write figures and files. "
        "With no options: the course notebook's MNIST analysis.",
    )
    which = sub.add_mutually_exclusive_group()
    which.add_argument("--dataset", default="mnist", help="a built-in name or a data file")
    which.add_argument(
        "--data",
        dest="dataset",
        metavar="FILE",
        help="a data file (an uint8 .npy of any size is streamed in chunks)",
    )
    sub.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="run PCA and EM as Dask tasks on the cluster at this address (tcp://host:8786), "
        "or 'local' for a new LocalCluster; needs pcagmm[dask]",
    )
    sub.add_argument("--components", type=int, default=2, metavar="D", help="PCA components")
    sub.add_argument("--clusters", type=int, default=10, metavar="K", help="mixture components")
    sub.add_argument("--covariance-type", default="full",
                     choices=["full", "tied", "diag", "spherical"])  # fmt: skip
    sub.add_argument("--seed", type=int, default=42, help="random_state of the mixture")
    sub.add_argument("--n-init", type=int, default=1, help="initialisations tried")
    sub.add_argument("--tol", type=float, default=1e-3, help="EM stopping tolerance")
    sub.add_argument("--max-iter", type=int, default=100, help="EM iterations at most")
    sub.add_argument("--out", metavar="DIR", help="output folder (default runs/<run name>/)")
    sub.add_argument("--format", default="png", choices=["png", "svg", "pdf"],
                     help="figure format")  # fmt: skip
    sub.add_argument("--no-plots", action="store_true", help="skip the figures")
    sub.add_argument("--force", action="store_true",
                     help="replace an output folder that holds a different run")  # fmt: skip
    sub.add_argument("--label-column", metavar="COLUMN", help="CSV data: the label column")
    sub.set_defaults(handler=cmd_run)

    sub = commands.add_parser(
        "predict", parents=[common], help="assign new rows to the clusters of a saved model"
    )
    sub.add_argument("--model", required=True, metavar="MODEL", help="a model.npz from pcagmm run")
    sub.add_argument("input", help="a data set name, an .npy/.npz/.csv/IDX file, or PNG images",
                     nargs="+")  # fmt: skip
    sub.add_argument("--label-column", metavar="COLUMN", help="CSV input: the label column")
    sub.set_defaults(handler=cmd_predict)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    console = Console()
    try:
        args = build_parser().parse_args(argv)
        console = Console(quiet=args.quiet, as_json=args.json)
        return args.handler(args, console)
    except PcagmmError as exc:
        console.error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.error("interrupted; nothing half-written was kept, run the command again")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
