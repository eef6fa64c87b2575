"""The covariance types of a Gaussian mixture: one class each, found in one table.

A covariance type owns everything that depends on how the covariances are shaped:
the arrays' shapes (also the model file's layout), the number of free parameters,
the Cholesky factor of the precision and its log-determinant, the squared
Mahalanobis distances of the log-density, the second-moment sums of the M-step and
the covariances made from them, the quadratic features of the fast E-step, the
2-D marginal drawn as ellipses, the standard deviations printed in tables, and
sampling. Everything else asks :func:`covariance_type` for the object of a name;
an unknown name is an error, never a fall-through.

Conventions (scikit-learn's): precisions are carried as the Cholesky factor ``P``
of the precision (``precision = P @ P.T`` for matrices, ``P**2`` for variances);
nothing is inverted. Rows ``U`` and means ``M`` are relative to a shift point near
the data.

Adding a type: subclass :class:`CovarianceType`, implement the methods that raise
``NotImplementedError``, and call :func:`register`. The quadratic-feature methods
are optional (without them the E-step takes the direct route).
"""

from __future__ import annotations

import numpy as np

from ..errors import PcagmmError

#: responsibilities below this (relative to the chunk's largest for the component)
#: are left out of full-covariance second moments
NEGLIGIBLE_RESPONSIBILITY = 1e-20
#: features up to which full-covariance second moments use quadratic features
QUADRATIC_FEATURES_MAX_D = 16


class IllConditionedError(PcagmmError, ValueError):
    """A component's covariance is not positive definite."""


def ill_conditioned(name: str) -> IllConditionedError:
    return IllConditionedError(
        "Fitting the mixture model failed because some components have ill-defined empirical "
        f"covariance ({name} covariance not positive definite, for instance caused "
        "by singleton or collapsed samples)",
        "try fewer components, a larger reg_covar, or scaled input data",
    )


