"""Gaussian mixture models fitted by EM over chunk statistics."""

from .gaussian_mixture import GaussianMixture
from .kernels import IllConditionedError

__all__ = ["GaussianMixture", "IllConditionedError"]
