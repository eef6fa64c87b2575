"""mclust's fourteen covariance M-steps (:mod:`pcagmm.mixture.covariance.decomposition`)
against R's mclust 6.0.0 itself.

One R run (module fixture) computes everything compared here: ``mstep`` of every
structure on four data sets, the iterative ones again under small iteration limits,
``me`` (whole EM runs) on two data sets, one EM iteration of ``me`` on three singular
data sets, and ``nVarParams``. Python computes the scatter matrices from the same
``X`` and ``z`` and calls :func:`structured_covariances`.

Tolerances. The closed forms do the same arithmetic as mclust in another order
(mclust accumulates the scatter by rotations or outer products, we are given it),
so they agree to rounding: 1e-12 relative (max abs error / max abs value), seen
below 1e-14. The iterative ones run the same iteration from the same start with
the same stopping test, so they must take the same number of inner iterations
(asserted) and then agree to rounding too: 1e-10, seen below 1e-14 (the 1e-8 that
the inner tolerance sqrt(eps) = 1.5e-8 would allow is only needed if the two
stopped at different iterations). One exception: EVE and VVE with one component,
where MM1's matrix ``F = A^-1 D^T (W - omega I)`` is singular, so the orientation's
sign in its null direction is set by rounding noise; mclust's own answer moves by
about 1e-7 under a 1e-16 perturbation of ``W``, so that case is held to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from mclust_r import run_mclust
from pcagmm.mixture.covariance.base import IllConditionedError
from pcagmm.mixture.covariance.decomposition import (
    ITERATIVE,
    MODELS,
    n_covariance_parameters,
    structured_covariances,
)

CLOSED_RTOL = 1e-12
ITERATIVE_RTOL = 1e-10
#: EVE and VVE with K = 1: MM1's F is singular (see the module doc)
RANK_DEFICIENT_RTOL = 1e-6
#: mclust's me: its outer tolerance emControl()$tol[1], and hold's start FLMAX / 2
ME_TOL = 1e-5
FLMAX = float(np.finfo(np.float64).max)

#: (seed, n, d, K, spread of the centres): mstep's data sets
MSTEP_CASES = {
    "three": (0, 300, 3, 3, 6.0),
    "plane": (1, 200, 2, 3, 6.0),
    "single": (2, 300, 3, 1, 6.0),
    "six": (3, 500, 6, 4, 6.0),
}
#: me's data sets: closer clusters, so that EM takes a few dozen iterations
ME_CASES = {
    "near": (10, 300, 3, 3, 2.0),
    "near_plane": (11, 200, 2, 3, 1.5),
}
#: iteration limits and inner tolerances tried on the "three" data set
LIMITS = (1, 2, 3)
TOLERANCES = (1e-3, 1e-10)


def _clusters(seed, n, d, K, spread):
    """Gaussian clusters of different sizes and orientations, and a soft ``z``: the
    true labels mixed with a fixed Dirichlet draw (rows sum to 1)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, spread, (K, d))
    labels = np.arange(n) % K
    X = np.empty((n, d))
    for k in range(K):
        rows = labels == k
        transform = rng.normal(size=(d, d)) * (0.5 + 0.3 * k)
        X[rows] = centres[k] + rng.normal(size=(rows.sum(), d)) @ transform
    z = 0.7 * np.eye(K)[labels] + 0.3 * rng.dirichlet(np.ones(K), n)
    return X, z


def _scatter(X, z):
    """``W_k = sum_i z_ik (x_i - mu_k)(x_i - mu_k)^T``, ``n_k`` and ``mu_k``."""
    n_k = z.sum(axis=0)
    means = (z.T @ X) / n_k[:, None]
    centred = X[None] - means[:, None]
    W = np.einsum("nk,kni,knj->kij", z, centred, centred)
    return W, n_k, means


def _singular_cases():
    """Data where some M-step is singular: (A) every column constant; (B) hard
    labels with one component of a single row; (C) one column constant."""
    X, z = _clusters(*MSTEP_CASES["three"])
    rng = np.random.default_rng(7)
    constant = np.tile([1.0, 2.0, 3.0], (60, 1))
    hard = np.eye(3)[z.argmax(axis=1)]
    rows = np.flatnonzero(hard[:, 2] == 1)
    hard[rows[1:]] = [1.0, 0.0, 0.0]
    flat = X.copy()
    flat[:, 2] = 5.0
    return {
        "A": (constant, rng.dirichlet(np.ones(2), 60)),
        "B": (X, hard),
        "C": (flat, z),
    }


