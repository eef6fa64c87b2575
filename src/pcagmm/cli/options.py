"""Command-line options made from :class:`~pcagmm.workflow.RunConfig`'s fields, so each
default and help text is written once."""

from __future__ import annotations

import argparse
import dataclasses

from ..workflow.config import RunConfig, flag

FIELDS = {field.name: field for field in dataclasses.fields(RunConfig)}
#: options of ``pcagmm run`` alone: the studies (select, stability) fit many models and
#: have resamples of their own (stability's ``--bootstrap``, select's ``--lrt-bootstrap``)
RUN_ONLY = (
    "uncertainty",
    "bootstrap",
    "bootstrap_type",
    "mixture",
    "weight_prior",
    "weight_concentration",
    "kept_weight",
)


def add_config_option(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the option of field ``name``: its flag, help, metavar and choices from the
    field's metadata, its type and default from the field's default on the command line
    (``plots`` and ``report``: True, where Python's is None, on request)."""
    field = FIELDS[name]
    settings = dict(field.metadata["argparse"])
    alias = settings.pop("alias", None)
    value = field.metadata["cli_default"]
    if isinstance(value, bool):
        settings["action"] = "store_false" if value else "store_true"
    elif isinstance(value, int | float) and "choices" not in settings:
        settings.setdefault("type", type(value))
    settings["default"] = value
    target = parser if alias is None else parser.add_mutually_exclusive_group()
    target.add_argument(flag(name), dest=name, help=field.metadata["help"], **settings)
    if alias is not None:  # e.g. --dataset NAME or --data FILE, one or the other
        alias_flag, metavar, help_text = alias
        target.add_argument(alias_flag, dest=name, metavar=metavar, help=help_text, default=value)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Every option of a run that the command line offers, in the order of the fields."""
    for name, field in FIELDS.items():
        if field.metadata["cli"]:
            add_config_option(parser, name)


def run_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`pcagmm.run` from parsed arguments."""
    return {name: getattr(args, name) for name, f in FIELDS.items() if f.metadata["cli"]}


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """``--from DIR`` (a local folder tried first) and ``--mirror URL`` (repeatable)."""
    add_config_option(parser, "folder")
    add_mirror_option(parser)


def add_mirror_option(parser: argparse.ArgumentParser) -> None:
    """``--mirror URL``, repeatable."""
    parser.add_argument(
        "--mirror",
        action="append",
        metavar="URL",
        help="a base URL to download from instead of the public mirrors (repeatable)",
    )
