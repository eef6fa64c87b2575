"""The terminal report of a run, and the one renderer of aligned text tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..reducers import axis_prefix, describe_embedding, is_embedding
from .files import cluster_rows
from .labels import label_text

#: PCA columns shown in the report's tables (the files hold them all)
MAX_TABLE_COLUMNS = 8


def table_lines(
    rows: Sequence[Sequence[str]], *, right: bool = False, underline: bool = False
) -> list[str]:
    """Rows of text cells as aligned lines, two spaces between columns, never wrapped.

    Each column is as wide as its widest cell (rows may have fewer cells than the
    first). Left-aligned cells are padded, except the last of each row (no trailing
    spaces); with ``right``, every cell is right-aligned. ``underline`` puts a line of
    dashes under the first row (a header).
    """
    columns = max(len(row) for row in rows)
    widths = [max(len(row[i]) for row in rows if len(row) > i) for i in range(columns)]
    lines = []
    for number, row in enumerate(rows):
        if right:
            cells = [cell.rjust(width) for cell, width in zip(row, widths, strict=False)]
        else:
            cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
            cells.append(row[-1])
        lines.append("  ".join(cells))
        if underline and number == 0:
            lines.append("  ".join("-" * len(cell) for cell in cells))
    return lines


def plus_minus(value: float, error: float) -> str:
    """``value ± error``, both to the decimals that show the error to two significant
    digits (at most four): ``-384.0 ± 2.1``, ``0.1033 ± 0.0088``, ``512 ± 23``."""
    if not (np.isfinite(error) and error > 0):
        return f"{value:.4f} ± {error:.4f}"
    decimals = int(min(4, max(0, 1 - np.floor(np.log10(error)))))
    return f"{value:.{decimals}f} ± {error:.{decimals}f}"


def matrix_rows(
    values: np.ndarray,
    weights=None,
    axis: str = "PC",
    errors: np.ndarray | None = None,
    weight_errors: np.ndarray | None = None,
    switched_off=(),
) -> list[list[str]]:
    """A table of one value per cluster and axis (and the weights), each ``± error``
    where ``errors`` (and ``weight_errors``) are given: its cells, the header first
    (at most :data:`MAX_TABLE_COLUMNS` axes)."""
    K, d = values.shape
    shown = min(d, MAX_TABLE_COLUMNS)
    header = ["cluster"] + (["weight"] if weights is not None else [])
    header += [f"{axis}{j + 1}" for j in range(shown)] + (["..."] if d > shown else [])
    rows = [header]

    def cell(value, error):
        return f"{value:.4f}" if error is None else plus_minus(value, error)

    for k in range(K):
        row = [f"{k} off" if k in switched_off else str(k)]
        if weights is not None:
            row.append(cell(weights[k], None if weight_errors is None else weight_errors[k]))
        row += [
            cell(v, None if errors is None else errors[k, j])
            for j, v in enumerate(values[k, :shown])
        ]
        rows.append(row)
    return rows


def bootstrap_lines(bootstrap) -> list[str]:
    """What the table's ``±`` are: how many refits of which kind, and what collapsed."""
    lines = [
        f"Bootstrap {bootstrap.requested} {bootstrap.kind} resamples (seed {bootstrap.seed}), "
        f"refitted from the converged model in {bootstrap.time:.1f} s: each number below "
        "± its standard error; 95% percentile intervals in clusters.csv and summary.json"
    ]
    if bootstrap.collapsed:
        first = bootstrap.collapsed[0]
        lines.append(
            f"          {len(bootstrap.collapsed)} of {bootstrap.requested} refits collapsed and "
            f"are left out (resample {first.resample}: {first.reason})"
        )
    return lines


def _converged_lines(convergence, gmm) -> list[str]:
    early = convergence.early
    taken, dropped = gmm.extrapolations_
    moved = f"{convergence.changed_matched:.1%} of the rows in another cluster after matching"
    if convergence.changed is not None:
        moved = (
            f"{convergence.changed:.1%} of the rows in another component "
            f"({convergence.changed_matched:.1%} after matching the components)"
        )
    return [
        f"          run to convergence from the run's start: SQUAREM ({taken} extrapolations"
        f" taken, {dropped} dropped), relative change <= {gmm.tol:g}",
        f"Early     the run's own stop: {early.n_iter_} iterations, {_bound_name(gmm)} "
        f"{early.lower_bound_:.6f} ({gmm.lower_bound_ - early.lower_bound_:.6f} lower); its "
        f"partition against the converged one: adjusted Rand index "
        f"{convergence.partition_agreement.adjusted_rand:.4f}, {moved}",
    ]


