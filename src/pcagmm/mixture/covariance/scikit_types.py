"""scikit-learn's four covariance types: full, tied, diag and spherical.

Each is also one of mclust's fourteen structures (full = VVV, tied = EEE, diag = VVI,
spherical = VII); :mod:`.structures` registers those names on the same classes.
"""

from __future__ import annotations

import numpy as np

from .base import (
    NEGLIGIBLE_RESPONSIBILITY,
    QUADRATIC_FEATURES_MAX_D,
    CovarianceType,
    _check_positive_definite,
    _cholesky_of_precisions,
    _cholesky_precisions,
    _fill_products,
    _positive_factor,
    _symmetric_from_upper,
    _upper_pairs,
    register,
)

# ----------------------------------------------------------------------------- the four types


class _Matrices(CovarianceType):
    """Types whose covariances are matrices: full and tied. Their quadratic features
    are the products of each pair of features (the upper triangle)."""

    holds_matrices = True

    def n_quadratic_terms(self, d):
        return d * (d + 1) // 2

    def fill_quadratic_terms(self, Ut, out):
        _fill_products(Ut, out)


class Full(_Matrices):
    """Each component has its own covariance matrix."""

    name = "full"

    def shape(self, K, d):
        return (K, d, d)

    def n_covariance_parameters(self, K, d):
        return K * d * (d + 1) / 2.0

    def precision_cholesky(self, covariances):
        return _cholesky_precisions(covariances, self.name)

    def precision_cholesky_from_precisions(self, precisions):
        return _cholesky_of_precisions(precisions, self.name)

    def precisions_from_cholesky(self, factor):
        return factor @ np.transpose(factor, (0, 2, 1))

    def log_det_cholesky(self, factor, d):
        return np.sum(np.log(np.diagonal(factor, axis1=1, axis2=2)), axis=1)

    def check_precisions(self, precisions):
        _check_positive_definite(precisions, self.name)

    def mahalanobis(self, U, M, factor):
        K = len(M)
        quadratic = np.empty((len(U), K))
        for k in range(K):
            # numpy's product releases the GIL, so chunks run in parallel threads
            # (BLAS trmm would halve the arithmetic but holds the GIL: slower on 2 cores)
            Y = U @ factor[k]
            Y -= M[k] @ factor[k]
            np.einsum("nd,nd->n", Y, Y, out=quadratic[:, k])
        return quadratic

    def second_moments(self, U, wr, sample_weight):
        d = U.shape[1]
        K = wr.shape[1]
        if d <= QUADRATIC_FEATURES_MAX_D:
            rows, cols = np.triu_indices(d)
            features = U[:, rows] * U[:, cols]  # (n, d(d+1)/2)
            return _symmetric_from_upper(wr.T @ features, d)
        second = np.empty((K, d, d))
        for k in range(K):
            # Rows whose responsibility is below 1e-20 change the sum by less than float64
            # rounding already does: leave them out (most rows, for well-separated components).
            rows = np.flatnonzero(wr[:, k] > NEGLIGIBLE_RESPONSIBILITY * wr[:, k].max(initial=0.0))
            V = U[rows]
            second[k] = (V * wr[rows, k : k + 1]).T @ V
        return second

    def covariances(self, second, mass, nk, offsets, reg_covar):
        d = offsets.shape[1]
        covariances = second / nk[:, np.newaxis, np.newaxis]
        # sum r (u - e)(u - e)^T = second - (2 nk - mass) e e^T, since sum r u = nk e
        scale = (2 * nk - mass) / nk
        covariances -= (
            offsets[:, :, np.newaxis] * offsets[:, np.newaxis, :] * scale[:, np.newaxis, np.newaxis]
        )
        covariances[:, np.arange(d), np.arange(d)] += reg_covar
        return covariances

    def feature_coefficients(self, M, factor):
        rows, cols, twice = _upper_pairs(M.shape[1])
        precision = factor @ np.transpose(factor, (0, 2, 1))
        LM = np.einsum("kij,kj->ki", precision, M)
        return LM, precision[:, rows, cols] * twice

    def second_from_terms(self, sums_of_terms, d):
        return _symmetric_from_upper(sums_of_terms, d)

    def variances(self, covariances, K, d):
        return np.diagonal(covariances, axis1=1, axis2=2)

    def block(self, covariances, K, m):
        return covariances[:, :m, :m]

    def sample(self, rng, means, covariances, counts):
        return np.vstack(
            [
                rng.multivariate_normal(mean, covariance, int(count))
                for (mean, covariance, count) in zip(means, covariances, counts, strict=True)
            ]
        )