class CovarianceType:
    """What a mixture needs to know about one shape of covariance (see the module doc).

    Attributes
    ----------
    name : str
        The ``covariance_type`` string that selects it.
    holds_matrices : bool
        Whether the covariances are matrices (their last two axes), which must then be
        symmetric; otherwise they are variances.
    """

    name = ""
    holds_matrices = False

    # ------------------------------------------------------------------------- shapes

    def shape(self, K: int, d: int) -> tuple[int, ...]:
        """Shape of ``covariances_``, ``precisions_`` and ``precisions_cholesky_``."""
        raise NotImplementedError

    def second_shape(self, K: int, d: int) -> tuple[int, ...]:
        """Shape of the second-moment sums of the M-step."""
        return self.shape(K, d)

    def n_covariance_parameters(self, K: int, d: int) -> float:
        """Free parameters of the covariances."""
        raise NotImplementedError

    # ------------------------------------------------------------------------- precisions

    def precision_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """The Cholesky factor of the precision from covariances."""
        raise NotImplementedError

    def precision_cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """The Cholesky factor of given precisions, as scikit-learn computes it."""
        raise NotImplementedError

    def precisions_from_cholesky(self, factor: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def log_det_cholesky(self, factor: np.ndarray, d: int) -> np.ndarray:
        """log det of the precision's Cholesky factor, per component (or one for all)."""
        raise NotImplementedError

    def check_precisions(self, precisions: np.ndarray) -> None:
        """Refuse user-given precisions that are not valid (``precisions_init``)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------- E-step

    def mahalanobis(self, U: np.ndarray, M: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row of ``U`` to each mean: (rows, K)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------- M-step

    def second_moments(self, U: np.ndarray, wr: np.ndarray, sample_weight) -> np.ndarray:
        """The second-moment sums of rows ``U`` with weighted responsibilities ``wr``."""
        raise NotImplementedError

    def covariances(self, second, mass, nk, offsets, reg_covar) -> np.ndarray:
        """Covariances about the new means from the sums (scikit-learn's estimator).

        ``nk = mass + 10 eps``; ``offsets`` are the new means minus the shift point.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------------- quadratic features
    # A log-density is linear in f(u) = [second-order terms of u, u, 1]; a type that
    # describes its second-order terms gets the fast E-step (see mixture._estep).

    def n_quadratic_terms(self, d: int) -> int | None:
        """How many second-order terms its features have (None: no feature E-step)."""
        return None

    def fill_quadratic_terms(self, Ut: np.ndarray, out: np.ndarray) -> None:
        """Write the second-order terms of the rows (columns of ``Ut``) into ``out``."""
        raise NotImplementedError

    def feature_coefficients(self, M, factor) -> tuple[np.ndarray, np.ndarray]:
        """``(precision @ mean per component (K, d), coefficients of the terms (K, q))``."""
        raise NotImplementedError

    def second_from_terms(self, sums_of_terms: np.ndarray, d: int) -> np.ndarray:
        """The M-step second moments from the responsibility-weighted term sums (K, q)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------- reading

    def variances(self, covariances: np.ndarray, K: int, d: int) -> np.ndarray:
        """Each component's variance along each feature (the diagonal), (K, d)."""
        raise NotImplementedError

    def block(self, covariances: np.ndarray, K: int, m: int) -> np.ndarray:
        """Each component's covariance among the first ``m`` features, (K, m, m)."""
        raise NotImplementedError

    def plane(self, covariances: np.ndarray, K: int) -> np.ndarray:
        """Each component's covariance in the plane of the first two features, (K, 2, 2)."""
        return self.block(covariances, K, 2)

    def sample(self, rng, means, covariances, counts) -> np.ndarray:
        """``counts[k]`` rows drawn from each component, stacked in component order."""
        raise NotImplementedError


_TABLE: dict[str, CovarianceType] = {}


def register(kind: CovarianceType) -> CovarianceType:
    """Make ``kind`` available under ``kind.name`` (estimator, model files, figures)."""
    _TABLE[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a registered type (for types registered by tests)."""
    _TABLE.pop(name, None)


def names() -> tuple[str, ...]:
    """The names of the registered covariance types, built-ins first."""
    return tuple(_TABLE)


def covariance_type(name) -> CovarianceType:
    """The :class:`CovarianceType` called ``name``; a ValueError naming the choices if none."""
    kind = _TABLE.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ValueError(f"covariance_type must be one of {', '.join(_TABLE)}, got {name!r}")
    return kind


# ----------------------------------------------------------------------------- helpers


def _cholesky_precisions(matrices: np.ndarray, name: str) -> np.ndarray:
    """Upper Cholesky factors of the precisions of covariance matrices (K, d, d)."""
    import scipy.linalg  # here, not at import: the table is read by the command line

    d = matrices.shape[-1]
    factors = np.empty_like(matrices)
    eye = np.eye(d)
    for k, covariance in enumerate(matrices):
        try:
            lower = scipy.linalg.cholesky(covariance, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            raise ill_conditioned(name) from None
        if not np.all(np.isfinite(lower)):
            raise ill_conditioned(name)
        factors[k] = scipy.linalg.solve_triangular(lower, eye, lower=True, check_finite=False).T
    return factors


def _cholesky_of_precisions(matrices: np.ndarray, name: str) -> np.ndarray:
    import scipy.linalg

    factors = np.empty_like(matrices)
    for k, precision in enumerate(matrices):
        flipped = precision[::-1, ::-1]
        try:
            lower = scipy.linalg.cholesky(flipped, lower=True)
        except np.linalg.LinAlgError:
            raise ill_conditioned(name) from None
        factors[k] = lower[::-1, ::-1]
    return factors


def _check_positive_definite(matrices: np.ndarray, name: str) -> None:
    for matrix in matrices:
        if not np.allclose(matrix, matrix.T) or np.any(np.linalg.eigvalsh(matrix) <= 0):
            raise ValueError(f"'{name} precision' should be symmetric, positive-definite")


def _positive_factor(covariances: np.ndarray, name: str) -> np.ndarray:
    if np.any(covariances <= 0.0) or not np.all(np.isfinite(covariances)):
        raise ill_conditioned(name)
    return 1.0 / np.sqrt(covariances)


def _upper_pairs(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and weights (1 on the diagonal, 2 off it) of the upper triangle."""
    rows, cols = np.triu_indices(d)
    return rows, cols, np.where(rows == cols, 1.0, 2.0)


def _symmetric_from_upper(upper: np.ndarray, d: int) -> np.ndarray:
    """(m, d, d) symmetric matrices from their upper triangles (m, d(d+1)/2)."""
    rows, cols = np.triu_indices(d)
    matrices = np.empty((len(upper), d, d))
    matrices[:, rows, cols] = upper
    matrices[:, cols, rows] = upper
    return matrices


def _fill_products(Ut: np.ndarray, out: np.ndarray) -> None:
    """The products of each pair of features (upper triangle) into rows of ``out``.

    Written without temporaries: fresh large arrays cost page faults where the
    allocator returns freed memory at once (Dask's workers).
    """
    rows, cols = np.triu_indices(Ut.shape[0])
    for i, (row, col) in enumerate(zip(rows, cols, strict=True)):
        np.multiply(Ut[row], Ut[col], out=out[i])


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