def _bound_name(gmm) -> str:
    """What ``lower_bound_`` is: EM's mean log-likelihood, or the variational lower
    bound (a total)."""
    return "lower bound" if hasattr(gmm, "weight_concentration_") else "mean log-likelihood"


def report(result) -> str:
    """The terminal report of a run."""
    ds, reducer, gmm = result.dataset, result.reducer, result.gmm
    n, d = ds.shape
    verified = {True: "SHA-256 verified", False: "SHA-256 MISMATCH", None: "no recorded hash"}
    lines = [
        f"Data      {ds.name}: {n:,} x {d:,} {ds.X.dtype}, from {ds.source}, "
        f"{verified[ds.verified]} ({ds.sha256[:12]})",
    ]
    if is_embedding(reducer):  # an embedding (UMAP): its axes hold no share of the variance
        lines.append(describe_embedding(reducer))
    else:
        ratios = reducer.explained_variance_ratio_
        shown = " + ".join(f"{r:.2%}" for r in ratios[:MAX_TABLE_COLUMNS])
        more = " + ..." if len(ratios) > MAX_TABLE_COLUMNS else ""
        lines.append(
            f"PCA       {reducer.n_components_} components explain {shown}{more} = "
            f"{ratios.sum():.2%} of the variance"
        )
    state = "converged" if gmm.converged_ else "did NOT converge"
    steps = "passes" if gmm.acceleration else "iterations"
    kept = result.kept
    if kept is None:
        lines.append(
            f"Mixture   {gmm.n_components} components, {gmm.covariance_type} covariance, seed "
            f"{result.config['seed']}: {state} after {gmm.n_iter_} {steps}, mean "
            f"log-likelihood {gmm.lower_bound_:.6f}"
        )
    else:
        lines.append(
            f"Mixture   variational Bayesian, {describe_prior(gmm)}, at most "
            f"{gmm.n_components} components, {gmm.covariance_type} covariance, seed "
            f"{result.config['seed']}: {state} after {gmm.n_iter_} {steps}, lower bound "
            f"{gmm.lower_bound_:.6f}"
        )
    if result.convergence is None:
        lines += convergence_lines(gmm, n)
    else:
        lines += _converged_lines(result.convergence, gmm)
    if kept is not None:
        off = gmm.switched_off(result.kept_weight)
        lines.append(kept_line(gmm, len(kept), off, result.kept_weight))
    bootstrap = getattr(result, "bootstrap", None)
    if bootstrap is not None:
        lines += bootstrap_lines(bootstrap)
    for title, rows in result_tables(result):
        lines += ["", title, *table_lines(rows, right=True)]
    if result.agreement is not None:
        a = result.agreement
        names = ds.target_names  # "0->Ankle boot (9)" where the data set names its labels
        matching = ", ".join(f"{k}->{label_text(v, names)}" for k, v in sorted(a.matching.items()))
        lines += [
            "",
            f"Agreement with the true labels: adjusted Rand index {a.adjusted_rand:.4f}, "
            f"normalised mutual information {a.normalized_mutual_info:.4f}, accuracy after "
            f"matching clusters to labels {a.accuracy:.4f}",
            f"Matching (cluster->label): {matching}",
        ]
    timing = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in result.timings.items())
    lines += ["", f"Time      {timing}"]
    if result.computed_on != "this process":
        lines.append(f"          on the {result.computed_on}")
    if result.out is not None:
        lines.append(f"Files     {result.out}/: {', '.join(result.files)}")
        lines += on_request_lines(result)
    return "\n".join(lines)


#: what a run folder may leave to be asked for: (its name in words, the Result's method)
ON_REQUEST = {
    "figures": ("the figures", "write_figures()"),
    "report": ("report.html", "write_report()"),
}


