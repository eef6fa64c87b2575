"""``pcagmm run`` and ``pcagmm predict`` as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from test_cli import assert_one_line_error, pcagmm


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    result = pcagmm("run", "--dataset", "digits", "--out", out, "--json")
    return out, json.loads(result.stdout)


def test_run_prints_json_and_writes_files(digits_run):
    out, summary = digits_run
    assert summary["config"]["dataset"] == "digits"
    assert summary["mixture"]["n_iter"] >= 1
    assert len(summary["mixture"]["means"]) == 10
    assert sorted(summary["files"]) == sorted(p.name for p in out.iterdir())


def test_run_report_on_the_terminal(tmp_path):
    result = pcagmm("run", "--dataset", "digits", "--clusters", "4", "--no-plots",
                    "--out", tmp_path / "r")  # fmt: skip
    expected = ("Data      digits: 1,797 x 64 uint8", "Means of the clusters",
                "Standard deviations of the clusters", "adjusted Rand index", "Files")  # fmt: skip
    for text in expected:
        assert text in result.stdout


def test_quiet_run_prints_its_table_and_no_progress(tmp_path):
    """``--quiet`` means what its help says, "no progress or notes": the run's table is a
    result, printed on stdout as without it, and stderr stays empty (issue 25: it printed
    nothing at all)."""
    arguments = ("run", "--dataset", "digits", "--clusters", "4", "--no-plots", "--no-report")
    quiet = pcagmm(*arguments, "--out", tmp_path / "q", "--quiet")
    loud = pcagmm(*arguments, "--out", tmp_path / "l")
    assert quiet.stderr == ""
    untimed = [
        line.replace(str(tmp_path / "q"), "OUT")
        for line in quiet.stdout.splitlines()
        if not line.startswith("Time ")
    ]
    assert untimed == [
        line.replace(str(tmp_path / "l"), "OUT")
        for line in loud.stdout.splitlines()
        if not line.startswith("Time ")
    ]
    assert "Means of the clusters" in quiet.stdout
    assert "no progress or notes" in pcagmm("run", "--help").stdout


def test_predict_rows_of_a_file(digits_run, tmp_path):
    from sklearn.datasets import load_digits

    out, _ = digits_run
    X = load_digits().data[:5].astype(np.uint8)
    np.save(tmp_path / "five.npy", X)
    rows = json.loads(pcagmm("predict", "--model", out / "model.npz", tmp_path / "five.npy",
                             "--json").stdout)  # fmt: skip
    assert [r["row"] for r in rows] == ["0", "1", "2", "3", "4"]
    for row in rows:
        assert 0 <= row["cluster"] < 10
        assert row["probability"] == pytest.approx(max(row["probabilities"]), abs=1e-6)
        assert sum(row["probabilities"]) == pytest.approx(1, abs=1e-5)
    table = pcagmm("predict", "--model", out / "model.npz", tmp_path / "five.npy").stdout
    assert table.splitlines()[0].split() == ["row", "cluster", "probability", "matched", "label"]


def test_predict_png_images(digits_run, tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    out, _ = digits_run
    digits = load_digits()
    paths = []
    for i in range(3):
        ink = (digits.images[i] * 255 / 16).astype(np.uint8)
        picture = Image.fromarray(255 - ink).resize((64, 64), Image.Resampling.NEAREST)
        paths.append(tmp_path / f"digit{i}.png")
        picture.save(paths[-1])  # dark ink on white, larger than 8x8: resized and inverted
    rows = json.loads(pcagmm("predict", "--model", out / "model.npz", *paths, "--json").stdout)
    assert [r["row"] for r in rows] == ["digit0.png", "digit1.png", "digit2.png"]
    direct = json.loads(pcagmm("predict", "--model", out / "model.npz", "digits", "--json").stdout)
    assert [r["cluster"] for r in rows] == [direct[i]["cluster"] for i in range(3)]


def test_run_and_predict_errors(digits_run, tmp_path):
    out, _ = digits_run
    model = out / "model.npz"
    np.save(tmp_path / "wide.npy", np.zeros((2, 65)))
    (tmp_path / "broken.npz").write_bytes(model.read_bytes()[:200])
    (tmp_path / "notes.png").write_text("not a picture")
    cases = [
        (["run", "--dataset", "digits", "--clusters", "0"], "--clusters must be a positive"),
        (
            ["run", "--dataset", "digits", "--components", "1000"],
            "--components 1000 is more than digits allows",
        ),
        (["run", "--dataset", "digits", "--n-init", "0"], "--n-init must be a positive"),
        (["run", "--dataset", "digits", "--max-iter", "-1"], "give e.g. --max-iter 100"),
        (["run", "--dataset", "digits", "--reg-covar", "-1"], "--reg-covar must be a number"),
        (["run", "--dataset", "digits", "--seed", "-1"], "--seed must be a whole number"),
        (["run", "--covariance-type", "round"], "invalid choice: 'round'"),
        (["run", "--dataset", "digits", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (
            ["run", "--dataset", "digits", "--clusters", "3", "--out", out, "--no-plots"],
            "already holds a different run; choose another --out, or pass --force",
        ),
        (
            ["predict", "--model", model, tmp_path / "wide.npy"],
            "the input has 65 features per row but the model was fitted on 64",
        ),
        (["predict", "--model", tmp_path / "broken.npz", "digits"], "is not a readable model"),
        (["predict", "--model", tmp_path / "none.npz", "digits"], "does not exist"),
        (["predict", "--model", model, tmp_path / "notes.png"], "is not a readable PNG image"),
    ]
    for args, fragment in cases:
        assert_one_line_error(pcagmm(*args, check=False), fragment)


def test_predict_input_errors(tmp_path):
    from PIL import Image

    from pcagmm.predict import PredictError, predict

    rng = np.random.default_rng(0)
    np.save(tmp_path / "rows.npy", np.vstack([rng.normal(c, size=(40, 3)) for c in (0, 5)]))
    pcagmm("run", "--dataset", tmp_path / "rows.npy", "--clusters", "2", "--out", tmp_path / "r",
           "--quiet")  # fmt: skip
    model = tmp_path / "r" / "model.npz"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(PredictError, match="the model was not fitted on images"):
        predict(model, [tmp_path / "blank.png"])
    with pytest.raises(PredictError, match="more than one input that is not a PNG image"):
        predict(model, [tmp_path / "rows.npy", tmp_path / "rows.npy"])
    assert len(predict(model, tmp_path / "rows.npy")) == 80


def test_every_run_option_comes_from_the_config(tmp_path):
    result = pcagmm("run", "--dataset", "digits", "--clusters", "3", "--reg-covar", "0.5",
                    "--no-plots", "--out", tmp_path / "r", "--json")  # fmt: skip
    assert json.loads(result.stdout)["config"]["reg_covar"] == 0.5
    usage = pcagmm("run", "--help").stdout
    for flag in ("--dataset", "--data", "--components", "--clusters", "--covariance-type",
                 "--seed", "--n-init", "--tol", "--max-iter", "--reg-covar", "--out", "--format",
                 "--no-plots", "--force", "--from", "--label-column", "--dask"):  # fmt: skip
        assert flag in usage


def test_the_command_line_defaults_are_the_config_defaults():
    import dataclasses

    from pcagmm.cli import build_parser
    from pcagmm.cli.options import run_options
    from pcagmm.workflow import RunConfig

    fields = [f for f in dataclasses.fields(RunConfig) if f.metadata["cli"]]
    defaults = {f.name: f.metadata["cli_default"] for f in fields}
    assert run_options(build_parser().parse_args(["run"])) == defaults
    # the one difference: Python makes the figures and report.html when asked (None),
    # the command line with every run (so every folder it writes holds them)
    differ = {f.name: (f.default, f.metadata["cli_default"]) for f in fields
              if f.default != f.metadata["cli_default"]}  # fmt: skip
    assert differ == {"plots": (None, True), "report": (None, True)}
    given = build_parser().parse_args(["run", "--data", "x.npy", "--no-plots", "--format", "svg"])
    assert run_options(given) == {**defaults, "dataset": "x.npy", "plots": False,
                                  "figure_format": "svg"}  # fmt: skip
