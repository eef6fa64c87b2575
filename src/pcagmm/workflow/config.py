"""One run's options: :class:`RunConfig`, with every default, validated once.

The command line builds ``pcagmm run``'s options from these fields (their flag, help
text and metavar are in each field's metadata, see :func:`option`), so a default or a
help text is written once. Errors name the parameters (``components=5``); the command
line prints the flags (``--components 5``) using :func:`flag`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import numpy as np

from ..datasets.pixels import COLOURS
from ..errors import ParameterError, RunError, literal
from ..reducers import REDUCERS, check_umap_settings, require

FIGURE_FORMATS = ("png", "svg", "pdf")
#: the mixture's starts when ``n_init`` is not given: the notebook's one with PCA; with
#: UMAP, ten: its clusters are tight and far apart, and one k-means start is luck (on
#: MNIST, seed 42 found the digits on one embedding, ARI 0.94, and merged two on another
#: that differs in the PCA's last bits, ARI 0.82; ten starts: 0.94 on both)
PCA_N_INIT, UMAP_N_INIT = 1, 10


class _CovarianceTypes:
    """The names in the table of covariance types, read when asked (so a type registered
    with :func:`pcagmm.mixture.register` is a valid choice, on the command line too)."""

    def __contains__(self, name) -> bool:
        return name in self._names()

    def __iter__(self):
        return iter(self._names())

    @staticmethod
    def _names() -> tuple[str, ...]:
        from ..mixture.covariance import names

        return names()


COVARIANCE_TYPES = _CovarianceTypes()
#: the fields summary.json records as a run's "config": two runs are the same run when
#: these are equal (a run folder is replaced only by the same run unless ``force``)
RECORDED = (
    "dataset",
    "components",
    "clusters",
    "covariance_type",
    "seed",
    "n_init",
    "tol",
    "max_iter",
    "reg_covar",
)
#: recorded too, where they differ from their defaults (so that the folders of runs made
#: before they existed still hold the same run); ``label_column`` also lets
#: ``pcagmm report`` load a CSV's labels again
RECORDED_WHEN_SET = (
    "stopping",
    "acceleration",
    "converge",
    "uncertainty",
    "bootstrap",
    "bootstrap_type",
    "label_column",
    "mixture",
    "weight_prior",
    "weight_concentration",
    "kept_weight",
    "reducer",
    "umap_neighbors",
    "umap_min_dist",
    "image_size",
    "resize",
    "colour",
    "skip_bad_images",
)
#: the options of a folder of pictures (``pcagmm.datasets.load``'s keywords)
IMAGE_OPTIONS = ("image_size", "resize", "colour", "skip_bad_images")
#: the stopping rules and accelerations of a run (see pcagmm.mixture.convergence)
STOPPING_RULES = ("absolute", "relative", "aitken")
ACCELERATIONS = ("squarem",)
#: the kinds of bootstrap of ``uncertainty`` (:data:`pcagmm.mixture.bootstrap.KINDS`)
BOOTSTRAP_TYPES = ("nonparametric", "weighted")
#: the mixtures of a run: EM's maximum likelihood, or the variational Bayesian mixture
MIXTURES = ("em", "bayesian")
#: the variational mixture's priors on the weights (scikit-learn's
#: ``weight_concentration_prior_type``) and its covariance types
WEIGHT_PRIORS = ("dirichlet_process", "dirichlet_distribution")
BAYESIAN_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: a variational component is reported as kept at this weight or more (these three are
#: copies of pcagmm.mixture.bayesian's and variational's, so that the command line starts
#: without scikit-learn; a test checks they agree)
KEPT_WEIGHT = 0.01
#: resamples of ``uncertainty`` by default (:data:`pcagmm.mixture.bootstrap.RESAMPLES`)
RESAMPLES = 199


_PYTHON_DEFAULT = object()


def option(
    default,
    help: str,
    *,
    flag: str | None = None,
    cli: bool = True,
    cli_default=_PYTHON_DEFAULT,
    **argparse,
):
    """A :class:`RunConfig` field: its default and what ``pcagmm run --help`` says of it.

    ``flag`` defaults to ``--`` and the name with dashes (``--no-<name>`` for an option
    that is on by default on the command line); ``cli=False`` keeps it off the command
    line; ``cli_default`` is the command line's default where it is not Python's
    (``plots`` and ``report``: None from Python, on request; True on the command line);
    ``alias`` is ``(flag, metavar, help)`` of a second flag that sets the field instead
    (one or the other); other keywords (``metavar``, ``choices``, ``type``) go to argparse.
    """
    if cli_default is _PYTHON_DEFAULT:
        cli_default = default
    metadata = {"help": help, "flag": flag, "cli": cli, "cli_default": cli_default}
    return dataclasses.field(default=default, metadata={**metadata, "argparse": argparse})


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every option of a run, with its default; validated when made.

    Frozen: a sweep makes variants with ``dataclasses.replace(config, clusters=5)``,
    which validates them too.

    The default run is the course notebook's analysis: MNIST (all 70,000 rows, raw
    grey levels), PCA to 2 components, a 10-component full-covariance Gaussian
    mixture with ``random_state=42`` and scikit-learn's defaults for the rest.

    ``plots`` and ``report`` say when the run folder gets its figures and report.html:
    True, with the run (the command line's default: every folder ``pcagmm run`` writes
    holds them); False, never (``--no-plots``, ``--no-report``); None (the default from
    Python), when asked: :func:`~pcagmm.run` writes summary.json, clusters.csv
    and model.npz, and :meth:`Result.write_figures()
    <pcagmm.workflow.Result.write_figures>`, :meth:`Result.write_report()
    <pcagmm.workflow.Result.write_report>` and ``Result.show_report()`` add the
    rest to the folder when first called (a notebook shows the result's figures
    inline either way). The studies (``pcagmm.select``, ``pcagmm.stability``) draw
    them with their folder unless False.

    Raises
    ------
    ParameterError
        For a value a run cannot use; it names the parameter.
    """

    dataset: object = option(
        "mnist",
        "a built-in name or a data file",
        alias=(
            "--data",
            "FILE",
            "a data file (an uint8 .npy of any size is streamed in chunks) or a folder of "
            "pictures (one subfolder per class)",
        ),
    )
    components: int = option(2, "dimensions of the projection (PCA components)", metavar="D")
    reducer: str = option(
        "pca",
        "the projection: pca (exact, linear: the notebook's) or umap (non-linear; "
        "needs pcagmm[umap])",
        choices=REDUCERS,
    )
    umap_neighbors: int = option(
        30, "UMAP's neighbourhood size (30: umap-learn's advice for clustering)", metavar="N"
    )
    umap_min_dist: float = option(
        0.0, "UMAP's smallest distance between embedded points (0: packs clusters)", metavar="X"
    )
    clusters: int = option(10, "mixture components", metavar="K")
    covariance_type: str = option("full", "the mixture's covariance type", choices=COVARIANCE_TYPES)
    mixture: str = option(
        "em",
        "em (maximum likelihood: scikit-learn's GaussianMixture) or bayesian (variational: "
        "scikit-learn's BayesianGaussianMixture; give more --clusters than needed and its "
        "prior switches off the components the data do not need)",
        choices=MIXTURES,
    )
    weight_prior: str = option(
        "dirichlet_process",
        "with --mixture bayesian: the weights' prior, dirichlet_process (stick-breaking) or "
        "dirichlet_distribution",
        choices=WEIGHT_PRIORS,
    )
    weight_concentration: float | None = option(
        None,
        "with --mixture bayesian: the weights' prior concentration (default 1/clusters; "
        "smaller keeps fewer components)",
        type=float,
        metavar="X",
    )
    kept_weight: float = option(
        KEPT_WEIGHT,
        "with --mixture bayesian: a component of at least this weight is reported as kept, "
        "the others as switched off",
        metavar="W",
    )
    seed: int | None = option(42, "random_state of the mixture")
    n_init: int | None = option(
        None,
        "initialisations tried (default: 1 with PCA, the notebook's; "
        f"{UMAP_N_INIT} with UMAP, whose tight, separated clusters often trap one "
        "k-means start)",
        type=int,
        metavar="N",
    )
    tol: float = option(1e-3, "EM stopping tolerance (of the stopping rule)")
    stopping: str = option(
        "absolute",
        "EM's stopping rule: absolute (scikit-learn's: the mean log-likelihood gains less "
        "than tol), relative (mclust's: |L_t - L_t-1| <= tol (1 + |L_t|) on the total), "
        "aitken (Aitken's extrapolated limit within tol of the mean log-likelihood)",
        choices=STOPPING_RULES,
    )
    acceleration: str | None = option(
        None, "accelerate EM (squarem: Varadhan & Roland's SQUAREM)", choices=ACCELERATIONS
    )
    converge: bool = option(
        False,
        "also run EM to convergence from the same start (SQUAREM, relative change "
        "1e-12) and report that model, beside the default stop",
    )
    uncertainty: bool = option(
        False,
        "standard errors and percentile intervals (0.95) of every weight, mean and "
        "standard deviation, by the bootstrap: the converged model refitted on "
        "resamples of the rows (implies --converge)",
    )
    bootstrap: int = option(
        RESAMPLES, "resamples of the rows with --uncertainty", metavar="B", type=int
    )
    bootstrap_type: str = option(
        "nonparametric",
        "with --uncertainty: nonparametric (rows drawn with replacement, mclust's bs) or "
        "weighted (the weighted likelihood bootstrap, mclust's wlbs)",
        choices=BOOTSTRAP_TYPES,
    )
    max_iter: int = option(100, "EM iterations at most")
    reg_covar: float = option(1e-6, "added to the diagonal of each covariance")
    out: object = option(None, "output folder (default runs/<run name>/)", metavar="DIR")
    figure_format: str = option("png", "figure format", flag="--format", choices=FIGURE_FORMATS)
    plots: bool | None = option(None, "skip the figures", cli_default=True)
    report: bool | None = option(
        None, "skip report.html, the interactive page of the run", cli_default=True
    )
    write: bool = option(True, "write the run folder (False: compute only)", cli=False)
    force: bool = option(False, "replace an output folder that holds a different run")
    folder: object = option(
        None,
        "a local folder holding the data set's files (gzipped or not), tried first",
        flag="--from",
        metavar="DIR",
    )
    label_column: object = option(
        None, "CSV data: the column (name or number) of labels", metavar="COLUMN"
    )
    image_size: object = option(
        None,
        "a folder of pictures: their size in pixels, WxH (default: the most common size; "
        "others are resized with Lanczos)",
        metavar="WxH",
    )
    resize: bool = option(
        True, "a folder of pictures: refuse pictures of another size instead of resizing them"
    )
    colour: str = option(
        "grey",
        "a folder of pictures: grey (one level per pixel) or rgb (red, green, blue: 3 "
        "features per pixel)",
        choices=COLOURS,
    )
    skip_bad_images: bool = option(
        False, "a folder of pictures: skip and count bad files instead of stopping at the first"
    )
    dask: str | None = option(
        None,
        "run PCA and EM as Dask tasks on the cluster at this "
        "address (tcp://host:8786), or 'local' for a new LocalCluster; "
        "needs pcagmm[dask]",
        metavar="SCHEDULER",
    )

    def __post_init__(self):
        if isinstance(self.dataset, np.ndarray):
            object.__setattr__(self, "dataset", array_dataset(self.dataset))
        if self.n_init is None:
            n_init = UMAP_N_INIT if self.reducer == "umap" else PCA_N_INIT
            object.__setattr__(self, "n_init", n_init)
        if self.uncertainty and not self.converge:
            # standard errors belong to the maximum-likelihood estimate, which a fit
            # stopped early is not (the notebook's, on MNIST, by hundreds of units)
            object.__setattr__(self, "converge", True)
        validate(self)

    @functools.cached_property
    def record(self) -> dict:
        """What summary.json records as the run's "config".

        The fields that identify a run (``RECORDED``), and those of
        ``RECORDED_WHEN_SET`` that differ from their defaults.
        """
        values = {name: getattr(self, name) for name in RECORDED}
        for name in RECORDED_WHEN_SET:
            if getattr(self, name) != _FIELDS[name].default:
                values[name] = getattr(self, name)
        return {**values, "dataset": dataset_id(self.dataset)}

    @property
    def target(self) -> Path:
        """The run folder: ``out``, or ``runs/<run name>``."""
        if self.out is not None:
            return Path(self.out)
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(str(self.record["dataset"])).name)
        converged = "-converged" if self.converge else ""
        return Path("runs") / (
            f"{name}-{self.reducer}{self.components}-{self.model_name}{self.clusters}-"
            f"{self.covariance_type}"
            f"-seed{self.seed}{converged}"
        )

    @property
    def model_name(self) -> str:
        """``gmm`` (EM), or ``bgmm`` (the variational Bayesian mixture)."""
        return "bgmm" if self.mixture == "bayesian" else "gmm"


