"""Numerical kernels of the Gaussian mixture, one set per covariance type.

Every function is pure and works on rows already shifted by a point ``c`` close to
the data (``U = X - c``) and on means given relative to it (``M = means - c``).
Precisions are carried as the Cholesky factor of the precision matrix (as in
scikit-learn: ``precision = P @ P.T`` for full and tied, ``P**2`` for diag and
spherical); log-determinants come from its diagonal, nothing is inverted.

The E-step of a chunk and the sums the M-step needs are computed together in
:func:`chunk_sums`, the hot loop of every fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..errors import PcagmmError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
LOG_2PI = np.log(2 * np.pi)
#: features up to which full-covariance second moments use quadratic features
QUADRATIC_FEATURES_MAX_D = 16
#: responsibilities below this (relative to the chunk's largest for the component)
#: are left out of full-covariance second moments
NEGLIGIBLE_RESPONSIBILITY = 1e-20


class IllConditionedError(PcagmmError, ValueError):
    """A component's covariance is not positive definite."""


def ill_conditioned(covariance_type: str) -> IllConditionedError:
    return IllConditionedError(
        "Fitting the mixture model failed because some components have ill-defined empirical "
        f"covariance ({covariance_type} covariance not positive definite, for instance caused "
        "by singleton or collapsed samples)",
        "try fewer components, a larger reg_covar, or scaled input data",
    )


# ----------------------------------------------------------------------------- precisions


def precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factor of the precision (upper triangular) from covariances."""
    if covariance_type in ("full", "tied"):
        matrices = covariances[np.newaxis] if covariance_type == "tied" else covariances
        d = matrices.shape[-1]
        factors = np.empty_like(matrices)
        eye = np.eye(d)
        for k, covariance in enumerate(matrices):
            try:
                lower = scipy.linalg.cholesky(covariance, lower=True, check_finite=False)
            except np.linalg.LinAlgError:
                raise ill_conditioned(covariance_type) from None
            if not np.all(np.isfinite(lower)):
                raise ill_conditioned(covariance_type)
            factors[k] = scipy.linalg.solve_triangular(lower, eye, lower=True, check_finite=False).T
        return factors[0] if covariance_type == "tied" else factors
    if np.any(covariances <= 0.0) or not np.all(np.isfinite(covariances)):
        raise ill_conditioned(covariance_type)
    return 1.0 / np.sqrt(covariances)


def precision_cholesky_from_precisions(precisions: np.ndarray, covariance_type: str):
    """Cholesky factor (upper) of given precisions, as scikit-learn computes it."""
    if covariance_type in ("full", "tied"):
        matrices = precisions[np.newaxis] if covariance_type == "tied" else precisions
        factors = np.empty_like(matrices)
        for k, precision in enumerate(matrices):
            flipped = precision[::-1, ::-1]
            try:
                lower = scipy.linalg.cholesky(flipped, lower=True)
            except np.linalg.LinAlgError:
                raise ill_conditioned(covariance_type) from None
            factors[k] = lower[::-1, ::-1]
        return factors[0] if covariance_type == "tied" else factors
    return np.sqrt(precisions)


def precisions_from_cholesky(factor: np.ndarray, covariance_type: str) -> np.ndarray:
    if covariance_type == "full":
        return factor @ np.transpose(factor, (0, 2, 1))
    if covariance_type == "tied":
        return factor @ factor.T
    return factor**2


def log_det_cholesky(factor: np.ndarray, covariance_type: str, d: int) -> np.ndarray:
    """log det of the precision's Cholesky factor, per component (a scalar for tied)."""
    if covariance_type == "full":
        return np.sum(np.log(np.diagonal(factor, axis1=1, axis2=2)), axis=1)
    if covariance_type == "tied":
        return np.sum(np.log(np.diag(factor)))
    if covariance_type == "diag":
        return np.sum(np.log(factor), axis=1)
    return d * np.log(factor)


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
    def build(cls, covariance_type, weights, means_relative, factor):
        d = means_relative.shape[1]
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        return cls(
            covariance_type,
            log_weights,
            means_relative,
            factor,
            log_det_cholesky(factor, covariance_type, d),
        )


