"""A run: the stages composed, from a configuration to a Result and its run folder."""

from __future__ import annotations

import contextlib
import functools
import inspect

from ..datasets.dataset import picture_shape
from ..progress import Progress
from . import artifacts, stages
from .config import RunConfig
from .result import Result
from .timing import StageTimer


def run(*dataset, progress: Progress | None = None, **options) -> Result:
    """Load, project, cluster and evaluate a data set; write the run folder.

    The keywords are the fields of :class:`~pcagmm.RunConfig`, where their
    defaults live (``help(run)`` and ``inspect.signature(run)`` show them), the same
    options as ``pcagmm run``. ``dataset`` is a built-in name, a path, an array, or a
    :class:`~pcagmm.datasets.Dataset`; a memory-mapped file is streamed in chunks.

    The run folder holds summary.json, clusters.csv and model.npz. From Python, its
    figures and report.html are made when asked (``plots=None``, ``report=None``, the
    defaults here): ``Result.write_figures()`` and ``Result.write_report()`` (or
    ``Result.show_report()``) add them; ``plots=True`` and ``report=True`` (what
    ``pcagmm run`` does) write them with the run, ``False`` never. In a notebook the
    Result shows its tables and figures inline either way.

    ``dask`` is a scheduler address (or ``"local"`` for a new ``LocalCluster``):
    PCA and EM then run as Dask tasks, each pass reduced on the workers; the cluster
    of each row comes back for the agreement, and the projection for the figures
    (with ``plots=False``, ``report=False`` and ``write=True`` it stays on the cluster:
    ``Result.Z`` is None). ``write=False`` computes without touching the disk (plots then are only
    available from the Result's methods). The output folder is built in a temporary
    folder beside it and renamed into place when complete, so an interrupted run
    leaves no half-written folder.

    Parameters
    ----------
    progress : Progress, optional
        Where to show the stages' progress (default: nowhere).

    Returns
    -------
    Result
        The fitted models, the metrics, the figures and the report of the run.

    Raises
    ------
    ParameterError
        For an option a run cannot use; it names the parameter.
    """
    if len(dataset) > 1:
        raise TypeError("run() takes the data set as its one positional argument")
    config = RunConfig(*dataset, **options)
    return run_config(config, progress=progress)


def run_config(config: RunConfig, progress: Progress | None = None) -> Result:
    """Run :func:`~pcagmm.run` from a :class:`~pcagmm.RunConfig`.

    Load -> check -> project -> cluster -> evaluate -> write. A run that writes holds its
    output folder from the check to the final rename (``artifacts.claim_out``): a
    second run on the same folder is refused at once with one line, and what killed
    runs left beside it is removed.

    Parameters
    ----------
    config : RunConfig
        Every option of the run.
    progress : Progress, optional
        Where to show the stages' progress (default: nowhere).

    Returns
    -------
    Result
        The fitted models, the metrics, the figures and the report of the run.
    """
    with contextlib.ExitStack() as claimed:
        if config.write:
            claimed.enter_context(artifacts.claim_out(config.target, config.record, config.force))
        return _run_claimed(config, progress)


def _run_claimed(config: RunConfig, progress: Progress | None) -> Result:
    timer = StageTimer(progress)
    target = config.target
    dataset = stages.load(config, timer)
    stages.check(dataset, config)
    hashing = stages.hash_in_background(dataset) if config.write else None
    with stages.compute_on(config.dask) as client:
        projection = stages.project(
            dataset.X,
            config.components,
            reducer=stages.reducer(config),
            client=client,
            timer=timer,
        )
        cluster = functools.partial(
            stages.cluster,
            projection,
            config,
            client=client,
            timer=timer,
            keep_projection=config.plots is not False  # True, or None: drawn when asked
            or config.report is not False
            or config.uncertainty
            or not config.write,
        )
        clustering, convergence = cluster(), None
        if config.converge:  # the same start again, run to convergence
            early, clustering = clustering, cluster(converged=True)
            convergence = stages.compare_convergence(early, clustering)
        bootstrap = None
        if config.uncertainty:
            bootstrap = stages.uncertainty(clustering, config, client=client, timer=timer)
        write_images = config.write and picture_shape(dataset)
        pixel_max = stages.dataset_pixel_max(dataset, client) if write_images else 0.0
        computed_on = stages.where(client)
    agreement = stages.evaluate(dataset, clustering.clusters, timer)
    result = Result(
        config.record,
        dataset,
        projection.reducer,
        clustering.gmm,
        clustering.Z,
        clustering.clusters,
        agreement,
        timer.timings,
        computed_on,
        convergence,
        bootstrap,
    )
    if hashing is not None:
        hashing.join()  # summary.json records the hash
    if config.write:
        artifacts.write_run_folder(
            result,
            target,
            figure_format=config.figure_format,
            plots=config.plots,
            report=config.report,
            pixel_max=pixel_max,
            timer=timer,
        )
    return result


def _signature_from_config() -> inspect.Signature:
    """``run``'s signature: ``dataset``, then RunConfig's other fields with their
    defaults as keywords, then ``progress`` (so the defaults are written once)."""
    fields = inspect.signature(RunConfig).parameters.values()
    parameters = [
        field.replace(
            kind=inspect.Parameter.POSITIONAL_OR_KEYWORD
            if i == 0
            else inspect.Parameter.KEYWORD_ONLY
        )
        for i, field in enumerate(fields)
    ]
    progress = inspect.signature(run).parameters["progress"]
    return inspect.Signature([*parameters, progress], return_annotation=Result)


run.__signature__ = _signature_from_config()
