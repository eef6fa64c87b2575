"""A selection sweep's table (terminal and selection.csv) and selection.json."""

from __future__ import annotations

import json
import math

import numpy as np

from ..mixture.selection import RESULT_COLUMNS
from ..reducers import recorded_name
from .files import rows_csv
from .text import table_lines

#: the columns of selection.csv, in order: the projection size, the estimator's
#: columns, and whether the row is the best of its projection size
CSV_COLUMNS = ("components", *RESULT_COLUMNS, "best")


def selection_table(results: list[dict], criterion: str, chosen: int) -> list[str]:
    """One line per fitted model, the best of each projection size marked (``<- best``;
    ``<- chosen`` for the one run through the outputs when there are several sizes), a
    failed fit with its reason."""
    rows, marks = selection_rows(results, criterion, chosen)
    return _marked(table_lines(rows, right=True, underline=True), marks)


def selection_rows(
    results: list[dict], criterion: str, chosen: int
) -> tuple[list[list[str]], list[str]]:
    """The cells of :func:`selection_table` (the header row first) and the note after
    each model's row: ``<- chosen`` (run through the outputs, when there are several
    projection sizes), ``<- best`` (of its projection size), a failed fit's reason,
    or ""."""
    several = len({row["components"] for row in results}) > 1
    header = ["D"] if several else []
    header += ["K", "covariance", "log-likelihood", "params", "BIC", "AIC", "ICL"]
    header += ["iter", "converged", "seconds"]
    rows, marks = [header], []
    for index, row in enumerate(results):
        cells = [str(row["components"])] if several else []
        cells += [str(row["n_components"]), row["covariance_type"]]
        if row["status"] == "ok":
            cells += [f"{row['log_likelihood']:.1f}", str(row["n_parameters"])]
            cells += [f"{row[name]:.1f}" for name in ("bic", "aic", "icl")]
            cells += [str(row["n_iter"]), "yes" if row["converged"] else "NO"]
        else:
            cells += ["failed", *[""] * 6]
        rows.append([*cells, f"{row['time']:.2f}"])
        if index == chosen:
            marks.append("<- chosen" if several else "<- best")
        elif row.get("best"):
            marks.append("<- best")
        else:
            marks.append("" if row["status"] == "ok" else row["error"])
    return rows, marks


def selection_report(selection) -> str:
    """The sweep in the terminal: what was swept, the table, what was chosen, then the
    chosen model's run report."""
    lines = [
        selection_heading(selection),
        "",
        *selection_table(selection.results, selection.criterion, selection.chosen),
        "",
        *best_lines(selection),
    ]
    if getattr(selection, "lrt", None) is not None:
        lines += ["", *lrt_lines(selection.lrt)]
    lines += ["", selection.run.report()]
    return "\n".join(lines)


def selection_heading(selection) -> str:
    """What was swept, by which criterion, how many fits failed, how long it took."""
    results, config = selection.results, selection.config
    failed = sum(row["status"] != "ok" for row in results)
    sizes = ", ".join(map(str, config["components"]))
    return (
        f"Selection {len(results)} models: K {_span(config['clusters'])} x "
        f"{', '.join(config['covariance_types'])} on {recorded_name(config)}-{sizes}, by "
        f"{selection.criterion.upper()} (lower is better); "
        f"{len(results) - failed} fitted, {failed} failed, "
        f"in {selection.timings.get('fits', 0):.1f} s"
    )


def best_lines(selection) -> list[str]:
    """The best model of each projection size (the chosen one's run follows), and a
    warning when the best K is the largest tried."""
    criterion, ks = selection.criterion, selection.config["clusters"]
    lines = [
        f"Best      on {row['components']} components: K={row['n_components']}, "
        f"{row['covariance_type']} covariance, {criterion.upper()} {row[criterion]:.1f}"
        + (" (chosen: its run follows)" if row is selection.best else "")
        for row in selection.results
        if row.get("best")
    ]
    if selection.best["n_components"] == max(ks) and len(ks) > 1:
        lines.append(
            "          the best K is the largest tried: the data may support more clusters "
            "(try a wider --clusters)"
        )
    return lines