def recorded_kept_weight(record: dict) -> float:
    """The weight from which a variational component counts as kept, in a run's recorded
    config (:attr:`RunConfig.record`, summary.json's ``config``): recorded only where it
    is not the default :data:`KEPT_WEIGHT`."""
    return float(record.get("kept_weight", KEPT_WEIGHT))


def flag(name: str) -> str:
    """The command-line flag of a :class:`RunConfig` field (or of any other parameter:
    ``--`` and its name with dashes)."""
    field = _FIELDS.get(name)
    if field is not None and field.metadata["flag"]:
        return field.metadata["flag"]
    dashed = name.replace("_", "-")
    if field is not None and field.metadata["cli_default"] is True:
        return f"--no-{dashed}"
    return f"--{dashed}"


def validate(config: RunConfig) -> None:
    """Check every option that can be checked without the data (one :class:`ParameterError`
    naming the first bad one)."""
    for name in ("components", "clusters", "n_init"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ParameterError(
                f"{{{name}}} must be a positive whole number, got {literal(repr(value))}",
                f"give e.g. {{{name}=2}}",
            )
    if config.reducer not in REDUCERS:
        raise ParameterError(
            f"unknown reducer {literal(repr(config.reducer))}",
            f"choose one of {', '.join(REDUCERS)}",
        )
    check_umap_settings(config.umap_neighbors, config.umap_min_dist)
    if config.reducer == "umap":
        require("umap")
    if config.covariance_type not in COVARIANCE_TYPES:
        raise ParameterError(
            f"unknown covariance type {literal(repr(config.covariance_type))}",
            f"choose one of {', '.join(COVARIANCE_TYPES)}",
        )
    if config.components == 1 and config.covariance_type in _oriented():
        raise ParameterError(
            f"{{covariance_type={config.covariance_type}}} has an orientation, which one "
            "component of the projection does not have",
            "use {covariance_type=EII} or {covariance_type=VII} (mclust's E and V), "
            "full, or more {components}",
        )
    if not (isinstance(config.max_iter, int) and config.max_iter >= 0):
        raise ParameterError(
            f"{{max_iter}} must be a whole number >= 0, got {literal(repr(config.max_iter))}",
            "give e.g. {max_iter=100}",
        )
    for name, example in (("tol", "0.001"), ("reg_covar", "1e-06")):
        value = getattr(config, name)
        if isinstance(value, bool) or not (isinstance(value, int | float) and value >= 0):
            raise ParameterError(
                f"{{{name}}} must be a number >= 0, got {literal(repr(value))}",
                f"give e.g. {{{name}={example}}}",
            )
    if config.stopping not in STOPPING_RULES:
        raise ParameterError(
            f"unknown stopping rule {literal(repr(config.stopping))}",
            f"choose one of {', '.join(STOPPING_RULES)}",
        )
    if config.acceleration is not None and config.acceleration not in ACCELERATIONS:
        raise ParameterError(
            f"unknown acceleration {literal(repr(config.acceleration))}",
            f"choose {', '.join(ACCELERATIONS)} or leave it out",
        )
    if config.acceleration == "squarem" and config.stopping == "aitken":
        raise ParameterError(
            "Aitken's stopping rule assumes EM's linear convergence, which SQUAREM does not have",
            "use {stopping=relative} with {acceleration=squarem}",
        )
    seed = config.seed
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32
    ):
        raise ParameterError(
            f"{{seed}} must be a whole number from 0 to 2**32 - 1, got {literal(repr(seed))}",
            "give e.g. {seed=42}",
        )
    resamples = config.bootstrap
    if isinstance(resamples, bool) or not isinstance(resamples, int | np.integer) or resamples < 1:
        raise ParameterError(
            f"{{bootstrap}} must be a whole number of resamples >= 1, got "
            f"{literal(repr(resamples))}",
            f"give e.g. {{bootstrap={RESAMPLES}}}",
        )
    if config.bootstrap_type not in BOOTSTRAP_TYPES:
        raise ParameterError(
            f"unknown kind of bootstrap {literal(repr(config.bootstrap_type))}",
            f"choose one of {', '.join(BOOTSTRAP_TYPES)}",
        )
    _validate_mixture(config)
    _validate_images(config)
    for name in ("plots", "report"):
        if getattr(config, name) not in (True, False, None):
            raise ParameterError(
                f"{{{name}}} must be True, False or None (when asked), got "
                f"{literal(repr(getattr(config, name)))}",
                f"give e.g. {{{name}=True}}",
            )
    if config.figure_format not in FIGURE_FORMATS:
        raise ParameterError(
            f"unknown figure format {literal(repr(config.figure_format))}",
            f"choose one of {', '.join(FIGURE_FORMATS)}",
        )


