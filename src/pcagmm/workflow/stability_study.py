"""A stability study: the same analysis from several seeds (and on bootstrap resamples
of the rows), and how alike the fits' partitions are.

``load -> check -> project`` (PCA once: it has no randomness) ``-> fits`` (one mixture
per seed and per resample, in parallel, :func:`pcagmm.mixture.stability.fit_all`)
``-> measures`` (pairwise ARI, each reference cluster's best-match Jaccard as Hennig's
clusterboot, the distinct optima: :mod:`pcagmm.stability_measures`) ``-> write``:
``stability.csv``, ``stability.json``, ``stability.png`` and the reference run's folder
(the first seed's fit: the same model as ``pcagmm run`` with that seed).

A run folder describes one model and a study describes N fits, hence a command of its
own (as ``pcagmm select``) rather than an option of ``pcagmm run``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
from pathlib import Path

import numpy as np

from ..errors import ParameterError, literal
from ..progress import Progress
from . import artifacts, stages
from .config import RunConfig
from .result import Result
from .timing import StageTimer

#: seeds when none are given: the run's seed and the 19 after it
DEFAULT_SEEDS = 20
#: at most this many seeds, and this many bootstrap resamples
MAX_FITS = 1000
#: the kinds of fit, in the order of a study's rows
KINDS = ("seed", "bootstrap")


def mixture(config: RunConfig, seed: int | None = None):
    """The (unfitted) :class:`~pcagmm.mixture.GaussianMixture` a run of ``config`` fits,
    started from ``seed`` (default: the config's): :func:`pcagmm.workflow.stages.mixture`,
    so the reference fit is the run's model; with ``converge``, every fit is run to
    convergence (:data:`~pcagmm.workflow.stages.CONVERGED`).
    """
    if seed is not None:
        config = dataclasses.replace(config, seed=seed)
    return stages.mixture(config, converged=config.converge)


@dataclasses.dataclass(frozen=True)
class StabilityConfig:
    """The options of a stability study, validated when made.

    :meth:`of` makes one from keywords.

    Parameters
    ----------
    run : RunConfig
        The run every fit shares; its ``seed`` is set to the first seed.
    seeds : int, sequence of int or str, default=20
        An int ``N`` (the seeds ``seed, seed + 1, ..., seed + N - 1`` from the run's
        ``seed``), a sequence of ints (repeats allowed), or text as the command line
        writes it (``"20"``, ``"42,42,7"``); stored as the tuple of seeds. The first
        seed's fit is the reference.
    bootstrap : int, default=0
        ``B`` more fits, each from the reference seed on a resample of the rows drawn
        with replacement.

    Raises
    ------
    ParameterError
        For a value a study cannot use; it names the parameter.
    """

    run: RunConfig
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    bootstrap: int = 0

    def __post_init__(self):
        seeds = seed_list(self.seeds, self.run.seed)
        object.__setattr__(self, "seeds", seeds)
        bootstrap = self.bootstrap
        if isinstance(bootstrap, str) and re.fullmatch(r"\s*-?\d+\s*", bootstrap):
            bootstrap = int(bootstrap)
        if isinstance(bootstrap, bool) or not isinstance(bootstrap, int | np.integer):
            raise ParameterError(
                f"{{bootstrap}} must be a whole number of resamples, got "
                f"{literal(repr(self.bootstrap))}",
                "give e.g. {bootstrap=20}, or 0 for none",
            )
        if not 0 <= bootstrap <= MAX_FITS:
            raise ParameterError(
                f"{{bootstrap={bootstrap}}} is out of range", f"give 0 to {MAX_FITS} resamples"
            )
        object.__setattr__(self, "bootstrap", int(bootstrap))
        if len(seeds) + self.bootstrap < 2:
            raise ParameterError(
                "a stability study needs at least 2 fits",
                "give {seeds=2} or more (or some {bootstrap} resamples)",
            )
        if self.run.seed != seeds[0]:
            object.__setattr__(self, "run", dataclasses.replace(self.run, seed=seeds[0]))

    @classmethod
    def of(cls, dataset="mnist", **options) -> StabilityConfig:
        """Make a config from keywords: the study's own and :class:`~pcagmm.RunConfig`'s.

        Parameters
        ----------
        dataset : str, path-like, ndarray or Dataset, default="mnist"
            The data.
        **options
            ``seeds``, ``bootstrap``, and the fields of :class:`~pcagmm.RunConfig`.

        Returns
        -------
        StabilityConfig
            The config.
        """
        study = {f.name: options.pop(f.name) for f in dataclasses.fields(cls) if f.name in options}
        return cls(RunConfig(dataset, **options), **study)

    @property
    def fits(self) -> list:
        """Every fit of the study: one per seed, then one per resample."""
        from ..mixture.stability import Fit

        reference = self.seeds[0]
        return [Fit("seed", seed) for seed in self.seeds] + [
            Fit("bootstrap", reference, b) for b in range(self.bootstrap)
        ]

    @functools.cached_property
    def record(self) -> dict:
        """What summary.json and stability.json record as the study's "config"."""
        return {
            "analysis": "stability",
            **self.run.record,
            "seeds": list(self.seeds),
            "bootstrap": self.bootstrap,
        }

    @property
    def target(self) -> Path:
        """The output folder: ``out``, or a name made from the options.

        ``runs/<data>-stability-<reducer><D>-gmm<K>-<type>-seed<seed>-n<N>[-b<B>]``.
        """
        run = self.run
        if run.out is not None:
            return Path(run.out)
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(str(self.record["dataset"])).name)
        resamples = f"-b{self.bootstrap}" if self.bootstrap else ""
        return Path("runs") / (
            f"{name}-stability-{run.reducer}{run.components}-gmm{run.clusters}-{run.covariance_type}"
            f"-seed{run.seed}-n{len(self.seeds)}{resamples}"
        )