def log_gaussian(U: np.ndarray, model: Model) -> np.ndarray:
    """log N(u | mean_k, covariance_k) for each row of ``U`` and component k: (rows, K)."""
    M, P = model.means, model.factor
    K, d = M.shape
    kind = model.covariance_type
    if kind == "full":
        quadratic = np.empty((len(U), K))
        for k in range(K):
            # numpy's product releases the GIL, so chunks run in parallel threads
            # (BLAS trmm would halve the arithmetic but holds the GIL: slower on 2 cores)
            Y = U @ P[k]
            Y -= M[k] @ P[k]
            np.einsum("nd,nd->n", Y, Y, out=quadratic[:, k])
    elif kind == "tied":
        Y = U @ P
        offsets = M @ P
        diff = Y[:, np.newaxis, :] - offsets[np.newaxis]
        quadratic = np.einsum("nkd,nkd->nk", diff, diff)
    elif kind == "diag":
        precisions = P**2
        quadratic = (
            np.sum(M**2 * precisions, axis=1)
            - 2.0 * U @ (M * precisions).T
            + (U * U) @ precisions.T
        )
    else:
        precisions = P**2
        quadratic = (
            np.sum(M**2, axis=1) * precisions
            - 2.0 * U @ (M.T * precisions)
            + np.outer(np.einsum("nd,nd->n", U, U), precisions)
        )
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

    ``mass[k] = sum w r_k``, ``linear[k] = sum w r_k u``, ``second`` holds
    ``sum w r_k u u^T`` (full), ``sum w u u^T`` (tied), ``sum w r_k u*u`` (diag),
    ``sum w r_k |u|^2`` (spherical); ``log_likelihood = sum w log p(u)``; ``weight = sum w``.
    """

    mass: np.ndarray
    linear: np.ndarray
    second: np.ndarray
    log_likelihood: float
    weight: float

    @classmethod
    def zeros(cls, K: int, d: int, covariance_type: str) -> Sums:
        shape = {"full": (K, d, d), "tied": (d, d), "diag": (K, d), "spherical": (K,)}
        return cls(np.zeros(K), np.zeros((K, d)), np.zeros(shape[covariance_type]), 0.0, 0.0)

    def add(self, other: Sums) -> None:
        self.mass += other.mass
        self.linear += other.linear
        self.second += other.second
        self.log_likelihood += other.log_likelihood
        self.weight += other.weight


def weighted_sums(
    U: np.ndarray, resp: np.ndarray, sample_weight: np.ndarray | None, covariance_type: str
) -> Sums:
    """The M-step sums of one chunk, given its responsibilities (rows x K)."""
    n = U.shape[0]
    wr = resp if sample_weight is None else resp * sample_weight[:, np.newaxis]
    mass = wr.sum(axis=0)
    linear = wr.T @ U
    if covariance_type == "full":
        second = _full_second_moments(U, wr)
    elif covariance_type == "tied":
        Uw = U if sample_weight is None else U * sample_weight[:, np.newaxis]
        second = Uw.T @ U
    elif covariance_type == "diag":
        second = wr.T @ (U * U)
    else:
        second = wr.T @ np.einsum("nd,nd->n", U, U)
    weight = float(n if sample_weight is None else sample_weight.sum())
    return Sums(mass, linear, second, 0.0, weight)


def _full_second_moments(U: np.ndarray, wr: np.ndarray) -> np.ndarray:
    d = U.shape[1]
    K = wr.shape[1]
    if d <= QUADRATIC_FEATURES_MAX_D:
        rows, cols = np.triu_indices(d)
        features = U[:, rows] * U[:, cols]  # (n, d(d+1)/2)
        upper = wr.T @ features
        second = np.empty((K, d, d))
        second[:, rows, cols] = upper
        second[:, cols, rows] = upper
        return second
    second = np.empty((K, d, d))
    for k in range(K):
        # Rows whose responsibility is below 1e-20 change the sum by less than float64
        # rounding already does: leave them out (most rows, for well-separated components).
        rows = np.flatnonzero(wr[:, k] > NEGLIGIBLE_RESPONSIBILITY * wr[:, k].max(initial=0.0))
        V = U[rows]
        second[k] = (V * wr[rows, k : k + 1]).T @ V
    return second


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


def parameters_from_sums(sums: Sums, shift: np.ndarray, reg_covar: float, covariance_type: str):
    """Weights (unnormalised), means (absolute) and covariances from the sums.

    As scikit-learn: ``nk = mass + 10 eps``, ``means = sum r x / nk``,
    covariances about those means divided by ``nk``, plus ``reg_covar`` on the diagonal.
    """
    nk = sums.mass + 10 * np.finfo(np.float64).eps
    offsets = sums.linear / nk[:, np.newaxis]  # means - shift
    d = offsets.shape[1]
    if covariance_type == "full":
        covariances = sums.second / nk[:, np.newaxis, np.newaxis]
        # sum r (u - e)(u - e)^T = second - (2 nk - mass) e e^T, since sum r u = nk e
        scale = (2 * nk - sums.mass) / nk
        covariances -= (
            offsets[:, :, np.newaxis] * offsets[:, np.newaxis, :] * scale[:, np.newaxis, np.newaxis]
        )
        covariances[:, np.arange(d), np.arange(d)] += reg_covar
    elif covariance_type == "tied":
        covariances = (sums.second - (nk[:, np.newaxis] * offsets).T @ offsets) / nk.sum()
        covariances[np.arange(d), np.arange(d)] += reg_covar
    elif covariance_type == "diag":
        covariances = sums.second / nk[:, np.newaxis] - offsets**2 + reg_covar
    else:  # the mean over features of the diagonal variances
        covariances = (sums.second / nk - np.sum(offsets**2, axis=1)) / d + reg_covar
    return nk, shift + offsets, covariances


def n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Free parameters of a mixture (for BIC and AIC)."""
    K, d = n_components, n_features
    covariance = {
        "full": K * d * (d + 1) / 2.0,
        "tied": d * (d + 1) / 2.0,
        "diag": K * d,
        "spherical": K,
    }[covariance_type]
    return int(covariance + K * d + K - 1)
