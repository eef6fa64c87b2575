"""A stability study in the terminal, stability.csv and stability.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..reducers import recorded_name
from ..stability_measures import SAME_OPTIMUM, STABLE_JACCARD
from .files import json_ready, rows_csv, versions
from .labels import label_text, name_of_label, named_labels
from .text import table_lines

#: the columns of stability.csv (one row per fit), in order
CSV_COLUMNS = (
    "kind",
    "seed",
    "resample",
    "log_likelihood",
    "n_iter",
    "converged",
    "ari_labels",
    "ari_reference",
    "optimum",
)
#: what each kind of fit is called in the report
KIND_NAMES = {"seed": "seeds", "bootstrap": "bootstrap"}
#: the report lists this many optimum groups (the largest), stability.json all of them
MAX_OPTIMA_SHOWN = 8


def spread(values) -> dict | None:
    """``{"min", "median", "max"}`` of the finite values (None when there are none)."""
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return {
        "min": float(values.min()),
        "median": float(np.median(values)),
        "max": float(values.max()),
    }


def seed_pairs(study) -> dict | None:
    """Mean and minimum ARI over the pairs of seed fits (None with fewer than 2 seeds)."""
    seeds = [i for i, row in enumerate(study.fits) if row["kind"] == "seed"]
    if len(seeds) < 2:
        return None
    block = study.ari[np.ix_(seeds, seeds)]
    pairs = block[np.triu_indices(len(seeds), k=1)]
    return {"mean": float(pairs.mean()), "min": float(pairs.min()), "pairs": int(pairs.size)}


def summary(study) -> dict:
    """The distributions the report and stability.json give, per kind of fit."""
    kinds = {}
    for kind in KIND_NAMES:
        rows = study.of_kind(kind)
        if not rows:
            continue
        kinds[kind] = {
            "fits": len(rows),
            "converged": sum(row["converged"] for row in rows),
            "log_likelihood": spread(row["log_likelihood"] for row in rows),
            "ari_labels": spread(row["ari_labels"] for row in rows),
            "ari_reference": spread(
                row["ari_reference"] for row in rows if row is not study.fits[0]
            ),
        }
    return {
        **kinds,
        "pairwise_ari_seeds": seed_pairs(study),
        "distinct_optima": len(study.optima),
        "all_converged": study.all_converged,
        "unstable_clusters": {
            kind: [c for c, flag in zip(study.clusters, flagged(values), strict=True) if flag]
            for kind, values in study.jaccard.items()
        },
    }


def flagged(values: dict) -> list[bool]:
    """Which reference clusters' mean Jaccard is below :data:`STABLE_JACCARD`."""
    return [bool(mean < STABLE_JACCARD) for mean in values["mean"]]


def fit_name(row: dict) -> str:
    """A fit as the report and the figure name it: its seed, or ``b<resample>``."""
    return str(row["seed"]) if row["kind"] == "seed" else f"b{row['resample']}"


def optima_order(study) -> list[int]:
    """The study's distinct optima (numbers into ``study.optima``) in the order the
    report's table and the figure's blocks show them.

    Parameters
    ----------
    study : Stability
        A :class:`~pcagmm.workflow.stability_study.Stability`.

    Returns
    -------
    list of int
        The largest group first; among groups of one size, the one whose best fit has
        the highest mean log-likelihood first (then the group first reached in seed
        order).
    """
    return sorted(
        range(len(study.optima)),
        key=lambda g: (-study.optima[g]["size"], -study.optima[g]["log_likelihood"][1]),
    )


def fit_blocks(study) -> list[list[int]]:
    """The fits' row numbers in the blocks the figure's heatmap shows them in.

    One block per distinct optimum of the seed fits, in :func:`optima_order` (largest
    first), each in the study's order (seed order); then one block of the fits no
    optimum holds (the bootstrap resamples, which the optima do not cover: a resample's
    fit is of other data), in resample order.

    Parameters
    ----------
    study : Stability
        A :class:`~pcagmm.workflow.stability_study.Stability`.

    Returns
    -------
    list of list of int
        Non-empty blocks that together hold every row number of ``study.fits`` once.
    """
    blocks = [sorted(study.optima[g]["fits"]) for g in optima_order(study)]
    grouped = {i for block in blocks for i in block}
    rest = [i for i in range(len(study.fits)) if i not in grouped]
    return [block for block in [*blocks, rest] if block]


