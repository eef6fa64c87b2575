"""pcagmm: project a data set with PCA, cluster it with a Gaussian mixture, show what came out."""

from importlib.metadata import PackageNotFoundError, version

from . import datasets
from .errors import PcagmmError
from .mixture import GaussianMixture
from .pca import PCA

try:
    __version__ = version("pcagmm")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["PCA", "GaussianMixture", "PcagmmError", "__version__", "datasets"]
