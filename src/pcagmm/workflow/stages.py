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
class Projection:  # numpydoc ignore=PR01
    """A fitted reducer (PCA or UMAP) and the rows projected by it.

    Attributes
    ----------
    reducer : PCA or UMAP
        The fitted reducer.
    Z : ndarray or Dask array of shape (n_samples, components)
        The projected rows.
    """

    reducer: object
    Z: object

    @property
    def pca(self):
        """The fitted PCA: the reducer, or the PCA a UMAP ran on."""
        from ..reducers import pca_of

        return pca_of(self.reducer)

    @property
    def components(self) -> int:
        """The dimensions of the projection."""
        return self.reducer.n_components_

    def leading(self, components: int) -> Projection:
        """Return the projection on the first ``components`` components, without a new fit.

        PCA only: an embedding's first dimensions are not a smaller embedding.

        Parameters
        ----------
        components : int
            How many of the leading components to keep.

        Returns
        -------
        Projection
            The projection with :meth:`PCA.leading <pcagmm.PCA.leading>`'s reducer and
            the first ``components`` columns of ``Z``.

        Raises
        ------
        ParameterError
            For an embedding (UMAP) asked for fewer dimensions than it has.
        """
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
class Clustering:  # numpydoc ignore=PR01
    """A fitted mixture, the cluster of each row, and the projection it was fitted on.

    Attributes
    ----------
    gmm : GaussianMixture or BayesianGaussianMixture
        The fitted mixture.
    clusters : ndarray of shape (n_samples,)
        The cluster of each row.
    Z : ndarray or None
        The projection it was fitted on (brought back from a Dask cluster only when
        asked for: else None).
    """

    gmm: object
    clusters: np.ndarray
    Z: np.ndarray | None


def load(config: RunConfig, timer: StageTimer | None = None):
    """Load the data set of a run.

    Parameters
    ----------
    config : RunConfig
        The run; its ``dataset``, ``folder``, ``label_column`` and the options of a
        folder of pictures are used.
    timer : StageTimer, optional
        Times the stage and shows its progress (default: a new one, reporting nowhere).

    Returns
    -------
    Dataset
        ``config.dataset`` itself when it is a Dataset, else the data set it names.
    """
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
            **image_options(config),
        )


def image_options(config) -> dict:
    """The keywords of :func:`pcagmm.datasets.load` for a folder of pictures, from a
    :class:`RunConfig` (or a run's recorded config, a dict, where the defaults are left out)."""
    from .config import _FIELDS, IMAGE_OPTIONS

    get = config.get if isinstance(config, dict) else lambda name, default: getattr(config, name)
    return {name: get(name, _FIELDS[name].default) for name in IMAGE_OPTIONS}


