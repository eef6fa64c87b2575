"""The run folder: the figures (a table of named figure functions), clusters.csv,
model.npz and summary.json, written as a whole or not at all, by one run at a time.

Beside a run folder ``NAME`` while a run is writing it (see :func:`claim_out`)::

    .NAME.tmp-lock        held (flock) by the run, from the output check to the rename
    .NAME.tmp-XXXXXXXX/   the folder being built (:func:`pcagmm._files.atomic_folder`)
    .NAME.old-XXXXXXXX/   the previous folder, for the instant of the replacement

A run made from Python with ``plots`` or ``report`` None (its default) leaves the
figures or report.html out of the folder until asked: :func:`write_figures` and
:func:`pcagmm.workflow.html_report.write_report` add them later, each file whole, under
the same lock, and rewrite summary.json (which lists the folder's files) last.

Adding a figure: write ``function(result) -> Figure or None`` (None: it does not
apply to this run) in :mod:`pcagmm.report.plots` (the mixture's uncertainty and density:
:mod:`pcagmm.report.mixture_plots`) and add it to :data:`FIGURES`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from .. import _locks
from .._files import atomic_file, atomic_folder, check_writable, leftovers
from ..errors import ParameterError, literal
from ..reducers import axis_prefix
from ..report import mixture_plots, plots
from ..report.labels import named_labels
from .timing import StageTimer

#: name (the file's stem) -> function(result) -> matplotlib Figure, or None to skip it
FIGURES = {
    "pca_scatter": plots.scatter_figure,
    "gmm_clusters": plots.clusters_figure,
    "cluster_means": plots.means_figure,
    "uncertainty": mixture_plots.uncertainty_figure,
    "density": mixture_plots.density_figure,
    "weights": mixture_plots.weights_figure,
}
#: the resolution the figures are saved at
DPI = 110
#: zlib's level for PNG figures (lossless at every level: the pixels are the same). On
#: MNIST's three figures level 1 saves in ~45 ms less than Pillow's default 6, for
#: files 8-11% larger (benchmarks/figures.py)
PNG_COMPRESS_LEVEL = 1


#: the last files of a run folder, in this order (after an analysis' own files and the
#: figures, in the order of :data:`FIGURES`): :func:`ordered_files`
LAST_FILES = ("clusters.csv", "model.npz", "report.html", "summary.json")


def save_figure(figure, path: Path, file=None) -> None:
    """Save a figure at :data:`DPI` (a PNG at :data:`PNG_COMPRESS_LEVEL`) as ``path``
    (into the open binary ``file`` when given, in ``path``'s format)."""
    options = {"pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}}
    figure.savefig(
        path if file is None else file,
        dpi=DPI,
        format=path.suffix[1:],
        **(options if path.suffix == ".png" else {}),
    )


def ordered_files(files) -> list[str]:
    """A run folder's file names (each once) in the order summary.json lists them,
    however they were added: an analysis' own files as given, then the figures in the
    order of :data:`FIGURES`, then :data:`LAST_FILES`."""
    figures = list(FIGURES)

    def place(name: str) -> tuple[int, int]:
        if name in LAST_FILES:
            return 2, LAST_FILES.index(name)
        stem = name.rsplit(".", 1)[0]
        return (1, figures.index(stem)) if stem in figures else (0, 0)

    return sorted(dict.fromkeys(files), key=place)


def check_out(target: Path, record: dict, force: bool) -> None:
    """Refuse a run folder that is a file, cannot be written, or holds another run
    (one whose recorded config differs from ``record``) unless ``force``."""
    _check_not_a_file(target)
    try:
        check_writable(target.parent)
    except OSError as exc:
        raise ParameterError(
            f"cannot write the output folder {literal(target)} ({literal(exc.strerror or exc)})",
            "choose a writable {out}",
        ) from None
    _check_contents(target, record, force)


def _check_not_a_file(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise ParameterError(
            f"the output path {literal(target)} is a file, not a folder", "choose another {out}"
        )


def _check_contents(target: Path, record: dict, force: bool) -> None:
    """Refuse a folder holding something other than ``record``'s run, unless ``force``."""
    _check_not_a_file(target)
    fix_force = "choose another {out}, or pass {force=True} to replace it"
    if target.is_dir() and any(target.iterdir()) and not force:
        try:
            previous = json.loads((target / "summary.json").read_text())["config"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ParameterError(
                f"{literal(target)} already exists and is not a pcagmm run folder", fix_force
            ) from None
        if previous != record:
            raise ParameterError(f"{literal(target)} already holds a different run", fix_force)


def lock_file(target: Path) -> Path:
    """The lock file of the run folder ``target``: ``.NAME.tmp-lock`` beside it.

    Its name falls under the ``.NAME.tmp-*`` pattern of the temporary folders on
    purpose: what a killed run leaves beside its output is then only temporary
    entries, which the next run on that folder removes or reuses.
    """
    return target.parent / f".{target.name}.tmp-lock"


def hold_folder(held: contextlib.ExitStack, target: Path, busy: str, unwritable) -> None:
    """Hold a run folder's lock in ``held``, or raise one line saying why not.

    Parameters
    ----------
    held : contextlib.ExitStack
        Releases the lock when it closes.
    target : Path
        The run folder.
    busy : str
        What to do when another run holds it.
    unwritable : callable
        Makes the error for an OSError (the lock file cannot be made).
    """
    try:
        held.enter_context(_locks.exclusive(lock_file(target)))
    except _locks.LockHeld as exc:
        by = f"another pcagmm run (process {exc.pid})" if exc.pid else "another pcagmm run"
        raise ParameterError(f"{by} is writing {literal(target)}", busy) from None
    except OSError as exc:
        raise unwritable(exc) from None


@contextlib.contextmanager
def claim_out(target: Path, record: dict, force: bool) -> Iterator[None]:
    """Hold the run folder ``target`` for this run while the block runs.

    Takes the folder's lock (:func:`lock_file`), removes what dead runs left beside
    it (:func:`remove_leftovers`), then checks the folder (:func:`check_out`). Hold it
    from before the data are loaded until the folder has been renamed into place, so
    the check and the write of one run are never interleaved with another's.

    A second run on a folder that is held is refused at once, with one line naming
    the process that holds it, rather than made to wait: a run holds its folder for
    minutes (hours at scale), a run that waits silently looks hung, and waiting would
    buy nothing: once the first run is done, the second one would be refused anyway
    (the folder then holds a different run) or would recompute the same results. The
    user (or their script) can run again when the first run is done, or choose
    another folder.

    Raises
    ------
    ParameterError
        When another run holds the folder, or :func:`check_out` refuses it.
    """
    check_out(target, record, force)  # refuses a file or an unwritable parent at once
    with contextlib.ExitStack() as held:
        hold_folder(
            held,
            target,
            busy="wait for it to finish and run again, or choose another {out}",
            unwritable=lambda exc: ParameterError(
                f"cannot create the lock file {literal(lock_file(target))} "
                f"({literal(exc.strerror or exc)})",
                "choose a writable {out}",
            ),
        )
        remove_leftovers(target)
        _check_contents(target, record, force)  # again: another run may have written it
        yield


def remove_leftovers(target: Path) -> list[Path]:
    """Remove the temporary folders that killed runs left beside ``target``.

    Call only while holding :func:`claim_out`'s lock: a run holds it while its
    temporary folders exist, so those found then belong to dead runs. A run killed
    in the instant between moving the previous folder aside and renaming its own into
    place leaves no ``target``; the previous folder is then put back.

    Returns
    -------
    list of Path
        What was removed (or put back).
    """
    temporary = re.compile(rf"\.{re.escape(target.name)}\.(tmp|old)-[a-z0-9_]{{8}}")
    found = [p for p in leftovers(target) if temporary.fullmatch(p.name)]
    for path in found:
        previous = path / target.name
        if ".old-" in path.name and not target.exists() and (previous / "summary.json").is_file():
            os.replace(previous, target)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return found


def write_analysis_folder(reference, target: Path, run, timer, extra_files) -> None:
    """Write the folder of an analysis of many fits (a sweep, a stability study): its
    reference run's outputs (figures, clusters.csv, model.npz, summary.json, as
    :func:`write_run_folder`) with the analysis' own files, written by
    ``extra_files(folder)``; ``run`` is the :class:`RunConfig` of the shared options."""
    from ..datasets.dataset import picture_shape
    from .stages import dataset_pixel_max

    write_run_folder(
        reference,
        target,
        figure_format=run.figure_format,
        plots=run.plots is not False,  # a study draws them with its folder unless told not to
        report=run.report is not False,
        pixel_max=dataset_pixel_max(reference.dataset) if picture_shape(reference.dataset) else 0.0,
        timer=timer,
        extra_files=extra_files,
    )


def write_run_folder(
    result,
    target: Path,
    *,
    figure_format: str = "png",
    plots: bool | None = True,
    report: bool | None = True,
    pixel_max: float = 0.0,
    timer: StageTimer | None = None,
    extra_files: Callable[[Path], list[str]] | None = None,
) -> None:
    """Write the run folder at ``target`` (replacing it) and record it in ``result``.

    ``extra_files(folder)`` writes an analysis' own files into the folder being built
    (before summary.json, which marks a complete folder) and returns their names.
    ``plots`` draws the figures; ``report`` writes report.html
    (:mod:`~pcagmm.workflow.html_report`), which shows those files too; it needs the
    projection (``result.Z``). None leaves them to be asked for (``result.on_request``
    names them: :func:`write_figures`, :func:`~.html_report.write_report`).

    Built in a temporary folder beside ``target`` and renamed into place when complete,
    so an interrupted run leaves no half-written folder. ``pixel_max`` is the largest
    grey level of image data (the model file keeps it for ``pcagmm predict``).
    """
    from .. import model_file
    from ..datasets.dataset import picture_shape
    from ..report import files as report_files
    from .html_report import REPORT_FILE, ReportInBackground

    timer = timer or StageTimer()
    result.pixel_max, result.figure_format = pixel_max, figure_format
    result.on_request = tuple(
        name for name, when in (("figures", plots), ("report", report)) if when is None
    )
    try:
        with atomic_folder(target) as build, contextlib.ExitStack() as stack:
            page = None
            if report and result.Z is not None:  # its rows packed while the figures draw
                page = stack.enter_context(ReportInBackground(result, pixel_max))
            files = []
            if plots:
                with timer.stage("figures", "drawing the figures"):
                    for name, draw in FIGURES.items():
                        figure = draw(result)
                        if figure is not None:
                            save_figure(figure, build / f"{name}.{figure_format}")
                            files.append(f"{name}.{figure_format}")
            with timer.stage("files", "writing the files"):
                axis = axis_prefix(result.reducer)
                agreement = result.agreement
                matching = agreement.matching if agreement is not None else None
                names = result.dataset.target_names
                (build / "clusters.csv").write_text(
                    report_files.clusters_csv(
                        result.gmm,
                        axis,
                        matching,
                        names,
                        getattr(result, "bootstrap", None),
                        kept=getattr(result, "kept", None),
                    )
                )
                model_file.save_model(
                    build / "model.npz",
                    result.reducer,
                    result.gmm,
                    picture_shape(result.dataset),  # grey (h, w) or colour (h, w, 3)
                    matching,
                    pixel_max,
                    target_names=named_labels(names),
                )
                files += ["clusters.csv", "model.npz"]
                if extra_files is not None:
                    files = extra_files(build) + files
            # summary.json (which the page shows too) lists the folder's files
            files += [REPORT_FILE] if page is not None else []
            result.out, result.files = target, [*files, "summary.json"]
            if page is not None:
                with timer.stage("report", "writing report.html"):
                    page.write(build)
            # summary.json last: it marks a complete run folder
            text = report_files.summary_json(result)
            (build / "summary.json").write_text(text)
            result.written_summary = text
    except BaseException:
        result.out, result.files = None, []
        raise


def write_figures(result) -> list[str]:
    """Draw the run's figures into its run folder, if they are not there yet.

    The figures of :data:`FIGURES` that apply, in the run's ``figure_format``, each
    file written whole; summary.json is then rewritten to list them (see
    :func:`adding_files`).

    Returns
    -------
    list of str
        The figures' file names (those already there, when they were).

    Raises
    ------
    ParameterError
        When the run wrote no folder, another run is writing it, or it was replaced.
    """
    figures = [name for name in result.files if name.rsplit(".", 1)[0] in FIGURES]
    if figures:
        return figures
    with (
        adding_files(result, "figures") as (target, timer, add),
        timer.stage("figures", "drawing the figures"),
    ):
        for name, draw in FIGURES.items():
            figure = draw(result)
            if figure is not None:
                path = target / f"{name}.{result.figure_format}"
                add(path.name)
                with atomic_file(path) as file:
                    save_figure(figure, path, file)
    return [name for name in result.files if name.rsplit(".", 1)[0] in FIGURES]


@contextlib.contextmanager
def adding_files(result, what: str) -> Iterator[tuple[Path, StageTimer, Callable[[str], None]]]:
    """Add files to the run folder of ``result`` after the run: ``(folder, timer, add)``.

    The caller calls ``add(name)`` before writing each file (whole: ``atomic_file``),
    so that ``result.files`` lists it while it is written (report.html shows
    summary.json's content, which lists the folder's files). ``timer`` adds its stages
    to the run's timings. When the block ends, summary.json is rewritten (whole, last)
    and ``what`` ("figures", "report") leaves ``result.on_request``; when it fails,
    the files it added are removed and ``result`` is left as it was: the folder holds
    the new files and a summary.json listing them, or neither.

    The folder is held (:func:`lock_file`) meanwhile, and only while it still holds the
    summary.json this run wrote.

    Raises
    ------
    ParameterError
        When the run wrote no folder, another run holds it, or the folder no longer
        holds this run's files (it was replaced, or written since).
    """
    from ..report import files as report_files

    target = result.out
    if target is None:
        raise ParameterError(
            "this run wrote no run folder ({write=False})",
            "run it again with {write=True}, or save its plot_...() figures yourself",
        )
    with contextlib.ExitStack() as held:
        hold_folder(  # an OSError: the folder's parent is gone or not writable
            held,
            target,
            busy="wait for it to finish and ask again",
            unwritable=lambda exc: ParameterError(
                f"cannot add files to {literal(target)} ({literal(exc.strerror or exc)})",
                "run it again, with {plots=True} and {report=True} to write everything at once",
            ),
        )
        try:
            current = (target / "summary.json").read_text()
        except OSError:
            current = None
        if current is None or current != getattr(result, "written_summary", None):
            raise ParameterError(
                f"{literal(target)} no longer holds the files of this run (it was replaced "
                "or written since)",
                "run it again, with {plots=True} and {report=True} to write everything at once",
            )
        timer = StageTimer()
        timer.timings = result.timings  # the run's own: summary.json records the stages
        before = (result.files, result.on_request, dict(result.timings))
        added: list[str] = []

        def add(name: str) -> None:
            added.append(name)
            result.files = ordered_files([*before[0], *added])

        try:
            yield target, timer, add
            result.on_request = tuple(name for name in result.on_request if name != what)
            text = report_files.summary_json(result)
            with atomic_file(target / "summary.json", "w", expected_bytes=len(text)) as file:
                file.write(text)
        except BaseException:
            for name in added:
                (target / name).unlink(missing_ok=True)
            result.files, result.on_request = before[:2]
            result.timings.clear()
            result.timings.update(before[2])
            raise
        result.written_summary = text
