"""mclust's fourteen covariance structures as covariance types.

Each component's covariance is ``Sigma_k = lambda_k D_k A_k D_k^T``: a volume
``lambda_k``, an orientation ``D_k`` (orthogonal) and a shape ``A_k`` (diagonal, of
determinant 1). mclust names a structure by three letters, for volume, shape and
orientation in that order: E (equal across components), V (varying) or I (the
identity). ``VVV`` is scikit-learn's "full", ``EEE`` its "tied", ``VVI`` its "diag"
and ``VII`` its "spherical": those four are registered here under their mclust names
on the same objects, so each pair has one implementation. The other ten are
:class:`Structured`: their covariances are stored as full ``(K, d, d)`` matrices (the
E-step, the ellipses, sampling and model files are those of "full"), and their
M-step is mclust's, from the per-component scatter matrices
(:mod:`.decomposition`), so it reads only the sums every row engine already makes.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from . import decomposition
from .base import _TABLE, MCLUST_NAMES, SCIKIT_LEARN_TWINS, register
from .scikit_types import Full


class InnerIteration(NamedTuple):
    """The tolerance and iteration limit of an iterative M-step (mclust's ``tol[2]``
    and ``itmax[2]`` of ``emControl()``)."""

    tol: float = decomposition.INNER_TOL
    max_iter: int = decomposition.INNER_MAX_ITER


class InnerConvergenceWarning(UserWarning):
    """An iterative M-step stopped at its iteration limit before its tolerance."""


class Structured(Full):
    """One of mclust's structures fitted by its own M-step, stored as matrices.

    Parameters
    ----------
    name : str
        The structure's three letters (one of :data:`decomposition.MODELS`).
    """

    def __init__(self, name: str):
        if name not in decomposition.MODELS:
            raise ValueError(f"no mclust structure {name!r}; choose from {MCLUST_NAMES}")
        self.name = name

    def n_covariance_parameters(self, K, d):
        return decomposition.n_covariance_parameters(self.name, K, d)

    def covariances(self, second, mass, nk, offsets, reg_covar):
        return self.m_step(second, mass, nk, offsets, reg_covar)

    def m_step(self, second, mass, nk, offsets, reg_covar, *, previous=None, inner=None):
        inner = InnerIteration() if inner is None else inner
        # the scatter about the new means, W_k = sum r (u - e)(u - e)^T (see Full)
        scatter = super().covariances(second, mass, nk, offsets, 0.0) * nk[:, None, None]
        if previous is not None and np.shape(previous) != scatter.shape:
            previous = None  # a start given in another shape: begin as mclust's mstep
        result = decomposition.structured_covariances(
            self.name,
            scatter,
            np.asarray(mass, dtype=np.float64),
            previous=previous,
            tol=inner.tol,
            max_iter=inner.max_iter,
        )
        if not result.converged:
            warnings.warn(
                f"the {self.name} M-step's inner iteration stopped at its limit of "
                f"{inner.max_iter} iterations before reaching its tolerance {inner.tol:g}; "
                "raise inner_max_iter (or inner_tol)",
                InnerConvergenceWarning,
                stacklevel=2,
            )
        covariances = result.covariances
        if reg_covar:
            d = covariances.shape[-1]
            covariances[:, np.arange(d), np.arange(d)] += reg_covar
        return covariances


def _register_family() -> None:
    for name in MCLUST_NAMES:
        twin = next((sk for sk, mc in SCIKIT_LEARN_TWINS.items() if mc == name), None)
        if twin is not None:
            register(_TABLE[twin], name)
        else:
            register(Structured(name))


_register_family()
