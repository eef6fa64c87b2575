"""mclust's covariance M-steps: the fourteen structures of ``lambda_k D_k A_k D_k^T``.

Each component's covariance is decomposed (Banfield & Raftery 1993; Celeux &
Govaert 1995) as

    Sigma_k = lambda_k D_k A_k D_k^T,

with ``lambda_k`` a positive scalar, the *volume* (``det(Sigma_k)^(1/d)``); ``A_k`` a
diagonal matrix of determinant 1, the *shape*; and ``D_k`` an orthogonal matrix, the
*orientation*. R's mclust names a structure by three letters, for volume, shape and
orientation in that order: ``E`` equal across components, ``V`` varying between them,
``I`` the identity (a spherical shape, or axis-aligned orientation). ``VVV`` is the
unconstrained model, ``EEE`` one covariance for all components, ``VII`` spheres of
different sizes, and so on.

This module computes the covariance part of the M-step of each structure exactly as
mclust 6.0.0 does (its Fortran ``ms*`` and ``me*`` routines, ``src/mclust.f`` and
``src/mclustaddson.f``), as pure functions of the per-component weighted scatter
matrices ``W_k = sum_i z_ik (x_i - mu_k)(x_i - mu_k)^T`` and counts
``n_k = sum_i z_ik``:

* closed forms (Celeux & Govaert 1995): ``EII``, ``VII``, ``EEI``, ``EVI``, ``VVI``,
  ``EEE``, ``EEV``, ``EVV`` and ``VVV``;
* iterative: ``VEI`` and ``VEV`` (fixed-point iterations alternating volume and
  shape, mclust's ``msvei``/``mevei`` and ``msvev``/``mevev``), ``VEE`` (volume and
  the common matrix ``C = D A D^T`` in turn, ``msvee``/``mevee``), and ``EVE`` and
  ``VVE``, whose common orientation comes from the majorization-minimization
  algorithms MM1 and MM2 of Browne & McNicholas (2014) (``mseve``/``meeve``,
  ``msvve``/``mevve``).

An iterative structure starts, with ``previous=None``, where mclust's ``mstep``
starts; given the covariances it returned at the previous EM iteration, it starts
from the state mclust's ``me`` carries between EM iterations (see
:func:`structured_covariances`). Where mclust returns NA or stops EM as singular (its
``eps`` thresholds and ``FLMAX`` exits), :func:`structured_covariances` raises
:class:`~pcagmm.mixture.covariance.base.IllConditionedError`. Where mclust's
``mstep`` and ``me`` disagree it follows ``me``, the EM that uses the M-step: for
constant data ``mstep`` gives zero covariances for EII, VII, EEE and VVV without
complaint, and its ``mseee`` takes any component of count at most 1 for an empty one
(a mistyped guard, ``one .gt. sum*FLMAX``), returning NA where ``meeee`` goes on.

References
----------
Banfield, J. D. and Raftery, A. E. (1993). Model-based Gaussian and non-Gaussian
clustering. *Biometrics* 49(3), 803-821.

Celeux, G. and Govaert, G. (1995). Gaussian parsimonious clustering models.
*Pattern Recognition* 28(5), 781-793.

Browne, R. P. and McNicholas, P. D. (2014). Estimating common principal components
in high dimensions. *Advances in Data Analysis and Classification* 8(2), 217-226.

Scrucca, L., Fop, M., Murphy, T. B. and Raftery, A. E. (2016). mclust 5: clustering,
classification and density estimation using Gaussian finite mixture models. *The R
Journal* 8(1), 289-317.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import MCLUST_NAMES, ill_conditioned

#: the fourteen structures, in mclust's order (its emModelNames)
MODELS = MCLUST_NAMES
#: mclust's emControl(): inner tolerance sqrt(double eps) and iteration limit
INNER_TOL = float(np.sqrt(np.finfo(np.float64).eps))
INNER_MAX_ITER = 2147483647  # mclust's .Machine$integer.max

#: the structures whose M-step iterates
ITERATIVE = ("VEI", "VEE", "EVE", "VVE", "VEV")

# mclust's constants: emControl()$eps (the ``eps`` of its singularity tests), its
# square root, and the limits of its Fortran (FLMAX, BIGLOG, SMALOG)
_EPS = float(np.finfo(np.float64).eps)
_RTEPS = float(np.sqrt(_EPS))
_FLMAX = float(np.finfo(np.float64).max)
_BIGLOG = 709.0
_SMALOG = -708.0


class InnerResult(NamedTuple):
    """The covariances of one M-step, and how its inner iteration went."""

    covariances: np.ndarray  # (K, d, d) each component's covariance matrix Sigma_k
    n_iter: int  # inner iterations taken (0 for closed forms)
    converged: bool  # False when an iterative model hit max_iter


# ----------------------------------------------------------------------------- the count


def n_covariance_parameters(model: str, K: int, d: int) -> int:
    """The free parameters of the covariances: mclust's ``nVarParams(model, d, G)``.

    Parameters
    ----------
    model : str
        One of :data:`MODELS`.
    K : int
        Components (mclust's ``G``).
    d : int
        Features.

    Returns
    -------
    int
    """
    _check_model(model)
    G = K
    orientation = d * (d - 1) // 2
    return {
        "EII": 1,
        "VII": G,
        "EEI": d,
        "VEI": G + (d - 1),
        "EVI": 1 + G * (d - 1),
        "VVI": G * d,
        "EEE": d * (d + 1) // 2,
        "EVE": 1 + G * (d - 1) + orientation,
        "VEE": G + (d - 1) + orientation,
        "VVE": G + G * (d - 1) + orientation,
        "EEV": 1 + (d - 1) + G * orientation,
        "VEV": G + (d - 1) + G * orientation,
        "EVV": 1 - G + G * (d * (d + 1) // 2),
        "VVV": G * (d * (d + 1) // 2),
    }[model]


# ----------------------------------------------------------------------------- the entry


def structured_covariances(
    model: str,
    scatter: np.ndarray,
    counts: np.ndarray,
    *,
    previous: np.ndarray | None = None,
    tol: float = INNER_TOL,
    max_iter: int = INNER_MAX_ITER,
) -> InnerResult:
    """The covariances of mclust's M-step for one structure.

    Parameters
    ----------
    model : str
        One of :data:`MODELS`.
    scatter : ndarray of shape (K, d, d)
        ``W_k = sum_i z_ik (x_i - mu_k)(x_i - mu_k)^T`` about each component's
        weighted mean.
    counts : ndarray of shape (K,)
        ``n_k = sum_i z_ik``; their sum is mclust's ``n`` (rows of ``z`` sum to 1).
    previous : ndarray of shape (K, d, d), optional
        The covariances this function returned at the previous EM iteration. The
        iterative structures then start from the state mclust's ``me*`` carries
        from one EM iteration to the next (recovered from these matrices) instead of
        the fresh start of its ``mstep*``:

        * ``VEI`` (``mevei``): volumes and shape, which ``me`` sets to ones once
          (as ``mstep`` does every call) and then carries;
        * ``VEV`` (``mevev``): volumes and shape, which ``me`` sets at its first
          M-step from the eigenvalues and then carries (``me`` starts the volumes
          at ``geomean / n``, ``mstep`` at ``geomean / (n_k n)``: they only enter
          the first iteration's convergence test, and ``previous=None`` gives
          ``mstep``'s);
        * ``EVE`` (``meeve``) and ``VVE`` (``mevve``): the common orientation and
          the shapes, set to the identity and ones once and then carried;
        * ``VEE`` (``mevee``): nothing -- ``me`` restarts the volumes at ones at
          every M-step, as ``mstep`` does, so ``previous`` is ignored;
        * the closed forms ignore it.
    tol : float
        The inner tolerance (mclust's ``emControl()$tol[2]``), measured as each
        mclust routine measures it.
    max_iter : int
        The inner iteration limit (``emControl()$itmax[2]``), at least 1. mclust's
        ``VEI`` routines test ``inner <= itmax`` after each iteration, so they may
        take ``max_iter + 1`` iterations; the others stop at ``max_iter``.

    Returns
    -------
    InnerResult
        The covariances, the inner iterations taken and whether the inner
        iteration met its tolerance.

    Raises
    ------
    IllConditionedError
        Where mclust's ``mstep`` returns NA or its ``me`` stops as singular: a
        count ``<= sqrt(eps)``, a volume, shape or determinant ``<= eps`` (or the
        thresholds of mclust's add-on routines), a scatter matrix not positive
        definite where the structure needs it, an overflow.
    ValueError
        An unknown model, arrays of the wrong shapes, ``max_iter < 1``, or
        ``previous`` not positive definite.
    """
    _check_model(model)
    W = np.array(scatter, dtype=np.float64)
    if W.ndim != 3 or W.shape[1] != W.shape[2] or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"scatter must have shape (K, d, d), not {W.shape}")
    K = W.shape[0]
    n_k = np.array(counts, dtype=np.float64).reshape(-1)
    if n_k.shape != (K,):
        raise ValueError(f"counts must have shape ({K},), not {np.shape(counts)}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, not {max_iter}")
    if previous is not None:
        previous = np.array(previous, dtype=np.float64)
        if previous.shape != W.shape:
            raise ValueError(f"previous must have shape {W.shape}, not {previous.shape}")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(n_k))):
        raise ill_conditioned(model)
    # every me* stops EM when a component's count falls to sqrt(eps)
    if np.min(n_k) <= _RTEPS:
        raise ill_conditioned(model)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        result = _STEPS[model](model, W, n_k, previous, tol, max_iter)
    if not np.all(np.isfinite(result.covariances)):
        raise ill_conditioned(model)
    return result


def _check_model(model) -> None:
    if model not in MODELS:
        raise ValueError(f"unknown covariance model {model!r}; choose from {', '.join(MODELS)}")


# ----------------------------------------------------------------------------- shared helpers


def _closed(covariances: np.ndarray) -> InnerResult:
    return InnerResult(covariances, 0, True)


def _diagonal_matrices(diagonals: np.ndarray) -> np.ndarray:
    """(K, d) diagonals as (K, d, d) diagonal matrices."""
    K, d = diagonals.shape
    out = np.zeros((K, d, d))
    out[:, np.arange(d), np.arange(d)] = diagonals
    return out


def _diagonals(W: np.ndarray) -> np.ndarray:
    return np.diagonal(W, axis1=1, axis2=2).copy()


def _geometric_root(model: str, values: np.ndarray) -> np.ndarray:
    """``exp(mean(log v))`` over the last axis, refused where mclust's classic
    routines (``src/mclust.f``) refuse it: a value ``<= 0``, a mean log above
    ``BIGLOG`` (709), or a root ``<= eps`` (a mean log below ``SMALOG`` makes it 0)."""
    if np.any(values <= 0):
        raise ill_conditioned(model)
    mean_log = np.log(values).sum(axis=-1) / values.shape[-1]
    if np.any(mean_log > _BIGLOG):
        raise ill_conditioned(model)
    root = np.where(mean_log > _SMALOG, np.exp(mean_log), 0.0)
    if np.any(root <= _EPS):
        raise ill_conditioned(model)
    return root


def _determinant_root(values: np.ndarray) -> np.ndarray:
    """``exp(sum(log v))**(1/d)`` over the last axis, as mclust's add-on routines
    (``src/mclustaddson.f``) compute it: it overflows to inf, or underflows to 0,
    where theirs does (the callers' tests then refuse it)."""
    return np.exp(np.log(values).sum(axis=-1)) ** (1.0 / values.shape[-1])


def _descending_eigen(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (largest first, clipped at 0 as mclust's squared singular values
    are) and eigenvectors (columns) of each scatter matrix."""
    values, vectors = np.linalg.eigh(W)
    return np.maximum(values[:, ::-1], 0.0), vectors[:, :, ::-1]


def _rotated(vectors: np.ndarray, diagonals: np.ndarray) -> np.ndarray:
    """``V_k diag(a_k) V_k^T`` for (K, d, d) columns ``V_k`` and (K, d) ``a_k``."""
    return (vectors * diagonals[:, None, :]) @ vectors.transpose(0, 2, 1)


def _cholesky_diagonals(model: str, matrices: np.ndarray) -> np.ndarray:
    """The diagonals of the Cholesky factors; not positive definite is singular."""
    try:
        factors = np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        raise ill_conditioned(model) from None
    return np.abs(np.diagonal(factors, axis1=-2, axis2=-1))


def _reciprocal_condition(diagonals: np.ndarray) -> np.ndarray:
    """mclust's ``rc = min|u_jj| / (1 + max|u_jj|)`` of a triangular factor."""
    return diagonals.min(axis=-1) / (1.0 + diagonals.max(axis=-1))


# ----------------------------------------------------------------------------- spherical


def _eii(model, W, n_k, previous, tol, max_iter):
    """mclust's ``mseii``/``meeii``: ``lambda = sum_k tr(W_k) / (n d)``."""
    K, d, _ = W.shape
    sigsq = np.trace(W, axis1=1, axis2=2).sum() / (n_k.sum() * d)
    if sigsq <= _EPS:
        raise ill_conditioned(model)
    return _closed(_diagonal_matrices(np.full((K, d), sigsq)))


def _vii(model, W, n_k, previous, tol, max_iter):
    """mclust's ``msvii``/``mevii``: ``lambda_k = tr(W_k) / (n_k d)``."""
    d = W.shape[-1]
    sigsq = np.trace(W, axis1=1, axis2=2) / (n_k * d)
    if np.min(sigsq) <= _EPS:
        raise ill_conditioned(model)
    return _closed(_diagonal_matrices(np.repeat(sigsq[:, None], d, axis=1)))


# ----------------------------------------------------------------------------- diagonal


def _eei(model, W, n_k, previous, tol, max_iter):
    """mclust's ``mseei``/``meeei``: ``lambda A = diag(sum_k W_k) / n``, computed as
    its volume ``geomean / n`` times its shape ``diag / geomean``."""
    K = W.shape[0]
    shape = _diagonals(W).sum(axis=0)
    root = _geometric_root(model, shape)
    scale = root / n_k.sum()
    shape = shape / root
    if np.min(shape) <= _EPS or scale <= _EPS:
        raise ill_conditioned(model)
    return _closed(_diagonal_matrices(np.tile(scale * shape, (K, 1))))


def _evi(model, W, n_k, previous, tol, max_iter):
    """mclust's ``msevi``/``meevi``: ``A_k = diag(W_k) / geomean_k``,
    ``lambda = sum_k geomean_k / n``."""
    diag = _diagonals(W)
    root = _geometric_root(model, diag)
    scale = root.sum() / n_k.sum()
    shape = diag / root[:, None]
    if scale <= _EPS or np.min(shape) <= _EPS:
        raise ill_conditioned(model)
    return _closed(_diagonal_matrices(scale * shape))


def _vvi(model, W, n_k, previous, tol, max_iter):
    """mclust's ``msvvi``/``mevvi``: ``lambda_k A_k = diag(W_k) / n_k``, computed as
    ``geomean_k / n_k`` times ``diag / geomean_k``."""
    diag = _diagonals(W)
    if np.min(diag) <= _EPS:  # mevvi's test of the raw diagonals
        raise ill_conditioned(model)
    root = _geometric_root(model, diag)
    scale = root / n_k
    shape = diag / root[:, None]
    if np.min(scale) <= _EPS or np.min(shape) <= _EPS:
        raise ill_conditioned(model)
    return _closed(_diagonal_matrices(scale[:, None] * shape))


def _vei(model, W, n_k, previous, tol, max_iter):
    """mclust's ``msvei`` (``mstep``) and ``mevei`` (``me``): alternate the volumes
    ``lambda_k = sum_j w_jk / a_j / (n_k d)`` and the common shape
    ``a_j = sum_k w_jk / lambda_k`` (normalized to determinant 1), with
    ``w_jk = W_k[j, j]``, until the largest relative change of both,
    ``|old - new| / (1 + new)``, is at most ``tol``."""
    K, d, _ = W.shape
    w = _diagonals(W)
    if previous is None:
        scale, shape = np.ones(K), np.ones(d)
    else:
        prev = _diagonals(previous)
        if np.min(prev) <= 0:
            raise ValueError("previous covariances must have a positive diagonal")
        scale, shape = _volumes_and_common_shape(prev)
    pro = n_k * d
    inner = 0
    while True:
        if np.min(shape) <= _EPS:
            raise ill_conditioned(model)
        inner += 1
        old_scale, old_shape = scale, shape
        scale = (w / shape).sum(axis=1) / pro
        if np.min(scale) <= _EPS:
            raise ill_conditioned(model)
        shape = (w / scale[:, None]).sum(axis=0)
        if np.min(shape) <= _EPS:
            raise ill_conditioned(model)
        shape = shape / _geometric_root(model, shape)
        err = max(
            np.max(np.abs(old_scale - scale) / (1.0 + scale)),
            np.max(np.abs(old_shape - shape) / (1.0 + shape)),
        )
        # mclust tests ``inner <= maxi``: up to max_iter + 1 iterations
        if not (err > tol and inner <= max_iter):
            break
    if np.min(shape) <= _EPS:
        raise ill_conditioned(model)
    return InnerResult(_diagonal_matrices(scale[:, None] * shape), inner, bool(err <= tol))


# ----------------------------------------------------------------------------- ellipsoidal


def _eee(model, W, n_k, previous, tol, max_iter):
    """mclust's ``mseee``/``meeee``: ``Sigma = sum_k W_k / n``; singular when the
    Cholesky factor's ``min|u_jj| / (1 + max|u_jj|) <= sqrt(eps)``."""
    K = W.shape[0]
    sigma = W.sum(axis=0) / n_k.sum()
    if _reciprocal_condition(_cholesky_diagonals(model, sigma)) <= _RTEPS:
        raise ill_conditioned(model)
    return _closed(np.repeat(sigma[None], K, axis=0))


def _vvv(model, W, n_k, previous, tol, max_iter):
    """mclust's ``msvvv``/``mevvv``: ``Sigma_k = W_k / n_k``; singular when a
    Cholesky factor's ``min|u_jj| / (1 + max|u_jj|) <= sqrt(eps)``."""
    sigma = W / n_k[:, None, None]
    if np.min(_reciprocal_condition(_cholesky_diagonals(model, sigma))) <= _RTEPS:
        raise ill_conditioned(model)
    return _closed(sigma)


def _eev(model, W, n_k, previous, tol, max_iter):
    """mclust's ``mseev``/``meeev``: with ``W_k = V_k Omega_k V_k^T`` (eigenvalues
    largest first), ``A = sum_k Omega_k / geomean``, ``lambda = geomean / n`` and
    ``D_k = V_k`` (Celeux & Govaert 1995, p. 786)."""
    values, vectors = _descending_eigen(W)
    shape = values.sum(axis=0)
    root = _geometric_root(model, shape)
    scale = root / n_k.sum()
    shape = shape / root
    if np.min(shape) <= _EPS or scale <= _EPS:
        raise ill_conditioned(model)
    root_diagonal = np.sqrt(scale * shape)
    if _reciprocal_condition(root_diagonal) <= _RTEPS:
        raise ill_conditioned(model)
    K = W.shape[0]
    return _closed(_rotated(vectors, np.tile(scale * shape, (K, 1))))


def _evv(model, W, n_k, previous, tol, max_iter):
    """mclust's ``msevv``/``meevv``: ``C_k = W_k / det(W_k)^(1/d)`` and
    ``lambda = sum_k det(W_k)^(1/d) / n`` (Celeux & Govaert 1995, p. 787), the root
    computed as ``exp(sum(log s))**(1/d)`` of the singular values ``s`` of ``W_k``;
    singular when a shape or a root is ``<= sqrt(eps)``."""
    singular = np.linalg.svd(W, compute_uv=False)
    root = _determinant_root(singular)
    shape = singular / root[:, None]
    if np.min(shape) <= _RTEPS or np.min(root) <= _RTEPS or not np.all(np.isfinite(root)):
        raise ill_conditioned(model)
    scale = root.sum() / n_k.sum()
    return _closed(scale * (W / root[:, None, None]))


def _vev(model, W, n_k, previous, tol, max_iter):
    """mclust's ``msvev`` (``mstep``) and ``mevev`` (``me``): with
    ``W_k = V_k Omega_k V_k^T`` (eigenvalues ``omega_jk`` largest first, paired by
    rank with the common shape), alternate ``lambda_k = sum_j omega_jk / a_j /
    (n_k d)`` and ``a_j = sum_k omega_jk / lambda_k`` (normalized to determinant 1)
    until the largest ``|old - new| / (1 + new)`` of both is below ``tol``;
    ``D_k = V_k``.

    The start: ``mstep`` (and ``me`` at its first M-step) sets ``a = sum_k
    Omega_k / geomean``; ``mstep`` sets the volumes to ``geomean / (n_k n)``,
    ``me`` to ``geomean / n``. The volumes are recomputed before they are used, so
    the start of the volumes only enters the first iteration's convergence test.
    """
    values, vectors = _descending_eigen(W)
    d = W.shape[-1]
    if previous is None:
        shape = values.sum(axis=0)
        root = _geometric_root(model, shape)
        scale = root / (n_k * n_k.sum())
        shape = shape / root
    else:
        prev = np.linalg.eigvalsh(previous)[:, ::-1]
        if np.min(prev) <= 0:
            raise ValueError("previous covariances must be positive definite")
        scale, shape = _volumes_and_common_shape(prev)
    inner = 0
    while True:
        old_shape, old_scale = shape, scale
        scale = ((values / old_shape).sum(axis=1) / n_k) / d
        if np.min(scale) <= _EPS:
            raise ill_conditioned(model)
        shape = (values / scale[:, None]).sum(axis=0)
        inner += 1
        shape = shape / _geometric_root(model, shape)
        err = max(
            np.max(np.abs(old_shape - shape) / (1.0 + shape)),
            np.max(np.abs(scale - old_scale) / (1.0 + scale)),
        )
        if not (err >= tol and inner < max_iter):
            break
    if np.min(shape) <= _EPS or np.min(np.sqrt(shape)) <= _RTEPS:
        raise ill_conditioned(model)
    return InnerResult(_rotated(vectors, scale[:, None] * shape), inner, bool(err < tol))


def _vee(model, W, n_k, previous, tol, max_iter):
    """mclust's ``msvee`` (``mstep``) and ``mevee`` (``me``, which restarts the same
    way at every M-step): from ``lambda_k = 1``, alternate
    ``C = sum_k W_k / lambda_k`` normalized to determinant 1 and
    ``lambda_k = tr(W_k C^-1) / (d n_k)`` (Celeux & Govaert 1995, p. 785) until the
    relative change of ``n d + d sum_k n_k log lambda_k`` is at most ``tol``;
    ``Sigma_k = lambda_k C``. Each ``W_k`` must be positive definite."""
    import scipy.linalg  # here, not at import: the table is read by the command line

    K, d, _ = W.shape
    _cholesky_diagonals(model, W)  # dpotrf of each W_k
    n = n_k.sum()
    scale = np.ones(K)
    previous_target = _FLMAX / 2
    identity = np.eye(d)
    inner = 0
    while True:
        inner += 1
        C = (W / scale[:, None, None]).sum(axis=0)
        eigenvalues = np.linalg.eigvalsh(C)
        root = _determinant_root(eigenvalues)
        C = C / root
        try:
            factor = scipy.linalg.cho_factor(C, lower=False, check_finite=True)
        except (np.linalg.LinAlgError, ValueError):
            raise ill_conditioned(model) from None
        C_inverse = scipy.linalg.cho_solve(factor, identity)
        scale = np.einsum("kij,ji->k", W, C_inverse) / (d * n_k)
        target = n * d + d * np.sum(np.log(scale) * n_k)
        err = abs(target - previous_target) / (1.0 + abs(target))
        previous_target = target
        if not (err > tol and inner < max_iter):
            break
    shape = eigenvalues / root
    if np.min(shape) <= _RTEPS or np.min(scale) <= _RTEPS:
        raise ill_conditioned(model)
    return InnerResult(scale[:, None, None] * C, inner, bool(err <= tol))


def _common_orientation(model, W, n_k, previous, tol, max_iter):
    """mclust's ``mseve``/``meeve`` (EVE) and ``msvve``/``mevve`` (VVE): the common
    orientation ``D`` by the MM1 and MM2 steps of Browne & McNicholas (2014), then
    the shapes ``A_k = diag(D^T W_k D)`` (over ``n_k`` for VVE) normalized to
    determinant 1, until the relative change of the target
    ``sum_k tr(D^T W_k D A_k^-1)`` is at most ``tol``.

    As in mclust, each step uses the shapes ``A_k`` without the volumes (also for
    VVE), with ``omega_k`` the largest eigenvalue of ``W_k`` in MM1 and
    ``max_j 1 / a_jk`` in MM2. ``mstep`` and ``me`` start from ``D = I`` and
    ``A_k = I``; ``me`` then carries ``D`` and ``A_k`` from one EM iteration to the
    next. A scatter matrix with an eigenvalue below ``sqrt(eps)``, or a shape below
    it, is singular.
    """
    K, d, _ = W.shape
    eigenvalues = np.linalg.eigvalsh(W)
    if np.min(eigenvalues) < _RTEPS:
        raise ill_conditioned(model)
    omega = eigenvalues[:, -1]
    # Dt is D^T (mclust's O), shape holds a_jk as (K, d)
    if previous is None:
        Dt, shape = np.eye(d), np.ones((K, d))
    else:
        Dt, shape = _orientation_state(previous)
    previous_target = _FLMAX / 2
    inner = 0
    while True:
        inner += 1
        # MM1: F = sum_k A_k^-1 D^T (W_k - omega_k I); D = R P^T for F = P B R^T
        scaled = Dt[None] / shape[:, :, None]
        F = (scaled @ W - omega[:, None, None] * scaled).sum(axis=0)
        D = _polar(model, F).T
        # MM2: F = sum_k (W_k D A_k^-1 - max_j(1/a_jk) W_k D); D^T = R P^T
        WD = W @ D
        F = (WD / shape[:, None, :] - (1.0 / shape).max(axis=1)[:, None, None] * WD).sum(0)
        Dt = _polar(model, F).T
        # the shapes and the target
        DtW = Dt[None] @ W
        diag = np.einsum("kjl,jl->kj", DtW, Dt)
        if model == "VVE":
            diag = diag / n_k[:, None]
            scale = _determinant_root(diag)
            shape = diag / scale[:, None]
            bad = np.min(shape) < _RTEPS or np.min(scale) < _RTEPS
        else:
            shape = diag / _determinant_root(diag)[:, None]
            bad = np.min(shape) < _RTEPS
        if bad or not np.all(np.isfinite(shape)):
            raise ill_conditioned(model)
        target = np.sum(np.einsum("kjl,jl->kj", DtW, Dt) / shape)
        err = abs(target - previous_target) / (1.0 + abs(target))
        previous_target = target
        if not (err > tol and inner < max_iter):
            break
    if model == "EVE":
        scale = np.full(K, target / (n_k.sum() * d))
    # Sigma_k = lambda_k D A_k D^T
    sigma = (Dt.T[None] * (scale[:, None] * shape)[:, None, :]) @ Dt[None]
    return InnerResult(sigma, inner, bool(err <= tol))


def _polar(model: str, F: np.ndarray) -> np.ndarray:
    """``P R^T`` for ``F = P B R^T``, by LAPACK's ``dgesvd`` as mclust calls it (for a
    zero ``F``, as at the first MM2 step from ``A_k = I``, it gives the identity)."""
    import scipy.linalg  # here, not at import: the table is read by the command line

    try:
        P, _, Rt = scipy.linalg.svd(F, lapack_driver="gesvd", check_finite=True)
    except (np.linalg.LinAlgError, ValueError):
        raise ill_conditioned(model) from None
    return P @ Rt


def _volumes_and_common_shape(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The volumes ``lambda_k`` (geometric means of each row of positive ``values``,
    (K, d): a component's variances or eigenvalues) and the common shape (the geometric
    mean over components of ``values / lambda_k``): the state a VEI or VEV iteration
    carries, recovered from the previous covariances."""
    log_values = np.log(values)
    log_scale = log_values.mean(axis=1)
    return np.exp(log_scale), np.exp((log_values - log_scale[:, None]).mean(axis=0))


def _orientation_state(previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``D^T`` and shapes ``A_k`` (determinant 1) of ``Sigma_k = lambda_k D A_k
    D^T``: ``D`` from the eigenvectors of the component whose eigenvalues are best
    separated, ``A_k = diag(D^T Sigma_k D)`` normalized."""
    values, vectors = np.linalg.eigh(previous)
    if np.min(values) <= 0:
        raise ValueError("previous covariances must be positive definite")
    best = 0
    if previous.shape[-1] > 1:
        gaps = np.min(np.diff(np.log(values), axis=1), axis=1)
        best = int(np.argmax(gaps))
    Dt = vectors[best].T
    diag = np.einsum("jl,klm,jm->kj", Dt, previous, Dt)
    log_diag = np.log(diag)
    shape = np.exp(log_diag - log_diag.mean(axis=1, keepdims=True))
    return Dt, shape


_STEPS = {
    "EII": _eii,
    "VII": _vii,
    "EEI": _eei,
    "VEI": _vei,
    "EVI": _evi,
    "VVI": _vvi,
    "EEE": _eee,
    "VEE": _vee,
    "EVE": _common_orientation,
    "VVE": _common_orientation,
    "EEV": _eev,
    "VEV": _vev,
    "EVV": _evv,
    "VVV": _vvv,
}
