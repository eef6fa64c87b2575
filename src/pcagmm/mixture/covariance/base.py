"""The base of the covariance types, and the table that finds one by name.

See :mod:`pcagmm.mixture.covariance` for what a type owns and how to add one.
"""

from __future__ import annotations

import numpy as np

from ...errors import PcagmmError

#: responsibilities below this (relative to the chunk's largest for the component)
#: are left out of full-covariance second moments
NEGLIGIBLE_RESPONSIBILITY = 1e-20
#: features up to which full-covariance second moments use quadratic features
QUADRATIC_FEATURES_MAX_D = 16


class IllConditionedError(PcagmmError, ValueError):
    """A component's covariance is not positive definite.

    Parameters
    ----------
    problem, fix : str
        What is wrong, and what to do about it (see :class:`~pcagmm.PcagmmError`).
    """


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

    def m_step(self, second, mass, nk, offsets, reg_covar, *, previous=None, inner=None):
        """The M-step's covariances; what the mixture calls.

        A type whose M-step iterates (mclust's VEI, VEE, EVE, VVE, VEV) overrides this:
        it starts from ``previous`` (the covariances of the last M-step, None at the
        start) and iterates under ``inner`` (its tolerance and iteration limit). The
        others compute :meth:`covariances` in closed form.
        """
        return self.covariances(second, mass, nk, offsets, reg_covar)

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

#: mclust's fourteen covariance structures, in mclust's order: volume, shape and
#: orientation each Equal across components, Varying, or the Identity
MCLUST_NAMES = (
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)
#: scikit-learn's four names and the mclust structure each is (one implementation each)
SCIKIT_LEARN_TWINS = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}


def register(kind: CovarianceType, name: str | None = None) -> CovarianceType:
    """Make ``kind`` available under ``name`` (default ``kind.name``): the estimator,
    model files and figures find it there. One object may be registered under two
    names (scikit-learn's and mclust's for the same structure)."""
    _TABLE[kind.name if name is None else name] = kind
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
        raise ValueError(f"covariance_type must be one of {choices()}, got {name!r}")
    return kind


def expand_all(names) -> list[str]:
    """``names`` with each ``"all"`` replaced by mclust's fourteen structures."""
    return [name for item in names for name in (MCLUST_NAMES if item == "all" else [item])]


def choices() -> str:
    """The registered names as a sentence: scikit-learn's four with their mclust twins,
    mclust's fourteen, then any other registered type."""
    mclust = [name for name in MCLUST_NAMES if name in _TABLE]
    twins = [f"{name} (= {twin})" for name, twin in SCIKIT_LEARN_TWINS.items() if name in _TABLE]
    others = [n for n in _TABLE if n not in MCLUST_NAMES and n not in SCIKIT_LEARN_TWINS]
    parts = []
    if twins:
        parts.append("scikit-learn's " + ", ".join(twins))
    if mclust:
        parts.append("mclust's " + ", ".join(mclust))
    if others:
        parts.append(", ".join(others))
    return "; ".join(parts)


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