def seed_list(seeds, seed: int | None) -> tuple[int, ...]:
    """The seeds of a study from ``seeds`` (an int N: N seeds from ``seed`` on; ints;
    or text ``"20"`` / ``"42,42,7"``), each checked to be a valid random_state."""
    example = "{seeds=20} or {seeds=42,42,7}"
    given = seeds
    if isinstance(seeds, str):
        text = seeds.replace(" ", "")
        if re.fullmatch(r"\d+", text):
            seeds = int(text)
        elif re.fullmatch(r"\d+(,\d+)+,?", text):
            seeds = [int(part) for part in text.split(",") if part]
        else:
            raise ParameterError(
                f"{{seeds={literal(given)}}} is neither a number of seeds nor a list of them",
                f"give e.g. {example}",
            )
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        count = int(seeds)
        if not 1 <= count <= MAX_FITS:
            raise ParameterError(
                f"{{seeds={count}}} is out of range", f"give 1 to {MAX_FITS} seeds, e.g. {example}"
            )
        if seed is None:
            raise ParameterError(
                "a number of seeds counts from {seed}, which is None",
                "give {seed=42}, or the seeds themselves, e.g. {seeds=42,43,44}",
            )
        seeds = range(seed, seed + count)
    if isinstance(seeds, bool | float | np.floating) or not hasattr(seeds, "__iter__"):
        raise ParameterError(
            f"{{seeds}} must be a whole number or a list of them, got {literal(repr(given))}",
            f"give e.g. {example}",
        )
    values = list(seeds)
    if not values or len(values) > MAX_FITS:
        raise ParameterError(
            f"{{seeds}} holds {len(values)} seeds", f"give 1 to {MAX_FITS} seeds, e.g. {example}"
        )
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ParameterError(
                f"{{seeds}} must be whole numbers, got {literal(repr(value))}",
                f"give e.g. {example}",
            )
        if not 0 <= value < 2**32:
            raise ParameterError(
                f"the seed {int(value)} in {{seeds}} is outside 0 to 2**32 - 1",
                "give seeds in that range, e.g. {seeds=20} counting from {seed=42}",
            )
    return tuple(int(value) for value in values)


