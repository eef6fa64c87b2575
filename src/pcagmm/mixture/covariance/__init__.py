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

The modules: :mod:`.base` (the base class, the table, shared helpers),
:mod:`.scikit_types` (scikit-learn's full, tied, diag and spherical),
:mod:`.decomposition` (mclust's M-steps of ``lambda_k D_k A_k D_k^T``, closed and
iterative, as pure functions of the scatter matrices) and :mod:`.structures` (mclust's
fourteen structures on top: four are scikit-learn's types under their mclust names).

Adding a type: subclass :class:`CovarianceType`, implement the methods that raise
``NotImplementedError``, and call :func:`register`. The quadratic-feature methods
are optional (without them the E-step takes the direct route).
"""

from .base import (
    MCLUST_NAMES,
    NEGLIGIBLE_RESPONSIBILITY,
    QUADRATIC_FEATURES_MAX_D,
    SCIKIT_LEARN_TWINS,
    CovarianceType,
    IllConditionedError,
    choices,
    covariance_type,
    expand_all,
    ill_conditioned,
    names,
    register,
    unregister,
)
from .scikit_types import Diag, Full, Spherical, Tied
from .structures import InnerConvergenceWarning, InnerIteration, Structured

__all__ = [
    "MCLUST_NAMES",
    "NEGLIGIBLE_RESPONSIBILITY",
    "QUADRATIC_FEATURES_MAX_D",
    "SCIKIT_LEARN_TWINS",
    "CovarianceType",
    "Diag",
    "Full",
    "IllConditionedError",
    "InnerConvergenceWarning",
    "InnerIteration",
    "Spherical",
    "Structured",
    "Tied",
    "choices",
    "covariance_type",
    "expand_all",
    "ill_conditioned",
    "names",
    "register",
    "unregister",
]
