"""A run: configuration in, a Result and its files out.

The default run is the course notebook's analysis: MNIST (all 70,000 rows, raw
grey levels), PCA to 2 components, a 10-component full-covariance Gaussian
mixture with ``random_state=42`` and scikit-learn's defaults for the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import PcagmmError
from .progress import Progress, reporting_rows
from .rows.chunks import column_max, iter_stored_rows

FIGURE_FORMATS = ("png", "svg", "pdf")
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


class RunError(PcagmmError, ValueError):
    """A run that cannot start as configured."""


class Result:
    """What a run produced: the fitted models, the projection, the metrics, the timings.

    Shows itself as a table in a notebook; ``plot_*`` draw the figures. ``Z`` (the
    projection) is None after a Dask run that wrote no figures: it stayed on the cluster.
    """

    def __init__(self, config, dataset, pca, gmm, Z, clusters, agreement, timings):
        self.config = config
        self.dataset = dataset
        self.pca = pca
        self.gmm = gmm
        self.Z = Z
        self.clusters = clusters
        self.agreement = agreement
        self.timings = timings
        self.out: Path | None = None
        self.files: list[str] = []
        #: where the passes ran: "this process", or the Dask cluster's address and workers
        self.computed_on = "this process"

    @property
    def means(self) -> np.ndarray:
        return self.gmm.means_

    @property
    def standard_deviations(self) -> np.ndarray:
        from .outputs import cluster_rows

        return cluster_rows(self.gmm)[1]

    def report(self) -> str:
        from .outputs import report

        return report(self)

    def __repr__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.report())}</pre>"

    def _projection(self) -> np.ndarray:
        if self.Z is None:
            raise RunError("this run left its projection on the Dask cluster (it drew no "
                           "figures)", "run again with plots (without --no-plots)")  # fmt: skip
        return self.Z

    def plot_scatter(self):
        """The projection coloured by the true label (a matplotlib Figure)."""
        from .plots import pca_scatter

        return pca_scatter(self._projection(), self.dataset.y, title=_title(self, "PCA projection"),
                           explained_ratio=self.pca.explained_variance_ratio_,
                           label_name=_label_name(self.dataset),
                           class_names=_class_names(self.dataset))  # fmt: skip

    def plot_clusters(self):
        """Points coloured by cluster with 1-2-3 sigma ellipses (a matplotlib Figure)."""
        from .plots import gmm_clusters

        title = _title(self, f"Gaussian mixture, {self.gmm.n_components} components, "
                             f"{self.gmm.covariance_type} covariance")  # fmt: skip
        return gmm_clusters(self._projection(), self.clusters, self.gmm, title=title,
                            explained_ratio=self.pca.explained_variance_ratio_)  # fmt: skip

    def plot_means(self):
        """Each cluster's mean as an image (inverse PCA), or None for non-image data."""
        from .plots import cluster_means

        if self.dataset.image_shape is None:
            return None
        images = self.pca.inverse_transform(self.gmm.means_)
        matching = self.agreement.matching if self.agreement is not None else None
        return cluster_means(images, self.dataset.image_shape, self.gmm, matching,
                             title=_title(self, "Cluster means in image space"))  # fmt: skip


def _title(result, what: str) -> str:
    return f"{result.dataset.name}: {what}"


def _label_name(dataset) -> str:
    return "Digit Label" if dataset.target_names and dataset.target_names[0] == "0" else "Label"


def _class_names(dataset):
    names = dataset.target_names
    return list(names) if names and names[0] != "0" else None


