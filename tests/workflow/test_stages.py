"""The stages alone, as a sweep or a study calls them: one PCA fit serves every smaller
projection, and the stages composed are what ``run`` does."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from pcagmm import datasets, run
from pcagmm.errors import ParameterError
from pcagmm.progress import rows_done
from pcagmm.workflow import RunConfig, stages
from pcagmm.workflow.artifacts import FIGURES
from pcagmm.workflow.timing import StageTimer


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def test_one_pca_fit_serves_every_smaller_projection(digits):
    projection = stages.project(digits.X, 5)
    for k in (1, 2, 4):
        fresh = stages.project(digits.X, k)
        leading = projection.leading(k)
        assert leading.components == k
        np.testing.assert_allclose(leading.Z, fresh.Z, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(leading.pca.components_, fresh.pca.components_, atol=1e-12)
    assert projection.leading(5) is projection


def test_the_stages_composed_are_a_run(digits):
    config = RunConfig("digits", components=3, clusters=4, seed=0, write=False)
    timer = StageTimer()
    dataset = stages.load(config, timer)
    stages.check(dataset, config)
    projection = stages.project(dataset.X, 6, timer=timer).leading(3)  # a sweep's one fit
    clustering = stages.cluster(projection, config, timer=timer)
    agreement = stages.evaluate(dataset, clustering.clusters, timer)
    assert list(timer.timings) == ["load", "pca", "mixture", "evaluation"]
    result = run("digits", components=3, clusters=4, seed=0, write=False)
    np.testing.assert_allclose(clustering.gmm.means_, result.means, rtol=1e-8, atol=1e-8)
    assert agreement.adjusted_rand == pytest.approx(result.agreement.adjusted_rand, abs=1e-9)


def test_the_check_stage_names_parameters(digits):
    with pytest.raises(ParameterError, match="^clusters=5000 is more than the 1797 rows"):
        stages.check(digits, RunConfig(digits, clusters=5000))


def test_a_timed_stage_counts_rows_for_its_bar():
    seen = []

    class Recorder:
        def task(self, description, total=None, unit=""):
            from pcagmm.progress import Progress

            seen.append((description, total, unit))
            return Progress().task(description, total, unit)

    timer = StageTimer(Recorder())
    with timer.stage("pca", "PCA", rows=100, passes=2):
        rows_done(100)
    with timer.stage("files", "writing"):
        pass
    assert seen == [("PCA", 200, "rows"), ("writing", None, "")]
    assert set(timer.timings) == {"pca", "files"} and timer.timings["pca"] >= 0


def test_run_and_the_config_share_their_defaults():
    parameters = inspect.signature(run).parameters
    for field in dataclasses.fields(RunConfig):
        assert parameters[field.name].default == field.default, field.name
    assert set(parameters) - {f.name for f in dataclasses.fields(RunConfig)} == {"progress"}


def test_the_recorded_config_keeps_its_keys(digits):
    assert RunConfig("digits").record == {
        "dataset": "digits", "components": 2, "clusters": 10, "covariance_type": "full",
        "seed": 42, "n_init": 1, "tol": 1e-3, "max_iter": 100, "reg_covar": 1e-6,
    }  # fmt: skip


def test_figures_are_a_table_of_named_functions():
    assert list(FIGURES) == [
        "pca_scatter", "gmm_clusters", "cluster_means", "uncertainty", "density", "weights",
    ]  # fmt: skip
    assert all(callable(draw) for draw in FIGURES.values())


def test_a_variant_of_a_config_is_validated_too():
    config = RunConfig("digits")
    assert dataclasses.replace(config, clusters=5).record["clusters"] == 5
    with pytest.raises(ParameterError, match="^clusters must be a positive whole number"):
        dataclasses.replace(config, clusters=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.clusters = 3
