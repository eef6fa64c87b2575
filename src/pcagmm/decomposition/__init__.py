"""PCA as one pass of scatter sums (exact for uint8 rows) and an eigendecomposition."""

from .pca import PCA, top_eigenpairs
from .scatter import ScatterSums, scatter_sums

__all__ = ["PCA", "ScatterSums", "scatter_sums", "top_eigenpairs"]