class Stability:  # numpydoc ignore=PR01
    """What a stability study found.

    Attributes
    ----------
    config : dict
        The options that identify the study (what stability.json records).
    fits : list of dict
        One row per fit, seeds then resamples: ``kind`` ("seed" or "bootstrap"),
        ``seed``, ``resample`` (None for a seed fit), ``log_likelihood`` (the fit's
        final mean log-likelihood, of its resample for a bootstrap fit), ``n_iter``,
        ``converged``, ``ari_labels`` (ARI with the true labels, None without),
        ``ari_reference`` (with the reference fit, on every row), ``optimum`` (the
        distinct optimum a seed fit reached, numbered from 0; None for a resample),
        ``time``.
    partitions : list of (n,) int arrays
        The cluster of every row under each fit (a resample's model predicts every row).
    ari : (N, N) ndarray
        Pairwise ARI of the partitions, in the order of ``fits``.
    clusters : list of int
        The reference's clusters (those holding rows), the order of the Jaccard values.
    cluster_labels : list or None
        The true label each reference cluster was matched to (None without labels).
    jaccard : dict
        Per kind present among the other fits ("seed", "bootstrap"): ``{"fits": [row
        numbers], "values": (fits, clusters) array, "mean": (clusters,) array}``: each
        reference cluster's best-match Jaccard in each fit, and its mean (NaN-aware:
        a cluster a resample did not draw counts for none).
    optima : list of dict
        The distinct optima of the seed fits: ``size``, ``fits`` (row numbers),
        ``log_likelihood`` ``[min, max]``.
    reference : Result
        The first seed's run (figures, table, metrics, model file).
    timings : dict
        Seconds per stage.
    computed_on : str
        Where the fits ran: "this process", or the Dask cluster's address and workers.
    out, files
        The output folder and the files written in it (None and [] when nothing was
        written).
    """

    def __init__(self, config, fits, partitions, ari, clusters, cluster_labels, jaccard,
                 optima, reference, timings, computed_on):  # fmt: skip
        self.config = config
        self.fits = fits
        self.partitions = partitions
        self.ari = ari
        self.clusters = clusters
        self.cluster_labels = cluster_labels
        self.jaccard = jaccard
        self.optima = optima
        self.reference = reference
        self.timings = timings
        self.computed_on = computed_on
        self.out: Path | None = None
        self.files: list[str] = []

    def of_kind(self, kind: str) -> list[dict]:
        """Return the rows of ``fits`` of one kind.

        Parameters
        ----------
        kind : {"seed", "bootstrap"}
            The kind of fit.

        Returns
        -------
        list of dict
            The rows of that kind, in order.
        """
        return [row for row in self.fits if row["kind"] == kind]

    @property
    def all_converged(self) -> bool:
        """Whether every fit's EM stopped by its rule (not at ``max_iter``)."""
        return all(row["converged"] for row in self.fits)

    def report(self) -> str:
        """Make the terminal report of the study.

        Returns
        -------
        str
            The study's tables: the fits' log-likelihoods and agreements, the distinct
            optima and each cluster's Jaccard.
        """
        from ..report.stability import stability_report

        return stability_report(self)

    def __repr__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        """A notebook's view: the study's tables and figure, and the reference run
        (:func:`pcagmm.report.notebook.stability_html`)."""
        from ..report.notebook import stability_html

        return stability_html(self)

    def plot_stability(self):
        """Plot the pairwise ARI of the fits and the Jaccard of each cluster.

        Returns
        -------
        matplotlib.figure.Figure
            The pairwise-ARI heatmap (the fits grouped by the optimum they reached) and
            per-cluster Jaccard bars (stability.png of the output folder).
        """
        from ..report.stability_plot import stability_figure

        return stability_figure(self)


