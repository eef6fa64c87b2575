"""The run folder: the figures (a table of named figure functions), clusters.csv,
model.npz and summary.json, written as a whole or not at all.

Adding a figure: write ``function(result) -> Figure or None`` (None: it does not
apply to this run) in :mod:`pcagmm.report.plots` and add it to :data:`FIGURES`.
"""

from __future__ import annotations

import json
from pathlib import Path

from .._files import atomic_folder, check_writable
from ..errors import ParameterError, literal
from ..report import plots
from .timing import StageTimer

#: name (the file's stem) -> function(result) -> matplotlib Figure, or None to skip it
FIGURES = {
    "pca_scatter": plots.scatter_figure,
    "gmm_clusters": plots.clusters_figure,
    "cluster_means": plots.means_figure,
}
#: the resolution the figures are saved at
DPI = 110


def check_out(target: Path, record: dict, force: bool) -> None:
    """Refuse a run folder that is a file, cannot be written, or holds another run
    (one whose recorded config differs from ``record``) unless ``force``."""
    fix_force = "choose another {out}, or pass {force=True} to replace it"
    if target.exists() and not target.is_dir():
        raise ParameterError(
            f"the output path {literal(target)} is a file, not a folder", "choose another {out}"
        )
    try:
        check_writable(target.parent)
    except OSError as exc:
        raise ParameterError(
            f"cannot write the output folder {literal(target)} ({literal(exc.strerror or exc)})",
            "choose a writable {out}",
        ) from None
    if target.is_dir() and any(target.iterdir()) and not force:
        try:
            previous = json.loads((target / "summary.json").read_text())["config"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ParameterError(
                f"{literal(target)} already exists and is not a pcagmm run folder", fix_force
            ) from None
        if previous != record:
            raise ParameterError(f"{literal(target)} already holds a different run", fix_force)


def write_run_folder(
    result,
    target: Path,
    *,
    figure_format: str = "png",
    plots: bool = True,
    pixel_max: float = 0.0,
    timer: StageTimer | None = None,
) -> None:
    """Write the run folder at ``target`` (replacing it) and record it in ``result``.

    Built in a temporary folder beside ``target`` and renamed into place when complete,
    so an interrupted run leaves no half-written folder. ``pixel_max`` is the largest
    grey level of image data (the model file keeps it for ``pcagmm predict``).
    """
    from .. import model_file
    from ..report import files as report_files

    timer = timer or StageTimer()
    try:
        with atomic_folder(target) as build:
            files = []
            if plots:
                with timer.stage("figures", "drawing the figures"):
                    for name, draw in FIGURES.items():
                        figure = draw(result)
                        if figure is not None:
                            figure.savefig(build / f"{name}.{figure_format}", dpi=DPI)
                            files.append(f"{name}.{figure_format}")
            with timer.stage("files", "writing the files"):
                (build / "clusters.csv").write_text(report_files.clusters_csv(result.gmm))
                agreement = result.agreement
                model_file.save_model(
                    build / "model.npz",
                    result.pca,
                    result.gmm,
                    result.dataset.image_shape,
                    agreement.matching if agreement is not None else None,
                    pixel_max,
                )
                files += ["clusters.csv", "model.npz", "summary.json"]
                result.out, result.files = target, files
                # summary.json last: it marks a complete run folder
                (build / "summary.json").write_text(report_files.summary_json(result))
    except BaseException:
        result.out, result.files = None, []
        raise