class Tied(_Matrices):
    """All components share one covariance matrix."""

    name = "tied"

    def shape(self, K, d):
        return (d, d)

    def n_covariance_parameters(self, K, d):
        return d * (d + 1) / 2.0

    def precision_cholesky(self, covariances):
        return _cholesky_precisions(covariances[np.newaxis], self.name)[0]

    def precision_cholesky_from_precisions(self, precisions):
        return _cholesky_of_precisions(precisions[np.newaxis], self.name)[0]

    def precisions_from_cholesky(self, factor):
        return factor @ factor.T

    def log_det_cholesky(self, factor, d):
        return np.sum(np.log(np.diag(factor)))

    def check_precisions(self, precisions):
        _check_positive_definite(precisions[np.newaxis], self.name)

    def mahalanobis(self, U, M, factor):
        Y = U @ factor
        offsets = M @ factor
        diff = Y[:, np.newaxis, :] - offsets[np.newaxis]
        return np.einsum("nkd,nkd->nk", diff, diff)

    def second_moments(self, U, wr, sample_weight):
        # sum_k sum_i wr_ik u_i u_i^T: each row counts with its total responsibility
        # (its sample weight after an E-step; 0 for a row a start leaves unassigned)
        return (U * wr.sum(axis=1)[:, np.newaxis]).T @ U

    def second_moments_of_every_row(self, U, sample_weight):
        """``sum_i w_i u_i u_i^T`` over every row, assigned or not: scikit-learn's tied
        covariance at a start that assigns only some rows (``X.T @ X`` in its
        ``_estimate_gaussian_covariances_tied``), kept to stay equal to it there."""
        Uw = U if sample_weight is None else U * sample_weight[:, np.newaxis]
        return Uw.T @ U

    def covariances(self, second, mass, nk, offsets, reg_covar):
        d = offsets.shape[1]
        covariances = (second - (nk[:, np.newaxis] * offsets).T @ offsets) / nk.sum()
        covariances[np.arange(d), np.arange(d)] += reg_covar
        return covariances

    def feature_coefficients(self, M, factor):
        rows, cols, twice = _upper_pairs(M.shape[1])
        precision = factor @ factor.T
        quadratic = np.broadcast_to(precision[rows, cols] * twice, (len(M), len(rows)))
        return M @ precision, quadratic

    def second_from_terms(self, sums_of_terms, d):
        return _symmetric_from_upper(sums_of_terms.sum(axis=0, keepdims=True), d)[0]

    def variances(self, covariances, K, d):
        return np.broadcast_to(np.diag(covariances), (K, d))

    def block(self, covariances, K, m):
        return np.broadcast_to(covariances[:m, :m], (K, m, m))

    def sample(self, rng, means, covariances, counts):
        return np.vstack(
            [
                rng.multivariate_normal(mean, covariances, int(count))
                for (mean, count) in zip(means, counts, strict=True)
            ]
        )


class _Variances(CovarianceType):
    """Types whose covariances are variances (no correlations): diag and spherical."""

    def precision_cholesky(self, covariances):
        return _positive_factor(covariances, self.name)

    def precision_cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions_from_cholesky(self, factor):
        return factor**2

    def check_precisions(self, precisions):
        if np.any(precisions <= 0):
            raise ValueError(f"'{self.name} precision' should be positive")

    def sample(self, rng, means, covariances, counts):
        d = means.shape[1]
        return np.vstack(
            [
                mean + rng.standard_normal(size=(count, d)) * np.sqrt(covariance)
                for (mean, covariance, count) in zip(means, covariances, counts, strict=True)
            ]
        )


class Diag(_Variances):
    """Each component has its own variance per feature."""

    name = "diag"

    def shape(self, K, d):
        return (K, d)

    def n_covariance_parameters(self, K, d):
        return K * d

    def log_det_cholesky(self, factor, d):
        return np.sum(np.log(factor), axis=1)

    def mahalanobis(self, U, M, factor):
        precisions = factor**2
        return (
            np.sum(M**2 * precisions, axis=1)
            - 2.0 * U @ (M * precisions).T
            + (U * U) @ precisions.T
        )

    def second_moments(self, U, wr, sample_weight):
        return wr.T @ (U * U)

    def covariances(self, second, mass, nk, offsets, reg_covar):
        return second / nk[:, np.newaxis] - offsets**2 + reg_covar

    def n_quadratic_terms(self, d):
        return d

    def fill_quadratic_terms(self, Ut, out):
        np.multiply(Ut, Ut, out=out)

    def feature_coefficients(self, M, factor):
        precision = factor**2
        return precision * M, precision

    def second_from_terms(self, sums_of_terms, d):
        return sums_of_terms.copy()

    def variances(self, covariances, K, d):
        return covariances

    def block(self, covariances, K, m):
        return np.stack([np.diag(c[:m]) for c in covariances])


class Spherical(_Variances):
    """Each component has one variance, the same along every feature."""

    name = "spherical"

    def shape(self, K, d):
        return (K,)

    def n_covariance_parameters(self, K, d):
        return K

    def log_det_cholesky(self, factor, d):
        return d * np.log(factor)

    def mahalanobis(self, U, M, factor):
        precisions = factor**2
        return (
            np.sum(M**2, axis=1) * precisions
            - 2.0 * U @ (M.T * precisions)
            + np.outer(np.einsum("nd,nd->n", U, U), precisions)
        )

    def second_moments(self, U, wr, sample_weight):
        return wr.T @ np.einsum("nd,nd->n", U, U)

    def covariances(self, second, mass, nk, offsets, reg_covar):
        d = offsets.shape[1]  # the mean over features of the diagonal variances
        return (second / nk - np.sum(offsets**2, axis=1)) / d + reg_covar

    def n_quadratic_terms(self, d):
        return 1

    def fill_quadratic_terms(self, Ut, out):
        np.einsum("dn,dn->n", Ut, Ut, out=out[0])

    def feature_coefficients(self, M, factor):
        precision = factor**2
        return precision[:, np.newaxis] * M, precision[:, np.newaxis]

    def second_from_terms(self, sums_of_terms, d):
        return sums_of_terms[:, 0].copy()

    def variances(self, covariances, K, d):
        return np.repeat(covariances[:, np.newaxis], d, axis=1)

    def block(self, covariances, K, m):
        return np.stack([np.eye(m) * c for c in covariances])


for _kind in (Full(), Tied(), Diag(), Spherical()):
    register(_kind)
