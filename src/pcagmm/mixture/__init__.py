"""Gaussian mixture models fitted by EM over chunk statistics.

``covariance`` holds the table of covariance types (one class each); ``kernels``
the math every type shares; ``em_pass`` the hot loop of a pass; ``initialization``
the starts; ``gaussian_mixture`` the scikit-learn-style estimator over them.
"""

from .covariance import CovarianceType, IllConditionedError, register

__all__ = ["CovarianceType", "GaussianMixture", "IllConditionedError", "register"]


def __getattr__(name: str):
    # the estimator imports scikit-learn (half a second): only when first asked for, so
    # the covariance table can be read (e.g. by the command line) without it
    if name == "GaussianMixture":
        from .gaussian_mixture import GaussianMixture

        return GaussianMixture
    raise AttributeError(f"module 'pcagmm.mixture' has no attribute {name!r}")
