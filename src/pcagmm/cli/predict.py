"""``pcagmm predict``: assign new rows to the clusters of a saved model."""

from __future__ import annotations

from .console import EXIT_OK, Console
from .options import add_config_option


def register(commands, common) -> None:
    """Add ``predict`` to the command tree."""
    sub = commands.add_parser(
        "predict", parents=[common], help="assign new rows to the clusters of a saved model"
    )
    sub.add_argument("--model", required=True, metavar="MODEL", help="a model.npz from pcagmm run")
    sub.add_argument(
        "input",
        help="a data set name, an .npy/.npz/.csv/IDX file, a folder of pictures, or PNG images",
        nargs="+",
    )
    add_config_option(sub, "label_column")
    sub.set_defaults(handler=handle)


def handle(args, console: Console) -> int:
    from ..predict import predict
    from ..report.labels import label_text

    rows = predict(
        args.model, args.input, label_column=args.label_column, progress=console.progress()
    )
    if console.as_json:
        console.json(rows)
        return EXIT_OK
    table = [("row", "cluster", "probability", "matched label")]
    for row in rows:
        value, name = row["matched_label"], row.get("matched_label_name")
        label = "" if value is None else label_text(value, {value: name})
        table.append((row["row"], str(row["cluster"]), f"{row['probability']:.4f}", label))
    console.table(table)
    return EXIT_OK
