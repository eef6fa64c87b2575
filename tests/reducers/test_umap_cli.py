"""``--reducer umap`` on the command line: its one-line errors (RELIABILITY.md's UMAP
table), each before any data are read where the options alone are wrong."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from commandline import cli, one_line_error

pytest.importorskip("umap", reason="could not import 'umap' (pip install 'pcagmm[umap]')")

ABSENT = "/nonexistent/rows.npy"  # read only if the options pass


def test_too_few_neighbours_is_refused_before_the_data():
    result = cli("run", "--data", ABSENT, "--reducer", "umap", "--umap-neighbors", "1")
    one_line_error(result, "--umap-neighbors must be a whole number >= 2, got 1")


def test_a_negative_minimum_distance_is_refused_before_the_data():
    result = cli("run", "--data", ABSENT, "--reducer", "umap", "--umap-min-dist", "-0.5")
    one_line_error(result, "--umap-min-dist must be a number >= 0, got -0.5")


def test_select_takes_one_size_with_umap_before_the_data():
    result = cli("select", "--data", ABSENT, "--reducer", "umap", "--components", "2,3")
    one_line_error(result, "UMAP embedding is fitted for one size", "give one size")


def test_as_many_neighbours_as_rows_is_refused(tmp_path):
    np.save(tmp_path / "rows.npy", np.random.default_rng(0).normal(size=(60, 5)))
    result = cli("run", "--data", tmp_path / "rows.npy", "--reducer", "umap",
                 "--umap-neighbors", "60", "--out", tmp_path / "run")  # fmt: skip
    one_line_error(result, "--umap-neighbors 60 needs more than 60 rows", "choose at most 59")
    assert not (tmp_path / "run").exists()


BLOCKED = (
    "import sys; sys.modules['umap'] = None; sys.modules['pynndescent'] = None; "
    "from pcagmm.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_predict_with_a_umap_model_needs_no_umap_learn_for_a_few_rows(tmp_path):
    import pcagmm

    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 1, (100, 6)), rng.normal(8, 1, (100, 6))])
    result = pcagmm.run(X, reducer="umap", umap_neighbors=10, clusters=2, plots=False,
                        report=False, out=str(tmp_path / "run"))  # fmt: skip
    np.save(tmp_path / "new.npy", X[::20])
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED, "predict", "--model", tmp_path / "run" / "model.npz",
         tmp_path / "new.npy", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    import json

    clusters = [row["cluster"] for row in json.loads(done.stdout)]
    assert clusters == result.gmm.predict(result.reducer.transform(X[::20])).tolist()
