"""GaussianMixtureSelection: every cell against scikit-learn, ICL against its definition,
the choice on mixtures of known K, failed cells, bad settings, threads and Dask."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGMM

from pcagmm import GaussianMixture, GaussianMixtureSelection
from pcagmm.mixture.selection import RESULT_COLUMNS, information_criteria

TYPES = ("full", "tied", "diag", "spherical")
#: the issue's tolerance for the log-likelihood, BIC and AIC of a cell against scikit-learn
RELATIVE = 1e-6


def blobs(rng, centres, sizes, scale=1.0, d=2):
    """Gaussian blobs around ``centres`` (rows of a K x d array) with ``sizes`` rows."""
    parts = [c + scale * rng.standard_normal((n, d)) for c, n in zip(centres, sizes, strict=True)]
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return np.concatenate(parts), labels


def sklearn_cell(Z, K, kind, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SklearnGMM(K, covariance_type=kind, random_state=seed).fit(Z)
    return model, model.score(Z) * len(Z), model.bic(Z), model.aic(Z)


def assert_cells_equal_sklearn(selection, Z, seed):
    for row in selection.results_:
        assert row["status"] == "ok", row
        model, log_likelihood, bic, aic = sklearn_cell(
            Z, row["n_components"], row["covariance_type"], seed
        )
        where = (row["n_components"], row["covariance_type"])
        assert row["log_likelihood"] == pytest.approx(log_likelihood, rel=RELATIVE), where
        assert row["bic"] == pytest.approx(bic, rel=RELATIVE), where
        assert row["aic"] == pytest.approx(aic, rel=RELATIVE), where
        assert row["n_iter"] == model.n_iter_, where
        assert row["converged"] == model.converged_, where
        assert row["n_parameters"] == model._n_parameters(), where


def test_every_cell_equals_sklearn_on_generated_data():
    rng = np.random.default_rng(3)
    Z, _ = blobs(rng, np.array([[0, 0, 0], [6, 0, 2], [0, 7, -3]]), [150, 220, 90], 1.5, d=3)
    selection = GaussianMixtureSelection(range(1, 5), random_state=7).fit(Z)
    assert [(r["n_components"], r["covariance_type"]) for r in selection.results_] == [
        (K, kind) for K in range(1, 5) for kind in TYPES
    ]
    assert_cells_equal_sklearn(selection, Z, 7)


@pytest.mark.slow
def test_every_cell_equals_sklearn_on_mnist_pca2(shared_mnist):
    from pcagmm import PCA, datasets

    X = datasets.load("mnist", folder=shared_mnist).X
    Z = PCA(2).fit(X).transform(X)
    selection = GaussianMixtureSelection(range(1, 7), random_state=42).fit(Z)
    assert len(selection.results_) == 24
    assert_cells_equal_sklearn(selection, Z, 42)


def test_icl_is_bic_plus_twice_the_entropy_of_the_hard_assignment():
    rng = np.random.default_rng(0)
    Z, _ = blobs(rng, np.array([[0, 0], [2.5, 0], [9, 9]]), [200, 200, 100])
    selection = GaussianMixtureSelection([2, 3, 4], covariance_types="full", random_state=1)
    selection.fit(Z)
    for row in selection.results_:
        gmm = GaussianMixture(row["n_components"], random_state=1).fit(Z)
        proba = gmm.predict_proba(Z)
        # the posterior of each row's assigned component, from the responsibilities
        entropy = -np.sum(np.log(proba[np.arange(len(Z)), proba.argmax(axis=1)]))
        assert row["icl"] == pytest.approx(gmm.bic(Z) + 2 * entropy, rel=1e-10)
        assert row["icl"] >= row["bic"]  # the entropy term is never negative
    # two overlapping blobs: ICL pays for their overlap more than BIC
    by_k = {row["n_components"]: row for row in selection.results_}
    assert by_k[3]["icl"] - by_k[3]["bic"] > by_k[2]["icl"] - by_k[2]["bic"]


def test_information_criteria_of_one_pass_equal_the_estimator_methods():
    rng = np.random.default_rng(5)
    Z, _ = blobs(rng, np.array([[0, 0], [5, 5]]), [300, 100])
    for kind in TYPES:
        gmm = GaussianMixture(2, covariance_type=kind, random_state=0).fit(Z)
        criteria = information_criteria(gmm, Z)
        log_likelihood = logsumexp(
            np.log(gmm.predict_proba(Z) + 1e-300) + gmm.score_samples(Z)[:, None], axis=1
        )
        assert criteria["log_likelihood"] == pytest.approx(gmm.score(Z) * len(Z), rel=1e-12)
        assert criteria["log_likelihood"] == pytest.approx(log_likelihood.sum(), rel=1e-9)
        assert criteria["bic"] == pytest.approx(gmm.bic(Z), rel=1e-12)
        assert criteria["aic"] == pytest.approx(gmm.aic(Z), rel=1e-12)


@pytest.mark.parametrize("criterion", ["bic", "icl"])
@pytest.mark.parametrize(
    ("name", "centres", "sizes", "scale"),
    [
        ("well separated", [[0, 0], [10, 0], [0, 10], [10, 10]], [200, 200, 200, 200], 1.0),
        ("unequal sizes", [[0, 0], [12, 0], [0, 12]], [800, 120, 40], 1.0),
    ],
)
def test_the_true_number_of_clusters_is_chosen(name, centres, sizes, scale, criterion):
    """On well-separated blobs (equal or very unequal sizes) BIC and ICL choose the true K,
    with every covariance type in the grid, for any seed."""
    rng = np.random.default_rng(11)
    Z, _ = blobs(rng, np.array(centres, dtype=float), sizes, scale)
    for seed in range(3):
        selection = GaussianMixtureSelection(range(1, 8), criterion=criterion, random_state=seed)
        selection.fit(Z)
        assert selection.best_params_["n_components"] == len(sizes), (name, seed)


def test_aic_overfits_where_bic_does_not():
    """AIC's penalty does not grow with n: on many rows of one elongated Gaussian it
    accepts extra components that BIC refuses (a documented property, checked here)."""
    rng = np.random.default_rng(2)
    Z = rng.standard_t(df=3, size=(4000, 2)) * [4.0, 1.0]  # heavy tails invite extra parts
    grid = dict(n_components=range(1, 6), covariance_types="full", random_state=0)
    bic = GaussianMixtureSelection(criterion="bic", **grid).fit(Z).best_params_["n_components"]
    aic = GaussianMixtureSelection(criterion="aic", **grid).fit(Z).best_params_["n_components"]
    assert aic >= bic


def test_best_is_the_lowest_criterion_and_inference_delegates():
    rng = np.random.default_rng(4)
    Z, _ = blobs(rng, np.array([[0, 0], [8, 1]]), [250, 150])
    selection = GaussianMixtureSelection(range(1, 4), random_state=3).fit(Z)
    values = [row["bic"] for row in selection.results_]
    assert selection.best_index_ == int(np.argmin(values))
    assert selection.best_score_ == min(values)
    best = selection.results_[selection.best_index_]
    assert selection.best_params_ == {
        "n_components": best["n_components"],
        "covariance_type": best["covariance_type"],
    }
    model = selection.best_estimator_
    assert model.n_components == best["n_components"]
    assert model.covariance_type == best["covariance_type"]
    np.testing.assert_array_equal(selection.predict(Z), model.predict(Z))
    np.testing.assert_array_equal(selection.predict_proba(Z), model.predict_proba(Z))
    assert selection.score(Z) == model.score(Z)
    assert selection.bic(Z) == pytest.approx(best["bic"], rel=1e-12)
    assert list(best) == list(RESULT_COLUMNS)


def test_threads_and_one_at_a_time_give_the_same_table():
    rng = np.random.default_rng(8)
    Z, _ = blobs(rng, np.array([[0, 0], [6, 0], [3, 5]]), [200, 200, 200])
    grid = dict(n_components=range(1, 5), random_state=0)
    one = GaussianMixtureSelection(n_jobs=1, **grid).fit(Z).results_
    two = GaussianMixtureSelection(n_jobs=2, **grid).fit(Z).results_
    for a, b in zip(one, two, strict=True):
        assert {k: v for k, v in a.items() if k != "time"} == {
            k: v for k, v in b.items() if k != "time"
        }


def test_progress_counts_every_fit():
    rng = np.random.default_rng(9)
    Z, _ = blobs(rng, np.array([[0, 0], [6, 0]]), [100, 100])
    seen = []
    GaussianMixtureSelection(3, covariance_types=["full", "diag"], random_state=0).fit(
        Z, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(i, 6) for i in range(1, 7)]


def collapsing_data():
    """Two blobs and 20 copies of one point: with reg_covar=0, a full-covariance component
    that takes only the copies has a zero covariance matrix."""
    rng = np.random.default_rng(1)
    Z, _ = blobs(rng, np.array([[0, 0], [10, 10]]), [60, 60])
    return np.concatenate([Z, np.tile([[-10.0, 10.0]], (20, 1))])


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on():
    Z = collapsing_data()
    selection = GaussianMixtureSelection(
        [1, 3], covariance_types=["full", "diag"], reg_covar=0.0, random_state=0
    ).fit(Z)
    by_cell = {(r["n_components"], r["covariance_type"]): r for r in selection.results_}
    assert [by_cell[1, kind]["status"] for kind in ("full", "diag")] == ["ok", "ok"]
    failed = by_cell[3, "full"]
    assert failed["status"] == "failed"
    assert "ill-defined empirical covariance" in failed["error"]
    assert np.isnan(failed["bic"]) and failed["n_iter"] is None
    assert selection.best_index_ != list(by_cell).index((3, "full"))


def test_every_cell_failing_is_one_error():
    """Every row is 0 in the second column: each component's variance there is exactly 0,
    whatever its responsibilities (0 times anything, summed, is 0 on every processor), so
    with reg_covar=0 every fit fails everywhere. (Two distinct points tiled did not: under
    OpenBLAS's Prescott kernel the diag fits' variances came out as rounding, 6e-17 to
    4e-16, not 0, and those fits went on.)"""
    Z = np.column_stack([np.arange(30.0) % 7, np.zeros(30)])
    with pytest.raises(ValueError, match=r"every one of the 2 fits failed .*reg_covar"):
        GaussianMixtureSelection([2], covariance_types=["full", "diag"], reg_covar=0.0).fit(Z)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(n_components=[]), "n_components is empty"),
        (dict(n_components="1-5"), "n_components must be an int or an iterable of ints"),
        (dict(n_components=[0, 2]), "n_components must be an integer >= 1"),
        (dict(n_components=[2, 2]), "repeats"),
        (dict(n_components=range(1, 500)), "n_samples >= n_components"),
        (dict(covariance_types="round"), "unknown covariance type 'round'"),
        (dict(covariance_types=[]), "covariance_types is empty"),
        (dict(criterion="mdl"), "unknown criterion 'mdl'; choose from bic, aic, icl"),
        (dict(init_params="magic"), "init_params must be one of"),
        (dict(tol=-1.0), "tol must be >= 0"),
    ],
)
def test_bad_settings_are_refused_before_any_fit(settings, message):
    Z = np.random.default_rng(0).standard_normal((100, 2))
    with pytest.raises((ValueError, TypeError), match=message):
        GaussianMixtureSelection(**settings).fit(Z)


def test_an_int_means_one_to_k_and_the_estimator_clones():
    Z = np.random.default_rng(0).standard_normal((200, 2))
    selection = GaussianMixtureSelection(3, covariance_types="diag", random_state=0).fit(Z)
    assert [r["n_components"] for r in selection.results_] == [1, 2, 3]
    copy = clone(selection)
    assert copy.get_params() == selection.get_params()
    assert not hasattr(copy, "results_")


def test_a_random_state_object_gives_every_cell_the_same_start():
    """A RandomState is turned into one seed per fit: every cell starts from it, so the
    table equals the one of that int seed."""
    Z, _ = blobs(np.random.default_rng(6), np.array([[0, 0], [6, 0]]), [100, 100])
    seed = int(np.random.RandomState(5).randint(np.iinfo(np.int32).max))
    drawn = GaussianMixtureSelection(3, random_state=np.random.RandomState(5)).fit(Z)
    given = GaussianMixtureSelection(3, random_state=seed).fit(Z)
    assert [r["bic"] for r in drawn.results_] == [r["bic"] for r in given.results_]


@pytest.mark.slow
def test_the_sweep_on_a_dask_cluster_equals_the_sweep_here():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(12)
    Z, _ = blobs(rng, np.array([[0, 0], [6, 0], [3, 5]]), [200, 200, 200])
    here = GaussianMixtureSelection(range(1, 4), random_state=0).fit(Z)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        there = GaussianMixtureSelection(range(1, 4), random_state=0, client=client).fit(Z)
        # the same rows again on the same cluster (the first sweep's rows released meanwhile)
        again = GaussianMixtureSelection(range(1, 4), random_state=0, client=client).fit(Z)
        assert [r["bic"] for r in again.results_] == [r["bic"] for r in there.results_]
    for a, b in zip(here.results_, there.results_, strict=True):
        assert a["bic"] == b["bic"] and a["n_iter"] == b["n_iter"]
    np.testing.assert_array_equal(there.predict(Z), here.predict(Z))


def test_the_hierarchical_start_finds_elongated_clusters_the_kmeans_start_misses():
    """Three long thin parallel clusters (standard deviations 50 and 1, 250 rows each,
    6 apart, drawn from seed 2): the selection by BIC over K = 1..6 finds K = 3 from
    mclust's hierarchical start and K = 1 from k-means. (From seeds 0 and 1 the
    hierarchical start chooses 4 and 5, as R's Mclust does: tests/mixture/test_hierarchical.py.)"""
    rng = np.random.RandomState(2)
    Z = np.concatenate([rng.normal(size=(250, 2)) * [50.0, 1.0] + [0.0, 6.0 * k] for k in range(3)])
    grid = dict(n_components=range(1, 7), covariance_types="full", random_state=0)
    chosen = {
        start: GaussianMixtureSelection(init_params=start, **grid).fit(Z).best_params_
        for start in ("hierarchical", "kmeans")
    }
    assert chosen["hierarchical"]["n_components"] == 3
    assert chosen["kmeans"]["n_components"] == 1
