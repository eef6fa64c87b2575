"""A whole run: the notebook's numbers, the files, the output folder rules, bad settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.mixture import GaussianMixture as SklearnGMM

from pcagmm import datasets, run
from pcagmm.errors import RunError
from pcagmm.model_file import load_model


def notebook(X, components=2, clusters=10, seed=42):
    """The course notebook's code, on the same rows (as float64, as the notebook has them)."""
    Z = SklearnPCA(n_components=components).fit_transform(np.asarray(X, dtype=np.float64))
    gmm = SklearnGMM(n_components=clusters, covariance_type="full", random_state=seed).fit(Z)
    stds = np.sqrt(np.array([np.diag(c) for c in gmm.covariances_]))
    return gmm, stds


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.slow
def test_default_run_equals_the_notebook_on_mnist(shared_mnist, tmp_path):
    result = run(folder=shared_mnist, out=tmp_path / "run", plots=True, report=True)  # the CLI's
    gmm, stds = notebook(datasets.load("mnist").X)
    assert result.gmm.n_iter_ == gmm.n_iter_
    assert relative(result.means, gmm.means_) < 1e-9
    assert relative(result.standard_deviations, stds) < 1e-9
    assert relative(result.gmm.weights_, gmm.weights_) < 1e-9
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert relative(np.array(summary["mixture"]["means"]), gmm.means_) < 1e-9
    assert summary["data"]["verified"] is True
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "cluster_means.png", "clusters.csv", "density.png", "gmm_clusters.png", "model.npz",
        "pca_scatter.png", "report.html", "summary.json", "uncertainty.png",
    ]  # fmt: skip


def test_digits_run_files_and_report(tmp_path):
    out = tmp_path / "digits-run"
    result = run("digits", clusters=10, out=out, figure_format="svg", plots=True)
    gmm, stds = notebook(datasets.load("digits").X)
    assert relative(result.means, gmm.means_) < 1e-9
    assert relative(result.standard_deviations, stds) < 1e-9
    report = result.report()
    for text in ("Means of the clusters", "Standard deviations of the clusters", "weight",
                 "adjusted Rand index", "Time", "pca_scatter.svg"):  # fmt: skip
        assert text in report
    shown = result._repr_html_()  # the notebook view (tests/report/test_notebook_html.py)
    assert shown.startswith('<div class="pcagmm-view pcagmm-result">')
    assert "Means of the clusters" in shown
    rows = (out / "clusters.csv").read_text().splitlines()
    assert rows[0] == "cluster,weight,mean_pc1,mean_pc2,std_pc1,std_pc2"
    assert len(rows) == 11
    assert float(rows[1].split(",")[2]) == pytest.approx(result.means[0, 0], rel=1e-15)
    model = load_model(out / "model.npz")
    np.testing.assert_array_equal(model.gmm.predict(model.pca.transform(result.dataset.X)),
                                  result.clusters)  # fmt: skip
    assert model.image_shape == (8, 8)
    for name in ("pca_scatter.svg", "gmm_clusters.svg", "cluster_means.svg"):
        assert (out / name).read_text().startswith("<?xml")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["clusters"] == 10
    assert set(summary["metrics"]) >= {"adjusted_rand_index", "matched_accuracy"}
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == ["digits-run"]


def test_run_without_labels_or_images(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", np.vstack([rng.normal(c, size=(60, 4)) for c in (0, 6)]))
    result = run(tmp_path / "x.npy", clusters=2, out=tmp_path / "out", plots=True, report=True)
    assert result.agreement is None
    assert result.files == ["pca_scatter.png", "gmm_clusters.png", "uncertainty.png",
                            "density.png", "clusters.csv", "model.npz", "report.html",
                            "summary.json"]  # fmt: skip


def test_one_component_runs_without_the_scatter_plots(tmp_path):
    result = run("digits", components=1, clusters=3, out=tmp_path / "one", plots=True)
    assert result.files[0] == "cluster_means.png"
    assert "pca_scatter.png" not in result.files


def test_output_folder_rules(tmp_path):
    out = tmp_path / "run"
    run("digits", out=out, plots=False)
    run("digits", out=out, plots=False)  # the same run again: replaced
    with pytest.raises(RunError, match="already holds a different run.*force=True"):
        run("digits", clusters=3, out=out, plots=False)
    run("digits", clusters=3, out=out, plots=False, force=True)
    assert json.loads((out / "summary.json").read_text())["config"]["clusters"] == 3
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="exists and is not a pcagmm run folder"):
        run("digits", out=tmp_path / "other", plots=False)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(RunError, match="is a file, not a folder"):
        run("digits", out=tmp_path / "a-file", plots=False)
    with pytest.raises(RunError, match="cannot write the output folder"):
        run("digits", out=tmp_path / "a-file" / "run", plots=False)


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    from pcagmm import model_file

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(model_file, "save_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run("digits", out=tmp_path / "runs" / "run", plots=False)
    assert list((tmp_path / "runs").iterdir()) == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(components=0), "^components must be a positive whole number.*components=2"),
        (dict(components=1000), r"^components=1000 is more than digits allows .*64"),
        (dict(clusters=0), "^clusters must be a positive whole number"),
        (dict(clusters=5000), "^clusters=5000 is more than the 1797 rows"),
        (dict(n_init=0), "^n_init must be a positive whole number"),
        (dict(covariance_type="round"), "unknown covariance type 'round'"),
        (dict(figure_format="gif"), "unknown figure format 'gif'"),
        (dict(max_iter=-1), "^max_iter must be.*max_iter=100"),
        (dict(tol=-1.0), "^tol must be"),
        (dict(tol=float("nan")), "^tol must be"),
        (dict(reg_covar=-1.0), "^reg_covar must be a number >= 0"),
        (dict(seed=-1), "^seed must be a whole number from 0"),
    ],
)
def test_bad_settings(tmp_path, settings, message):
    # the Python API names parameters as Python spells them (the command line: flags)
    with pytest.raises(RunError, match=message):
        run("digits", out=tmp_path / "run", **settings)
    assert not (tmp_path / "run").exists()
