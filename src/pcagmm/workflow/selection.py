"""A model-selection sweep: which number of clusters and which covariance type the data
support, by an information criterion, then the chosen model's normal run outputs.

``load -> check -> project`` (PCA once, to the largest projection size asked; smaller
ones are prefixes of it) ``-> sweep`` (every cell of D x K x covariance type, fitted in
parallel by :func:`pcagmm.mixture.selection.sweep`) ``-> evaluate`` the chosen model
``-> write``: ``selection.csv``, ``selection.json``, ``selection.png`` and the run
folder of the chosen model (figures, clusters.csv, model.npz, summary.json).

Criteria compare models of the same data: the log-likelihood of a 50-dimensional
projection and that of a 2-dimensional one are densities in different spaces, so the
best model is chosen within each projection size, and the model written out is the
best of the first projection size given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import ParameterError, literal
from ..mixture import CRITERIA
from ..mixture.initialization import INIT_PARAMS
from ..progress import Progress
from . import artifacts, stages
from .config import COVARIANCE_TYPES, RunConfig
from .result import Result
from .timing import StageTimer

#: mclust's default grid is 1..9; a data set of ten classes needs a little more room
DEFAULT_CLUSTERS = tuple(range(1, 16))


@dataclasses.dataclass(frozen=True)
class SelectConfig:
    """The options of a selection sweep, validated when made.

    ``clusters`` and ``components`` take an int, an iterable of ints, or text as the
    command line writes them (``"1-15"``, ``"2,10,50"``, ``"1-5,8"``);
    ``covariance_types`` a name, names, or ``"full,diag"``. :meth:`of` makes one from
    keywords.

    Parameters
    ----------
    run : RunConfig
        The options every fit and the outputs share (seed, tolerances, output folder,
        data set...); its ``components``, ``clusters`` and ``covariance_type`` are the
        sweep's largest and first.
    clusters : int, iterable of int or str, default=(1, ..., 15)
        The numbers of clusters tried.
    covariance_types : str or iterable of str, default=("full", "tied", "diag", "spherical")
        The covariance types tried.
    components : int, iterable of int or str, default=(2,)
        The projection sizes tried (PCA is fitted once, to the largest).
    criterion : {"bic", "aic", "icl"}, default="bic"
        What chooses the model (lower is better).
    init_params : str, default="kmeans"
        The start of every fit.
    lrt : bool, default=False
        Also run the sequential bootstrap likelihood-ratio test of K against K + 1 for
        the chosen covariance type.
    lrt_bootstrap : int, default=99
        Its replicates per step.
    lrt_level : float, default=0.05
        Its significance level.

    Raises
    ------
    ParameterError
        For a value a sweep cannot use; it names the parameter.
    """

    run: RunConfig
    clusters: tuple[int, ...] = DEFAULT_CLUSTERS
    covariance_types: tuple[str, ...] = ("full", "tied", "diag", "spherical")
    components: tuple[int, ...] = (2,)
    criterion: str = "bic"
    init_params: str = "kmeans"
    lrt: bool = False
    lrt_bootstrap: int = 99
    lrt_level: float = 0.05

    def __post_init__(self):
        set_ = functools.partial(object.__setattr__, self)
        resamples = _whole(self.lrt_bootstrap)
        if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
            raise ParameterError(
                f"{{lrt_bootstrap}} must be a whole number of replicates >= 1, got "
                f"{literal(repr(self.lrt_bootstrap))}",
                "give e.g. {lrt_bootstrap=99}",
            )
        set_("lrt_bootstrap", resamples)
        try:
            level = float(self.lrt_level)
        except (TypeError, ValueError):
            level = float("nan")
        if not 0 < level < 1:
            raise ParameterError(
                f"{{lrt_level}} must lie strictly between 0 and 1, got "
                f"{literal(repr(self.lrt_level))}",
                "give e.g. {lrt_level=0.05}",
            )
        set_("lrt_level", level)
        set_("clusters", counts("clusters", self.clusters))
        set_("components", counts("components", self.components))
        set_("covariance_types", names("covariance_types", self.covariance_types))
        if self.criterion not in CRITERIA:
            raise ParameterError(
                f"unknown criterion {literal(repr(self.criterion))}",
                f"choose one of {', '.join(CRITERIA)}",
            )
        if self.run.reducer != "pca" and len(self.components) > 1:
            raise ParameterError(
                f"{{components}} lists {len(self.components)} sizes, but a "
                f"{self.run.reducer.upper()} embedding is fitted for one size (its first "
                "dimensions are not a smaller embedding)",
                "give one size with this reducer",
            )
        if self.init_params not in INIT_PARAMS:
            raise ParameterError(
                f"unknown start {{init_params={self.init_params}}}",
                f"choose one of {', '.join(INIT_PARAMS)}",
            )

    @classmethod
    def of(cls, dataset="mnist", **options) -> SelectConfig:
        """Make a config from keywords: the sweep's own and :class:`~pcagmm.RunConfig`'s.

        Parameters
        ----------
        dataset : str, path-like, ndarray or Dataset, default="mnist"
            The data.
        **options
            The fields of SelectConfig (but ``run``) and of :class:`~pcagmm.RunConfig`.

        Returns
        -------
        SelectConfig
            The config, ``run`` set to the sweep's largest projection and number of
            clusters and its first covariance type.
        """
        sweep = {f.name: options.pop(f.name) for f in dataclasses.fields(cls) if f.name in options}
        probe = cls(RunConfig(dataset, **options), **sweep)  # validates the sweep's values
        run = dataclasses.replace(
            probe.run,
            components=max(probe.components),
            clusters=max(probe.clusters),
            covariance_type=probe.covariance_types[0],
        )
        return dataclasses.replace(probe, run=run)

    @functools.cached_property
    def record(self) -> dict:
        """What summary.json and selection.json record as the sweep's "config"."""
        run = self.run.record
        shared = {
            k: v for k, v in run.items() if k not in ("components", "clusters", "covariance_type")
        }
        return {
            "analysis": "select",
            **shared,
            "components": list(self.components),
            "clusters": list(self.clusters),
            "covariance_types": list(self.covariance_types),
            "criterion": self.criterion,
            "init_params": self.init_params,
            **(
                {"lrt_bootstrap": self.lrt_bootstrap, "lrt_level": self.lrt_level}
                if self.lrt
                else {}
            ),
        }

    @property
    def target(self) -> Path:
        """The output folder: ``out``, or a name made from the options.

        ``runs/<data>-select-<reducer><D>-k<K1>-<K2>-<criterion>-seed<seed>``.
        """
        if self.run.out is not None:
            return Path(self.run.out)
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(str(self.record["dataset"])).name)
        sizes = "-".join(map(str, self.components))
        ks = f"{self.clusters[0]}-{self.clusters[-1]}"
        return (
            Path("runs")
            / f"{name}-select-{self.run.reducer}{sizes}-k{ks}-{self.criterion}-seed{self.run.seed}"
        )


