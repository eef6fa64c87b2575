"""A run: the stages composed, from a configuration to a Result and its run folder."""

from __future__ import annotations

from ..progress import Progress
from . import artifacts, stages
from .config import RunConfig
from .result import Result
from .timing import StageTimer


def run(
    dataset="mnist",
    *,
    components: int = 2,
    clusters: int = 10,
    covariance_type: str = "full",
    seed: int | None = 42,
    n_init: int = 1,
    tol: float = 1e-3,
    max_iter: int = 100,
    reg_covar: float = 1e-6,
    out=None,
    figure_format: str = "png",
    plots: bool = True,
    write: bool = True,
    force: bool = False,
    folder=None,
    label_column=None,
    dask: str | None = None,
    progress: Progress | None = None,
) -> Result:
    """Load, project, cluster, evaluate; write the figures and files.

    Parameters mirror ``pcagmm run`` (and :class:`~pcagmm.workflow.RunConfig`, which
    holds them). ``dataset`` is a built-in name, a path, an array, or a
    :class:`~pcagmm.datasets.Dataset`; a memory-mapped file is streamed in chunks.
    ``dask`` is a scheduler address (or ``"local"`` for a new ``LocalCluster``):
    PCA and EM then run as Dask tasks, each pass reduced on the workers; the cluster
    of each row comes back for the agreement, and the projection for the figures
    (with ``plots=False`` and ``write=True`` it stays on the cluster: ``Result.Z`` is
    None). ``write=False`` computes without touching the disk (plots then are only
    available from the Result's methods). The output folder is built in a temporary
    folder beside it and renamed into place when complete, so an interrupted run
    leaves no half-written folder.
    """
    config = RunConfig(
        dataset,
        components=components,
        clusters=clusters,
        covariance_type=covariance_type,
        seed=seed,
        n_init=n_init,
        tol=tol,
        max_iter=max_iter,
        reg_covar=reg_covar,
        out=out,
        figure_format=figure_format,
        plots=plots,
        write=write,
        force=force,
        folder=folder,
        label_column=label_column,
        dask=dask,
    )
    return run_config(config, progress=progress)


def run_config(config: RunConfig, progress: Progress | None = None) -> Result:
    """:func:`run` for a :class:`RunConfig`: load -> check -> project -> cluster ->
    evaluate -> write."""
    timer = StageTimer(progress)
    target = config.target
    if config.write:
        artifacts.check_out(target, config.record, config.force)
    dataset = stages.load(config, timer)
    stages.check(dataset, config)
    hashing = stages.hash_in_background(dataset) if config.write else None
    with stages.compute_on(config.dask) as client:
        projection = stages.project(dataset.X, config.components, client=client, timer=timer)
        clustering = stages.cluster(
            projection,
            config,
            client=client,
            timer=timer,
            keep_projection=config.plots or not config.write,
        )
        write_images = config.write and dataset.image_shape
        pixel_max = stages.pixel_max(dataset.X, client) if write_images else 0.0
        computed_on = stages.where(client)
    agreement = stages.evaluate(dataset, clustering.clusters, timer)
    result = Result(
        config.record,
        dataset,
        projection.pca,
        clustering.gmm,
        clustering.Z,
        clustering.clusters,
        agreement,
        timer.timings,
        computed_on,
    )
    if hashing is not None:
        hashing.join()  # summary.json records the hash
    if config.write:
        artifacts.write_run_folder(
            result,
            target,
            figure_format=config.figure_format,
            plots=config.plots,
            pixel_max=pixel_max,
            timer=timer,
        )
    return result