def _sigma(value, d, K):
    """R's d x d x G array as (K, d, d)."""
    return np.asarray(value).reshape(d, d, K).transpose(2, 0, 1)


def _relative(ours, theirs):
    return np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))


def _r_vector(names):
    """An R character vector."""
    return "c(" + ", ".join(f'"{name}"' for name in names) + ")"


def _r_numbers(values):
    """An R numeric vector, exactly (``repr`` of a float reads back the same double)."""
    return "c(" + ", ".join(repr(float(value)) for value in values) + ")"


_R_CODE = f"""
models <- {_r_vector(MODELS)}
iterative <- {_r_vector(ITERATIVE)}
for (case in {_r_vector(MSTEP_CASES)}) {{
  X <- get(paste0("X_", case)); z <- get(paste0("z_", case))
  for (m in models) {{
    fit <- mstep(modelName = m, data = X, z = z)
    out(paste("mstep", case, m, sep = "_"), fit$parameters$variance$sigma)
    info <- attr(fit, "info")
    if (!is.null(info)) out(paste("inner", case, m, sep = "_"), info[1:2])
  }}
}}
X <- X_three; z <- z_three
tolerances <- {_r_numbers(TOLERANCES)}
for (m in iterative) for (lim in {_r_numbers(LIMITS)}) {{
  for (t in seq_along(tolerances)) {{
    tol <- tolerances[t]
    control <- emControl(itmax = c(100, lim), tol = c(1e-5, tol))
    fit <- suppressWarnings(mstep(modelName = m, data = X, z = z, control = control))
    key <- paste("limit", m, lim, t, sep = "_")
    out(key, fit$parameters$variance$sigma)
    out(paste0(key, "_info"), attr(fit, "info")[1:2])
  }}
}}
for (case in {_r_vector(ME_CASES)}) {{
  X <- get(paste0("X_", case)); z <- get(paste0("z_", case))
  for (m in models) {{
    fit <- me(modelName = m, data = X, z = z)
    out(paste("me", case, m, sep = "_"), fit$parameters$variance$sigma)
    out(paste("loglik", case, m, sep = "_"), fit$loglik)
    out(paste("iterations", case, m, sep = "_"), attr(fit, "info")[1])
  }}
}}
for (case in c("A", "B", "C")) {{
  X <- get(paste0("X_", case)); z <- get(paste0("z_", case))
  for (m in models) {{
    control <- emControl(itmax = c(1, .Machine$integer.max))
    fit <- suppressWarnings(me(modelName = m, data = X, z = z, control = control))
    out(paste("singular", case, m, sep = "_"), if (is.null(fit$loglik)) NA else fit$loglik)
  }}
}}
counts <- array(0, c(length(models), 5, 4))
for (i in seq_along(models)) for (d in 1:5) for (G in 1:4)
  counts[i, d, G] <- nVarParams(models[i], d, G)
out("nVarParams", counts)
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Every R result, by name, and the data sets they came from."""
    data = {name: _clusters(*case) for name, case in {**MSTEP_CASES, **ME_CASES}.items()}
    data.update(_singular_cases())
    arrays = {}
    for name, (X, z) in data.items():
        arrays[f"X_{name}"] = X
        arrays[f"z_{name}"] = z
    results = run_mclust(_R_CODE, tmp_path_factory.mktemp("mclust"), **arrays)
    return results, data


# ----------------------------------------------------------------------------- mstep


@pytest.mark.parametrize("model", MODELS)
def test_the_m_step_is_mclusts(reference, model):
    """Every structure, on every data set, gives mclust's ``mstep`` covariances."""
    results, data = reference
    for case in MSTEP_CASES:
        X, z = data[case]
        W, n_k, _ = _scatter(X, z)
        K, d = len(n_k), X.shape[1]
        theirs = _sigma(results[f"mstep_{case}_{model}"], d, K)
        ours = structured_covariances(model, W, n_k)
        assert ours.covariances.shape == (K, d, d)
        if model in ITERATIVE:
            iterations, _ = results[f"inner_{case}_{model}"]
            assert ours.n_iter == abs(iterations), (case, ours.n_iter, iterations)
            assert ours.converged
            rtol = RANK_DEFICIENT_RTOL if (K == 1 and model in ("EVE", "VVE")) else ITERATIVE_RTOL
        else:
            assert (ours.n_iter, ours.converged) == (0, True)
            rtol = CLOSED_RTOL
        assert _relative(ours.covariances, theirs) <= rtol, (case, model)