def _whole(value):
    """A whole number written as text (the command line's ``--lrt-bootstrap 99``) as an
    int; anything else as it is (for the check to refuse)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def counts(name: str, value) -> tuple[int, ...]:
    """Whole numbers >= 1 from an int (``k``: 1..k for clusters, ``k`` for components),
    an iterable, or text like ``"1-15"``, ``"2,10,50"``, ``"1-5,8"``; sorted, no repeats."""
    example = "1-15" if name == "clusters" else "2,10,50"
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int | np.integer):
        value = range(1, int(value) + 1) if name == "clusters" else [int(value)]
    if isinstance(value, str):
        value = _parse_counts(name, value, example)
    if not isinstance(value, Iterable):
        raise ParameterError(
            f"{{{name}}} must be whole numbers, got {literal(repr(value))}",
            f"give e.g. {{{name}={example}}}",
        )
    values = list(value)
    if not values:
        raise ParameterError(f"{{{name}}} is empty", f"give e.g. {{{name}={example}}}")
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int | np.integer) or item < 1:
            raise ParameterError(
                f"{{{name}}} must be whole numbers >= 1, got {literal(repr(item))}",
                f"give e.g. {{{name}={example}}}",
            )
    return tuple(sorted({int(item) for item in values}))


def _parse_counts(name: str, text: str, example: str) -> list[int]:
    values: list[int] = []
    if not text.strip():
        return values
    for part in text.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ParameterError(
                f"{{{name}={text}}} is not a list of whole numbers or ranges",
                f"write e.g. {{{name}={example}}}",
            )
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise ParameterError(
                f"{{{name}={text}}} holds the inverted range {literal(part)}",
                f"write the smaller number first, e.g. {{{name}={last}-{first}}}",
            )
        values += range(first, last + 1)
    return values


def names(name: str, value) -> tuple[str, ...]:
    """Covariance type names from a name, names, or ``"full,diag"``; ``"all"`` stands
    for mclust's fourteen structures; no repeats."""
    from ..mixture.covariance import choices, expand_all

    if isinstance(value, str):
        value = [part for part in value.replace(" ", "").split(",") if part]
    values = expand_all(value)
    if not values:
        raise ParameterError(f"{{{name}}} is empty", f"give e.g. {{{name}=full,diag}}")
    for item in values:
        if item not in COVARIANCE_TYPES:
            raise ParameterError(
                f"unknown covariance type {literal(repr(item))} in {{{name}}}",
                f"choose from {choices()}, or all (mclust's fourteen)",
            )
    return tuple(dict.fromkeys(values))


