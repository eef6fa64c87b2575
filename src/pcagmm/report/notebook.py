"""A run in a notebook: its tables and figures as HTML, and its interactive page inline.

``Result._repr_html_`` is :func:`result_html`: what the terminal prints before its
tables (data, projection, mixture, how it stopped) as text, then the tables of means,
standard deviations and the agreement with the labels as HTML tables, then the run's
figures as inline PNG images, drawn once per result. ``Result.show_report()`` returns
:class:`InlineReport`, whose HTML is report.html's page in an ``<iframe srcdoc>``: it
works in a notebook's output without a server or a file (Jupyter runs the frame's
scripts as a browser opening the file would).

Work in progress for issue 29 (branch only).
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

#: the figures a notebook shows, in order (those that do not apply are left out)
NOTEBOOK_FIGURES = ("pca_scatter", "gmm_clusters", "cluster_means", "weights")
#: the resolution of the inline figures (the run folder's are 110 dpi)
NOTEBOOK_DPI = 80
#: the inline page's height, in pixels
REPORT_HEIGHT = 900


def result_html(result) -> str:
    """The HTML a notebook shows for a run's :class:`~pcagmm.workflow.result.Result`."""
    from .files import cluster_rows
    from .text import report

    text = report(result)
    header = text.split("\n\n", 1)[0]
    means, stds = cluster_rows(result.gmm)
    kept = result.kept
    off = set() if kept is None else set(range(result.gmm.n_components)) - set(kept.tolist())
    axis = _axis(result)
    parts = [
        '<div class="pcagmm-result">',
        f'<pre class="pcagmm-header">{html.escape(header)}</pre>',
        _table("Means of the clusters", means, axis, result.gmm.weights_, off),
        _table("Standard deviations of the clusters", stds, axis, None, off),
    ]
    if result.agreement is not None:
        a = result.agreement
        parts.append(
            _rows_table(
                "Agreement with the true labels",
                ["measure", "value"],
                [
                    ["adjusted Rand index", f"{a.adjusted_rand:.4f}"],
                    ["normalised mutual information", f"{a.normalized_mutual_info:.4f}"],
                    ["accuracy after matching", f"{a.accuracy:.4f}"],
                ],
            )
        )
    parts += [f'<figure class="pcagmm-figure" data-name="{name}">{image}</figure>'
              for name, image in _figure_images(result)]  # fmt: skip
    where = (
        f"the run folder {html.escape(str(result.out))}/ holds report.html"
        if result.out is not None
        else "no run folder was written"
    )
    parts.append(
        f"<p>{where}; <code>result.show_report()</code> shows the interactive page here.</p>"
    )
    parts.append("</div>")
    return "\n".join(parts)


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


def inline_report(result) -> InlineReport:
    """The run's interactive page, built in memory (needs the projection)."""
    from ..workflow.html_report import page_inputs, run_summary
    from . import html as page_html

    if result.Z is None:
        raise ValueError(
            "the projection stayed on the Dask cluster; run with plots to bring it back"
        )
    inputs = page_inputs(
        result.dataset,
        result.reducer,
        result.gmm,
        result.Z,
        result.clusters,
        mean_images=result.cluster_images if result.dataset.image_shape else None,
        pixel_max=float(np.max(result.dataset.X[: min(len(result.dataset.X), 1000)]))
        if result.dataset.image_shape
        else 0.0,
        summary=None,
        folder=None,
        matching=None if result.agreement is None else result.agreement.matching,
        kept_weight=None if result.kept is None else result.kept_weight,
    )
    packed = page_html.pack(inputs)
    return InlineReport(page_html.document(packed, run_summary(result), result.out))


def _axis(result) -> str:
    from ..reducers import axis_prefix

    return axis_prefix(result.reducer)


def _table(title, values, axis, weights, off) -> str:
    K, d = values.shape
    header = ["cluster"] + (["weight"] if weights is not None else [])
    header += [f"{axis}{j + 1}" for j in range(d)]
    rows = []
    for k in range(K):
        row = [f"{k} off" if k in off else str(k)]
        if weights is not None:
            row.append(f"{weights[k]:.4f}")
        row += [f"{v:.4f}" for v in values[k]]
        rows.append(row)
    return _rows_table(title, header, rows, off)


def _rows_table(title, header, rows, off=frozenset()) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    opening = ['<tr class="off">' if k in off else "<tr>" for k in range(len(rows))]
    body = "".join(
        start + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for start, row in zip(opening, rows, strict=True)
    )
    return (
        f'<table class="pcagmm-table"><caption>{html.escape(title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _figure_images(result):
    """``(name, <img>)`` of each figure that applies, drawn once per result."""
    cached = getattr(result, "_notebook_images", None)
    if cached is not None:
        return cached
    import matplotlib.pyplot as plt

    from ..workflow.artifacts import FIGURES

    images = []
    if result.Z is not None:
        for name in NOTEBOOK_FIGURES:
            figure = FIGURES[name](result)
            if figure is None:
                continue
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=NOTEBOOK_DPI)
            plt.close(figure)
            data = base64.b64encode(buffer.getvalue()).decode("ascii")
            images.append((name, f'<img alt="{name}" src="data:image/png;base64,{data}">'))
    result._notebook_images = images
    return images
