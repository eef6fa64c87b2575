"""What a notebook shows of a run and of the studies: their tables and figures as HTML,
and a run's interactive page inline.

``Result._repr_html_`` is :func:`result_html`: the terminal report's opening lines (the
data, the projection, the mixture and how EM stopped, a variational mixture's kept
components) as a header block, the tables of means, standard deviations and the
agreement with the labels (a switched-off component marked), the run's figures as
inline PNG images (drawn once per result), and what the run folder holds with how to
get the rest. ``Selection._repr_html_`` (:func:`selection_html`) and
``Stability._repr_html_`` (:func:`stability_html`) show a study the same way: its
header, its tables (the criterion's grid with the chosen model marked; the stability
measures), its figure, and the run of the chosen (reference) model, folded.

Every table is drawn by :func:`table` from the cells the terminal's tables are made of
(:mod:`.text`, :mod:`.selection`, :mod:`.stability`), so both show the same numbers.
Notebooks (JupyterLab, classic Jupyter, VS Code) put this HTML inside their own page
and style sheet: every rule of :data:`STYLE` is scoped under the class
:data:`VIEW_CLASS`, colours are translucent or inherited (light and dark themes), and
nothing is fetched (the images are data URLs).

``Result.show_report()`` returns :class:`InlineReport`, whose HTML is report.html's
page in an ``<iframe srcdoc>``: it works in a notebook's output without a server or a
file (Jupyter runs the frame's scripts as a browser opening the file would).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import re
from collections.abc import Iterable, Sequence

#: the figures a run's view shows, in order (those that do not apply are left out)
NOTEBOOK_FIGURES = ("pca_scatter", "gmm_clusters", "cluster_means", "weights")
#: the resolution of the inline figures (the run folder's are 110 dpi)
NOTEBOOK_DPI = 80
#: the inline page's height, in pixels
REPORT_HEIGHT = 900
#: the width a plot is shown at, in pixels (two side by side in a notebook's output)
FIGURE_WIDTH = 480
#: a figure wider than this times its height (a row of images, a study's two panels)
#: is shown at its own width
WIDE = 1.6
#: the class of a view's outer element: every rule of :data:`STYLE` starts with it
VIEW_CLASS = "pcagmm-view"

_V = f".{VIEW_CLASS}"
#: the views' style sheet, scoped under :data:`VIEW_CLASS` (the notebook's own rules,
#: e.g. JupyterLab's ``.jp-RenderedHTMLCommon td``, are less specific than these)
STYLE = f"""<style>
{_V} {{font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 13px; line-height: 1.45; max-width: 1100px; color: inherit}}
{_V} .pcagmm-title {{font-size: 15px; font-weight: 600; margin: 4px 0 6px}}
{_V} dl.pcagmm-header {{display: grid; grid-template-columns: max-content 1fr;
  gap: 3px 14px; margin: 0 0 10px; padding: 8px 12px; border-left: 3px solid #4c78a8;
  background: rgba(127, 127, 127, 0.08)}}
{_V} dl.pcagmm-header dt {{font-weight: 600; margin: 0}}
{_V} dl.pcagmm-header dd {{margin: 0}}
{_V} .pcagmm-note {{display: block; font-size: 12px; opacity: 0.85}}
{_V} .pcagmm-warn {{color: #c0392b; font-weight: 600}}
{_V} .pcagmm-tables {{display: flex; flex-wrap: wrap; gap: 4px 28px; align-items: flex-start}}
{_V} table.pcagmm-table {{border-collapse: collapse; border: none; margin: 4px 0 10px;
  font-size: 12px; table-layout: auto; width: auto}}
{_V} table.pcagmm-table caption {{caption-side: top; text-align: left; font-weight: 600;
  padding: 0 0 4px; white-space: nowrap}}
{_V} table.pcagmm-table th, {_V} table.pcagmm-table td {{padding: 2px 9px;
  text-align: left; border: none; border-bottom: 1px solid rgba(127, 127, 127, 0.22);
  background: transparent; white-space: nowrap; vertical-align: top}}
{_V} table.pcagmm-table th {{font-weight: 600; border-bottom: 1px solid rgba(127, 127, 127, 0.6)}}
{_V} table.pcagmm-table .num {{text-align: right; font-variant-numeric: tabular-nums}}
{_V} table.pcagmm-table tr.pcagmm-off td {{opacity: 0.5; font-style: italic}}
{_V} table.pcagmm-table td.pcagmm-mark {{font-size: 11px; opacity: 0.8}}
{_V} table.pcagmm-table .pcagmm-chosen {{background: rgba(255, 190, 0, 0.35);
  font-weight: 700; outline: 2px solid rgba(230, 150, 0, 0.9); outline-offset: -2px}}
{_V} table.pcagmm-table .pcagmm-best {{background: rgba(255, 190, 0, 0.15)}}
{_V} table.pcagmm-table tr.pcagmm-unstable td {{color: #c0392b}}
{_V} .pcagmm-figures {{display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0}}
{_V} figure.pcagmm-figure {{margin: 0; flex: 0 1 auto; min-width: 280px}}
{_V} figure.pcagmm-figure img {{display: block; width: 100%; height: auto; margin: 0;
  border-radius: 3px}}
{_V} details.pcagmm-details {{margin: 8px 0}}
{_V} details.pcagmm-details > summary {{cursor: pointer; font-weight: 600}}
{_V} .pcagmm-footer {{font-size: 12px; opacity: 0.85; margin: 6px 0 0}}
{_V} .pcagmm-footer code {{font-size: 12px}}
</style>"""

#: a cell the views right-align: a number, with a bootstrap error or a switched-off mark
_NUMBER = re.compile(r"[-+]?(\d[\d,]*(\.\d+)?(e[-+]?\d+)?|nan|inf)( ± \S+)?( off)?", re.I)


# ------------------------------------------------------------------------ shared helpers


def table(
    title: str,
    rows: Sequence[Sequence[str]],
    *,
    marks: Sequence[str] | None = None,
    row_classes: Sequence[str] | None = None,
    cell_classes: dict | None = None,
    name: str | None = None,
) -> str:
    """One HTML table (the views' only table renderer) from text cells, the header row
    first, as the terminal's tables are made (:func:`~pcagmm.report.text.table_lines`).

    Numbers are right-aligned (their header too, when the whole column is numbers).
    ``marks`` adds a last column of notes (the terminal's ``<- best``, without the
    arrow); ``row_classes`` gives each body row a class; ``cell_classes`` maps ``(row,
    column)`` of the body to a class; ``name`` is the table's ``data-name``.
    """
    header, body = list(rows[0]), [list(row) for row in rows[1:]]
    if marks is not None:
        header.append("")
        body = [[*row, mark.removeprefix("<- ")] for row, mark in zip(body, marks, strict=True)]
    numeric = [
        bool(column) and all(_NUMBER.fullmatch(cell) for cell in column if cell)
        for column in (
            [row[j] for row in body if j < len(row) and row[j]] for j in range(len(header))
        )
    ]
    head = "".join(
        ("<th class='num'>" if numeric[j] else "<th>") + f"{html.escape(cell)}</th>"
        for j, cell in enumerate(header)
    )
    lines = []
    for i, row in enumerate(body):
        cells = []
        for j, cell in enumerate(row):
            classes = []
            if _NUMBER.fullmatch(cell):
                classes.append("num")
            if marks is not None and j == len(row) - 1:
                classes.append("pcagmm-mark")
            if cell_classes and (i, j) in cell_classes:
                classes.append(cell_classes[i, j])
            attribute = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attribute}>{html.escape(cell)}</td>")
        start = f'<tr class="{row_classes[i]}">' if row_classes and row_classes[i] else "<tr>"
        lines.append(start + "".join(cells) + "</tr>")
    data = f' data-name="{html.escape(name)}"' if name else ""
    return (
        f'<table class="pcagmm-table"{data}><caption>{html.escape(title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )


def header(entries: Iterable[tuple[str, str, Sequence[str]]]) -> str:
    """The header block: ``(label, text, notes)`` entries as a definition list, a text
    that says EM did NOT converge flagged."""
    parts = ['<dl class="pcagmm-header">']
    for label, text, notes in entries:
        shown = html.escape(text).replace(
            "did NOT converge", '<span class="pcagmm-warn">did NOT converge</span>'
        )
        noted = "".join(f'<span class="pcagmm-note">{html.escape(n)}</span>' for n in notes)
        parts.append(f"<dt>{html.escape(label)}</dt><dd>{shown}{noted}</dd>")
    parts.append("</dl>")
    return "".join(parts)


def report_entries(lines: Iterable[str]) -> list[tuple[str, str, list[str]]]:
    """The terminal's labelled lines (``"Mixture   10 components..."``, a label in the
    first 10 characters, continued by lines that start with 10 spaces) as
    :func:`header` entries, their command-line flags spelled as Python's parameters
    (:func:`python_names`)."""
    entries: list[tuple[str, str, list[str]]] = []
    for line in lines:
        line = python_names(line)
        label, text = line[:10].strip(), line[10:].strip()
        if not label and entries:
            entries[-1][2].append(text)
        elif text:
            entries.append((label, text, []))
    return entries


def python_names(text: str) -> str:
    """A terminal line's flags as the parameters a notebook passes: ``--max-iter`` as
    ``max_iter``, a switch that is off by default (``--converge``) as
    ``converge=True``."""
    from ..workflow.config import RunConfig

    switches = {f.name for f in dataclasses.fields(RunConfig) if f.default is False}

    def name(match: re.Match) -> str:
        parameter = match.group(1).replace("-", "_")
        return f"{parameter}=True" if parameter in switches else parameter

    return re.sub(r"(?<![\w-])--([a-z][a-z-]*[a-z])", name, text)


def figure_html(figure, name: str) -> str:
    """A matplotlib figure as an inline PNG (:data:`NOTEBOOK_DPI`) in a ``<figure>``:
    a figure of a plot :data:`FIGURE_WIDTH` pixels wide (two side by side), a wider
    one (a row of images, a study's panels) at most its own width, never enlarged."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=NOTEBOOK_DPI)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    width, height = (round(v * NOTEBOOK_DPI) for v in figure.get_size_inches())
    shown = width if width > WIDE * height else min(width, FIGURE_WIDTH)
    return (
        f'<figure class="pcagmm-figure" data-name="{html.escape(name)}" '
        f'style="flex-basis: {shown}px; max-width: {width}px">'
        f'<img alt="{html.escape(name)}" width="{width}" height="{height}" '
        f'src="data:image/png;base64,{data}"></figure>'
    )


def view(kind: str, parts: Iterable[str]) -> str:
    """A whole view: the style sheet and the parts in the scoped outer element."""
    return "\n".join([f'<div class="{VIEW_CLASS} pcagmm-{kind}">', STYLE, *parts, "</div>"])


def _cached(owner, attribute: str, make):
    value = getattr(owner, attribute, None)
    if value is None:
        value = make()
        setattr(owner, attribute, value)
    return value


# ---------------------------------------------------------------------------------- a run


def result_html(result) -> str:
    """The HTML a notebook shows for a run's :class:`~pcagmm.workflow.result.Result`."""
    return view("result", result_parts(result))


def result_parts(result, name: str = "result") -> list[str]:
    """A run's view without its outer element (a study shows its chosen run's inside,
    ``name`` being what a reader calls it: ``selection.run``)."""
    from .labels import label_text
    from .text import report, result_tables, switched_off

    opening = report(result).split("\n\n", 1)[0].splitlines()
    entries = report_entries(opening)
    if result.agreement is not None:
        names = result.dataset.target_names  # "0→Ankle boot (9)" where the set names them
        matching = sorted(result.agreement.matching.items())
        text = ", ".join(f"{k}→{label_text(v, names)}" for k, v in matching)
        entries.append(("Matching", f"cluster→label {text}", []))
    off = switched_off(result)
    tables = []
    for title, rows in result_tables(result):
        classes = ["pcagmm-off" if k in off else "" for k in range(len(rows) - 1)]
        tables.append(table(title, rows, row_classes=classes))
    if result.agreement is not None:
        tables.append(_agreement_table(result))
    parts = [header(entries), _row_of(tables)]
    images = _cached(result, "_notebook_images", lambda: _result_figures(result))
    if images:
        parts.append(_row_of(images, "pcagmm-figures"))
    parts.append(_result_footer(result, name))
    return parts


def _agreement_table(result) -> str:
    a = result.agreement
    return table(
        "Agreement with the true labels",
        [
            ["measure", "value"],
            ["adjusted Rand index", f"{a.adjusted_rand:.4f}"],
            ["normalised mutual information", f"{a.normalized_mutual_info:.4f}"],
            ["accuracy after matching", f"{a.accuracy:.4f}"],
        ],
    )


def _row_of(parts: Sequence[str], kind: str = "pcagmm-tables") -> str:
    return f'<div class="{kind}">' + "".join(parts) + "</div>"


def _result_figures(result) -> list[str]:
    from ..workflow.artifacts import FIGURES

    if result.Z is None:
        return []
    images = []
    for name in NOTEBOOK_FIGURES:
        figure = FIGURES[name](result)
        if figure is not None:
            images.append(figure_html(figure, name))
    return images


def _result_footer(result, name: str) -> str:
    from .text import ON_REQUEST

    timing = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings.items())
    lines = [f"Time: {html.escape(timing)}."]
    if result.computed_on != "this process":
        lines.append(f"Computed on the {html.escape(result.computed_on)}.")
    if result.out is not None:
        lines.append(
            f"Run folder <code>{html.escape(str(result.out))}/</code>: "
            + html.escape(", ".join(result.files))
            + "."
        )
        asked = [ON_REQUEST[name] for name in getattr(result, "on_request", ())]
        if asked:
            what = " and ".join(words for words, _ in asked)
            calls = ", ".join(f"<code>{name}.{call}</code>" for _, call in asked)
            lines.append(f"{html.escape(what.capitalize())} when asked: {calls}.")
    else:
        lines.append("No run folder was written.")
    lines.append(
        f"<code>{name}.show_report()</code> shows the interactive page (report.html) here."
    )
    return '<p class="pcagmm-footer">' + "<br>".join(lines) + "</p>"


# ---------------------------------------------------------------------------- the studies


def _chosen_run(result, summary: str, name: str) -> str:
    """A study's run (its chosen or reference model, ``name``), folded."""
    return (
        f'<details class="pcagmm-details"><summary>{html.escape(summary)}</summary>'
        + "\n".join(result_parts(result, name))
        + "</details>"
    )


def selection_html(selection) -> str:
    """The HTML a notebook shows for a :class:`~pcagmm.workflow.selection.Selection`:
    the sweep's header, the criterion of each model as a grid (K by covariance type,
    one per projection size) with the chosen model marked, every model's row (folded),
    the likelihood-ratio test, the criterion's figure, and the chosen model's run."""
    from .selection import best_lines, lrt_rows, lrt_verdict, selection_heading, selection_rows

    results, criterion, chosen = selection.results, selection.criterion, selection.chosen
    entries = report_entries([selection_heading(selection), *best_lines(selection)])
    if getattr(selection, "lrt", None) is not None:
        entries.append(("LRT", python_names(lrt_verdict(selection.lrt)), []))
    parts = [header(entries)]
    grids = [_criterion_grid(selection, size) for size in selection.config["components"]]
    parts.append(_row_of(grids))
    rows, marks = selection_rows(results, criterion, chosen)
    classes = [
        "pcagmm-chosen" if i == chosen else "pcagmm-best" if row.get("best") else ""
        for i, row in enumerate(results)
    ]
    every = table("Every model", rows, marks=marks, row_classes=classes, name="models")
    parts.append(
        f'<details class="pcagmm-details"><summary>Every model ({len(results)} fits: '
        "log-likelihood, parameters, BIC, AIC, ICL, iterations)</summary>"
        f"{every}</details>"
    )
    if getattr(selection, "lrt", None) is not None:
        rows, marks = lrt_rows(selection.lrt)
        marks = [python_names(mark) for mark in marks]
        parts.append(table("Likelihood-ratio test", rows, marks=marks, name="lrt"))
    image = _cached(
        selection,
        "_notebook_images",
        lambda: [figure_html(selection.plot_selection(), "selection")],
    )
    parts.append(_row_of(image, "pcagmm-figures"))
    best = selection.best
    parts.append(
        _chosen_run(
            selection.run,
            f"The chosen model's run: K={best['n_components']}, {best['covariance_type']} "
            f"covariance, on {best['components']} components",
            "selection.run",
        )
    )
    return view("selection", parts)


def _criterion_grid(selection, size: int) -> str:
    """The criterion of each model on ``size`` components: K down, covariance types
    across, the chosen model (and the best of the size) marked."""
    results, criterion = selection.results, selection.criterion
    kinds = list(selection.config["covariance_types"])
    ks = list(selection.config["clusters"])
    cells = {
        (row["n_components"], row["covariance_type"]): (i, row)
        for i, row in enumerate(results)
        if row["components"] == size
    }
    rows = [["K", *kinds]]
    marked = {}
    for r, K in enumerate(ks):
        line = [str(K)]
        for c, kind in enumerate(kinds):
            i, row = cells.get((K, kind), (None, None))
            if row is None:
                line.append("")
            elif row["status"] != "ok":
                line.append("failed")
            else:
                line.append(f"{row[criterion]:.1f}")
                if i == selection.chosen:
                    marked[r, c + 1] = "pcagmm-chosen"
                elif row.get("best"):
                    marked[r, c + 1] = "pcagmm-best"
        rows.append(line)
    several = len(selection.config["components"]) > 1
    title = f"{criterion.upper()} of each model (lower is better)"
    title += f", on {size} components" if several else ""
    return table(title, rows, cell_classes=marked, name=f"grid-{size}")


def stability_html(study) -> str:
    """The HTML a notebook shows for a :class:`~pcagmm.workflow.stability_study.Stability`:
    what was fitted, the spread of the fits, the distinct optima, each reference
    cluster's Jaccard (the unstable flagged), the study's figure, and the reference
    run."""
    from .stability import (
        jaccard_notes,
        jaccard_rows,
        optima_notes,
        optima_rows,
        seeds_agree_line,
        spread_rows,
        stability_heading,
        summary,
    )

    numbers = summary(study)
    heading = stability_heading(study)
    entries = [("Stability", heading.removeprefix("Stability").strip(), [])]
    agree = seeds_agree_line(numbers)
    if agree is not None:
        entries.append(("Seeds agree", agree.split(": ", 1)[1], []))
    first, *more = optima_notes(study, numbers)  # "Distinct optima: 3 among 20 seeds..."
    entries.append(("Optima", first.split(": ", 1)[1], [note.strip() for note in more]))
    if study.jaccard:
        first, *more = jaccard_notes(study)  # "Cluster stability: each cluster of..."
        entries.append(("Clusters", first.split(": ", 1)[1], more))
    tables = [table("The fits", spread_rows(numbers), name="spread")]
    rows, rest = optima_rows(study)
    tables.append(table("Distinct optima of the seeds", rows, name="optima"))
    if study.jaccard:
        rows, marks = jaccard_rows(study)
        classes = ["pcagmm-unstable" if mark else "" for mark in marks]
        tables.append(
            table(
                "Mean best-match Jaccard of each reference cluster",
                rows,
                marks=marks,
                row_classes=classes,
                name="jaccard",
            )
        )
    parts = [header(entries), _row_of(tables)]
    if rest:
        parts.append(f'<p class="pcagmm-footer">{html.escape(rest)}</p>')
    image = _cached(
        study,
        "_notebook_images",
        lambda: [figure_html(study.plot_stability(), "stability")],
    )
    parts.append(_row_of(image, "pcagmm-figures"))
    if study.out is not None:
        parts.append(
            f'<p class="pcagmm-footer">Study folder <code>{html.escape(str(study.out))}/</code>: '
            f"{html.escape(', '.join(study.files))}.</p>"
        )
    seed = study.fits[0]["seed"]
    parts.append(
        _chosen_run(study.reference, f"The reference run (seed {seed})", "study.reference")
    )
    return view("stability", parts)


# ------------------------------------------------------------------------- the inline page


class InlineReport:
    """report.html's page of a run, shown inline by a notebook (``_repr_html_``)."""

    def __init__(self, page: str, height: int = REPORT_HEIGHT):
        self.page = page
        self.height = height

    def _repr_html_(self) -> str:
        return (
            f'<iframe class="pcagmm-report" srcdoc="{html.escape(self.page, quote=True)}" '
            f'style="width: 100%; height: {self.height}px; border: 0"></iframe>'
        )
