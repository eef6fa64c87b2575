"""``pcagmm select`` and ``pcagmm.workflow.selection.select``: the sweep, its files, the
chosen model's run folder, and one-line errors for bad settings."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SklearnGMM

from commandline import cli, one_line_error
from pcagmm import PCA, datasets
from pcagmm.errors import ParameterError, RunError
from pcagmm.model_file import load_model
from pcagmm.workflow.selection import SelectConfig, select


@pytest.fixture(scope="module")
def digits_sweep(tmp_path_factory):
    """A sweep over the bundled digits: D in (2, 3), K = 1..4, two covariance types."""
    out = tmp_path_factory.mktemp("select") / "digits"
    selection = select(
        "digits", clusters="1-4", covariance_types="full,diag", components=[3, 2], out=out
    )
    return selection, out


def test_the_sweep_equals_fits_on_the_prefix_projections(digits_sweep):
    """PCA once to the largest size; each size's cells equal scikit-learn's fits on the
    prefix of the projection (same seed, 1e-6)."""
    selection, _ = digits_sweep
    X = datasets.load("digits").X
    Z = PCA(3).fit(X).transform(X)
    cells = [(r["components"], r["n_components"], r["covariance_type"]) for r in selection.results]
    assert cells == [(D, K, kind) for D in (2, 3) for K in range(1, 5) for kind in ("full", "diag")]
    for row in selection.results:
        Z_D = Z[:, : row["components"]]
        reference = SklearnGMM(
            row["n_components"], covariance_type=row["covariance_type"], random_state=42
        ).fit(Z_D)
        assert row["bic"] == pytest.approx(reference.bic(Z_D), rel=1e-6)


def test_best_per_size_and_the_chosen_one(digits_sweep):
    selection, _ = digits_sweep
    for D in (2, 3):
        rows = [r for r in selection.results if r["components"] == D]
        best = [r for r in rows if r["best"]]
        assert best == [min(rows, key=lambda r: r["bic"])]
    chosen = selection.best
    assert chosen["components"] == 2 and chosen["best"]  # the first size given is 2
    assert selection.run.gmm.n_components == chosen["n_components"]
    assert selection.run.pca.n_components_ == 2


def test_the_files_say_what_was_fitted(digits_sweep):
    selection, out = digits_sweep
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "selection.png", "selection.csv", "selection.json", "pca_scatter.png",
        "gmm_clusters.png", "cluster_means.png", "uncertainty.png", "density.png",
        "clusters.csv", "model.npz", "report.html", "summary.json",
    ])  # fmt: skip
    record = json.loads((out / "selection.json").read_text())
    assert record["criterion"] == "bic" and record["chosen"] == selection.chosen
    assert record["results"] == json.loads(json.dumps(selection.results))
    assert record["config"]["analysis"] == "select"
    with open(out / "selection.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(selection.results)
    for row, result in zip(rows, selection.results, strict=True):
        assert float(row["bic"]) == result["bic"]  # repr: every digit
        assert row["best"] == str(result["best"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"] == record["config"]
    model = load_model(out / "model.npz")
    assert model.gmm.n_components == selection.best["n_components"]
    from PIL import Image

    assert Image.open(out / "selection.png").size[0] > 500


def test_the_report_marks_the_best(digits_sweep):
    selection, _ = digits_sweep
    text = selection.report()
    assert text.count("<- best") == 1 and text.count("<- chosen") == 1
    assert "Selection 16 models: K 1-4 x full, diag on PCA-2, 3, by BIC" in text
    assert "Agreement with the true labels" in text  # the chosen run's report follows


def test_the_same_sweep_replaces_its_folder_a_different_one_is_refused(tmp_path):
    out = tmp_path / "sweep"
    options = dict(clusters="1-2", covariance_types="diag", out=out, plots=False)
    select("digits", **options)
    select("digits", **options)  # the same sweep: replaced
    with pytest.raises(ParameterError, match="already holds a different run"):
        select("digits", **{**options, "clusters": "1-3"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(clusters="5-1"), "clusters=5-1 holds the inverted range 5-1; write the smaller"),
        (dict(clusters=""), "clusters is empty"),
        (dict(clusters="one"), "is not a list of whole numbers"),
        (dict(clusters=[0, 1]), "whole numbers >= 1"),
        (dict(components=2.5), "components must be whole numbers, got 2.5"),
        (dict(covariance_types="full,round"), "unknown covariance type 'round'"),
        (dict(criterion="mdl"), "unknown criterion 'mdl'"),
        (dict(init_params="magic"), "unknown start"),
        (dict(seed=-1), "seed must be a whole number"),
    ],
)
def test_bad_settings_in_python(options, message):
    with pytest.raises(ParameterError, match=message):
        SelectConfig.of("digits", **options)


def test_more_clusters_or_components_than_the_data_allow(tmp_path):
    with pytest.raises(ParameterError, match="clusters=5000 is more than the 1797 rows"):
        select("digits", clusters="1-5000", out=tmp_path / "a")
    with pytest.raises(ParameterError, match="components=65 is more than"):
        select("digits", components="2,65", out=tmp_path / "b")


def test_every_fit_failing_is_one_error(tmp_path):
    # every row is 0 in the second column: each component's variance there is exactly 0
    # on every processor, so with reg_covar=0 every fit fails (two tiled points leave
    # variances that are rounding, not 0, on some: tests/mixture/test_selection.py)
    X = np.column_stack([np.arange(30.0) % 7, np.zeros(30)])
    with pytest.raises(RunError, match=r"every one of the 2 fits on 2 components failed") as raised:
        select(X, clusters="2-3", covariance_types="full", reg_covar=0.0, write=False)
    assert "a larger reg_covar" in str(raised.value)  # Python's spelling; the CLI's is a flag


def test_the_command_prints_the_table_and_writes_the_files(tmp_path):
    out = tmp_path / "cli"
    result = cli("select", "--dataset", "digits", "--clusters", "1-3", "--covariance-types",
                 "full,spherical", "--out", out, "--no-plots")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "<- best" in result.stdout and "Best      on 2 components" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "clusters.csv", "model.npz", "report.html", "selection.csv", "selection.json",
        "summary.json",
    ]  # fmt: skip
    as_json = cli("select", "--dataset", "digits", "--clusters", "2", "--covariance-types",
                  "diag", "--out", tmp_path / "j", "--no-plots", "--json")  # fmt: skip
    record = json.loads(as_json.stdout)
    assert [r["n_components"] for r in record["results"]] == [2]
    assert record["files"][-1] == "summary.json"


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--clusters", "15-1"], ["--clusters 15-1 holds the inverted range", "--clusters 1-15"]),
        (["--clusters", ""], ["--clusters is empty"]),
        (["--covariance-types", "round"], ["unknown covariance type 'round'"]),
        (["--covariance-types", "EEI,VVX"],
         ["unknown covariance type 'VVX'", "full (= VVV)", "EII, VII, EEI", "EVV, VVV",
          "all (mclust's fourteen)"]),
        (["--components", "2,100"], ["--components 100 is more than"]),
        (["--clusters", "1-2000"], ["--clusters 2000 is more than the 1797 rows"]),
        (["--clusters", "2", "--covariance-types", "full", "--reg-covar", "0", "--data"],
         ["every one of the 1 fits", "--reg-covar"]),
    ],
)  # fmt: skip
def test_the_command_refuses_bad_settings_in_one_line(arguments, fragments, tmp_path):
    if arguments[-1] == "--data":  # a data set on which every full-covariance fit fails
        path = tmp_path / "collapsed.npy"
        np.save(path, np.tile([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]], (10, 1)))
        arguments = [*arguments, path]
    else:
        arguments = ["--dataset", "digits", *arguments]
    result = cli("select", *arguments, "--out", tmp_path / "out", "--no-plots", "--quiet")
    one_line_error(result, *fragments)


def test_an_unknown_criterion_is_refused_by_the_parser(tmp_path):
    result = cli("select", "--criterion", "mdl", "--out", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid choice: 'mdl'" in result.stderr


def test_progress_shows_fits_done_of_the_total():
    """The sweep reports each finished fit to a task whose total is the number of fits
    (the command line draws it as a bar with M/N and the time left)."""
    import contextlib

    from pcagmm.progress import Progress, Task

    tasks = []

    class Recording(Progress):
        @contextlib.contextmanager
        def task(self, description, total=None, unit=""):
            task = Task(total)
            tasks.append((description, task))
            yield task

    select("digits", clusters="1-3", covariance_types="full,diag", write=False,
           progress=Recording())  # fmt: skip
    fits = [task for description, task in tasks if description == "models fitted"]
    assert len(fits) == 1 and fits[0].total == 6 and fits[0].completed == 6


def test_all_of_mclusts_structures_in_the_table_and_the_figure(tmp_path):
    """``--covariance-types all``: the fourteen structures, each a line of selection.png in
    mclust's colour (read back from the figure's lines), every cell in the table."""
    from pcagmm.mixture.covariance import MCLUST_NAMES
    from pcagmm.report.selection_plot import MCLUST_STYLES, selection_figure

    out = tmp_path / "all"
    result = cli("select", "--dataset", "digits", "--clusters", "1-3", "--covariance-types",
                 "all", "--out", out, "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "selection.json").read_text())
    rows = record["results"]
    assert [r["covariance_type"] for r in rows[:14]] == list(MCLUST_NAMES)
    assert len(rows) == 42 and {r["n_components"] for r in rows} == {1, 2, 3}
    assert (out / "selection.png").stat().st_size > 0
    best = next(i for i, row in enumerate(rows) if row.get("best"))
    figure = selection_figure(rows, "bic", best)
    lines = {line.get_label(): line for line in figure.axes[0].lines if line.get_label()[0] != "_"}
    from matplotlib.colors import to_rgba

    for name, (colour, marker, _) in MCLUST_STYLES.items():
        assert to_rgba(lines[name].get_color()) == to_rgba(colour), name
        assert lines[name].get_marker() == marker, name
