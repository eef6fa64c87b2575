"""What a run produced: data only (the figures come from :data:`~.artifacts.FIGURES`)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np


class Result:
    """The fitted models, the projection, the clusters, the metrics, the timings.

    Shows itself as the run's report (in a notebook too). ``Z`` (the projection) is
    None after a Dask run that wrote no figures: it stayed on the cluster.

    Attributes
    ----------
    config : dict
        The options that identify the run (what summary.json records).
    dataset, reducer, gmm
        The data, the fitted reducer (:class:`~pcagmm.PCA`, or a UMAP with
        ``reducer="umap"``) and :class:`~pcagmm.GaussianMixture`.
    pca
        The fitted PCA: the reducer, or the PCA a UMAP ran on (None if it ran on the
        rows themselves).
    Z, clusters : ndarray
        The projection and the cluster of each row.
    agreement : Agreement or None
        The clusters compared with the labels (None without labels).
    timings : dict
        Seconds per stage.
    out, files
        The run folder and the files written in it (None and [] when nothing was written).
    computed_on : str
        Where the passes ran: "this process", or the Dask cluster's address and workers.
    convergence : Convergence or None
        With ``converge=True``: the run's own stop beside the converged fit (``gmm``),
        see :class:`~pcagmm.workflow.stages.Convergence`.
    bootstrap : Bootstrap or None
        With ``uncertainty=True``: the refits of ``gmm`` on resamples of the rows,
        whose spread gives each parameter's standard error and interval (see
        :meth:`uncertainty` and :class:`~pcagmm.mixture.bootstrap.Bootstrap`).
    """

    def __init__(
        self,
        config,
        dataset,
        reducer,
        gmm,
        Z,
        clusters,
        agreement,
        timings,
        computed_on: str = "this process",
        convergence=None,
        bootstrap=None,
    ):
        self.config = config
        self.dataset = dataset
        self.reducer = reducer
        self.gmm = gmm
        self.Z = Z
        self.clusters = clusters
        self.agreement = agreement
        self.timings = timings
        self.out: Path | None = None
        self.files: list[str] = []
        self.computed_on = computed_on
        self.convergence = convergence
        self.bootstrap = bootstrap

    @property
    def pca(self):
        from ..reducers import pca_of

        return pca_of(self.reducer)

    @functools.cached_property
    def cluster_images(self) -> np.ndarray:
        """Each cluster's picture in the data's space (its mean mapped back by PCA; with
        an embedding, the average of its rows: a pass over the data, made once for the
        figure and the report)."""
        from ..reducers import cluster_images

        return cluster_images(self.reducer, self.gmm, self.dataset.X, self.clusters)

    @property
    def kept_weight(self) -> float:
        """The weight from which a variational component counts as kept."""
        from .config import recorded_kept_weight

        return recorded_kept_weight(self.config)

    @property
    def kept(self) -> np.ndarray | None:
        """The variational mixture's kept components (weight at least
        :attr:`kept_weight`), heaviest first; None for EM's mixture, which keeps all."""
        if not hasattr(self.gmm, "kept"):
            return None
        return self.gmm.kept(self.kept_weight)

    @property
    def means(self) -> np.ndarray:
        return self.gmm.means_

    @property
    def standard_deviations(self) -> np.ndarray:
        from ..report.files import cluster_rows

        return cluster_rows(self.gmm)[1]

    def uncertainty(
        self,
        resamples: int | None = None,
        kind: str | None = None,
        seed: int | None = None,
        *,
        n_jobs: int | None = None,
        client=None,
    ):
        """Standard errors and intervals of the mixture's parameters, by the bootstrap.

        The run's own (:attr:`bootstrap`, from ``uncertainty=True``) when the arguments
        are those it was made with (None: the run's); else ``resamples`` refits (default
        199) of the model on resamples of the projection, from the run's ``seed``. The
        refits start from the converged model: a run without ``converge`` is first run
        to convergence from its fitted parameters, and the errors belong to that fit
        (``Bootstrap.estimate``, which is then not :attr:`gmm`).

        Returns
        -------
        Bootstrap
            ``.standard_errors()`` and ``.intervals(level)`` give the numbers.
        """
        from ..mixture.bootstrap import RESAMPLES, bootstrap, bootstrap_seed

        own = self.bootstrap
        if own is not None and (resamples, kind, seed) in (
            (None, None, None),
            (own.requested, own.kind, own.seed),
        ):
            return own
        if self.Z is None:
            raise ValueError(
                "the projection stayed on the Dask cluster; run with plots or "
                "uncertainty=True to bring it back"
            )
        run_seed = self.config.get("seed")
        return bootstrap(
            self.gmm,
            np.ascontiguousarray(self.Z),
            resamples=RESAMPLES if resamples is None else resamples,
            kind=kind or "nonparametric",
            seed=bootstrap_seed(run_seed if seed is None else seed),
            converge=self.convergence is None,
            n_jobs=n_jobs,
            client=client,
        )

    def report(self) -> str:
        """The terminal report of the run."""
        from ..report.text import report

        return report(self)

    def __repr__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        """A notebook's view: the report's lines, its tables as HTML tables, and the
        figures inline (:func:`pcagmm.report.notebook.result_html`)."""
        from ..report.notebook import result_html

        return result_html(self)

    def show_report(self):
        """The interactive page (report.html's) shown inline in a notebook, built in
        memory: no server, no file (:func:`pcagmm.report.notebook.inline_report`)."""
        from ..report.notebook import inline_report

        return inline_report(self)

    def plot_scatter(self):
        """The projection coloured by the true label (a matplotlib Figure)."""
        return _figure("pca_scatter", self)

    def plot_clusters(self):
        """Points coloured by cluster with 1-2-3 sigma ellipses (a matplotlib Figure)."""
        return _figure("gmm_clusters", self)

    def plot_means(self):
        """Each cluster as an image (its mean mapped back by PCA; with UMAP, which has no
        inverse, the average of its rows), or None for non-image data."""
        return _figure("cluster_means", self)

    def plot_uncertainty(self):
        """Each row coloured by its classification uncertainty, 1 - its largest cluster
        probability (from every component of the projection), the unsure on top, or None
        with fewer than 2 components (a matplotlib Figure)."""
        return _figure("uncertainty", self)

    def plot_density(self):
        """The mixture's density (with more than 2 components, its marginal on the first
        two) over the rows, its contours enclosing 25% to 99% of the mass, or None with
        fewer than 2 components (a matplotlib Figure)."""
        return _figure("density", self)

    def plot_weights(self):
        """The variational mixture's weights, heaviest first, on a log scale: the kept
        in their clusters' colours, the switched off grey, a line at :attr:`kept_weight`;
        None for EM's mixture (a matplotlib Figure)."""
        return _figure("weights", self)


def _figure(name: str, result: Result):
    from .artifacts import FIGURES

    return FIGURES[name](result)
