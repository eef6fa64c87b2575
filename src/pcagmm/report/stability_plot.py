"""The stability figure (``stability.png``): how alike the fits of a study are.

Left, the pairwise adjusted Rand index of the fits' partitions as a heatmap (0 to 1,
with a colour bar), each fit labelled by its seed (``b<i>`` for bootstrap resample
``i``). The fits are grouped by the distinct optimum they reached
(:func:`~pcagmm.report.stability.fit_blocks`): the largest group first, groups of one
size by their best log-likelihood (the order of the report's table), seed order within
a group; the bootstrap fits, which the optima do not cover, come last in resample
order. The fits of one optimum thus form a bright square block on the diagonal, and a
thin black line separates two blocks (unless both are single fits). Right, each cluster
of the reference fit with the mean of its best-match Jaccard over the other fits
(Hennig's clusterboot), one bar per kind of fit present (seeds plain, bootstrap
hatched), a dashed line at the flag threshold, and the bars below it drawn in
:data:`FLAGGED`; a cluster is labelled with the true label it was matched to when the
data have labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..reducers import recorded_name
from ..stability_measures import STABLE_JACCARD
from .labels import name_of_label
from .plots import _figure
from .stability import KIND_NAMES, fit_blocks, fit_name
from .stability import label_names as stability_label_names

#: the bars' colours per kind of fit, and the colour of a flagged (unstable) bar
COLOURS = {"seed": "tab:blue", "bootstrap": "tab:green"}
#: the bars' hatching per kind of fit (so a flagged bar still tells its kind)
HATCHES = {"seed": None, "bootstrap": "//"}
FLAGGED = "tab:red"
#: the heatmap labels every fit up to this many, beyond that a tick every few fits; it
#: draws at most this many lines between blocks of fits (more: none)
MAX_FIT_TICKS = 40
#: the colour and width of the lines between the heatmap's blocks of fits
BLOCK_LINE = {"color": "black", "linewidth": 0.8}


def stability_figure(study):
    """The heatmap and the bars of ``study`` (a
    :class:`~pcagmm.workflow.stability_study.Stability`).

    Returns
    -------
    matplotlib.figure.Figure
        On the Agg canvas; ``axes[0]`` (gid ``"ari"``) holds one image whose array is
        ``study.ari`` with its rows and columns in :func:`fit_order`, tick labels
        naming the fits in that order, and a horizontal and a vertical line (gid
        ``"block"``) at each of :func:`block_edges`; ``axes[1]`` (gid ``"jaccard"``)
        holds the bars (per kind, in cluster order; their heights are the mean Jaccard
        values) and a dashed horizontal line at :data:`STABLE_JACCARD`; ``axes[2]`` is
        the colour bar.
    """
    figure = _figure(13.0, 5.8, left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.3)
    heat, bars = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.15]})
    heat.set_gid("ari")
    bars.set_gid("jaccard")
    _heatmap(figure, heat, study)
    _jaccard_bars(bars, study)
    data = Path(str(study.config["dataset"])).name
    figure.suptitle(
        f"{data}: stability of {recorded_name(study.config)}-"
        f"{study.config['components']} + "
        f"{study.config['clusters']} {study.config['covariance_type']} components over "
        f"{len(study.fits)} fits"
    )
    return figure


def fit_order(study) -> list[int]:
    """The row numbers of ``study.fits`` in the heatmap's order.

    Parameters
    ----------
    study : Stability
        A :class:`~pcagmm.workflow.stability_study.Stability`.

    Returns
    -------
    list of int
        The blocks of :func:`~pcagmm.report.stability.fit_blocks` one after another:
        each row number once.
    """
    return [i for block in fit_blocks(study) for i in block]


def block_edges(study) -> list[float]:
    """Where the heatmap draws a line between two blocks of fits, in image coordinates
    (the fit at position ``p`` spans ``p - 0.5`` to ``p + 0.5``).

    Parameters
    ----------
    study : Stability
        A :class:`~pcagmm.workflow.stability_study.Stability`.

    Returns
    -------
    list of float
        Increasing positions: one between two neighbouring blocks unless both are
        single fits (a run of fits that each reached an optimum of their own is no
        block); empty when more than :data:`MAX_FIT_TICKS` lines would be drawn.
    """
    blocks = fit_blocks(study)
    sizes = [len(block) for block in blocks]
    ends = np.cumsum(sizes)[:-1]
    edges = [
        float(end) - 0.5
        for end, before, after in zip(ends, sizes[:-1], sizes[1:], strict=True)
        if before > 1 or after > 1
    ]
    return edges if len(edges) <= MAX_FIT_TICKS else []


def _heatmap(figure, ax, study) -> None:
    N = len(study.fits)
    order = fit_order(study)
    ari = np.asarray(study.ari)[np.ix_(order, order)]
    image = ax.imshow(ari, vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="adjusted Rand index")
    for edge in block_edges(study):
        ax.axhline(edge, gid="block", **BLOCK_LINE)
        ax.axvline(edge, gid="block", **BLOCK_LINE)
    step = max(1, int(np.ceil(N / MAX_FIT_TICKS)))
    ticks = np.arange(0, N, step)
    names = [fit_name(study.fits[order[p]]) for p in ticks]
    ax.set_xticks(ticks, names, rotation=90, fontsize=7 if N > 20 else 8)
    ax.set_yticks(ticks, names, fontsize=7 if N > 20 else 8)
    ax.set_xlabel("fit (seed; b<i>: bootstrap resample i), grouped by optimum")
    ax.set_ylabel("fit")
    ax.set_title("Pairwise ARI between the fits' partitions")


def _jaccard_bars(ax, study) -> None:
    clusters = study.clusters
    kinds = list(study.jaccard)
    x = np.arange(len(clusters))
    width = 0.8 / max(1, len(kinds))
    for number, kind in enumerate(kinds):
        means = np.asarray(study.jaccard[kind]["mean"], dtype=np.float64)
        colours = [FLAGGED if m < STABLE_JACCARD else COLOURS[kind] for m in means]
        offset = (number - (len(kinds) - 1) / 2) * width
        ax.bar(
            x + offset,
            means,
            width,
            color=colours,
            edgecolor="black",
            linewidth=0.4,
            hatch=HATCHES[kind],
            label=f"{KIND_NAMES[kind]} ({len(study.jaccard[kind]['fits'])} fits)",
            gid=kind,
        )
    ax.axhline(STABLE_JACCARD, linestyle="--", color="black", linewidth=1, gid="threshold")
    label_names = stability_label_names(study)  # a label's name gets a line of its own
    if study.cluster_labels is not None:
        names = [
            str(c) if label is None else f"{c}\n(={label})" + (f"\n{name}" if name else "")
            for c, label in zip(clusters, study.cluster_labels, strict=True)
            for name in [name_of_label(label, label_names)]
        ]
        ax.set_xlabel("cluster of the reference fit (= the label it is matched to)")
    else:
        names = [str(c) for c in clusters]
        ax.set_xlabel("cluster of the reference fit")
    ax.set_xticks(x, names, fontsize=8 if label_names is None else 7)
    ax.set_ylim(0, 1.18)  # room for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("mean best-match Jaccard")
    ax.set_title(
        f"Cluster stability (seed {study.fits[0]['seed']} as reference; "
        f"red: below {STABLE_JACCARD})"
    )
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=COLOURS[k], edgecolor="black", hatch=HATCHES[k], label=KIND_NAMES[k])
        for k in kinds
    ]
    handles.append(Patch(color=FLAGGED, label=f"below {STABLE_JACCARD}"))
    ax.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8)
    if not kinds:
        ax.text(0.5, 0.5, "no other fit to compare with", ha="center", transform=ax.transAxes)