def default_out(config: dict) -> Path:
    import re

    name = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(str(config["dataset"])).name)
    return Path("runs") / (
        f"{name}-pca{config['components']}-gmm{config['clusters']}-"
        f"{config['covariance_type']}-seed{config['seed']}"
    )


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

    Parameters mirror ``pcagmm run``. ``dataset`` is a built-in name, a path, or a
    :class:`~pcagmm.datasets.Dataset`; a memory-mapped file is streamed in chunks.
    ``dask`` is a scheduler address (or ``"local"`` for a new ``LocalCluster``):
    PCA and EM then run as Dask tasks, each pass reduced on the workers; the cluster
    of each row comes back for the agreement, and the projection for the figures
    (with ``plots=False`` and ``write=True`` it stays on the cluster: ``Result.Z`` is
    None). ``write=False`` computes without touching
    the disk (plots then are only available from the Result's methods).
    The output folder is built in a temporary folder beside it and renamed into
    place when complete, so an interrupted run leaves no half-written folder.
    """
    from . import datasets

    progress = progress or Progress()
    if isinstance(dataset, np.ndarray):
        dataset = _array_dataset(dataset)
    config = {
        "dataset": _dataset_id(dataset),
        "components": components,
        "clusters": clusters,
        "covariance_type": covariance_type,
        "seed": seed,
        "n_init": n_init,
        "tol": tol,
        "max_iter": max_iter,
        "reg_covar": reg_covar,
    }
    _check_config(config, figure_format)
    target = Path(out) if out is not None else default_out(config)
    if write:
        _check_out(target, config, force)

    timings: dict[str, float] = {}

    @contextmanager
    def stage(name: str, description: str, rows: int | None = None, passes: int = 1):
        """A timed stage; with ``rows``, a bar of rows per second and time left.

        ``passes`` passes of ``rows`` rows are expected (0: an unknown number, the
        bar then restarts with each pass).
        """
        started = time.perf_counter()
        total = rows * passes if rows and passes else rows
        with progress.task(description, total=total, unit="rows" if rows else "") as task:
            if rows:

                def advance(count: int) -> None:
                    if not passes and task.completed >= rows:
                        task.reset()
                    task.advance(count)

                with reporting_rows(advance):
                    yield
            else:
                yield
        timings[name] = round(time.perf_counter() - started, 4)

    if isinstance(dataset, datasets.Dataset):
        ds = dataset
    else:
        with stage("load", f"loading {dataset}"):
            ds = datasets.load(dataset, folder=folder, label_column=label_column,
                               progress=progress)  # fmt: skip
    n, d = ds.shape
    _check_rows(ds, components)
    if components > min(n, d):
        raise RunError(
            f"--components {components} is more than {ds.name} allows "
            f"(min(rows, features) = {min(n, d)})",
            f"choose at most {min(n, d)}",
        )
    if clusters > n:
        raise RunError(f"--clusters {clusters} is more than the {n} rows of {ds.name}",
                       f"choose at most {n}")  # fmt: skip

    hashing = _hash_in_background(ds) if write else None
    computed_on = "this process"
    with _cluster(dask) as client:
        if client is not None:
            workers = len(client.nthreads())
            computed_on = f"Dask cluster at {client.scheduler.address}, {workers} workers"
        pca, gmm, Z, predicted = _fit(
            ds.X, client, stage, components, clusters, covariance_type, seed, n_init, tol,
            max_iter, reg_covar, keep_projection=plots or not write,
        )  # fmt: skip
        pixel_max = _pixel_max(ds.X, client) if write and ds.image_shape else 0.0
    agreement = None
    if ds.y is not None:
        from .evaluate import agreement as compare

        with stage("evaluation", "comparing with the labels"):
            agreement = compare(ds.y, predicted)
    result = Result(config, ds, pca, gmm, Z, predicted, agreement, timings)
    result.computed_on = computed_on
    if hashing is not None:
        hashing.join()  # summary.json records the hash
    if write:
        _write(result, target, figure_format, plots, stage, force, pixel_max)
    return result


def _hash_in_background(dataset):
    """Start computing the data's SHA-256 (for summary.json) on a thread, or return None.

    Hashing a large file is a full read (4.2 s at 8.4 million rows); hashlib releases
    the GIL, so it overlaps with the fit, whose mixture stage leaves a core idle. An
    error here is left for the main thread to meet and report when it asks for the hash.
    """
    if getattr(dataset, "_sha256", None) is not None or dataset.X.nbytes < (64 << 20):
        return None
    import contextlib
    import threading

    def compute():
        with contextlib.suppress(Exception):
            dataset.sha256  # noqa: B018  (computed and kept by the property)

    thread = threading.Thread(target=compute, name="pcagmm-hash", daemon=True)
    thread.start()
    return thread


def _array_dataset(X: np.ndarray):
    """A Dataset without labels around an array or memory map given to :func:`run`."""
    from .datasets import Dataset

    if X.ndim != 2:
        raise RunError(f"the array given has shape {X.shape}, not (rows, features)",
                       "reshape it to two dimensions, one row per sample")  # fmt: skip
    filename = getattr(X, "filename", None)
    name = Path(filename).name if filename else "array"
    source = f"memory map of {filename}" if filename else "array in memory"
    location = Path(filename).resolve() if filename else None
    return Dataset(X, None, name=name, source=source, location=location)


def _dataset_id(dataset) -> str:
    """What a run's config records as its data: the name or path given; for a Dataset,
    its built-in name, its file, or (in memory) its content hash — so that two runs on
    different data never count as the same run."""
    from .datasets import Dataset

    if not isinstance(dataset, Dataset):
        return str(dataset)
    if dataset.verified is not None:  # a built-in data set, checked against the registry
        return dataset.name
    if dataset.location is not None:
        return str(dataset.location)
    return f"{dataset.name} sha256:{dataset.sha256[:16]}"


@contextmanager
def _cluster(address: str | None):
    """A Dask client for ``address`` while the block runs, or None without one."""
    if address is None:
        yield None
        return
    from .distributed import DaskError, connect

    with connect(address) as client:
        try:
            yield client
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            # raised in a worker that cannot open the file (not on its file system)
            raise DaskError(
                f"a Dask worker could not read the data ({exc})",
                "the workers need the data file at the same path as here (a shared file "
                "system), or run without --dask",
            ) from None
        except Exception as exc:
            if not type(exc).__module__.startswith(("distributed", "dask")):
                raise
            first_line = (str(exc).splitlines() or [""])[0]
            raise DaskError(
                f"the Dask cluster at {address} failed: {type(exc).__name__} {first_line}",
                "look at the workers' logs, then run again",
            ) from None


def _fit(X, client, stage, components, clusters, covariance_type, seed, n_init, tol,
         max_iter, reg_covar, keep_projection=True):  # fmt: skip
    """PCA then the mixture, streamed from ``X`` or as Dask tasks when a client is given.

    On Dask, the projection comes back to this process only if ``keep_projection``
    (the figures need it); the clusters always do, in the smallest integer type.
    """
    from .decomposition import PCA
    from .mixture import GaussianMixture

    n = X.shape[0]
    if client is not None:
        from .distributed import as_dask_array

        X = as_dask_array(X)
    with stage("pca", "PCA", rows=n, passes=2):  # the fit, then the projection
        pca = PCA(components).fit(X)
        Z = pca.transform(X)
        if client is not None:
            from .distributed import fewer_blocks, persist

            # kept on the workers for the EM passes; waited for: this stage's second pass
            Z = persist(fewer_blocks(Z))
    with stage("mixture", "Gaussian mixture", rows=n, passes=0):
        gmm = GaussianMixture(
            clusters, covariance_type=covariance_type, random_state=seed, n_init=n_init,
            tol=tol, max_iter=max_iter, reg_covar=reg_covar,
        )  # fmt: skip
        with _quiet_convergence():
            predicted = gmm.fit_predict(Z)
        if client is not None:
            # the agreement needs the clusters here, the figures the projection too
            predicted = predicted.astype(np.min_scalar_type(clusters - 1))
            if keep_projection:
                Z, predicted = client.compute([Z, predicted], sync=True)
            else:
                Z, predicted = None, client.compute(predicted, sync=True)
    return pca, gmm, Z, predicted


def _pixel_max(X, client) -> float:
    """The largest grey level, in chunks (on the workers with a Dask client)."""
    if client is not None:
        from .distributed import as_dask_array

        return float(as_dask_array(X).max().compute())
    return max(0.0, float(column_max(X).max()))


#: float64 squares overflow above ~1e154 and lose all precision below ~1e-154
LARGEST_VALUE, SMALLEST_SCALE = 1e150, 1e-150


def _check_rows(dataset, components: int) -> None:
    """Refuse data a run cannot use, and a run that would not fit in memory."""
    n = dataset.shape[0]
    name = dataset.name
    if n < 2:
        raise RunError(f"{name} has only {n} row", "PCA and a mixture need at least 2 rows")
    X = dataset.X
    if X.dtype.kind == "f":
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
    from .resources import require_memory

    # the projection, its chunked copy and the labels, in float64
    require_memory(n * (components + 2) * 8 * 2, f"a run on {n:,} rows", "use fewer rows")


def _check_config(config: dict, figure_format: str) -> None:
    def positive_int(name, flag):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise RunError(f"{flag} must be a positive whole number, got {value!r}",
                           f"give e.g. {flag} 2")  # fmt: skip

    positive_int("components", "--components")
    positive_int("clusters", "--clusters")
    positive_int("n_init", "--n-init")
    if config["covariance_type"] not in COVARIANCE_TYPES:
        raise RunError(
            f"unknown covariance type {config['covariance_type']!r}",
            f"choose one of {', '.join(COVARIANCE_TYPES)}",
        )
    if not (isinstance(config["max_iter"], int) and config["max_iter"] >= 0):
        raise RunError(f"--max-iter must be a whole number >= 0, got {config['max_iter']!r}",
                       "give e.g. --max-iter 100")  # fmt: skip
    if not (isinstance(config["tol"], int | float) and config["tol"] >= 0):
        raise RunError(f"--tol must be a number >= 0, got {config['tol']!r}",
                       "give e.g. --tol 0.001")  # fmt: skip
    seed = config["seed"]
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2**32):  # fmt: skip
        raise RunError(f"--seed must be a whole number from 0 to 2**32 - 1, got {seed!r}",
                       "give e.g. --seed 42")  # fmt: skip
    if figure_format not in FIGURE_FORMATS:
        raise RunError(f"unknown figure format {figure_format!r}",
                       f"choose one of {', '.join(FIGURE_FORMATS)}")  # fmt: skip


def _check_out(target: Path, config: dict, force: bool) -> None:
    """Refuse an output folder that is a file, cannot be written, or holds another run."""
    fix_force = "choose another --out, or pass --force to replace it"
    if target.exists() and not target.is_dir():
        raise RunError(f"the output path {target} is a file, not a folder", "choose another --out")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".probe-"):
            pass
    except OSError as exc:
        raise RunError(
            f"cannot write the output folder {target} ({exc.strerror or exc})",
            "choose a writable --out",
        ) from None
    if target.is_dir() and any(target.iterdir()) and not force:
        summary = target / "summary.json"
        try:
            previous = json.loads(summary.read_text())["config"]
        except (OSError, ValueError, KeyError, TypeError):
            raise RunError(f"{target} already exists and is not a pcagmm run folder",
                           fix_force) from None  # fmt: skip
        if previous != config:
            raise RunError(f"{target} already holds a different run", fix_force)


def _write(result: Result, target: Path, figure_format: str, plots: bool, stage, force,
           pixel_max: float) -> None:  # fmt: skip
    from . import outputs
    from .model_file import save_model

    build = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(build, 0o777 & ~umask)  # mkdtemp makes it private; a run folder is not
    try:
        files = []
        if plots:
            with stage("figures", "drawing the figures"):
                two_d = result.pca.n_components_ >= 2  # the scatter plots need two axes
                figures = {
                    "pca_scatter": result.plot_scatter() if two_d else None,
                    "gmm_clusters": result.plot_clusters() if two_d else None,
                    "cluster_means": result.plot_means(),
                }
                for name, figure in figures.items():
                    if figure is not None:
                        figure.savefig(build / f"{name}.{figure_format}", dpi=110)
                        files.append(f"{name}.{figure_format}")
        with stage("files", "writing the files"):
            (build / "clusters.csv").write_text(outputs.clusters_csv(result.gmm))
            matching = result.agreement.matching if result.agreement is not None else None
            image_shape = result.dataset.image_shape
            save_model(build / "model.npz", result.pca, result.gmm, image_shape, matching,
                       pixel_max)  # fmt: skip
            files += ["clusters.csv", "model.npz", "summary.json"]
            result.out, result.files = target, files
            # summary.json last: it marks a complete run folder
            (build / "summary.json").write_text(outputs.summary_json(result))
        _replace_folder(build, target)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        result.out, result.files = None, []
        raise


def _replace_folder(build: Path, target: Path) -> None:
    """Put ``build`` at ``target``; an existing ``target`` is moved aside, then removed."""
    if target.exists():
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, aside / "run")
        os.replace(build, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(build, target)


@contextmanager
def _quiet_convergence():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the summary instead
        yield