def stability_report(study) -> str:
    """The study in the terminal: what was fitted, the distributions of the
    log-likelihood and of the ARI with the labels, the agreement between seeds, each
    reference cluster's Jaccard (flagged below 0.6), the distinct optima, the files."""
    numbers = summary(study)
    lines = [
        stability_heading(study),
        "",
        *table_lines(spread_rows(numbers), underline=True, right=True),
    ]
    agree = seeds_agree_line(numbers)
    if agree is not None:
        lines += ["", agree]
    lines += ["", *_optima_lines(study, numbers)]
    if study.jaccard:
        lines += ["", *_jaccard_lines(study)]
    if study.out is not None:
        lines += ["", f"Files     {study.out}/: {', '.join(study.files)}"]
    return "\n".join(lines)


def stability_heading(study) -> str:
    """What was fitted: the model, the seeds, the resamples, how long it took."""
    config, fits = study.config, study.fits
    seeds = study.of_kind("seed")
    resamples = study.of_kind("bootstrap")
    data = Path(str(config["dataset"])).name
    return (
        f"Stability {data}: {recorded_name(config)}-{config['components']}, "
        f"{config['clusters']} "
        f"{config['covariance_type']} components; {len(seeds)} seeds ({_seeds(config['seeds'])})"
        f", {len(resamples)} bootstrap resamples (seed {config['seeds'][0]}); "
        f"{len(fits)} fits in {study.timings.get('fits', 0):.1f} s {_where(study.computed_on)}"
    )


def spread_rows(numbers: dict) -> list[list[str]]:
    """The table of the fits' mean log-likelihood and ARI (min, median, max) per kind of
    fit, from :func:`summary`: its cells, the header first."""
    rows = [["fits", "", "min", "median", "max"]]
    for kind, name in KIND_NAMES.items():
        if kind not in numbers:
            continue
        values = numbers[kind]
        for key, label, digits in (
            ("log_likelihood", "mean log-likelihood", 6),
            ("ari_labels", "ARI with the labels", 4),
        ):
            if values[key] is not None:
                rows.append([name, label, *(f"{values[key][s]:.{digits}f}" for s in values[key])])
        if kind == "bootstrap":
            ref = values["ari_reference"]
            rows.append(["", "ARI with the reference", *(f"{ref[s]:.4f}" for s in ref)])
    return rows


def seeds_agree_line(numbers: dict) -> str | None:
    """The seed fits' pairwise agreement (None with fewer than two seeds)."""
    pairs = numbers["pairwise_ari_seeds"]
    if pairs is None:
        return None
    return (
        f"Seeds agree: pairwise ARI mean {pairs['mean']:.4f}, min {pairs['min']:.4f} "
        f"({pairs['pairs']} pairs)"
    )


def _where(computed_on: str) -> str:
    return "in this process" if computed_on == "this process" else f"on the {computed_on}"