@pytest.mark.parametrize("model", ITERATIVE)
def test_inner_limits_and_tolerances_are_mclusts(reference, model):
    """Under an iteration limit of 1 to 3 and a loose or tight inner tolerance, the
    inner iteration stops where mclust's does (VEI's routines allow max_iter + 1
    iterations), reports what it reached, and gives the same covariances."""
    results, data = reference
    X, z = data["three"]
    W, n_k, _ = _scatter(X, z)
    K, d = len(n_k), X.shape[1]
    for limit in LIMITS:
        for t, tol in enumerate(TOLERANCES, start=1):
            key = f"limit_{model}_{limit}_{t}"
            iterations, error = results[f"{key}_info"]
            ours = structured_covariances(model, W, n_k, tol=tol, max_iter=limit)
            assert ours.n_iter == abs(iterations), (limit, tol, ours.n_iter, iterations)
            assert ours.n_iter <= limit + (model == "VEI")
            assert ours.converged == bool(error <= tol), (limit, tol, error)
            theirs = _sigma(results[key], d, K)
            assert _relative(ours.covariances, theirs) <= ITERATIVE_RTOL, (limit, tol)


# ----------------------------------------------------------------------------- me


def _em(model, X, z, *, warm):
    """mclust's ``me``: an M-step from ``z``, then an E-step giving the
    log-likelihood of those parameters, until ``|hold - hood| / (1 + |hood|) <=
    1e-5`` with ``hold`` starting at FLMAX / 2. ``warm`` passes each M-step's
    covariances to the next (the state me carries); otherwise every M-step starts
    afresh, as mclust's mstep does."""
    n = len(X)
    hold, previous, iteration = FLMAX / 2, None, 0
    while True:
        iteration += 1
        W, n_k, means = _scatter(X, z)
        result = structured_covariances(model, W, n_k, previous=previous if warm else None)
        previous = result.covariances
        log_joint = np.log(n_k / n) + np.column_stack(
            [multivariate_normal(means[k], previous[k]).logpdf(X) for k in range(len(n_k))]
        )
        log_row = logsumexp(log_joint, axis=1)
        hood = log_row.sum()
        z = np.exp(log_joint - log_row[:, None])
        err = abs(hold - hood) / (1.0 + abs(hood))
        hold = hood
        if err <= ME_TOL:
            return previous, hood, iteration


@pytest.mark.parametrize("model", MODELS)
def test_the_warm_start_reproduces_me(reference, model):
    """EM with ``previous`` = the last M-step's covariances is mclust's ``me``: the
    same iterations, log-likelihood and covariances. The outer loop's rounding (our
    E-step is scipy's) is the only difference, so 1e-10 for the log-likelihood and
    1e-8 for the covariances hold with room (seen: 1e-15 and 1e-14)."""
    results, data = reference
    for case in ME_CASES:
        X, z = data[case]
        K, d = z.shape[1], X.shape[1]
        sigma, loglik, iterations = _em(model, X, z, warm=True)
        theirs = results[f"loglik_{case}_{model}"][0]
        assert iterations == results[f"iterations_{case}_{model}"][0], case
        assert abs(loglik - theirs) <= 1e-10 * abs(theirs), case
        assert _relative(sigma, _sigma(results[f"me_{case}_{model}"], d, K)) <= 1e-8, case


@pytest.mark.parametrize("model", ["EVE", "VVE"])
def test_a_cold_start_would_not_be_me(reference, model):
    """The warm start matters: restarting EVE's and VVE's orientation and shapes at
    every M-step (mclust's mstep) ends far from what me gives (seen: 3e-5), so the
    test above does test the carried state."""
    results, data = reference
    X, z = data["near"]
    K, d = z.shape[1], X.shape[1]
    sigma, _, _ = _em(model, X, z, warm=False)
    assert _relative(sigma, _sigma(results[f"me_near_{model}"], d, K)) > 1e-7