class Selection:  # numpydoc ignore=PR01
    """What a sweep produced: one row per fitted model, the best, and the chosen run.

    Attributes
    ----------
    config : dict
        The options that identify the sweep (what selection.json records).
    criterion : str
        What chose the model: "bic", "aic" or "icl".
    results : list of dict
        One row per cell (``components`` outer, then ``n_components``, then the
        covariance types), the columns of
        :attr:`GaussianMixtureSelection.results_ <pcagmm.GaussianMixtureSelection>` plus
        ``components`` and ``best`` (the lowest criterion of its projection size).
    chosen : int
        The row whose model was run through the outputs: the best of the first
        projection size.
    run : Result
        The chosen model's run (figures, table, metrics, model file).
    lrt : LikelihoodRatioTest or None
        With ``lrt=True``: the sequential bootstrap likelihood-ratio test of K against
        K + 1 for the chosen covariance type.
    timings : dict
        Seconds per stage.
    out, files
        The output folder and the files written in it (None and [] when nothing was
        written).
    """

    def __init__(self, config, criterion, results, chosen, run, timings, lrt=None):
        self.config = config
        self.lrt = lrt
        self.criterion = criterion
        self.results = results
        self.chosen = chosen
        self.run = run
        self.timings = timings
        self.out: Path | None = None
        self.files: list[str] = []

    @property
    def best(self) -> dict:
        """The chosen row."""
        return self.results[self.chosen]

    def report(self) -> str:
        """Make the terminal report of the sweep.

        Returns
        -------
        str
            The sweep's table (best marked), what was chosen, and the chosen run's
            report.
        """
        from ..report.selection import selection_report

        return selection_report(self)

    def __repr__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        """A notebook's view: the criterion's grid with the chosen model marked, every
        model's row, the figure, and the chosen model's run
        (:func:`pcagmm.report.notebook.selection_html`)."""
        from ..report.notebook import selection_html

        return selection_html(self)

    def plot_selection(self):
        """Plot the criterion against K, one line per covariance type (and projection size).

        Returns
        -------
        matplotlib.figure.Figure
            The figure (selection.png of the output folder).
        """
        from ..report.selection_plot import selection_figure

        return selection_figure(self.results, self.criterion, self.chosen, title=_title(self))


