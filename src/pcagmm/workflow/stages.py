"""The stages of an analysis, each a public function a sweep or a study can call alone.

``load -> check -> project -> cluster -> evaluate`` (then
:func:`pcagmm.workflow.artifacts.write_run_folder`). :func:`project` fits PCA once;
projections to fewer components are prefixes of it (:meth:`Projection.leading`), so a
sweep over the number of components fits PCA once. Each stage takes an optional
:class:`~pcagmm.workflow.timing.StageTimer` that times it and shows its progress, and
an optional Dask client (from :func:`compute_on`) to run its passes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import numpy as np

from ..errors import ParameterError, RunError, literal
from ..mixture import convergence
from ..rows.chunks import column_max, iter_stored_rows
from .config import RunConfig
from .timing import StageTimer

#: float64 squares overflow above ~1e154 and lose all precision below ~1e-154
LARGEST_VALUE, SMALLEST_SCALE = 1e150, 1e-150
#: EM run to convergence (``converge=True``; see :data:`pcagmm.mixture.convergence.CONVERGED`)
CONVERGED = convergence.CONVERGED


@dataclasses.dataclass
class Projection:
    """A fitted reducer (PCA or UMAP) and the rows projected by it (a NumPy or Dask
    array)."""

    reducer: object
    Z: object

    @property
    def pca(self):
        """The fitted PCA: the reducer, or the PCA a UMAP ran on."""
        from ..reducers import pca_of

        return pca_of(self.reducer)

    @property
    def components(self) -> int:
        return self.reducer.n_components_

    def leading(self, components: int) -> Projection:
        """The projection on the first ``components`` components (no new fit; PCA only:
        an embedding's first dimensions are not a smaller embedding)."""
        if components == self.components:
            return self
        if not hasattr(self.reducer, "leading"):
            raise ParameterError(
                f"a {self.reducer.name} embedding's first {components} dimensions are not "
                f"the {components}-dimensional embedding",
                "give one projection size with this reducer",
            )
        return Projection(self.reducer.leading(components), self.Z[:, :components])


@dataclasses.dataclass
class Clustering:
    """A fitted mixture, the cluster of each row, and the projection it was fitted on
    (brought back from a Dask cluster only when asked for: else None)."""

    gmm: object
    clusters: np.ndarray
    Z: np.ndarray | None


def load(config: RunConfig, timer: StageTimer | None = None):
    """The :class:`~pcagmm.datasets.Dataset` of ``config.dataset`` (loaded unless it is one)."""
    from .. import datasets

    if isinstance(config.dataset, datasets.Dataset):
        return config.dataset
    timer = timer or StageTimer()
    with timer.stage("load", f"loading {config.dataset}"):
        return datasets.load(
            config.dataset,
            folder=config.folder,
            label_column=config.label_column,
            progress=timer.progress,
        )


def check(dataset, config: RunConfig) -> None:
    """Refuse data a run cannot use, and a run that would not fit in memory."""
    n, d = dataset.shape
    name = dataset.name
    if n < 2:
        raise RunError(f"{name} has only {n} row", "PCA and a mixture need at least 2 rows")
    _check_values(dataset)
    from ..resources import require_memory

    # the projection, its chunked copy and the labels, in float64
    require_memory(n * (config.components + 2) * 8 * 2, f"a run on {n:,} rows", "use fewer rows")
    if config.components > min(n, d):
        raise ParameterError(
            f"{{components={config.components}}} is more than {literal(name)} allows "
            f"(min(rows, features) = {min(n, d)})",
            f"choose at most {min(n, d)}",
        )
    if config.clusters > n:
        raise ParameterError(
            f"{{clusters={config.clusters}}} is more than the {n} rows of {literal(name)}",
            f"choose at most {n}",
        )


def _check_values(dataset) -> None:
    """Refuse floating-point data with NaN, infinities, or magnitudes float64 cannot square."""
    X, name = dataset.X, dataset.name
    if X.dtype.kind != "f":
        return
    largest = 0.0
    for start, block in iter_stored_rows(X):
        chunk = np.asarray(block)
        finite = np.isfinite(chunk)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            value = chunk[row, column]
            kind = "NaN" if np.isnan(value) else "an infinite value"
            raise RunError(
                f"{name} holds {kind} at row {start + row}, column {column}",
                "remove or replace the rows with missing or infinite values",
            )
        largest = max(largest, float(np.abs(chunk).max()))
    if largest > LARGEST_VALUE or 0 < largest < SMALLEST_SCALE:
        raise RunError(
            f"{name} holds values of magnitude up to {largest:.3g}, out of the range "
            "float64 can square",
            "scale the data (multiply or divide it by a constant) first",
        )


def reducer(config: RunConfig, components: int | None = None):
    """The (unfitted) reducer of a run (``config.reducer``, to ``components`` or the
    run's dimensions): the one place a run's options become the reducer's."""
    from .. import reducers

    return reducers.make(
        config.reducer,
        config.components if components is None else components,
        seed=config.seed,
        umap_neighbors=config.umap_neighbors,
        umap_min_dist=config.umap_min_dist,
    )


def project(
    X, components: int, *, reducer=None, client=None, timer: StageTimer | None = None
) -> Projection:
    """Fit ``reducer`` (by default PCA with ``components`` components) and project ``X``
    (streamed from a memory map, or as Dask tasks with a client: the projection then
    stays on the workers)."""
    from ..reducers import make, name_of

    timer = timer or StageTimer()
    reducer = make("pca", components) if reducer is None else reducer
    if client is not None:
        from ..distributed import as_dask_array

        X = as_dask_array(X)
    name = name_of(reducer)
    # PCA: the fit, then the projection; UMAP: PCA's two passes, then the embedding
    with timer.stage(name.lower(), name, rows=X.shape[0], passes=2):
        Z = reducer.fit_transform(X)
        if client is not None:
            from ..distributed import fewer_blocks, persist

            # an embedding fitted on all rows comes back as its own array: sent to the
            # workers as one (PCA's projection is on them already)
            Z = as_dask_array(Z)
            # kept on the workers for the EM passes; waited for: this stage's second pass
            Z = persist(fewer_blocks(Z))
    return Projection(reducer, Z)


def cluster(
    projection: Projection,
    config: RunConfig,
    *,
    client=None,
    timer: StageTimer | None = None,
    keep_projection: bool = True,
    converged: bool = False,
) -> Clustering:
    """Fit the mixture of ``config`` to the projection; the cluster of each row.

    On Dask, the clusters come back to this process (in the smallest integer type), and
    the projection too if ``keep_projection`` (the figures need it). ``converged``: EM
    from the same start run to convergence instead (:data:`CONVERGED`).
    """
    timer = timer or StageTimer()
    Z = projection.Z
    stage, title = (
        ("converged", "EM to convergence") if converged else ("mixture", "Gaussian mixture")
    )
    with timer.stage(stage, title, rows=Z.shape[0], passes=0):
        gmm = mixture(config, converged=converged)
        with _quiet_convergence():
            clusters = gmm.fit_predict(Z)
        if client is not None:
            clusters = clusters.astype(np.min_scalar_type(config.clusters - 1))
            if keep_projection:
                Z, clusters = client.compute([Z, clusters], sync=True)
            else:
                Z, clusters = None, client.compute(clusters, sync=True)
    return Clustering(gmm, clusters, Z)


def mixture(config: RunConfig, *, converged: bool = False):
    """The (unfitted) :class:`~pcagmm.mixture.GaussianMixture` of a run (or
    :class:`~pcagmm.mixture.BayesianGaussianMixture` with ``mixture="bayesian"``): the one place
    a run's options become the estimator's. ``converged``: with the settings of
    :data:`CONVERGED` in place of the run's stopping rule, tolerance, acceleration and
    iteration limit (the same start: same seed and initialisation)."""
    from ..mixture import GaussianMixture

    settings = {
        "covariance_type": config.covariance_type,
        "random_state": config.seed,
        "n_init": config.n_init,
        "reg_covar": config.reg_covar,
        "stopping": config.stopping,
        "tol": config.tol,
        "acceleration": config.acceleration,
        "max_iter": config.max_iter,
    }
    if converged:
        settings.update(CONVERGED)
    if config.mixture == "bayesian":
        from ..mixture import BayesianGaussianMixture

        return BayesianGaussianMixture(
            config.clusters,
            weight_concentration_prior_type=config.weight_prior,
            weight_concentration_prior=config.weight_concentration,
            **settings,
        )
    return GaussianMixture(config.clusters, **settings)


@dataclasses.dataclass
class Convergence:
    """The run's EM stopped by its rule (``early``) beside EM from the same start run to
    convergence: how far apart their log-likelihoods and partitions are.

    Attributes
    ----------
    early : GaussianMixture
        The fit of the run's own stopping rule (the notebook's, by default).
    early_clusters : ndarray
    partition_agreement : Agreement
        The early partition compared with the converged one (ARI, NMI, matched accuracy).
    changed : float or None
        The fraction of rows whose component differs, components compared by index
        (EM keeps each component's index from the same start; None with ``n_init > 1``,
        whose best starts may differ).
    changed_matched : float
        The same after matching the components one-to-one (Hungarian) to agree most.
    """

    early: object
    early_clusters: np.ndarray
    partition_agreement: object
    changed: float | None
    changed_matched: float


def compare_convergence(early: Clustering, converged: Clustering) -> Convergence:
    """How the partition of the early stop differs from the converged one."""
    from ..evaluate import agreement

    early_clusters = np.asarray(early.clusters)
    clusters = np.asarray(converged.clusters)
    partitions = agreement(clusters, early_clusters)
    same_start = early.gmm.n_init == 1
    return Convergence(
        early.gmm,
        early_clusters,
        partitions,
        float(np.mean(early_clusters != clusters)) if same_start else None,
        1.0 - partitions.accuracy,
    )


def uncertainty(clustering: Clustering, config: RunConfig, *, client=None, timer=None):
    """The bootstrap of the run's converged model (:func:`pcagmm.mixture.bootstrap.bootstrap`):
    ``config.bootstrap`` refits on resamples of the projection, side by side on the
    cores or as tasks on the Dask cluster of ``client``. Resample ``b`` is drawn from
    the run's seed (a fresh one, recorded, when the run has none)."""
    from ..mixture.bootstrap import bootstrap, bootstrap_seed

    timer = timer or StageTimer()
    resamples = config.bootstrap
    with (
        timer.stage("bootstrap", f"bootstrap: refitting on {resamples} resamples"),
        timer.progress.task("refits", total=resamples) as task,
    ):
        study = bootstrap(
            clustering.gmm,
            np.ascontiguousarray(clustering.Z),
            resamples=resamples,
            kind=config.bootstrap_type,
            seed=bootstrap_seed(config.seed),
            converge=False,  # the run's model is the converged one (``converge`` is set)
            client=client,
            progress=lambda done, total: task.advance(1),
        )
    if study.kept < 2:
        raise ParameterError(
            literal(
                f"{study.requested - study.kept} of the {study.requested} bootstrap refits "
                f"collapsed ({study.collapsed[0].reason}), too few left for an error"
            ),
            "fit fewer {clusters}, or a larger {reg_covar}",
        )
    return study


def evaluate(dataset, clusters, timer: StageTimer | None = None):
    """The clusters' :class:`~pcagmm.evaluate.Agreement` with the labels, or None without."""
    if dataset.y is None:
        return None
    from ..evaluate import agreement

    with (timer or StageTimer()).stage("evaluation", "comparing with the labels"):
        return agreement(dataset.y, clusters)


def pixel_max(X, client=None) -> float:
    """The largest grey level, in chunks (on the workers with a Dask client)."""
    if client is not None:
        from ..distributed import as_dask_array

        return float(as_dask_array(X).max().compute())
    return max(0.0, float(column_max(X).max()))


@contextlib.contextmanager
def compute_on(address: str | None) -> Iterator[object]:
    """A Dask client for ``address`` (``"local"``: a new LocalCluster) while the block
    runs, or None without one; the cluster's failures become one-line errors."""
    if address is None:
        yield None
        return
    from ..distributed import DaskError, connect
    from ..rows.dask import cluster_failure, quiet_client_log

    with quiet_client_log(), connect(address) as client:
        try:
            yield client
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            # raised in a worker that cannot open the file (not on its file system)
            raise DaskError(
                literal(f"a Dask worker could not read the data ({exc})"),
                "the workers need the data file at the same path as here (a shared file "
                "system), or run without {dask}",
            ) from None
        except Exception as exc:
            error = cluster_failure(exc, address)
            if error is None:
                raise
            raise error from None


def where(client) -> str:
    """Where the passes ran: "this process", or the Dask cluster's address and workers."""
    if client is None:
        return "this process"
    return f"Dask cluster at {client.scheduler.address}, {len(client.nthreads())} workers"


def hash_in_background(dataset):
    """Start computing the data's SHA-256 (for summary.json) on a thread, or return None.

    Hashing a large file is a full read (4.2 s at 8.4 million rows); hashlib releases
    the GIL, so it overlaps with the fit, whose mixture stage leaves a core idle. An
    error here is left for the main thread to meet and report when it asks for the hash.
    """
    if getattr(dataset, "_sha256", None) is not None or dataset.X.nbytes < (64 << 20):
        return None
    import threading

    def compute():
        with contextlib.suppress(Exception):
            dataset.sha256  # noqa: B018  (computed and kept by the property)

    thread = threading.Thread(target=compute, name="pcagmm-hash", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def _quiet_convergence():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the summary instead
        yield