def test_vee_and_the_closed_forms_ignore_previous(reference):
    """mclust's mevee restarts its volumes at every M-step; the closed forms have no
    state: ``previous`` changes nothing for them."""
    _, data = reference
    W, n_k, _ = _scatter(*data["three"])
    other = structured_covariances("VVV", W * 1.7, n_k).covariances
    for model in MODELS:
        if model in ITERATIVE and model != "VEE":
            continue
        fresh = structured_covariances(model, W, n_k)
        warm = structured_covariances(model, W, n_k, previous=other)
        np.testing.assert_array_equal(warm.covariances, fresh.covariances)
        assert warm.n_iter == fresh.n_iter


def test_previous_carries_the_whole_state(reference):
    """The state recovered from ``previous`` is the one the iteration had: a runs of
    a and then b inner iterations (the second from the first's covariances) are one
    run of a + b (VEI's routines take one more than their limit each time)."""
    _, data = reference
    W, n_k, _ = _scatter(*data["six"])
    a, b = 3, 4
    for model in ("VEI", "VEV", "EVE", "VVE"):
        extra = int(model == "VEI")
        first = structured_covariances(model, W, n_k, tol=0.0, max_iter=a)
        second = structured_covariances(
            model, W, n_k, previous=first.covariances, tol=0.0, max_iter=b
        )
        whole = structured_covariances(model, W, n_k, tol=0.0, max_iter=a + b + extra)
        assert first.n_iter + second.n_iter == whole.n_iter == a + b + 2 * extra, model
        assert not whole.converged
        assert _relative(second.covariances, whole.covariances) <= 1e-12, model


# ----------------------------------------------------------------------------- singular


def test_singular_m_steps_raise_where_me_fails(reference):
    """The function raises exactly where one EM iteration of mclust's me returns NA:
    constant data for every structure; a one-row component for the structures with a
    volume or shape of their own (VVV, EVV, ...) but not for the pooled ones (EII,
    EEI, EEE, EEV); one constant column for all but the spherical ones."""
    results, data = reference
    raised = {}
    for case in ("A", "B", "C"):
        W, n_k, _ = _scatter(*data[case])
        for model in MODELS:
            try:
                structured_covariances(model, W, n_k)
            except IllConditionedError:
                raised[case, model] = True
            else:
                raised[case, model] = False
            singular = bool(np.isnan(results[f"singular_{case}_{model}"][0]))
            assert raised[case, model] == singular, (case, model)
    assert all(raised["A", model] for model in MODELS)
    assert raised["B", "VVV"] and raised["B", "EVV"]
    assert not any(raised["B", model] for model in ("EII", "EEI", "EEE", "EEV"))
    assert not any(raised["C", model] for model in ("EII", "VII"))
    assert all(raised["C", model] for model in MODELS if model not in ("EII", "VII"))


def test_a_tiny_count_is_singular():
    W = np.stack([np.eye(2), np.eye(2)])
    for model in MODELS:
        with pytest.raises(IllConditionedError):
            structured_covariances(model, W, np.array([10.0, 1e-9]))


# ----------------------------------------------------------------------------- the rest


def test_the_parameter_count_is_nvarparams(reference):
    results, _ = reference
    counts = results["nVarParams"]
    for i, model in enumerate(MODELS):
        for d in range(1, 6):
            for G in range(1, 5):
                ours = n_covariance_parameters(model, G, d)
                assert isinstance(ours, int)
                assert ours == counts[i, d - 1, G - 1], (model, d, G)


def test_wrong_arguments_are_refused():
    W, n_k = np.stack([np.eye(2)] * 2), np.array([5.0, 5.0])
    with pytest.raises(ValueError, match="EII, VII, EEI"):
        structured_covariances("XYZ", W, n_k)
    with pytest.raises(ValueError, match="VVV"):
        n_covariance_parameters("full", 2, 2)
    with pytest.raises(ValueError, match="scatter"):
        structured_covariances("VVV", np.eye(2), n_k)
    with pytest.raises(ValueError, match="counts"):
        structured_covariances("VVV", W, np.ones(3))
    with pytest.raises(ValueError, match="previous"):
        structured_covariances("VEI", W, n_k, previous=np.eye(2))
    with pytest.raises(ValueError, match="max_iter"):
        structured_covariances("VEI", W, n_k, max_iter=0)