#: the columns of lrt.csv, in order
LRT_COLUMNS = ("n_components", "against", "statistic", "p_value", "redrawn", "time")


def lrt_lines(test) -> list[str]:
    """The likelihood-ratio test in the terminal: one line per step, then its conclusion."""
    rows, marks = lrt_rows(test)
    return [
        f"LRT       sequential bootstrap likelihood-ratio test ({test.covariance_type}, "
        f"{test.resamples} replicates a step, each model first run to convergence; "
        "mclust's mclustBootstrapLRT)",
        *_marked(table_lines(rows, right=True, underline=True), marks),
        f"Supported {lrt_verdict(test)}",
    ]


def lrt_rows(test) -> tuple[list[list[str]], list[str]]:
    """The cells of the test's table (the header row first) and the note after each step."""
    rows = [["K vs K+1", "LRTS", "bootstrap p-value", "redrawn", "seconds"]]
    marks = []
    for step in test.steps:
        rows.append(
            [
                f"{step.n_components} vs {step.n_components + 1}",
                f"{step.statistic:.1f}",
                f"{step.p_value:.4f}",
                str(step.redrawn),
                f"{step.time:.1f}",
            ]
        )
        # K + 1 components can always do at least as well as K: a fit below is a
        # local optimum, and the step says nothing about K
        marks.append(
            f"<- the {step.n_components + 1}-component fit is below the "
            f"{step.n_components}-component one: a local optimum (try more --n-init)"
            if step.statistic < 0
            else ""
        )
    return rows, marks


def lrt_verdict(test) -> str:
    """How many components the test supports, and why."""
    last = test.steps[-1]
    if test.stopped:
        verdict = (
            f"{test.supported} components: {test.supported + 1} are not supported against "
            f"{test.supported} (p = {last.p_value:.3g} > {test.level:g})"
        )
    else:
        verdict = (
            f"at least {test.supported}: every step rejected K at level {test.level:g}, up "
            f"to {last.n_components} vs {last.n_components + 1} (more may be supported: "
            "try a wider --clusters)"
        )
    return verdict


def _marked(lines: list[str], marks: list[str]) -> list[str]:
    """A table's lines (header and underline first) with a note after each body line."""
    header, body = lines[:2], lines[2:]
    return [*header, *(f"{line}  {mark}".rstrip() for line, mark in zip(body, marks, strict=True))]


def lrt_csv(test) -> str:
    """lrt.csv: one row per step of the test."""
    return rows_csv([step.record() for step in test.steps], LRT_COLUMNS)


def _span(values) -> str:
    values = list(values)
    if values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
        return f"{values[0]}-{values[-1]}"
    return ",".join(map(str, values))


def selection_csv(results: list[dict]) -> str:
    """selection.csv: one row per fitted model (failed ones with empty numbers)."""
    return rows_csv(results, CSV_COLUMNS)


def selection_record(selection) -> dict:
    """What selection.json holds: the config, the criterion, the chosen row, every row."""
    return {
        "config": selection.config,
        "criterion": selection.criterion,
        "chosen": selection.chosen,
        "results": [{k: _json_value(v) for k, v in row.items()} for row in selection.results],
        **(
            {"lrt": _lrt_record(selection.lrt)}
            if getattr(selection, "lrt", None) is not None
            else {}
        ),
    }


def _lrt_record(test) -> dict:
    record = test.record()
    for step, row in zip(test.steps, record["steps"], strict=True):
        row["bootstrap"] = [_json_value(float(v)) for v in step.bootstrap]
    return record


def selection_json(selection) -> str:
    """selection.json (see :func:`selection_record`)."""
    return json.dumps(selection_record(selection), indent=2) + "\n"


def _json_value(value):
    """NaN and infinities as null (JSON has neither)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