def check(dataset, config: RunConfig) -> None:
    """Refuse data a run cannot use, and a run that would not fit in memory.

    Parameters
    ----------
    dataset : Dataset
        The data.
    config : RunConfig
        The run.

    Raises
    ------
    RunError
        For fewer than 2 rows, NaN or infinite values, or magnitudes float64 cannot
        square.
    ParameterError
        For more ``components`` or ``clusters`` than the data allow.
    ResourceError
        When the run would need more memory than there is.
    """
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
    """Make the unfitted reducer of a run: the one place a run's options become its.

    Parameters
    ----------
    config : RunConfig
        The run; its ``reducer``, ``seed`` and UMAP settings are used.
    components : int, optional
        The dimensions of the projection (default: ``config.components``).

    Returns
    -------
    PCA or UMAP
        The reducer, not fitted.
    """
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
    """Fit a reducer to ``X`` and project ``X``.

    ``X`` is streamed from a memory map, or processed as Dask tasks with a client (the
    projection then stays on the workers).

    Parameters
    ----------
    X : array-like, memory map or Dask array of shape (n_samples, n_features)
        The rows.
    components : int
        The dimensions of the projection.
    reducer : PCA or UMAP, optional
        The reducer to fit (default: ``PCA(components)``).
    client : distributed.Client, optional
        Run the passes as tasks on this Dask cluster (from :func:`compute_on`).
    timer : StageTimer, optional
        Times the stage and shows its progress (default: a new one, reporting nowhere).

    Returns
    -------
    Projection
        The fitted reducer and the projected rows.
    """
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
    """Fit the mixture of ``config`` to the projection, and find the cluster of each row.

    On Dask, the clusters come back to this process (in the smallest integer type), and
    the projection too if ``keep_projection`` (the figures need it).

    Parameters
    ----------
    projection : Projection
        The projected rows, from :func:`project`.
    config : RunConfig
        The run; its mixture options are used (see :func:`mixture`).
    client : distributed.Client, optional
        Run the passes as tasks on this Dask cluster (from :func:`compute_on`).
    timer : StageTimer, optional
        Times the stage and shows its progress (default: a new one, reporting nowhere).
    keep_projection : bool, default=True
        On Dask, bring the projection back too.
    converged : bool, default=False
        Run EM from the same start to convergence instead (SQUAREM, relative change
        1e-12).

    Returns
    -------
    Clustering
        The fitted mixture, the clusters and the projection.
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
    """Make the unfitted mixture of a run: the one place a run's options become its.

    Parameters
    ----------
    config : RunConfig
        The run.
    converged : bool, default=False
        Run to convergence: SQUAREM with the relative stopping rule at 1e-12 in place
        of the run's stopping rule, tolerance, acceleration and iteration limit (the
        same start: same seed and initialisation).

    Returns
    -------
    GaussianMixture or BayesianGaussianMixture
        :class:`~pcagmm.GaussianMixture`, or :class:`~pcagmm.BayesianGaussianMixture`
        with ``mixture="bayesian"``; not fitted.
    """
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
class Convergence:  # numpydoc ignore=PR01
    """The run's EM stopped by its rule beside EM from the same start run to convergence.

    How far apart their log-likelihoods and partitions are.

    Attributes
    ----------
    early : GaussianMixture
        The fit of the run's own stopping rule (the notebook's, by default).
    early_clusters : ndarray
        The clusters of ``early``.
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
    """Compare the partition of the early stop with the converged one.

    Parameters
    ----------
    early : Clustering
        The fit stopped by the run's rule.
    converged : Clustering
        The fit from the same start run to convergence.

    Returns
    -------
    Convergence
        How far apart the two partitions are.
    """
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
    """Bootstrap the run's converged model: refit it on resamples of the projection.

    ``config.bootstrap`` refits, side by side on the cores or as tasks on the Dask
    cluster of ``client``. Resample ``b`` is drawn from the run's seed (a fresh one,
    recorded, when the run has none).

    Parameters
    ----------
    clustering : Clustering
        The converged fit (from :func:`cluster` with ``converged=True``).
    config : RunConfig
        The run; its ``bootstrap``, ``bootstrap_type`` and ``seed`` are used.
    client : distributed.Client, optional
        Run the passes as tasks on this Dask cluster (from :func:`compute_on`).
    timer : StageTimer, optional
        Times the stage and shows its progress (default: a new one, reporting nowhere).

    Returns
    -------
    Bootstrap
        The refits, whose spread gives each parameter's standard error and interval.

    Raises
    ------
    ParameterError
        When fewer than two refits did not collapse.
    """
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
    """Compare the clusters with the data set's labels.

    Parameters
    ----------
    dataset : Dataset
        The data, with or without labels.
    clusters : ndarray of shape (n_samples,)
        The cluster of each row.
    timer : StageTimer, optional
        Times the stage and shows its progress (default: a new one, reporting nowhere).

    Returns
    -------
    Agreement or None
        The agreement (ARI, NMI, matched accuracy), or None without labels.
    """
    if dataset.y is None:
        return None
    from ..evaluate import agreement

    with (timer or StageTimer()).stage("evaluation", "comparing with the labels"):
        return agreement(dataset.y, clusters)


def dataset_pixel_max(dataset, client=None) -> float:
    """The largest level a pixel of ``dataset`` can have: what its source says (255 for
    a folder of pictures), else its largest value (:func:`pixel_max`)."""
    if getattr(dataset, "pixel_max", None) is not None:
        return float(dataset.pixel_max)
    return pixel_max(dataset.X, client)


def pixel_max(X, client=None) -> float:
    """The largest grey level, in chunks (on the workers with a Dask client)."""
    if client is not None:
        from ..distributed import as_dask_array

        return float(as_dask_array(X).max().compute())
    return max(0.0, float(column_max(X).max()))


@contextlib.contextmanager
def compute_on(address: str | None) -> Iterator[object]:
    """Connect to a Dask cluster while the block runs; its failures become one-line errors.

    Parameters
    ----------
    address : str or None
        A scheduler's address, ``"local"`` for a new LocalCluster, or None (no Dask).

    Yields
    ------
    distributed.Client or None
        The client (None without an address).

    Raises
    ------
    DaskError
        When the cluster cannot be reached or used, or a worker cannot read the data.
    """
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
