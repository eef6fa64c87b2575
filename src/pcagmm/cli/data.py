"""``pcagmm data``: list, fetch, inspect, verify and locate data sets; make a large one."""

from __future__ import annotations

import sys

from ..workflow.config import IMAGE_OPTIONS
from .console import EXIT_OK, Console
from .options import add_config_option, add_source_options


def register(commands, common) -> None:
    """Add ``data`` and its actions to the command tree."""
    data = commands.add_parser("data", help="list, fetch, inspect and verify data sets")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    sub = actions.add_parser("list", parents=[common], help="the built-in data sets")
    sub.set_defaults(handler=handle_list)

    sub = actions.add_parser("fetch", parents=[common], help="fetch a data set into the cache")
    add_source_options(sub)
    sub.add_argument("name", help="mnist, fashion-mnist or digits")
    sub.add_argument("--force", action="store_true", help="fetch again even if cached")
    sub.set_defaults(handler=handle_fetch)

    sub = actions.add_parser("info", parents=[common], help="shape, classes, split, source, hash")
    add_source_options(sub)
    sub.add_argument(
        "name", help="a built-in name, the path of a data file or a folder of pictures"
    )
    add_config_option(sub, "label_column")
    for name in IMAGE_OPTIONS:
        add_config_option(sub, name)
    sub.set_defaults(handler=handle_info)

    sub = actions.add_parser(
        "verify", parents=[common], help="recompute a cached data set's SHA-256"
    )
    sub.add_argument("name")
    sub.set_defaults(handler=handle_verify)

    sub = actions.add_parser("path", parents=[common], help="the cache folder of a data set")
    sub.add_argument("name")
    sub.set_defaults(handler=handle_path)

    sub = actions.add_parser(
        "export",
        parents=[common],
        help="write a data set's pictures as PNG files, one subfolder per class",
    )
    add_source_options(sub)
    sub.add_argument(
        "name", help="a built-in name, the path of a data file or a folder of pictures"
    )
    sub.add_argument("folder", help="the folder to make (new, or empty)")
    add_config_option(sub, "label_column")
    for name in IMAGE_OPTIONS:
        add_config_option(sub, name)
    sub.set_defaults(handler=handle_export)

    sub = actions.add_parser(
        "make-big",
        parents=[common],
        help="write a large data set of randomly deformed images (labels kept)",
    )
    sub.add_argument("--rows", type=int, required=True, help="rows to write")
    sub.add_argument("--out", required=True, metavar="FILE", help="the .npy file to write")
    sub.add_argument(
        "--source",
        default="mnist",
        help="the labelled pictures to deform: a built-in name, a .npy of pictures with its "
        ".labels.npy, or a folder of pictures, one subfolder per class (default mnist)",
    )
    sub.add_argument("--seed", type=int, default=0, help="seed of the deformations")
    for name in IMAGE_OPTIONS:  # how a folder of pictures is read (--colour rgb: colour)
        add_config_option(sub, name)
    sub.set_defaults(handler=handle_make_big)


def _image_options(args) -> dict:
    """How a folder of pictures is read, as the options say (``load``'s keywords)."""
    return {name: getattr(args, name) for name in IMAGE_OPTIONS}


def _sources(args) -> dict:
    """Where to fetch from, as ``--from`` and ``--mirror`` say."""
    return {"folder": args.folder, "mirrors": args.mirror}


def handle_list(args, console: Console) -> int:
    from ..datasets import list_datasets

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


def handle_fetch(args, console: Console) -> int:
    from ..datasets import fetch, load

    entry = fetch(args.name, **_sources(args), progress=console.progress(), force=args.force)
    dataset = load(args.name)
    if console.as_json:
        console.json(dataset.describe())
    else:
        n, d = dataset.shape
        console.print(
            f"{dataset.name}: {n:,} x {d:,} {dataset.X.dtype}, SHA-256 verified, "
            f"from {dataset.source}, cached in {entry}"
        )
    return EXIT_OK


def handle_info(args, console: Console) -> int:
    from ..datasets import load
    from ..datasets.formats import content_sha256
    from ..datasets.registry import BUILTIN

    dataset = load(
        args.name,
        **_sources(args),
        label_column=args.label_column,
        progress=console.progress(),
        **_image_options(args),
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
    images = ""
    if dataset.image_shape:
        images = f" ({'x'.join(map(str, dataset.image_shape))} images)"
    elif getattr(dataset, "rgb_shape", None):
        images = f" ({'x'.join(map(str, dataset.rgb_shape[:2]))} rgb images)"
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


def handle_verify(args, console: Console) -> int:
    from ..datasets import verify

    dataset = verify(args.name)
    console.result(
        {"name": dataset.name, "sha256": dataset.sha256, "verified": True},
        f"{dataset.name}: SHA-256 {dataset.sha256} verified",
    )
    return EXIT_OK


def handle_path(args, console: Console) -> int:
    from ..datasets import cached_path

    entry = cached_path(args.name)
    if console.as_json:
        console.json({"name": args.name, "path": str(entry)})
    else:
        sys.stdout.write(f"{entry}\n")
    return EXIT_OK


def handle_export(args, console: Console) -> int:
    from ..datasets import load, write_pictures

    dataset = load(
        args.name,
        **_sources(args),
        label_column=args.label_column,
        progress=console.progress(),
        **_image_options(args),
    )
    folder = write_pictures(dataset, args.folder, progress=console.progress())
    n = dataset.shape[0]
    classes = len(dataset.class_counts()) if dataset.y is not None else 0
    where = f"in {classes} class folders" if classes else "in one folder (no labels)"
    console.result(
        {"folder": str(folder), "files": n, "classes": classes},
        f"{folder}: {n:,} PNG files of {dataset.name} {where}",
    )
    return EXIT_OK


def handle_make_big(args, console: Console) -> int:
    from ..datasets.generate import labels_path, make_big

    out = make_big(
        args.rows,
        args.out,
        source=args.source,
        seed=args.seed,
        progress=console.progress(),
        **_image_options(args),
    )
    console.result(
        {"out": str(out), "labels": str(labels_path(out)), "rows": args.rows},
        f"{out}: {args.rows:,} rows made from {args.source}; labels in {labels_path(out)}",
    )
    return EXIT_OK
