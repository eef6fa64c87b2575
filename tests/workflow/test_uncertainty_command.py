"""``pcagmm run --uncertainty`` and ``pcagmm select --lrt``: the numbers in the table,
clusters.csv, summary.json and lrt.csv against the library functions that make them,
and one-line errors for bad settings."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import pcagmm
from commandline import cli, one_line_error
from pcagmm.mixture.bootstrap import bootstrap
from pcagmm.report.text import plus_minus

CENTRES = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 1.0], [4.0, 7.0, -1.0]])


@pytest.fixture(scope="module")
def three_groups(tmp_path_factory):
    """600 rows of three separated 3-D groups, saved as .npy."""
    rng = np.random.default_rng(0)
    X = CENTRES[rng.integers(0, 3, size=600)] + rng.normal(0, 1.0, size=(600, 3))
    path = tmp_path_factory.mktemp("uncertainty") / "three.npy"
    np.save(path, X)
    return path


@pytest.fixture(scope="module")
def uncertain_run(three_groups, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "three"
    result = cli(
        "run", "--data", three_groups, "--clusters", "3", "--uncertainty", "--bootstrap", "25",
        "--out", out, "--no-report", "--no-plots",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result, out


def test_the_table_shows_each_number_with_its_standard_error(uncertain_run):
    """Every cell of the two tables is ``value ± error`` with summary.json's estimate
    and standard error (as plus_minus formats them)."""
    result, out = uncertain_run
    summary = json.loads((out / "summary.json").read_text())
    block = summary["uncertainty"]
    assert block["resamples"] == 25 and block["kept"] + len(block["collapsed"]) == 25
    assert summary["config"]["uncertainty"] is True and summary["config"]["converge"] is True
    parameters = block["parameters"]
    text = result.stdout
    assert "Bootstrap 25 nonparametric resamples (seed 42)" in text
    for k in range(3):
        weight = parameters["weights"]
        assert plus_minus(weight["estimate"][k], weight["standard_error"][k]) in text
        for name in ("means", "standard_deviations"):
            values = parameters[name]
            for j in range(2):
                cell = plus_minus(values["estimate"][k][j], values["standard_error"][k][j])
                assert cell in text, (name, k, j, cell)
    np.testing.assert_allclose(
        parameters["means"]["estimate"], summary["mixture"]["means"], rtol=1e-12
    )


def test_the_files_hold_the_same_errors_as_a_bootstrap_of_the_fitted_model(
    uncertain_run, three_groups
):
    """clusters.csv's error columns equal summary.json's, and both equal a bootstrap made
    again by the library from the same rows, model and seed (1e-9 relative: the same
    refits in another process)."""
    _, out = uncertain_run
    summary = json.loads((out / "summary.json").read_text())
    parameters = summary["uncertainty"]["parameters"]
    with open(out / "clusters.csv") as handle:
        rows = list(csv.DictReader(handle))
    for k, row in enumerate(rows):
        assert float(row["weight_se"]) == parameters["weights"]["standard_error"][k]
        assert float(row["weight_lower"]) == parameters["weights"]["lower"][k]
        assert float(row["mean_pc2_upper"]) == parameters["means"]["upper"][k][1]
        assert float(row["std_pc1_se"]) == parameters["standard_deviations"]["standard_error"][k][0]
    result = pcagmm.run(np.load(three_groups), clusters=3, converge=True, write=False)
    again = bootstrap(result.gmm, result.Z, resamples=25, seed=42, converge=False)
    errors, ends = again.standard_errors(), again.intervals()
    for name in ("weights", "means", "standard_deviations"):
        np.testing.assert_allclose(parameters[name]["standard_error"], errors[name], rtol=1e-9)
        np.testing.assert_allclose(parameters[name]["lower"], ends[name][0], rtol=1e-9)
        np.testing.assert_allclose(parameters[name]["upper"], ends[name][1], rtol=1e-9)


def test_result_uncertainty_is_the_runs_bootstrap_or_a_new_one(three_groups):
    X = np.load(three_groups)
    result = pcagmm.run(X, clusters=3, uncertainty=True, bootstrap=12, write=False)
    assert result.uncertainty() is result.bootstrap
    assert result.uncertainty(12, "nonparametric", 42) is result.bootstrap
    # the same refits made again by the library function from the run's model and rows
    again = bootstrap(result.gmm, result.Z, resamples=12, seed=42, converge=False)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(again.values(name), result.bootstrap.values(name))
    weighted = result.uncertainty(8, "weighted")
    assert weighted is not result.bootstrap and weighted.kind == "weighted"
    assert weighted.estimate is result.gmm  # the run's model is the converged one


def test_a_run_that_stopped_early_is_first_run_to_convergence(three_groups):
    X = np.load(three_groups)
    result = pcagmm.run(X, clusters=3, max_iter=1, write=False)
    study = result.uncertainty(4)
    assert result.bootstrap is None and study.estimate is not result.gmm
    converged = pcagmm.run(X, clusters=3, converge=True, write=False)
    assert study.estimate.lower_bound_ == pytest.approx(converged.gmm.lower_bound_, abs=1e-9)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--bootstrap", "0"], ["--bootstrap must be a whole number of resamples >= 1", "got 0"]),
        (["--bootstrap", "-5"], ["--bootstrap", ">= 1"]),
    ],
)
def test_a_bad_number_of_resamples_is_a_one_line_error(three_groups, tmp_path, args, fragments):
    result = cli("run", "--data", three_groups, "--uncertainty", *args, "--out", tmp_path / "o")
    one_line_error(result, *fragments)
    assert not (tmp_path / "o").exists()


def test_an_unknown_kind_of_bootstrap_is_refused(three_groups, tmp_path):
    result = cli("run", "--data", three_groups, "--bootstrap-type", "jackknife")
    assert result.returncode == 2 and "invalid choice: 'jackknife'" in result.stderr


def test_python_refuses_bad_settings_naming_them():
    with pytest.raises(pcagmm.errors.ParameterError, match="bootstrap must be a whole number"):
        pcagmm.run(np.zeros((10, 2)), bootstrap=0)
    with pytest.raises(pcagmm.errors.ParameterError, match="unknown kind of bootstrap"):
        pcagmm.run(np.zeros((10, 2)), bootstrap_type="pb")


@pytest.fixture(scope="module")
def lrt_sweep(three_groups, tmp_path_factory):
    out = tmp_path_factory.mktemp("select") / "lrt"
    result = cli(
        "select", "--data", three_groups, "--clusters", "1-5", "--covariance-types", "full",
        "--lrt", "--lrt-bootstrap", "19", "--out", out, "--no-report", "--no-plots",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result, out


def test_select_lrt_stops_at_the_three_groups_and_writes_its_steps(lrt_sweep, three_groups):
    """On three separated groups the sequence rejects 1 and 2 (p = 1/20, the smallest
    19 replicates allow) and stops at 3; lrt.csv and selection.json hold the steps the
    library function gives on the same fits (the sweep's models, same seed)."""
    result, out = lrt_sweep
    assert "Supported 3 components: 4 are not supported against 3" in result.stdout
    with open(out / "lrt.csv") as handle:
        steps = list(csv.DictReader(handle))
    assert [int(s["n_components"]) for s in steps] == [1, 2, 3]
    assert [float(s["p_value"]) for s in steps[:2]] == [0.05, 0.05]
    assert float(steps[2]["p_value"]) > 0.05
    record = json.loads((out / "selection.json").read_text())["lrt"]
    assert record["supported"] == 3 and record["stopped"] is True
    assert record["resamples"] == 19 and len(record["steps"][0]["bootstrap"]) == 19
    for step, row in zip(record["steps"], steps, strict=True):
        assert step["statistic"] == float(row["statistic"])
        assert step["p_value"] == (1 + sum(b >= step["statistic"] for b in step["bootstrap"])) / 20


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["--lrt-bootstrap", "0"],
            ["--lrt-bootstrap must be a whole number", "--lrt-bootstrap 99"],
        ),
        (["--lrt-bootstrap", "many"], ["--lrt-bootstrap", "'many'"]),
        (["--lrt-level", "1"], ["--lrt-level must lie strictly between 0 and 1"]),
        (["--lrt-level", "-0.1"], ["--lrt-level"]),
    ],
)
def test_bad_lrt_settings_are_one_line_errors(three_groups, args, fragments):
    one_line_error(cli("select", "--data", three_groups, "--lrt", *args), *fragments)


