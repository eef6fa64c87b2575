"""The model-selection figure (``selection.png``), like R mclust's BIC plot.

A selection sweep fits one Gaussian mixture per number of clusters K, covariance type
and (optionally) PCA projection size D, and scores each with a criterion (BIC, AIC or
ICL; lower is better, scikit-learn's sign). The figure draws the criterion against K,
one line per (covariance type, D): colour and marker name the covariance type, the
line style names D.

Failed fits (status other than ``"ok"``, or a criterion that is not finite) are left
out of their line and marked with a cross on the bottom edge of the axes at their K;
a line whose fits all failed still appears in the legend, marked "(failed)". The
chosen model is ringed and annotated. The y limits come from the finite values only;
when the projection sizes' values lie so far apart that one axis would draw every line
flat (BIC of 2-D and 50-D projections), each size gets its own panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..mixture import CRITERIA
from .plots import _figure

#: line styles of the projection sizes, in increasing D
LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
#: markers of the covariance types, in the order of :func:`covariance.names`
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h")
#: mclust's fourteen structures drawn as R mclust draws them: its colours
#: (``mclust.options("bicPlotColors")``) and the nearest matplotlib marker to its
#: symbol (``bicPlotSymbols``, R's pch), filled or open as R's is
MCLUST_STYLES = {
    "EII": ("gray", "^", True),  # pch 17, filled triangle
    "VII": ("black", "^", False),  # 2, open triangle
    "EEI": ("#218B21", "o", True),  # 16, filled circle
    "EVI": ("#41884F", "P", True),  # 10, circled plus
    "VEI": ("#508476", "X", True),  # 13, circled cross
    "VVI": ("#58819C", "o", False),  # 1, open circle
    "EEE": ("#597DC3", "s", True),  # 15, filled square
    "VEE": ("#5178EA", "*", True),  # 8, asterisk
    "EVE": ("#716EE7", "D", False),  # 5, open diamond
    "VVE": ("#9B60B8", "d", True),  # 9, diamond with a plus
    "EEV": ("#B2508B", "p", True),  # 12, boxed plus
    "VEV": ("#C03F60", "x", True),  # 7, boxed cross
    "EVV": ("#C82A36", "h", False),  # 14, boxed triangle
    "VVV": ("#CC0000", "s", False),  # 0, open square
}
#: ticks on the K axis at every K present, up to this many distinct values
MAX_K_TICKS = 20
#: one axes per projection size when each size's values span less than this share of
#: all the values together
SPLIT_BELOW = 0.2


def selection_figure(
    results: Sequence[Mapping], criterion: str, best: int | None, *, title: str | None = None
):
    """The criterion against K, one line per (covariance type, projection size).

    Parameters
    ----------
    results : sequence of dict
        One row per fitted model with ``n_components``, ``covariance_type``, optionally
        ``components`` (the projection size D; absent or None with one projection),
        the criterion's value (NaN for a failed fit) and ``status`` (``"ok"`` or not).
    criterion : {"bic", "aic", "icl"}
    best : int or None
        The index into ``results`` of the chosen row (ringed and annotated); None for none.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        On the Agg canvas, with one axes, or one per projection size when their values
        lie so far apart that a shared axis would flatten every line (see
        :data:`SPLIT_BELOW`); each axes' ``lines`` are one per (covariance type, D), in
        legend order, whose data are that group's finite values in increasing K.
    """
    key = _criterion(criterion)
    groups = _groups(results, key)
    several_d = len({d for (_, d) in groups if d is not None}) > 1
    panels = _panels(groups) if several_d else [groups]
    title = title or f"Model selection: {key.upper()} against the number of clusters"

    if len(panels) == 1:
        figure = _figure(width=9.0, height=5.6, left=0.1, right=0.74, bottom=0.1, top=0.92)
        axes = [figure.add_subplot()]
        axes[0].set_title(title)
    else:
        height = 2.7 * len(panels) + 1.0
        figure = _figure(
            width=9.0,
            height=height,
            left=0.1,
            right=0.74,
            bottom=0.55 / height,
            top=1 - 0.6 / height,
            hspace=0.3,
        )
        axes = list(figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0])
        figure.suptitle(title)

    colours, markers, filled = _type_styles([t for (t, _) in groups])
    styles = {d: LINE_STYLES[i % len(LINE_STYLES)] for i, d in enumerate(_sorted_d(groups))}
    levels = {kind: i for i, kind in enumerate(dict.fromkeys(t for t, _ in groups))}
    ks = sorted({k for rows in groups.values() for k, _, _ in rows})
    best_row = results[best] if best is not None else None
    handles, labels, any_failed = [], [], False
    for ax, panel in zip(axes, panels, strict=True):
        for (kind, d), rows in panel.items():
            label = kind + (f", D={d}" if several_d and d is not None else "")
            style = {"color": colours[kind], "marker": markers[kind], "linestyle": styles[d]}
            if not filled[kind]:
                style["markerfacecolor"] = "white"
            any_failed |= _draw_line(ax, rows, label, style, level=levels[kind])
        _value_axis(ax, panel, key)
        if len(panels) > 1:
            (d,) = {d for (_, d) in panel}
            ax.set_title(f"projection D={d}", fontsize=9, loc="right")
        if best_row is not None and _projection(best_row) in {d for (_, d) in panel}:
            _mark_best(ax, best_row, key, several_d, ks)
        more_handles, more_labels = ax.get_legend_handles_labels()
        handles += more_handles
        labels += more_labels
    for ax in axes:
        _k_axis(ax, ks)
        ax.grid(True, linewidth=0.5, alpha=0.5)
    axes[-1].set_xlabel("number of clusters K")
    if any_failed:
        from matplotlib.lines import Line2D

        handles.append(
            Line2D([], [], color="0.3", marker="x", linestyle="none", markeredgewidth=1.5)
        )
        labels.append("failed fit (at its K)")
    axes[0].legend(
        handles,
        labels,
        title="covariance" + (", projection" if several_d else ""),
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize=8,
        title_fontsize=9,
        framealpha=0.9,
    )
    return figure


def _panels(groups: dict) -> list[dict]:
    """All groups on one axes, or one axes per projection size when every size's values
    span less than :data:`SPLIT_BELOW` of the values all together (one shared axis
    would draw each size's lines nearly flat)."""
    by_d: dict = {}
    for (kind, d), rows in groups.items():
        by_d.setdefault(d, {})[(kind, d)] = rows
    spans, everything = [], []
    for panel in by_d.values():
        values = [v for rows in panel.values() for _, v, ok in rows if ok]
        everything += values
        if values:
            spans.append(max(values) - min(values))
    if len(spans) < 2:
        return [groups]
    total = max(everything) - min(everything)
    if total > 0 and max(spans) < SPLIT_BELOW * total:
        return [by_d[d] for d in sorted(by_d, key=_d_key)]
    return [groups]


def _draw_line(ax, rows, label: str, style: dict, level: int) -> bool:
    """One group's line of finite values; its failed fits as crosses on the bottom edge
    (stacked by covariance type). True if any failed."""
    from matplotlib.transforms import blended_transform_factory

    good = [(k, v) for k, v, ok in rows if ok]
    failed = [k for k, _, ok in rows if not ok]
    ax.plot(
        [k for k, _ in good],
        [v for _, v in good],
        linewidth=1.6,
        markersize=5,
        label=label if good else f"{label} (failed)",
        zorder=3,
        **style,
    )
    if failed:
        ax.scatter(
            failed,
            [0.02 + 0.025 * level] * len(failed),
            transform=blended_transform_factory(ax.transData, ax.transAxes),
            marker="x",
            color=style["color"],
            s=30,
            linewidths=1.5,
            clip_on=False,
            zorder=4,
            gid="failed",
        )
    return bool(failed)


def _value_axis(ax, panel: dict, key: str) -> None:
    from matplotlib.ticker import ScalarFormatter

    finite = [v for rows in panel.values() for _, v, ok in rows if ok]
    if finite:
        ax.set_ylim(*_value_limits(np.asarray(finite)))
    formatter = ScalarFormatter(useMathText=True)
    formatter.set_powerlimits((-3, 5))
    ax.yaxis.set_major_formatter(formatter)
    ax.set_ylabel(f"{key.upper()} (lower is better)")


def _criterion(criterion: str) -> str:
    key = str(criterion).lower()
    if key not in CRITERIA:
        from ..errors import ParameterError, literal

        raise ParameterError(
            f"unknown selection criterion {literal(repr(criterion))}",
            f"choose one of {', '.join(CRITERIA)}",
        )
    return key


def _value(row: Mapping, key: str) -> tuple[float, bool]:
    """The row's criterion and whether it counts (a finite value of a fit that worked)."""
    value = row.get(key)
    value = math.nan if value is None else float(value)
    return value, row.get("status", "ok") == "ok" and math.isfinite(value)


def _groups(results: Sequence[Mapping], key: str) -> dict:
    """(covariance type, D) -> [(K, value, counts)] in increasing K; groups in the order of
    the registered covariance types (others after them, as met), then increasing D."""
    from ..mixture.covariance import names

    order = {name: i for i, name in enumerate(names())}
    groups: dict = {}
    for row in results:
        group = (str(row["covariance_type"]), _projection(row))
        groups.setdefault(group, []).append((int(row["n_components"]), *_value(row, key)))
    met = {kind: i for i, kind in enumerate(dict.fromkeys(t for t, _ in groups))}
    ordered = sorted(
        groups,
        key=lambda g: (order.get(g[0], len(order) + met[g[0]]), _d_key(g[1])),
    )
    return {g: sorted(groups[g], key=lambda item: item[0]) for g in ordered}


def _projection(row: Mapping) -> int | None:
    d = row.get("components")
    return None if d is None else int(d)


def _d_key(d: int | None) -> tuple[int, int]:
    return (0, 0) if d is None else (1, d)


def _sorted_d(groups) -> list:
    return sorted({d for (_, d) in groups}, key=_d_key)


def _type_styles(kinds: list[str]) -> tuple[dict, dict, dict]:
    """A colour, a marker and whether it is filled, per covariance type: mclust's
    structures as mclust draws them (:data:`MCLUST_STYLES`); the others a tab10 colour
    and a marker fixed by their place among the registered types, so that "full" looks
    the same in every figure."""
    from matplotlib import colormaps

    from ..mixture.covariance import names

    registered = [k for k in names() if k not in MCLUST_STYLES]
    extra = [k for k in dict.fromkeys(kinds) if k not in registered and k not in MCLUST_STYLES]
    place = {k: i for i, k in enumerate(registered + extra)}
    cmap = colormaps["tab10"]
    colours = {k: cmap(place[k] % cmap.N) for k in place}
    markers = {k: MARKERS[place[k] % len(MARKERS)] for k in place}
    filled = dict.fromkeys(place, True)
    for kind, (colour, marker, solid) in MCLUST_STYLES.items():
        colours[kind], markers[kind], filled[kind] = colour, marker, solid
    return colours, markers, filled


def _k_axis(ax, ks: list[int]) -> None:
    """Integer ticks at the K values present (every n-th when there are many)."""
    if not ks:
        return
    step = max(1, math.ceil(len(ks) / MAX_K_TICKS))
    ax.set_xticks(ks[::step])
    span = ks[-1] - ks[0]
    pad = max(0.5, 0.03 * span)
    ax.set_xlim(ks[0] - pad, ks[-1] + pad)


def _value_limits(values: np.ndarray) -> tuple[float, float]:
    """Limits from the finite values (NaN and infinities never stretch the axis), with
    room below for the failed crosses and above for the best model's annotation; a
    small band around a single value."""
    low, high = float(values.min()), float(values.max())
    span = high - low
    if span == 0.0:
        span = max(abs(low) * 1e-3, 1.0)
        return low - span, high + span
    return low - 0.15 * span, high + 0.22 * span


def _mark_best(ax, row: Mapping, key: str, several_d: bool, ks: list[int]) -> None:
    """A ring on the chosen model and, at the top of the axes above it, a note naming it
    with an arrow down to the ring (the top is where the curves of a minimum are not)."""
    from matplotlib.transforms import blended_transform_factory

    value, counts = _value(row, key)
    if not counts:
        return
    k = int(row["n_components"])
    ax.scatter(
        [k],
        [value],
        s=260,
        facecolors="none",
        edgecolors="black",
        linewidths=2.0,
        zorder=5,
        clip_on=False,
        gid="best",
    )
    d = _projection(row)
    what = f"K={k}, {row['covariance_type']}" + (f", D={d}" if several_d and d is not None else "")
    where = (k - ks[0]) / (ks[-1] - ks[0]) if ks[-1] > ks[0] else 0.5
    ax.annotate(
        f"best: {what}, {key.upper()}={_number(value)}",
        (k, value),
        xytext=(k, 0.95),
        textcoords=blended_transform_factory(ax.transData, ax.transAxes),
        ha="left" if where < 0.25 else "right" if where > 0.75 else "center",
        va="top",
        fontsize=9,
        bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": "0.4", "alpha": 0.9},
        arrowprops={"arrowstyle": "->", "color": "black", "linewidth": 1.0, "shrinkB": 9},
        zorder=6,
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