def _seeds(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    if len(seeds) > 8:
        return ",".join(map(str, seeds[:8])) + ",..."
    return ",".join(map(str, seeds))


def _optima_lines(study, numbers) -> list[str]:
    lines = optima_notes(study, numbers)
    rows, rest = optima_rows(study)
    lines += [f"  {line}" for line in table_lines(rows, underline=True)]
    if rest:
        lines.append(f"  {rest}")
    return lines


def optima_notes(study, numbers) -> list[str]:
    """How many distinct optima the seeds reached, and what to make of them."""
    seeds = study.of_kind("seed")
    count = numbers["distinct_optima"]
    lines = [
        f"Distinct {'optimum' if count == 1 else 'optima'}: {count} among {len(seeds)} seeds "
        f"(partitions with ARI >= {SAME_OPTIMUM} grouped)"
    ]
    stopped = sum(not row["converged"] for row in study.fits)
    if stopped:
        lines.append(
            f"          {stopped} of {len(study.fits)} fits did NOT converge (stopped at "
            "max_iter): the groups holding them are stopping points, not optima"
        )
    elif count == len(seeds) > 2:
        lines.append(
            "          every seed stopped at a partition of its own: a smaller tol tells "
            "optima from stopping points"
        )
    return lines


def optima_rows(study) -> tuple[list[list[str]], str]:
    """The table of the distinct optima (the largest :data:`MAX_OPTIMA_SHOWN`): its
    cells, the header first; and a line saying how many more there are ("" if none)."""
    order = optima_order(study)
    rows = [["group", "fits", "converged", "mean log-likelihood", "seeds"]]
    for number in order[:MAX_OPTIMA_SHOWN]:
        group = study.optima[number]
        low, high = (f"{value:.6f}" for value in group["log_likelihood"])
        named = ", ".join(fit_name(study.fits[i]) for i in group["fits"][:10])
        more = ", ..." if len(group["fits"]) > 10 else ""
        done = sum(study.fits[i]["converged"] for i in group["fits"])
        converged = "yes" if done == group["size"] else "NO" if not done else f"{done} of them"
        span = low if low == high else f"{low} to {high}"
        rows.append([str(number), str(group["size"]), converged, span, named + more])
    rest = order[MAX_OPTIMA_SHOWN:]
    if not rest:
        return rows, ""
    fits = sum(study.optima[g]["size"] for g in rest)
    return rows, f"... and {len(rest)} more groups of {fits} fits in all (stability.json)"


def _jaccard_lines(study) -> list[str]:
    rows, marks = jaccard_rows(study)
    table = table_lines(rows, right=True, underline=True)
    return [
        *jaccard_notes(study),
        *table[:2],
        *(f"{line}  {mark}".rstrip() for line, mark in zip(table[2:], marks, strict=True)),
    ]


def jaccard_notes(study) -> list[str]:
    """What the Jaccard table shows, and the thresholds it is read by."""
    reference = study.fits[0]["seed"]
    return [
        f"Cluster stability: each cluster of the reference fit (seed {reference}), the mean "
        "over the other fits of its best-match Jaccard",
        f"(Hennig: <= 0.5 dissolved, >= 0.75 stable; flagged below {STABLE_JACCARD})",
    ]


def jaccard_rows(study) -> tuple[list[list[str]], list[str]]:
    """Each reference cluster's mean best-match Jaccard per kind of fit: the table's
    cells (the header first) and the note after each row (``<- unstable (...)`` below
    :data:`~pcagmm.stability_measures.STABLE_JACCARD`, else "")."""
    kinds = list(study.jaccard)
    header = ["cluster"] + (["label"] if study.cluster_labels is not None else [])
    header += [f"{KIND_NAMES[kind]} ({len(study.jaccard[kind]['fits'])})" for kind in kinds]
    rows = [header]
    marks = []
    labels = cluster_label_texts(study)
    for index, cluster in enumerate(study.clusters):
        row = [str(cluster)]
        if labels is not None:
            row.append(labels[index])
        means = [study.jaccard[kind]["mean"][index] for kind in kinds]
        row += [f"{m:.3f}" if math.isfinite(m) else "-" for m in means]
        rows.append(row)
        low = [KIND_NAMES[k] for k, m in zip(kinds, means, strict=True) if m < STABLE_JACCARD]
        marks.append(f"<- unstable ({', '.join(low)})" if low else "")
    return rows, marks


def label_names(study) -> tuple[str, ...] | None:
    """The names of the study's labels (:func:`~pcagmm.report.labels.named_labels`), or
    None where its data set names none."""
    return named_labels(getattr(study.reference.dataset, "target_names", None))


def cluster_label_texts(study) -> list[str] | None:
    """Each reference cluster's matched label as a reader sees it (``"Ankle boot (9)"``
    where the data set names it, ``"9"`` where not, ``""`` for none), or None without
    labels."""
    if study.cluster_labels is None:
        return None
    names = label_names(study)
    return ["" if label is None else label_text(label, names) for label in study.cluster_labels]


def stability_csv(study) -> str:
    """stability.csv: one row per fit (empty cells for what does not apply)."""
    return rows_csv(study.fits, CSV_COLUMNS)


def stability_record(study) -> dict:
    """What stability.json holds: the config, versions, every fit, the ARI matrix, the
    Jaccard values (mean and per fit), the distinct optima and the summary."""
    return json_ready({
        "config": study.config,
        "versions": versions(),
        "computed_on": study.computed_on,
        "thresholds": {"same_optimum_ari": SAME_OPTIMUM, "stable_jaccard": STABLE_JACCARD},
        "summary": summary(study),
        "fits": study.fits,
        "ari": study.ari,
        "clusters": study.clusters,
        "cluster_labels": study.cluster_labels,
        **_cluster_label_names(study),
        "jaccard": {
            kind: {
                "fits": values["fits"],
                "mean": values["mean"],
                "flagged": flagged(values),
                "values": values["values"],
            }
            for kind, values in study.jaccard.items()
        },
        "optima": study.optima,
    })  # fmt: skip


def stability_json(study) -> str:
    """stability.json (see :func:`stability_record`)."""
    return json.dumps(stability_record(study), indent=2) + "\n"


def _cluster_label_names(study) -> dict:
    """``cluster_label_names`` beside ``cluster_labels`` where the data set names its
    labels (as summary.json's ``cluster_to_label_name``); nothing where it does not."""
    names = label_names(study)
    if study.cluster_labels is None or names is None:
        return {}
    return {"cluster_label_names": [name_of_label(label, names) for label in study.cluster_labels]}
