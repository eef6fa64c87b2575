"""report.html of a run folder: from a run's Result as it is written, or rebuilt from
the folder's files and the data set they name (``pcagmm report RUN_FOLDER``).

The page itself is :mod:`pcagmm.report.html`; this module gathers what it shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._files import atomic_file
from ..datasets.dataset import picture_shape
from ..errors import ParameterError, PcagmmError, literal
from ..reducers import axis_names, cluster_images, is_embedding, name_of
from ..report import html, plots
from .config import recorded_kept_weight

#: the page's file name in a run folder
REPORT_FILE = "report.html"
#: what summary.json must hold for a page (its "mixture" block's keys too)
SUMMARY_KEYS = ("config", "data", "pca", "mixture")
MIXTURE_KEYS = ("weights", "means", "standard_deviations", "n_iter", "lower_bound", "stopping")


class ReportError(PcagmmError, ValueError):
    """A run folder a report cannot be made from."""


def run_summary(result) -> dict:
    """summary.json's content for ``result``, as plain JSON values."""
    from ..report.files import json_ready, summary

    return json_ready(summary(result))


def page_inputs(
    dataset,
    reducer,
    gmm,
    Z,
    clusters,
    *,
    pixel_max: float,
    summary,
    folder,
    mean_images=None,
    matching=None,
    kept_weight=None,
) -> html.PageInputs:
    """What :func:`pcagmm.report.html.render` needs: the data set, its projection ``Z``
    by ``reducer`` and the ``clusters`` of ``gmm``, from a run or from a run folder.
    ``mean_images``: each cluster's picture where the caller has it (computed if not);
    ``matching``: cluster -> the label it was matched to (None without labels);
    ``kept_weight``: a variational mixture's threshold of a kept component (None for
    EM's)."""
    shape = picture_shape(dataset)  # grey or colour pictures
    images = shape is not None
    return html.PageInputs(
        Z=Z,
        clusters=np.asarray(clusters),
        labels=None if dataset.y is None else np.asarray(dataset.y),
        class_names=list(dataset.target_names) if dataset.target_names else None,
        images=dataset.X if images else None,
        image_shape=shape,
        pixel_max=pixel_max,
        gmm=gmm,
        mean_images=None
        if not images
        else mean_images
        if mean_images is not None
        else cluster_images(reducer, gmm, dataset.X, clusters),
        summary=summary,
        axis_names=axis_names(reducer),
        label_name=plots.label_name(dataset.target_names).capitalize(),
        title=f"{dataset.name}: {name_of(reducer)} to {Z.shape[1]} "
        f"{'dimensions' if is_embedding(reducer) else 'components'}, "
        + (
            f"{gmm.n_components}-component Gaussian mixture"
            if kept_weight is None
            else f"variational Gaussian mixture of at most {gmm.n_components} components"
        ),
        folder=folder,
        projection=name_of(reducer),
        images_id=dataset.sha256 if images else None,
        matching=matching,
        kept_weight=kept_weight,
    )


class ReportInBackground:
    """report.html of a run, its rows packed (:func:`pcagmm.report.html.pack`, the slow
    part: mostly zlib and numpy, which release the GIL) in a thread while the run draws
    its figures and writes its files; :meth:`write` then adds the run's summary and the
    analyses' files. A context manager: leaving it waits for the thread."""

    def __init__(self, result, pixel_max: float, max_points: int = html.MAX_POINTS):
        from concurrent.futures import ThreadPoolExecutor

        inputs = result_page_inputs(result, pixel_max)
        self._result = result
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._packed = self._pool.submit(html.pack, inputs, max_points=max_points)

    def write(self, folder: Path) -> None:
        """Write ``folder/report.html`` (waits for the rows if they are not packed yet)."""
        page = html.document(self._packed.result(), run_summary(self._result), folder)
        _write(folder / REPORT_FILE, page)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def result_page_inputs(result, pixel_max: float) -> html.PageInputs:
    """The page's inputs from a run's Result (its summary is added by
    :func:`pcagmm.report.html.document`, when the run's timings are all in)."""
    if result.Z is None:
        raise ParameterError(
            "this run left its projection on the Dask cluster, and the page needs it",
            "run it again without {plots=False} and {report=False}",
        )
    return page_inputs(
        result.dataset,
        result.reducer,
        result.gmm,
        result.Z,
        result.clusters,
        mean_images=result.cluster_images if picture_shape(result.dataset) else None,
        pixel_max=pixel_max,
        summary=None,
        folder=None,
        matching=None if result.agreement is None else result.agreement.matching,
        kept_weight=None if result.kept is None else result.kept_weight,
    )


def result_page(result, max_points: int = html.MAX_POINTS) -> str:
    """report.html's page of a run, built now (what a run with ``report=True`` writes)."""
    pixel_max = result.pixel_max
    if pixel_max is None:  # a run that wrote no folder: its data's largest grey level
        from .stages import dataset_pixel_max

        pixel_max = dataset_pixel_max(result.dataset) if picture_shape(result.dataset) else 0.0
        result.pixel_max = pixel_max
    packed = html.pack(result_page_inputs(result, pixel_max), max_points=max_points)
    return html.document(packed, run_summary(result), result.out)