def stability(
    dataset="mnist",
    *,
    seeds=DEFAULT_SEEDS,
    bootstrap: int = 0,
    n_jobs: int | None = None,
    progress: Progress | None = None,
    **run_options,
) -> Stability:
    """Fit a run's mixture from many seeds and resamples and compare: ``pcagmm stability``.

    Fit the run's mixture from ``seeds`` and on ``bootstrap`` resamples of the rows;
    compare the partitions; write stability.csv, stability.json, stability.png and the
    reference (first seed) run's folder. The fits run on ``n_jobs`` threads, or with
    ``dask`` as tasks on the cluster, the projection sent to every worker once.

    Parameters
    ----------
    dataset : str, path-like, ndarray or Dataset, default="mnist"
        The data.
    seeds : int or sequence of int, default=20
        An int N: the run's ``seed`` and the N - 1 after it; or a list of seeds,
        repeats allowed. The first seed's fit is the reference.
    bootstrap : int, default=0
        Fits from the reference seed on resamples of the rows.
    n_jobs : int, optional
        Threads the fits run on (None: one per core).
    progress : Progress, optional
        Where to show the stages' progress (default: nowhere).
    **run_options
        The options of :func:`pcagmm.run` (``components``, ``clusters``,
        ``covariance_type``, ``seed``, ``tol``, ``max_iter``, ``reg_covar``, ``out``,
        ``force``, ``plots``, ``write``, ``dask``...).

    Returns
    -------
    Stability
        The fits, the pairwise agreements, the distinct optima and each cluster's
        Jaccard.
    """
    config = StabilityConfig.of(dataset, seeds=seeds, bootstrap=bootstrap, **run_options)
    return stability_config(config, n_jobs=n_jobs, progress=progress)


def stability_config(
    config: StabilityConfig, *, n_jobs: int | None = None, progress: Progress | None = None
) -> Stability:
    """Run :func:`~pcagmm.stability` from a :class:`~pcagmm.StabilityConfig`.

    Parameters
    ----------
    config : StabilityConfig
        Every option of the study.
    n_jobs : int, optional
        Threads the fits run on (None: one per core).
    progress : Progress, optional
        Where to show the stages' progress (default: nowhere).

    Returns
    -------
    Stability
        The fits, the pairwise agreements, the distinct optima and each cluster's
        Jaccard.
    """
    with contextlib.ExitStack() as claimed:
        if config.run.write:
            claimed.enter_context(
                artifacts.claim_out(config.target, config.record, config.run.force)
            )
        return _stability_claimed(config, n_jobs, progress)


def _stability_claimed(config: StabilityConfig, n_jobs, progress) -> Stability:
    from ..mixture.refit import FIT_FAILURES, failure_reason
    from ..mixture.stability import bootstrap_counts, fit_all

    run = config.run
    timer = StageTimer(progress)
    dataset = stages.load(run, timer)
    stages.check(dataset, run)
    hashing = stages.hash_in_background(dataset) if run.write else None
    fits = config.fits
    with stages.compute_on(run.dask) as client:
        projection = stages.project(
            dataset.X, run.components, reducer=stages.reducer(run), client=client, timer=timer
        )
        Z = projection.Z
        if client is not None:
            Z = client.compute(Z, sync=True)  # sent to every worker once, by the fits
        Z = np.ascontiguousarray(Z)
        n = Z.shape[0]
        counts = bootstrap_counts(n, config.bootstrap, run.seed)
        weights = [None] * len(config.seeds) + counts
        mixtures = [mixture(run, fit.seed) for fit in fits]
        with (
            timer.stage("fits", f"fitting {len(fits)} models"),
            timer.progress.task("models fitted", total=len(fits)) as task,
        ):
            try:
                fitted = fit_all(
                    Z, mixtures, weights, n_jobs=n_jobs, client=client,
                    progress=lambda done, total: task.advance(1),
                )  # fmt: skip
            except FIT_FAILURES as exc:
                raise ParameterError(
                    f"a fit of the study failed ({literal(failure_reason(exc))})",
                    "try a larger {reg_covar} or fewer {clusters}",
                ) from None
        computed_on = stages.where(client)
    with timer.stage("measures", "comparing the fits"):
        partitions = [gmm.predict(Z) for gmm, _ in fitted]
        study = _measures(config, dataset, fits, fitted, partitions, counts)
    reference_gmm = fitted[0][0]
    agreement = stages.evaluate(dataset, partitions[0], timer)
    reference = Result(
        config.record, dataset, projection.reducer, reference_gmm, Z, partitions[0], agreement,
        timer.timings, computed_on,
    )  # fmt: skip
    result = Stability(
        config.record, *study, reference=reference, timings=timer.timings, computed_on=computed_on
    )
    if hashing is not None:
        hashing.join()
    if run.write:
        own_files = functools.partial(_write_stability_files, result, run)
        artifacts.write_analysis_folder(reference, config.target, run, timer, own_files)
        result.out, result.files = reference.out, reference.files
    return result