def _validate_mixture(config: RunConfig) -> None:
    """The variational mixture's options (checked whatever the mixture, so a bad value
    is never silently ignored)."""
    if config.mixture not in MIXTURES:
        raise ParameterError(
            f"unknown mixture {literal(repr(config.mixture))}",
            f"choose one of {', '.join(MIXTURES)}",
        )
    if config.weight_prior not in WEIGHT_PRIORS:
        raise ParameterError(
            f"unknown weight prior {literal(repr(config.weight_prior))}",
            f"choose one of {', '.join(WEIGHT_PRIORS)}",
        )
    concentration = config.weight_concentration
    if concentration is not None and (
        isinstance(concentration, bool)
        or not isinstance(concentration, int | float)
        or not concentration > 0
        or not np.isfinite(concentration)
    ):
        raise ParameterError(
            f"{{weight_concentration}} must be a number > 0, got {literal(repr(concentration))}",
            "give e.g. {weight_concentration=0.01}, or leave it out for 1/clusters",
        )
    kept = config.kept_weight
    if isinstance(kept, bool) or not isinstance(kept, int | float) or not 0 < kept < 1:
        raise ParameterError(
            f"{{kept_weight}} must be a number between 0 and 1, got {literal(repr(kept))}",
            "give e.g. {kept_weight=0.01}",
        )
    if config.mixture != "bayesian":
        return
    if config.covariance_type not in BAYESIAN_COVARIANCE_TYPES:
        raise ParameterError(
            f"the variational mixture has no {{covariance_type={config.covariance_type}}} "
            "(its Wishart prior is scikit-learn's)",
            f"choose one of {', '.join(BAYESIAN_COVARIANCE_TYPES)}",
        )
    if config.uncertainty:
        raise ParameterError(
            "{uncertainty} is the bootstrap of EM's maximum-likelihood fit, which "
            "{mixture=bayesian} is not",
            "leave out {uncertainty}, or use {mixture=em}",
        )


