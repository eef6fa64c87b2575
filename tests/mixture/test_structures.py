"""mclust's fourteen covariance structures in GaussianMixture and the selection sweep,
checked against R's mclust itself (tests/mclust_r.py): whole EM fits (``me``), the
model-selection table (``Mclust``), parameter counts; and what only pcagmm does with
them (streamed fits, the sweep's shared tree), and the bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mclust_r import run_mclust
from pcagmm import GaussianMixture
from pcagmm.mixture import hierarchical, kernels
from pcagmm.mixture.covariance import (
    MCLUST_NAMES,
    SCIKIT_LEARN_TWINS,
    InnerConvergenceWarning,
    covariance_type,
)
from pcagmm.mixture.selection import GaussianMixtureSelection

#: mclust's settings in Mclust(): its hierarchical start, its stopping rule and tolerance,
#: no regularisation, and no iteration limit to speak of
AS_MCLUST = dict(
    init_params="hierarchical", stopping="relative", tol=1e-5, reg_covar=0.0, max_iter=100_000
)


def relative(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def three_groups(seed=0, n=300, d=3):
    """Three Gaussian groups of unequal size, spread and orientation."""
    rng = np.random.default_rng(seed)
    sizes = (n // 2, n // 3, n - n // 2 - n // 3)
    parts = []
    for size, centre in zip(sizes, (0.0, 6.0, -6.0), strict=True):
        A = rng.normal(size=(d, d)) * rng.uniform(0.5, 1.5)
        parts.append(centre + rng.normal(size=(size, d)) @ A)
    X = np.vstack(parts)
    return X[rng.permutation(len(X))]


# ----------------------------------------------------------------------------- the table


def test_scikit_learns_four_are_their_mclust_twins():
    for name, twin in SCIKIT_LEARN_TWINS.items():
        assert covariance_type(name) is covariance_type(twin)
    X = three_groups()
    full = GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    vvv = GaussianMixture(3, covariance_type="VVV", random_state=0).fit(X)
    np.testing.assert_array_equal(full.covariances_, vvv.covariances_)


def test_an_unknown_name_lists_the_fourteen_and_the_four_aliases():
    with pytest.raises(ValueError) as raised:
        GaussianMixture(2, covariance_type="VVX").fit(three_groups())
    message = str(raised.value)
    for name in MCLUST_NAMES:
        assert name in message
    for name, twin in SCIKIT_LEARN_TWINS.items():
        assert f"{name} (= {twin})" in message


def test_parameter_counts_are_mclusts(tmp_path):
    """Against R's nMclustParams for every structure, G = 1..4, d = 2..5 (the BIC's p)."""
    got = run_mclust(
        """
        models <- c("EII","VII","EEI","VEI","EVI","VVI","EEE","VEE","EVE","VVE","EEV","VEV",
                    "EVV","VVV")
        counts <- sapply(models, function(m) as.vector(outer(1:4, 2:5,
            Vectorize(function(G, d) nMclustParams(m, d, G)))))
        out("counts", counts)
        """,
        tmp_path,
    )["counts"]
    for j, name in enumerate(MCLUST_NAMES):
        ours = [kernels.n_parameters(G, d, name) for d in range(2, 6) for G in range(1, 5)]
        assert ours == got[:, j].astype(int).tolist(), name


# ----------------------------------------------------------------------------- the tied start


def test_a_tied_start_from_some_rows_sums_only_those_rows():
    """The hierarchical start assigns its subset of rows only. EEE's (tied's) covariance
    of that start is the pooled scatter of the assigned rows about their components'
    means (mclust's mstep on the subset); it used to sum every row's outer products,
    as if every row were assigned, and put all components on top of each other."""
    rng = np.random.default_rng(1)
    U = rng.normal(size=(50, 2)) * [3.0, 1.0]
    labels = np.full(50, -1)
    labels[:20] = np.arange(20) % 2
    resp = np.zeros((50, 2))
    resp[np.arange(20), labels[:20]] = 1.0
    sums = kernels.weighted_sums(U, resp, None, "tied")
    _, means, covariance = kernels.parameters_from_sums(sums, np.zeros(2), 0.0, "EEE")
    rows = U[:20]
    scatter = sum(
        (rows[labels[:20] == k] - means[k]).T @ (rows[labels[:20] == k] - means[k])
        for k in range(2)
    )
    np.testing.assert_allclose(covariance, scatter / 20, rtol=1e-12)


def test_the_tied_hierarchical_start_finds_separated_groups():
    """The bug of issue 26: four groups 40 apart, 12,000 rows (the start agglomerates
    2,000): tied from the hierarchical start stopped after 3 passes with every mean near
    the centre; now each mean is within 0.2 of its group's centre."""
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [40, 0], [0, 40], [40, 40]], dtype=float)
    X = np.vstack([c + rng.normal(size=(3000, 2)) for c in centres])
    for kind in ("tied", "EEE"):
        gmm = GaussianMixture(4, covariance_type=kind, init_params="hierarchical", random_state=0)
        means = gmm.fit(X).means_
        nearest = np.abs(means[:, None, :] - centres[None]).max(axis=2).min(axis=0)
        assert nearest.max() < 0.2, (kind, means)


