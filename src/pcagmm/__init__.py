"""pcagmm: project a data set with PCA, cluster it with a Gaussian mixture, show what came out."""

from importlib.metadata import PackageNotFoundError, version

from . import datasets
from .errors import PcagmmError

try:
    __version__ = version("pcagmm")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "PCA",
    "BayesianGaussianMixture",
    "GaussianMixture",
    "GaussianMixtureSelection",
    "PcagmmError",
    "RunConfig",
    "Stability",
    "StabilityConfig",
    "__version__",
    "datasets",
    "run",
    "select",
    "stability",
]


def __getattr__(name: str):
    # The estimators import scikit-learn (half a second): only when first asked for,
    # so the command line and the data loaders start fast.
    if name == "PCA":
        from .decomposition import PCA

        return PCA
    if name in ("BayesianGaussianMixture", "GaussianMixture", "GaussianMixtureSelection"):
        from . import mixture

        return getattr(mixture, name)
    if name in ("run", "RunConfig", "select", "stability", "Stability", "StabilityConfig"):
        from . import workflow

        return getattr(workflow, name)
    raise AttributeError(f"module 'pcagmm' has no attribute {name!r}")