def test_lrt_with_one_number_of_clusters_is_refused(three_groups, tmp_path):
    result = cli(
        "select", "--data", three_groups, "--clusters", "3", "--covariance-types", "full",
        "--lrt", "--out", tmp_path / "o",
    )  # fmt: skip
    one_line_error(result, "at least two consecutive numbers of clusters", "--clusters")


def test_a_negative_statistic_is_marked_as_a_local_optimum():
    """K + 1 components fitted below K (EM stopped in a worse optimum): the step is
    marked, since it says nothing about K."""
    from pcagmm.mixture.lrt import LikelihoodRatioTest, Step
    from pcagmm.report.selection import lrt_lines

    steps = [
        Step(1, 500.0, np.zeros(9), 0.1, 0, 1.0),
        Step(2, -12.5, np.zeros(9), 1.0, 0, 1.0),
    ]
    test = LikelihoodRatioTest("full", 0.05, 9, 0, steps, supported=1, stopped=True)
    lines = lrt_lines(test)
    assert lines[4].endswith(
        "<- the 3-component fit is below the 2-component one: a local optimum (try more --n-init)"
    )
    assert not lines[3].endswith(")")


def test_a_bootstrap_whose_refits_collapse_is_a_one_line_error(tmp_path):
    """A component of one far row: every resample gives it the weight of the times that
    row was drawn, and it needs 3 (d + 1); with too few refits left the run stops,
    naming what collapsed and what to change, and writes nothing."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, size=(200, 2)), [[1000.0, 1000.0]]])
    np.save(tmp_path / "outlier.npy", X)
    result = cli(
        "run", "--data", tmp_path / "outlier.npy", "--clusters", "2", "--uncertainty",
        "--bootstrap", "4", "--out", tmp_path / "out",
    )  # fmt: skip
    one_line_error(
        result,
        "3 of the 4 bootstrap refits collapsed (component 1 kept a weight of 1, less than "
        "the 3 rows (d + 1) a covariance needs), too few left for an error",
        "fit fewer --clusters, or a larger --reg-covar",
    )
    assert not (tmp_path / "out").exists()


def test_uncertainty_without_the_projection_says_how_to_bring_it_back(three_groups, tmp_path):
    """A Dask run without figures keeps the projection on the cluster (``Z`` None): the
    bootstrap cannot refit, and says which options bring it back."""
    pytest.importorskip("distributed")
    result = pcagmm.run(
        np.load(three_groups), clusters=3, dask="local", plots=False, report=False,
        out=tmp_path / "run",
    )  # fmt: skip
    assert result.Z is None
    with pytest.raises(ValueError, match="the projection stayed on the Dask cluster; run with"):
        result.uncertainty(3)