def select(*dataset, progress: Progress | None = None, **options) -> Selection:
    """Choose the number of clusters and the covariance type by a criterion: ``pcagmm select``.

    Fit a mixture for every number of clusters, covariance type and projection size;
    choose by ``criterion``; write the sweep and the chosen model's run folder. With
    ``dask``, each fit is a task on the cluster and the projection is sent to every
    worker once.

    Parameters
    ----------
    *dataset : str, path-like, ndarray or Dataset
        The data (one; default ``"mnist"``).
    progress : Progress, optional
        Where to show the stages' progress (default: nowhere).
    **options
        The sweep's: ``clusters`` (default 1-15), ``covariance_types`` (default all
        four), ``components`` (default 2), ``criterion`` (``"bic"``, ``"aic"`` or
        ``"icl"``), ``init_params``, ``lrt``, ``lrt_bootstrap``, ``lrt_level`` (see
        :class:`~pcagmm.workflow.selection.SelectConfig`); and the options of
        :func:`pcagmm.run` (``seed``, ``n_init``, ``tol``, ``max_iter``,
        ``reg_covar``, ``out``, ``plots``, ``write``, ``force``, ``dask``...).

    Returns
    -------
    Selection
        One row per fitted model, the best, and the chosen model's run.
    """
    if len(dataset) > 1:
        raise TypeError("select() takes the data set as its one positional argument")
    return select_config(SelectConfig.of(*dataset, **options), progress=progress)


def select_config(config: SelectConfig, progress: Progress | None = None) -> Selection:
    """Run :func:`~pcagmm.select` from a :class:`~pcagmm.workflow.selection.SelectConfig`.

    Parameters
    ----------
    config : SelectConfig
        Every option of the sweep.
    progress : Progress, optional
        Where to show the stages' progress (default: nowhere).

    Returns
    -------
    Selection
        One row per fitted model, the best, and the chosen model's run.
    """
    with contextlib.ExitStack() as claimed:
        if config.run.write:
            claimed.enter_context(
                artifacts.claim_out(config.target, config.record, config.run.force)
            )
        return _select_claimed(config, progress)


def _select_claimed(config: SelectConfig, progress: Progress | None) -> Selection:
    from ..mixture.selection import Cell, best_index, fit_grid

    run = config.run
    timer = StageTimer(progress)
    dataset = stages.load(run, timer)
    stages.check(dataset, run)  # the largest projection and number of clusters
    hashing = stages.hash_in_background(dataset) if run.write else None
    with stages.compute_on(run.dask) as client:
        largest = max(config.components)
        projection = stages.project(
            dataset.X,
            largest,
            reducer=stages.reducer(run, largest),
            client=client,
            timer=timer,
        )
        Z = projection.Z
        if client is not None:
            Z = client.compute(Z, sync=True)  # sent to every worker once, by the sweep
        data = {D: np.ascontiguousarray(Z[:, :D]) for D in config.components}
        cells = [
            Cell(K, kind, D)
            for D in config.components
            for K in config.clusters
            for kind in config.covariance_types
        ]
        params = {
            "n_init": run.n_init,
            "init_params": config.init_params,
            "random_state": run.seed,
            "tol": run.tol,
            "reg_covar": run.reg_covar,
            "max_iter": run.max_iter,
            "stopping": run.stopping,
            "acceleration": run.acceleration,
        }
        if run.converge:  # every fit run to convergence
            params.update(stages.CONVERGED)
        with (
            timer.stage("fits", f"fitting {len(cells)} models"),
            timer.progress.task("models fitted", total=len(cells)) as task,
        ):
            rows, models = fit_grid(
                data, cells, params, client=client, progress=lambda done, total: task.advance(1)
            )
        results = [{"components": cell.data, **row} for cell, row in zip(cells, rows, strict=True)]
        by_size = {
            D: [i for i, cell in enumerate(cells) if cell.data == D] for D in config.components
        }
        for indices in by_size.values():
            best = best_index([results[i] for i in indices], config.criterion)
            for i in indices:
                results[i]["best"] = best is not None and i == indices[best]
        chosen_size = config.components[0]
        chosen = next((i for i in by_size[chosen_size] if results[i]["best"]), None)
        if chosen is None:
            raise _all_failed(results, by_size[chosen_size], chosen_size)
        lrt = None
        if config.lrt:
            lrt = _likelihood_ratio_test(
                config, cells, models, cells[chosen], data[chosen_size], client, timer
            )
        computed_on = stages.where(client)
    gmm = models[chosen]
    Z_chosen = data[chosen_size]
    clusters = gmm.predict(Z_chosen)
    agreement = stages.evaluate(dataset, clusters, timer)
    run_result = Result(
        config.record,
        dataset,
        projection.leading(chosen_size).reducer,
        gmm,
        Z_chosen,
        clusters,
        agreement,
        timer.timings,
        computed_on,
    )
    selection = Selection(
        config.record, config.criterion, results, chosen, run_result, timer.timings, lrt
    )
    if hashing is not None:
        hashing.join()
    if run.write:
        own_files = functools.partial(_write_selection_files, selection, run)
        artifacts.write_analysis_folder(run_result, config.target, run, timer, own_files)
        selection.out, selection.files = run_result.out, run_result.files
    return selection


