"""Gaussian mixture models fitted by EM over chunk statistics.

``covariance`` holds the table of covariance types (one class each); ``kernels``
the math every type shares; ``em_pass`` the hot loop of a pass; ``initialization``
the starts; ``gaussian_mixture`` the scikit-learn-style estimator over them;
``bayesian`` the variational Bayesian mixture (its updates in ``variational``);
``selection`` the choice of the number of components and the covariance type.
"""

from .covariance import CovarianceType, IllConditionedError, register

#: the information criteria a selection can choose by (lower is better for each)
CRITERIA = ("bic", "aic", "icl")

__all__ = [
    "CRITERIA",
    "BayesianGaussianMixture",
    "CovarianceType",
    "GaussianMixture",
    "GaussianMixtureSelection",
    "IllConditionedError",
    "register",
]


def __getattr__(name: str):
    # the estimator imports scikit-learn (half a second): only when first asked for, so
    # the covariance table can be read (e.g. by the command line) without it
    if name == "BayesianGaussianMixture":
        from .bayesian import BayesianGaussianMixture

        return BayesianGaussianMixture
    if name == "GaussianMixture":
        from .gaussian_mixture import GaussianMixture

        return GaussianMixture
    if name == "GaussianMixtureSelection":
        from .selection import GaussianMixtureSelection

        return GaussianMixtureSelection
    raise AttributeError(f"module 'pcagmm.mixture' has no attribute {name!r}")