# ----------------------------------------------------------------------------- against mclust


_ME_SCRIPT = """
models <- c("EII","VII","EEI","VEI","EVI","VVI","EEE","VEE","EVE","VVE","EEV","VEV",
            "EVV","VVV")
z <- unmap(classes)
for (m in models) {
  fit <- me(modelName = m, data = X, z = z)
  if (is.na(fit$loglik)) { out(paste0(m, "_loglik"), NA_real_); next }
  out(paste0(m, "_loglik"), fit$loglik)
  out(paste0(m, "_iterations"), attr(fit, "info")[1])
  out(paste0(m, "_mean"), fit$parameters$mean)
  out(paste0(m, "_sigma"), fit$parameters$variance$sigma)
  out(paste0(m, "_pro"), fit$parameters$pro)
}
"""


def _fit_from_classes(X, classes, name):
    """Our EM from the hard classes ``classes`` (0-based), mclust's way."""
    K = int(classes.max()) + 1
    resp = np.eye(K)[classes]
    sums = kernels.weighted_sums(X, resp, None, name)
    nk, means, covariances = kernels.parameters_from_sums(sums, np.zeros(X.shape[1]), 0.0, name)
    factor = kernels.precision_cholesky(covariances, name)
    precisions = kernels.precisions_from_cholesky(factor, name)
    gmm = GaussianMixture(
        K,
        covariance_type=name,
        weights_init=nk / nk.sum(),
        means_init=means,
        precisions_init=precisions,
        **{k: v for k, v in AS_MCLUST.items() if k != "init_params"},
    )
    return gmm


@pytest.mark.parametrize("seed", [0, 1])
def test_em_from_the_same_classes_equals_mclusts_me(tmp_path, seed):
    """Every structure's EM from the same hard classes as R's me(modelName, X, z):
    log-likelihood to 1e-8 relative, the same number of iterations, and the parameters
    to 1e-6 (what is left after EM stops on a relative change of 1e-5 is a point where
    tiny differences in the last iteration move the parameters by about the square root
    of the log-likelihood's rounding; measured agreement is reported by the assertion)."""
    X = three_groups(seed)
    classes = np.random.default_rng(seed).integers(0, 3, len(X))
    classes[:3] = [0, 1, 2]
    got = run_mclust(_ME_SCRIPT, tmp_path, X=X, classes=classes + 1.0)
    for name in MCLUST_NAMES:
        reference = got[f"{name}_loglik"][0]
        gmm = _fit_from_classes(X, classes, name)
        if np.isnan(reference):
            with pytest.raises(ValueError):
                gmm.fit(X)
            continue
        gmm.fit(X)
        log_likelihood = gmm.lower_bound_ * len(X)
        assert log_likelihood == pytest.approx(reference, rel=1e-8, abs=0), name
        assert gmm.n_iter_ == int(got[f"{name}_iterations"][0]), name
        sigma = np.moveaxis(got[f"{name}_sigma"], 2, 0)
        assert relative(gmm.means_, got[f"{name}_mean"].T) < 1e-6, name
        assert relative(_matrices(gmm), sigma) < 1e-6, name
        assert relative(gmm.weights_, got[f"{name}_pro"]) < 1e-6, name