def _validate_images(config: RunConfig) -> None:
    """The options of a folder of pictures (checked whatever the data), as
    :func:`pcagmm.datasets.load` checks them."""
    from ..datasets.images import ImageOptions

    ImageOptions.make(config.image_size, config.resize, config.colour, config.skip_bad_images)


def _oriented() -> tuple[str, ...]:
    from ..mixture.gaussian_mixture import ORIENTED

    return ORIENTED


def array_dataset(X: np.ndarray):
    """A Dataset without labels around an array or memory map given to a run."""
    from ..datasets import Dataset

    if X.ndim != 2:
        raise RunError(
            f"the array given has shape {X.shape}, not (rows, features)",
            "reshape it to two dimensions, one row per sample",
        )
    filename = getattr(X, "filename", None)
    name = Path(filename).name if filename else "array"
    source = f"memory map of {filename}" if filename else "array in memory"
    location = Path(filename).resolve() if filename else None
    return Dataset(X, None, name=name, source=source, location=location)


def dataset_id(dataset) -> str:
    """What a run's config records as its data: the name or path given; for a Dataset,
    its built-in name, its file, or (in memory) its content hash — so that two runs on
    different data never count as the same run."""
    from ..datasets import Dataset

    if not isinstance(dataset, Dataset):
        return str(dataset)
    if dataset.verified is not None:  # a built-in data set, checked against the registry
        return dataset.name
    if dataset.location is not None:
        return str(dataset.location)
    return f"{dataset.name} sha256:{dataset.sha256[:16]}"


_FIELDS = {field.name: field for field in dataclasses.fields(RunConfig)}
