"""What a run produced: data only (the figures come from :data:`~.artifacts.FIGURES`)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np


class Result:  # numpydoc ignore=PR01
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
    on_request : tuple of str
        What the run folder leaves to be asked for: "figures" (:meth:`write_figures`)
        and "report" (:meth:`write_report`), for a run made from Python with ``plots``
        or ``report`` None (their default there).
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
        self.on_request: tuple[str, ...] = ()
        #: The summary.json the run last wrote (files are added only to that folder).
        self.written_summary: str | None = None
        #: The largest grey level of image data (None: not computed, no folder written).
        self.pixel_max: float | None = None
        self.figure_format = "png"
        self.computed_on = computed_on
        self.convergence = convergence
        self.bootstrap = bootstrap

    @property
    def pca(self):
        """The fitted PCA: the reducer, or the PCA a UMAP ran on (None: on the rows)."""
        from ..reducers import pca_of

        return pca_of(self.reducer)

    @functools.cached_property
    def cluster_images(self) -> np.ndarray:
        """Each cluster's picture in the data's space, made once for the figure and report.

        Its mean mapped back by PCA; with an embedding, the average of its rows (a pass
        over the data).
        """
        from ..reducers import cluster_images

        return cluster_images(self.reducer, self.gmm, self.dataset.X, self.clusters)

    @property
    def kept_weight(self) -> float:
        """The weight from which a variational component counts as kept."""
        from .config import recorded_kept_weight

        return recorded_kept_weight(self.config)

    @property
    def kept(self) -> np.ndarray | None:
        """The variational mixture's kept components (weight at least ``kept_weight``).

        Heaviest first; None for EM's mixture, which keeps all.
        """
        if not hasattr(self.gmm, "kept"):
            return None
        return self.gmm.kept(self.kept_weight)

    @property
    def means(self) -> np.ndarray:
        """The mixture's means, one row per cluster (``gmm.means_``)."""
        return self.gmm.means_

    @property
    def standard_deviations(self) -> np.ndarray:
        """Each cluster's standard deviations: the square roots of its covariance diagonal."""
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

        The run's own (``bootstrap``, from ``uncertainty=True``) when the arguments
        are those it was made with (None: the run's); else ``resamples`` refits (default
        199) of the model on resamples of the projection, from the run's ``seed``. The
        refits start from the converged model: a run without ``converge`` is first run
        to convergence from its fitted parameters, and the errors belong to that fit
        (``Bootstrap.estimate``, which is then not ``gmm``).

        Parameters
        ----------
        resamples : int, optional
            The refits (default: the run's, else 199).
        kind : {"nonparametric", "weighted"}, optional
            The bootstrap: rows drawn with replacement, or the weighted likelihood
            bootstrap (default: the run's, else nonparametric).
        seed : int, optional
            The seed resample ``b`` is drawn from (default: the run's).
        n_jobs : int, optional
            Threads the refits run on (None: one per core).
        client : distributed.Client, optional
            Run the refits as tasks on this Dask cluster instead.

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
        """Make the terminal report of the run.

        Returns
        -------
        str
            The report: the data, the model, each cluster's parameters, the metrics.
        """
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
        """Show the interactive page (report.html's) inline in a notebook (no server needed).

        A run with a folder writes report.html into it first when it is not there
        (:meth:`write_report`) and shows that file; a run without one
        (``write=False``) builds the page in memory, once.

        Returns
        -------
        InlineReport
            An object a notebook shows as the page (its ``_repr_html_``).
        """
        from ..report.notebook import InlineReport

        if self.out is not None:
            return InlineReport(self.write_report().read_text())
        if getattr(self, "_page", None) is None:
            from .html_report import result_page

            self._page = result_page(self)
        return InlineReport(self._page)

    def write_report(self) -> Path:
        """Write report.html, the run's interactive page, into its run folder if not there.

        A run made from Python leaves it out by default (``report=None``: built when
        asked, as here); the page is the one ``report=True`` (the command line's
        default) writes with the run. Written whole, then summary.json, which lists
        the folder's files.

        Returns
        -------
        Path
            The path of report.html.

        Raises
        ------
        ParameterError
            When the run wrote no folder (``write=False``: see :meth:`show_report`),
            another run is writing it, or it was replaced since.
        """
        from .html_report import write_report

        return write_report(self)

    def write_figures(self) -> list[str]:
        """Draw the run's figures into its run folder if they are not there yet.

        A run made from Python leaves them out by default (``plots=None``). They are
        drawn in its ``figure_format``, each written whole, then summary.json. The
        ``plot_...()`` methods draw one without writing it.

        Returns
        -------
        list of str
            The figures' file names.

        Raises
        ------
        ParameterError
            When the run wrote no folder, another run is writing it, or it was
            replaced since.
        """
        from .artifacts import write_figures

        return write_figures(self)

    def plot_scatter(self):
        """Plot the projection coloured by the true label.

        Returns
        -------
        matplotlib.figure.Figure
            The scatter (pca_scatter.png of the run folder).
        """
        return _figure("pca_scatter", self)

    def plot_clusters(self):
        """Plot the points coloured by cluster, with each component's 1-2-3 sigma ellipses.

        Returns
        -------
        matplotlib.figure.Figure
            The figure (gmm_clusters.png of the run folder).
        """
        return _figure("gmm_clusters", self)

    def plot_means(self):
        """Draw each cluster as an image.

        Its mean mapped back by PCA; with UMAP, which has no inverse, the average of
        its rows.

        Returns
        -------
        matplotlib.figure.Figure or None
            The images (cluster_means.png of the run folder); None for non-image data.
        """
        return _figure("cluster_means", self)

    def plot_uncertainty(self):
        """Plot each row coloured by its classification uncertainty, the unsure on top.

        The uncertainty is 1 - the row's largest cluster probability (from every
        component of the projection).

        Returns
        -------
        matplotlib.figure.Figure or None
            The figure; None with fewer than 2 components.
        """
        return _figure("uncertainty", self)

    def plot_density(self):
        """Plot the mixture's density over the rows, contours enclosing 25% to 99% of its mass.

        With more than 2 components, its marginal on the first two.

        Returns
        -------
        matplotlib.figure.Figure or None
            The figure; None with fewer than 2 components.
        """
        return _figure("density", self)

    def plot_weights(self):
        """Plot the variational mixture's weights, heaviest first, on a log scale.

        The kept in their clusters' colours, the switched off grey, a line at
        :attr:`kept_weight`.

        Returns
        -------
        matplotlib.figure.Figure or None
            The figure; None for EM's mixture.
        """
        return _figure("weights", self)


def _figure(name: str, result: Result):
    from .artifacts import FIGURES

    return FIGURES[name](result)