def _matrices(gmm) -> np.ndarray:
    """The fitted covariances as (K, d, d) matrices, whatever their storage."""
    K, d = gmm.means_.shape
    return covariance_type(gmm.covariance_type).block(gmm.covariances_, K, d)


_MCLUST_BIC_SCRIPT = """
fit <- mclustBIC(X, G = 1:9)
stopifnot(identical(colnames(fit), c("EII","VII","EEI","VEI","EVI","VVI","EEE","VEE","EVE",
                                     "VVE","EEV","VEV","EVV","VVV")))
out("bic", matrix(as.vector(fit), nrow = 9))
best <- summary(fit, X)
out("best", c(match(best$modelName, colnames(fit)), best$G))
"""


def assert_same_table_as_mclust(X, folder):
    """``Mclust(X, G = 1:9)``'s BIC table (its sign: ``2 log L - p log n``) in every
    cell to 1e-6 relative, the same cells failed (NA), and the same chosen model."""
    got = run_mclust(_MCLUST_BIC_SCRIPT, folder, X=X)
    selection = GaussianMixtureSelection(
        range(1, 10), covariance_types="all", random_state=0, **AS_MCLUST
    ).fit(X)
    ours = np.full((9, 14), np.nan)
    for row in selection.results_:
        if row["status"] == "ok":
            j = MCLUST_NAMES.index(row["covariance_type"])
            ours[row["n_components"] - 1, j] = -row["bic"]
    reference = got["bic"]
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference))
    both = ~np.isnan(reference)
    np.testing.assert_allclose(ours[both], reference[both], rtol=1e-6)
    model, G = got["best"].astype(int)
    assert selection.best_params_ == {
        "n_components": G,
        "covariance_type": MCLUST_NAMES[model - 1],
    }


@pytest.mark.parametrize("seed, d", [(0, 2), (1, 3)])
def test_the_selection_table_equals_mclusts_on_generated_data(tmp_path, seed, d):
    assert_same_table_as_mclust(three_groups(seed, n=400, d=d), tmp_path)


@pytest.mark.slow
def test_the_selection_table_equals_mclusts_on_an_mnist_sample(tmp_path, shared_mnist):
    """2,000 rows of MNIST PCA-2 (mclust agglomerates every row at this size)."""
    from pcagmm import PCA, datasets

    X = datasets.load("mnist", folder=shared_mnist).X
    rows = np.random.default_rng(0).choice(len(X), 2000, replace=False)
    Z = PCA(2).fit(X).transform(X[np.sort(rows)])
    assert_same_table_as_mclust(Z, tmp_path)


# ----------------------------------------------------------------------------- pcagmm's own


@pytest.mark.parametrize("name", ["VEI", "EVE", "VEV", "EVV"])
def test_streamed_fits_equal_in_memory_ones(name, tmp_path):
    """The M-steps read only the per-component sums: a memory map in chunks of 97 rows
    gives the in-memory fit to 1e-9."""
    X = three_groups(2, n=2000, d=3)
    path = tmp_path / "rows.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    params = dict(covariance_type=name, random_state=0, tol=1e-6, **{"reg_covar": 0.0})
    ours = GaussianMixture(3, chunk_rows=97, **params).fit(mapped)
    reference = GaussianMixture(3, **params).fit(X)
    assert ours.n_iter_ == reference.n_iter_
    for attribute in ("weights_", "means_", "covariances_"):
        assert relative(getattr(ours, attribute), getattr(reference, attribute)) < 1e-9