def write_report(result) -> Path:
    """Build report.html of a run made with ``report`` None (or False) and write it into
    its run folder, whole, and the summary.json that lists it (see
    :func:`~pcagmm.workflow.artifacts.adding_files`); the page is the one a run with
    ``report=True`` writes. Does nothing when the folder holds it already.

    Returns
    -------
    Path
        The page's file.

    Raises
    ------
    ParameterError
        When the run wrote no folder, another run is writing it, or it was replaced.
    """
    from .artifacts import adding_files

    if result.out is not None and REPORT_FILE in result.files:
        return result.out / REPORT_FILE
    with adding_files(result, "report") as (target, timer, add):
        add(REPORT_FILE)  # summary.json, which the page shows, lists it
        with timer.stage("report", "writing report.html"):
            _write(target / REPORT_FILE, result_page(result))
    return target / REPORT_FILE


def _write(path: Path, page: str) -> None:
    with atomic_file(path, "w", expected_bytes=len(page)) as file:
        file.write(page)


# ------------------------------------------------------------------------------ from a folder


def rebuild(
    folder,
    *,
    data_folder=None,
    label_column=None,
    max_points: int = html.MAX_POINTS,
    progress=None,
) -> Path:
    """Build (or rebuild) ``folder/report.html`` from a run folder's files.

    Reads summary.json and model.npz, loads the data set the run recorded (checking
    that its SHA-256 is the one the run saw), projects it with the saved PCA and assigns
    each row to the saved mixture's clusters. Where summary.json lists the folder's
    files without report.html (a run made from Python, ``report=None``), it is
    rewritten after the page to list it.

    Raises
    ------
    ParameterError
        For ``max_points`` below 1.
    ReportError
        For a folder that is not a complete run folder, one written by an older pcagmm,
        a run on data that cannot be loaded again (an array in memory), or data that
        changed since the run.
    """
    from .. import datasets
    from ..model_file import load_model

    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ParameterError(
            f"{{max_points}} must be a positive whole number, got {literal(repr(max_points))}",
            "give e.g. {max_points=100000}",
        )
    folder = Path(folder)
    summary = read_summary(folder)
    model_path = folder / "model.npz"
    if not model_path.is_file():
        raise ReportError(
            f"{literal(folder)} has no model.npz, which the report needs",
            "give a complete run folder, or run pcagmm run again",
        )
    model = load_model(model_path)
    recorded = summary["config"]["dataset"]
    if " sha256:" in str(recorded):
        raise ReportError(
            f"the run in {literal(folder)} was made on an array in memory, which the "
            "report cannot load again",
            "run it again in Python with pcagmm.run(X, out=...), which writes report.html",
        )
    if label_column is None:  # as the run read the data (a CSV's label column)
        label_column = summary["config"].get("label_column")
    from .stages import image_options

    dataset = datasets.load(
        recorded,
        folder=data_folder,
        label_column=label_column,
        progress=progress,
        **image_options(summary["config"]),
    )
    if dataset.sha256 != summary["data"]["sha256"]:
        raise ReportError(
            f"the data set {literal(recorded)} has changed since the run (SHA-256 "
            f"{dataset.sha256[:12]}, the run saw {summary['data']['sha256'][:12]})",
            "run pcagmm run again on the data as they are now",
        )
    reducer = model.reducer
    if not is_embedding(reducer):  # the axes' shares of the variance (not in model.npz)
        reducer.explained_variance_ratio_ = np.asarray(summary["pca"]["explained_variance_ratio"])
    # in chunks of rows; a UMAP gives the rows it was fitted on their own embedding
    Z = getattr(reducer, "transform_fitted", reducer.transform)(dataset.X)
    with np.errstate(all="ignore"):
        clusters = model.gmm.predict(Z)
    files = summary.get("files")  # summary.json lists the folder's files (from issue 29)
    listed = isinstance(files, list) and REPORT_FILE not in files
    if listed:  # a run made from Python with report=None: the page is added now
        from .artifacts import ordered_files

        summary["files"] = ordered_files([*files, REPORT_FILE])
    inputs = page_inputs(
        dataset,
        reducer,
        model.gmm,
        Z,
        clusters,
        pixel_max=model.pixel_max,
        summary=summary,
        folder=folder,
        matching=recorded_matching(summary),
        kept_weight=recorded_kept_weight(summary["config"]) if hasattr(model.gmm, "kept") else None,
    )
    target = folder / REPORT_FILE
    _write(target, html.render(inputs, max_points=max_points))
    if listed:  # then summary.json, which lists it (each file whole)
        _write(folder / "summary.json", json.dumps(summary, indent=2) + "\n")
    return target


def recorded_matching(summary: dict) -> dict | None:
    """The matching of clusters to labels that summary.json records (cluster -> label),
    or None for a run without labels."""
    metrics = summary.get("metrics")
    if not isinstance(metrics, dict) or not isinstance(metrics.get("cluster_to_label"), dict):
        return None
    return {int(k): v for k, v in metrics["cluster_to_label"].items() if str(k).isdigit()}


def read_summary(folder: Path) -> dict:
    """A run folder's summary.json, checked to hold what a page needs."""
    path = folder / "summary.json"
    if not folder.is_dir():
        raise ReportError(
            f"{literal(folder)} is not a folder", "give the folder a pcagmm run wrote"
        )
    if not path.is_file():
        raise ReportError(
            f"{literal(folder)} has no summary.json, so it is not a complete run folder",
            "give the folder a pcagmm run wrote, or run it again",
        )
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(
            f"cannot read {literal(path)} ({literal(exc)})", "run pcagmm run again"
        ) from None
    missing = [key for key in SUMMARY_KEYS if not isinstance(summary.get(key), dict)]
    if not missing:
        missing = [f"mixture.{key}" for key in MIXTURE_KEYS if key not in summary["mixture"]]
    if missing:
        raise ReportError(
            f"{literal(path)} has no {', '.join(missing)}: it was written by an older "
            "pcagmm or is damaged",
            "run pcagmm run again to write a current run folder",
        )
    return summary