def _likelihood_ratio_test(config, cells, models, chosen, Z, client, timer):
    """The bootstrap LRT over the sweep's K for the chosen covariance type and size."""
    from ..mixture.lrt import likelihood_ratio_test

    fits = {
        cell.n_components: model
        for cell, model in zip(cells, models, strict=True)
        if cell.covariance_type == chosen.covariance_type and cell.data == chosen.data
    }
    consecutive = {}
    for K in range(min(fits), max(fits) + 1):  # from the smallest K up to the first gap
        if fits.get(K) is None:
            break
        consecutive[K] = fits[K]
    if len(consecutive) < 2:
        raise ParameterError(
            f"the likelihood-ratio test needs {chosen.covariance_type} fits for at least two "
            f"consecutive numbers of clusters, from {min(fits)}",
            "give a range of {clusters}, e.g. 1-10",
        )
    steps = len(consecutive) - 1
    total = steps * config.lrt_bootstrap
    with (
        timer.stage("lrt", f"likelihood-ratio test: up to {steps} steps of {config.lrt_bootstrap}"),
        timer.progress.task("replicates", total=total) as task,
    ):
        return likelihood_ratio_test(
            Z,
            consecutive,
            resamples=config.lrt_bootstrap,
            level=config.lrt_level,
            seed=0 if config.run.seed is None else config.run.seed,
            client=client,
            progress=lambda done, total: task.advance(1),
        )


def _all_failed(results, indices, size) -> ParameterError:
    from ..mixture.selection import every_fit_failed

    failed = every_fit_failed([results[i] for i in indices], f" on {size} components")
    return ParameterError(
        literal(failed), "try fewer clusters, a larger {reg_covar}, or another covariance type"
    )


def _write_selection_files(selection: Selection, run: RunConfig, build: Path) -> list[str]:
    """Write selection.csv, selection.json and (with figures) selection.png into ``build``."""
    from ..report.selection import selection_csv, selection_json

    (build / "selection.csv").write_text(selection_csv(selection.results))
    (build / "selection.json").write_text(selection_json(selection))
    files = ["selection.csv", "selection.json"]
    if selection.lrt is not None:
        from ..report.selection import lrt_csv

        (build / "lrt.csv").write_text(lrt_csv(selection.lrt))
        files.append("lrt.csv")
    if run.plots is not False:  # None: with the folder, as True
        name = f"selection.{run.figure_format}"
        artifacts.save_figure(selection.plot_selection(), build / name)
        files.insert(0, name)
    return files


def _title(selection: Selection) -> str:
    data = selection.config["dataset"]
    return f"{Path(str(data)).name}: {selection.criterion.upper()} of each model (lower is better)"


__all__ = ["SelectConfig", "Selection", "select", "select_config"]