def test_the_sweep_agglomerates_once_and_cuts_the_tree_at_every_k(monkeypatch):
    """One hierarchical tree per data set in a sweep of K = 1..5 x 3 structures."""
    built = []
    original = hierarchical.hierarchical_tree

    def counting(*args, **kwargs):
        built.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(hierarchical, "hierarchical_tree", counting)
    X = three_groups(3, n=500)
    GaussianMixtureSelection(
        range(1, 6), covariance_types=["EII", "VEV", "tied"], init_params="hierarchical",
        random_state=0, n_jobs=2,
    ).fit(X)  # fmt: skip
    assert len(built) == 1
    alone = GaussianMixture(4, covariance_type="VEV", init_params="hierarchical", random_state=0)
    selection = GaussianMixtureSelection(
        [4], covariance_types=["VEV"], init_params="hierarchical", random_state=0
    ).fit(X)
    np.testing.assert_array_equal(alone.fit(X).means_, selection.best_estimator_.means_)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["EEV", "VEV", "EVE", "VVE", "EVV", "VEE"])
def test_one_feature_with_an_orientation_is_refused(name):
    X = np.random.default_rng(0).normal(size=(50, 1))
    with pytest.raises(ValueError, match=f"{name}.*orientation.*EII or VII"):
        GaussianMixture(2, covariance_type=name).fit(X)


def test_an_inner_iteration_at_its_limit_warns_naming_the_structure_and_the_limit():
    with pytest.warns(InnerConvergenceWarning, match="VEV.*limit of 1 iterations"):
        GaussianMixture(3, covariance_type="VEV", inner_max_iter=1, random_state=0).fit(
            three_groups()
        )


def test_collapsed_components_are_a_failed_cell_not_a_traceback():
    """Two rows repeated: every structure beyond one component is singular without
    regularisation; the sweep records the cells as failed and keeps K = 1."""
    X = np.repeat(np.random.default_rng(0).normal(size=(3, 2)), 20, axis=0)
    X[:20] += np.random.default_rng(1).normal(size=(20, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selection = GaussianMixtureSelection(
            range(1, 4), covariance_types="all", reg_covar=0.0, random_state=0
        ).fit(X)
    failed = [row for row in selection.results_ if row["status"] != "ok"]
    assert failed and all(row["error"] for row in failed)


def test_mclust_cuts_the_needles_as_the_readme_says(tmp_path):
    """R's ``Mclust(X, G = 1:6, modelNames = "VVV")`` on the three needles of seeds 0, 1,
    2 (tests/mixture/test_hierarchical.py, which checks pcagmm's 4, 5, 3) chooses 4, 5
    and 3, and so does pcagmm's selection with mclust's settings."""
    from test_hierarchical import parallel_needles

    needles = {f"X{seed}": parallel_needles(seed) for seed in range(3)}
    got = run_mclust(
        """
        for (seed in 0:2) {
          fit <- Mclust(get(paste0("X", seed)), G = 1:6, modelNames = "VVV", verbose = FALSE)
          out(paste0("G", seed), fit$G)
        }
        """,
        tmp_path,
        **needles,
    )
    assert [int(got[f"G{seed}"][0]) for seed in range(3)] == [4, 5, 3]
    for seed in range(3):
        selection = GaussianMixtureSelection(
            range(1, 7), covariance_types="VVV", random_state=0, **AS_MCLUST
        ).fit(needles[f"X{seed}"])
        assert selection.best_params_["n_components"] == [4, 5, 3][seed]


def test_the_command_refuses_an_oriented_structure_on_one_component_in_one_line(tmp_path):
    from commandline import cli, one_line_error

    result = cli("run", "--dataset", "digits", "--components", "1", "--covariance-type",
                 "VEV", "--out", tmp_path / "out", "--no-plots", "--quiet")  # fmt: skip
    one_line_error(result, "--covariance-type VEV has an orientation", "--covariance-type EII")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (dict(inner_tol=-1.0), ValueError, "inner_tol must be >= 0.0, got -1.0"),
        (dict(inner_tol="tight"), TypeError, "inner_tol must be a number"),
        (dict(inner_max_iter=0), ValueError, "inner_max_iter must be an integer >= 1, got 0"),
        (dict(inner_max_iter=2.5), TypeError, "inner_max_iter must be an integer"),
    ],
)
def test_bad_inner_settings_name_the_parameter(options, error, message):
    with pytest.raises(error, match=message):
        GaussianMixture(2, covariance_type="VEV", **options).fit(three_groups())