def _measures(config, dataset, fits, fitted, partitions, counts):
    """The rows, ARI matrix, reference clusters and labels, Jaccard values and optima."""
    from ..evaluate import agreement
    from ..stability_measures import best_match_jaccard, optimum_groups, pairwise_ari

    ari = pairwise_ari(partitions)
    seeds = [i for i, fit in enumerate(fits) if fit.kind == "seed"]
    groups = optimum_groups(ari[np.ix_(seeds, seeds)])
    optimum = dict(zip(seeds, groups.tolist(), strict=True))
    agreements = [None if dataset.y is None else agreement(dataset.y, p) for p in partitions]
    rows = []
    for i, (fit, (_, row)) in enumerate(zip(fits, fitted, strict=True)):
        labels = None if agreements[i] is None else agreements[i].adjusted_rand
        rows.append({
            "kind": fit.kind, "seed": fit.seed, "resample": fit.resample,
            "log_likelihood": row["log_likelihood"], "n_iter": row["n_iter"],
            "converged": row["converged"], "ari_labels": labels,
            "ari_reference": float(ari[0, i]), "optimum": optimum.get(i), "time": row["time"],
        })  # fmt: skip
    reference = partitions[0]
    clusters = np.unique(reference).tolist()
    cluster_labels = None
    if agreements[0] is not None:  # the reference's clusters as the labels they match
        cluster_labels = [agreements[0].matching.get(k) for k in clusters]
    jaccard = {}
    for kind in KINDS:
        others = [i for i, fit in enumerate(fits) if fit.kind == kind and i != 0]
        if not others:
            continue
        values = np.array([
            best_match_jaccard(
                reference, partitions[i], clusters,
                rows=None if kind == "seed" else counts[fits[i].resample] > 0,
            )
            for i in others
        ])  # fmt: skip
        with np.errstate(all="ignore"), _quiet_nan_mean():
            mean = np.nanmean(values, axis=0)
        jaccard[kind] = {"fits": others, "values": values, "mean": mean}
    optima = []
    for group in range(int(groups.max()) + 1 if len(groups) else 0):
        members = [seeds[j] for j in np.flatnonzero(groups == group)]
        ll = [rows[i]["log_likelihood"] for i in members]
        optima.append({"size": len(members), "fits": members, "log_likelihood": [min(ll), max(ll)]})
    return rows, partitions, ari, clusters, cluster_labels, jaccard, optima


@contextlib.contextmanager
def _quiet_nan_mean():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cluster no resample drew: NaN
        yield


def _write_stability_files(study: Stability, run: RunConfig, build: Path) -> list[str]:
    """Write stability.csv, stability.json and (with figures) stability.png into ``build``."""
    from ..report.stability import stability_csv, stability_json

    (build / "stability.csv").write_text(stability_csv(study))
    (build / "stability.json").write_text(stability_json(study))
    files = ["stability.csv", "stability.json"]
    if run.plots is not False:  # None: with the folder, as True
        name = f"stability.{run.figure_format}"
        artifacts.save_figure(study.plot_stability(), build / name)
        files.insert(0, name)
    return files


__all__ = ["Stability", "StabilityConfig", "mixture", "stability", "stability_config"]
