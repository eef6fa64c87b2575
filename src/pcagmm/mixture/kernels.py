"""Numerical kernels of the Gaussian mixture, for any covariance type.

Every function is pure and works on rows already shifted by a point ``c`` close to
the data (``U = X - c``) and on means given relative to it (``M = means - c``).
What depends on the shape of the covariances is asked of the type's object
(:mod:`pcagmm.mixture.covariance`); these functions add what every type shares:
the log-sum-exp normalisation, the responsibility-weighted sums and the weights
and means of the M-step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .covariance import IllConditionedError, covariance_type

__all__ = [
    "IllConditionedError",
    "Model",
    "Sums",
    "chunk_sums",
    "log_gaussian",
    "n_parameters",
    "parameters_from_sums",
    "precision_cholesky",
    "precision_cholesky_from_precisions",
    "precisions_from_cholesky",
    "responsibilities",
    "weighted_sums",
]

LOG_2PI = np.log(2 * np.pi)


# ----------------------------------------------------------------------------- precisions


def precision_cholesky(covariances: np.ndarray, kind: str) -> np.ndarray:
    """Cholesky factor of the precision from covariances of type ``kind``."""
    return covariance_type(kind).precision_cholesky(covariances)


def precision_cholesky_from_precisions(precisions: np.ndarray, kind: str) -> np.ndarray:
    """Cholesky factor of given precisions, as scikit-learn computes it."""
    return covariance_type(kind).precision_cholesky_from_precisions(precisions)


def precisions_from_cholesky(factor: np.ndarray, kind: str) -> np.ndarray:
    return covariance_type(kind).precisions_from_cholesky(factor)


# ----------------------------------------------------------------------------- log densities


@dataclass
class Model:
    """The parameters an E-step needs, prepared for a fast pass over chunks.

    ``means`` are relative to the shift point of the chunks.
    """

    covariance_type: str
    log_weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, d), relative to the shift
    factor: np.ndarray  # precision Cholesky factor
    log_det: np.ndarray  # (K,) or scalar

    @classmethod
    def build(cls, kind, weights, means_relative, factor):
        d = means_relative.shape[1]
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        log_det = covariance_type(kind).log_det_cholesky(factor, d)
        return cls(kind, log_weights, means_relative, factor, log_det)


def log_gaussian(U: np.ndarray, model: Model) -> np.ndarray:
    """log N(u | mean_k, covariance_k) for each row of ``U`` and component k: (rows, K)."""
    d = model.means.shape[1]
    quadratic = covariance_type(model.covariance_type).mahalanobis(U, model.means, model.factor)
    return -0.5 * (d * LOG_2PI + quadratic) + model.log_det


def responsibilities(U: np.ndarray, model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Posterior probabilities of the components and log p(u) per row (log-sum-exp)."""
    weighted = log_gaussian(U, model)
    weighted += model.log_weights
    top = weighted.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    weighted -= top
    np.exp(weighted, out=weighted)
    total = weighted.sum(axis=1, keepdims=True)
    weighted /= total
    log_norm = np.log(total[:, 0]) + top[:, 0]
    return weighted, log_norm


# ----------------------------------------------------------------------------- sums


@dataclass
class Sums:
    """What the M-step needs, summed over rows (weighted by sample weight).

    ``mass[k] = sum w r_k``, ``linear[k] = sum w r_k u``, ``second`` the type's
    second moments (e.g. ``sum w r_k u u^T`` for full, ``sum w u u^T`` for tied);
    ``log_likelihood = sum w log p(u)``; ``weight = sum w``.
    """

    mass: np.ndarray
    linear: np.ndarray
    second: np.ndarray
    log_likelihood: float
    weight: float

    @classmethod
    def zeros(cls, K: int, d: int, kind: str) -> Sums:
        second = np.zeros(covariance_type(kind).second_shape(K, d))
        return cls(np.zeros(K), np.zeros((K, d)), second, 0.0, 0.0)

    def add(self, other: Sums) -> Sums:
        """Add the sums of other rows (in place)."""
        self.mass += other.mass
        self.linear += other.linear
        self.second += other.second
        self.log_likelihood += other.log_likelihood
        self.weight += other.weight
        return self

    def is_finite(self) -> bool:
        """Whether the log-likelihood is finite (NaN or inf in the rows show here)."""
        return bool(np.isfinite(self.log_likelihood))


def weighted_sums(
    U: np.ndarray, resp: np.ndarray, sample_weight: np.ndarray | None, kind: str
) -> Sums:
    """The M-step sums of one chunk, given its responsibilities (rows x K)."""
    n = U.shape[0]
    wr = resp if sample_weight is None else resp * sample_weight[:, np.newaxis]
    mass = wr.sum(axis=0)
    linear = wr.T @ U
    second = covariance_type(kind).second_moments(U, wr, sample_weight)
    weight = float(n if sample_weight is None else sample_weight.sum())
    return Sums(mass, linear, second, 0.0, weight)


def chunk_sums(
    U: np.ndarray, model: Model, sample_weight: np.ndarray | None
) -> tuple[Sums, np.ndarray]:
    """E-step of one chunk and its M-step sums; also returns log p(u) per row."""
    resp, log_norm = responsibilities(U, model)
    sums = weighted_sums(U, resp, sample_weight, model.covariance_type)
    if sample_weight is None:
        sums.log_likelihood = float(log_norm.sum())
    else:
        sums.log_likelihood = float(log_norm @ sample_weight)
    return sums, log_norm


# ----------------------------------------------------------------------------- M-step


def parameters_from_sums(
    sums: Sums,
    shift: np.ndarray,
    reg_covar: float,
    kind: str,
    *,
    previous: np.ndarray | None = None,
    inner=None,
):
    """Weights (unnormalised), means (absolute) and covariances from the sums.

    As scikit-learn: ``nk = mass + 10 eps``, ``means = sum r x / nk``,
    covariances about those means divided by ``nk``, plus ``reg_covar`` on the diagonal
    (mclust's structures: their own M-step, started from the ``previous`` covariances
    and iterated under ``inner``; see :meth:`CovarianceType.m_step`).
    """
    nk = sums.mass + 10 * np.finfo(np.float64).eps
    offsets = sums.linear / nk[:, np.newaxis]  # means - shift
    kind_ = covariance_type(kind)
    covariances = kind_.m_step(
        sums.second, sums.mass, nk, offsets, reg_covar, previous=previous, inner=inner
    )
    return nk, shift + offsets, covariances


def n_parameters(n_components: int, n_features: int, kind: str) -> int:
    """Free parameters of a mixture (for BIC and AIC)."""
    K, d = n_components, n_features
    return int(covariance_type(kind).n_covariance_parameters(K, d) + K * d + K - 1)