def on_request_lines(result) -> list[str]:
    """What the run folder leaves to be asked for (a run made from Python, with
    ``plots`` or ``report`` None), and how to ask: nothing when it holds everything."""
    asked = [ON_REQUEST[name] for name in getattr(result, "on_request", ())]
    if not asked:
        return []
    what = " and ".join(words for words, _ in asked)
    calls = ", ".join(f"result.{call}" for _, call in asked)
    return [f"          {what} when asked: {calls}"]


def switched_off(result) -> set[int]:
    """The variational mixture's switched-off components (none for EM's)."""
    if result.kept is None:
        return set()
    return set(result.gmm.switched_off(result.kept_weight).tolist())


def result_tables(result) -> list[tuple[str, list[list[str]]]]:
    """The run's tables, ``(title, rows)`` with the header row first: the means of the
    clusters (with the weights) and their standard deviations, each number ± its
    bootstrap standard error where the run has them, a switched-off component as
    ``"k off"`` (the terminal's and the notebook's: :mod:`pcagmm.report.notebook`)."""
    gmm = result.gmm
    off = switched_off(result)
    means, stds = cluster_rows(gmm)
    axis = axis_prefix(result.reducer)
    bootstrap = getattr(result, "bootstrap", None)
    errors = {} if bootstrap is None else bootstrap.standard_errors()
    return [
        (
            "Means of the clusters",
            matrix_rows(means, gmm.weights_, axis, errors.get("means"), errors.get("weights"), off),
        ),
        (
            "Standard deviations of the clusters",
            matrix_rows(
                stds, axis=axis, errors=errors.get("standard_deviations"), switched_off=off
            ),
        ),
    ]


def describe_prior(gmm) -> str:
    """The variational mixture's prior on the weights, in words."""
    name = {
        "dirichlet_process": "Dirichlet process prior",
        "dirichlet_distribution": "Dirichlet distribution prior",
    }[gmm.weight_concentration_prior_type]
    return f"{name} (concentration {gmm.weight_concentration_prior_:.4g})"


def kept_line(gmm, n_kept: int, off, threshold: float) -> str:
    """How many components the variational mixture kept, and which (``off``, in
    increasing order) it switched off."""
    off = [int(k) for k in off]
    weights = np.asarray(gmm.weights_)
    line = f"Kept      {n_kept} of {gmm.n_components} components (weight >= {threshold:g})"
    if not off:
        return line + "; none switched off"
    shown = ", ".join(map(str, off[:20])) + (", ..." if len(off) > 20 else "")
    return (
        f"{line}; switched off ({weights[off].sum():.4g} of the weight together, marked "
        f"'off' below): {shown}"
    )


def convergence_lines(gmm, rows: int, converge_flag: str = "--converge") -> list[str]:
    """What a reader of the table must know about how EM stopped: nothing when it met a
    tight rule; else how fast the log-likelihood was still rising, where Aitken's
    extrapolation puts its limit, and how to converge."""
    from ..mixture.convergence import CONVERGED, still_rising

    change, gap = still_rising(list(gmm.lower_bounds_))
    if change is None:
        return []
    bound = gmm.lower_bound_
    quantity = _bound_name(gmm)
    if quantity == "lower bound":  # the variational bound is a total
        rows = 1
    # met the rule of a converged run (relative change of the total)
    if gmm.converged_ and abs(change) * rows <= CONVERGED["tol"] * (1 + abs(bound) * rows):
        return []
    if change <= 0:
        return []
    what = "stopped" if gmm.converged_ else f"did not converge in {gmm.n_iter_} iterations"
    rule = {
        "absolute": f"tol={gmm.tol:g} on the change of the {quantity}",
        "relative": f"tol={gmm.tol:g} on the relative change of the {quantity.split()[-1]}",
        "aitken": f"tol={gmm.tol:g} on Aitken's distance to the limit",
    }[gmm.stopping]
    first = (
        f"          {what} ({rule}) while the {quantity} was still rising by "
        f"{change:.3g} per iteration"
    )
    if rows != 1:
        first += f" ({change * rows:.3g} in total)"
    if gap is not None:
        first += f"; its extrapolated (Aitken) limit is {gap:.3g} higher"
    fix = converge_flag if gmm.converged_ else f"{converge_flag}, or a larger --max-iter"
    return [first + ";", f"          run with {fix} to see the converged fit"]
