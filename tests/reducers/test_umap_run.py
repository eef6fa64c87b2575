"""A run with ``reducer="umap"``: its table, files, figures, report page and model file
all speak of the embedding, and the model places new rows without pickle."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import pcagmm
from page_reading import image_data
from pcagmm.model_file import load_model
from pcagmm.reducers import umap as umap_stage

pytest.importorskip("umap", reason="could not import 'umap' (pip install 'pcagmm[umap]')")


@pytest.fixture(scope="module")
def umap_run(tmp_path_factory):
    """A UMAP run fitted on a uniform sample of 400 of its 600 rows (the others placed)."""
    folder = tmp_path_factory.mktemp("umap-run")
    path = image_data(folder)
    saved = umap_stage.SAMPLE_ROWS
    umap_stage.SAMPLE_ROWS = 400
    try:
        result = pcagmm.run(
            str(path),
            reducer="umap",
            umap_neighbors=15,
            clusters=3,
            out=str(folder / "run"),
            plots=True,
            report=True,
        )
    finally:
        umap_stage.SAMPLE_ROWS = saved
    return result, folder / "run"


def test_the_run_clusters_the_embedding_and_says_so(umap_run):
    result, folder = umap_run
    assert result.reducer.name == "UMAP" and result.reducer.fitted_rows_.shape == (400,)
    assert result.gmm.n_init == 10  # UMAP's default number of starts
    assert result.agreement.adjusted_rand > 0.99  # three bright squares: found
    text = result.report()
    assert "UMAP      2 dimensions, 15 neighbours, min_dist 0, after PCA to 50" in text
    assert "fitted on a uniform sample of 400 of 600 rows" in text
    assert "cluster  weight    UMAP1    UMAP2" in text
    assert folder.name == "run"
    header = (folder / "clusters.csv").read_text().splitlines()[0]
    assert header == "cluster,weight,mean_umap1,mean_umap2,std_umap1,std_umap2"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["config"]["reducer"] == "umap" and summary["config"]["n_init"] == 10
    assert summary["config"]["umap_neighbors"] == 15
    assert summary["umap"] == {
        "components": 2,
        "neighbors": 15,
        "min_dist": 0.0,
        "pca_components": 50,
        "fitted_rows": 400,
        "sampled": True,
    }
    assert len(summary["pca"]["explained_variance_ratio"]) == 50


def test_the_default_folder_names_the_reducer():
    config = pcagmm.RunConfig("digits", reducer="umap")
    assert str(config.target) == "runs/digits-umap2-gmm10-full-seed42"
    assert str(pcagmm.RunConfig("digits").target) == "runs/digits-pca2-gmm10-full-seed42"


def test_the_figures_name_the_embeddings_axes_and_show_average_images(umap_run):
    result, _folder = umap_run
    scatter = result.plot_scatter().axes[0]
    assert (scatter.get_xlabel(), scatter.get_ylabel()) == ("UMAP 1", "UMAP 2")
    assert scatter.get_title() == "images.npy: UMAP projection"
    clusters = result.plot_clusters().axes[0]
    assert (clusters.get_xlabel(), clusters.get_ylabel()) == ("UMAP 1", "UMAP 2")
    means = result.plot_means()
    assert "average image (UMAP has no inverse)" in means._suptitle.get_text()
    X = np.asarray(result.dataset.X, dtype=float)
    drawn = [ax for ax in means.axes if ax.images]
    for k, ax in enumerate(drawn):
        expected = X[result.clusters == k].mean(axis=0).reshape(8, 8)
        np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), expected, rtol=1e-12)


def test_the_model_file_places_rows_as_the_run_did_without_pickle(umap_run):
    result, folder = umap_run
    with np.load(folder / "model.npz", allow_pickle=False) as archive:
        assert int(archive["format_version"]) == 2 and str(archive["reducer"]) == "umap"
    model = load_model(folder / "model.npz")
    reducer = model.reducer
    assert reducer.name == "UMAP" and model.pca.n_components_ == 50
    X = result.dataset.X
    np.testing.assert_array_equal(reducer.transform_fitted(X), result.Z)
    np.testing.assert_array_equal(reducer.transform(X[:50]), result.reducer.transform(X[:50]))
    others = np.setdiff1d(np.arange(600), reducer.fitted_rows_)
    np.testing.assert_array_equal(
        model.gmm.predict(reducer.transform(X[others])), result.clusters[others]
    )


def test_predict_on_a_umap_model_names_clusters(umap_run, tmp_path):
    from pcagmm.predict import predict

    result, folder = umap_run
    rows = np.asarray(result.dataset.X[:20])
    np.save(tmp_path / "new.npy", rows)
    predicted = predict(folder / "model.npz", tmp_path / "new.npy")
    expected = result.gmm.predict(result.reducer.transform(rows))
    assert [p["cluster"] for p in predicted] == expected.tolist()


def test_the_report_page_is_rebuilt_the_same_from_the_folder(umap_run):
    import test_html_page as page

    from pcagmm.workflow.html_report import rebuild

    _result, folder = umap_run
    own = (folder / "report.html").read_text()
    target = folder.parent / "rebuilt"
    shutil.copytree(folder, target)
    (target / "report.html").unlink()
    rebuild(target)
    rebuilt = (target / "report.html").read_text()
    a, b = page.page_meta(own), page.page_meta(rebuilt)
    assert [axis["name"] for axis in a["axes"]] == ["UMAP 1", "UMAP 2"]
    assert "UMAP to 2 dimensions" in a["title"]
    for name in ("clusters", "labels", "images", "axis0", "axis1"):
        assert page.page_blob(own, a, name) == page.page_blob(rebuilt, b, name)
    assert a["cluster_rows"] == b["cluster_rows"] and a["mixture"] == b["mixture"]


def test_select_with_umap_takes_one_size():
    from pcagmm.errors import ParameterError
    from pcagmm.workflow.selection import select

    with pytest.raises(ParameterError, match="give one size with this reducer"):
        select("digits", reducer="umap", components=[2, 3], clusters=[2, 3], write=False)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda a: a.update(umap_embedding=a["umap_embedding"][:-1]), "UMAP arrays disagree"),
        (lambda a: a.update(umap_fitted_rows=a["umap_fitted_rows"][::-1]), "disagree"),
        (lambda a: a.update(umap_n_neighbors=np.array(1)), "1 neighbours"),
        (lambda a: a.update(reducer=np.array("tsne")), "reducer is not 'umap'"),
        (lambda a: a.update(umap_reference=a["umap_reference"][:, :3]), "umap_reference"),
        (lambda a: a["umap_embedding"].__setitem__((0, 0), np.nan), "non-finite"),
        (lambda a: a.pop("umap_pca"), "lacks umap_pca"),
    ],
)
def test_a_damaged_umap_model_file_is_refused_in_one_line(umap_run, tmp_path, change, fragment):
    from pcagmm.model_file import ModelFileError

    _result, folder = umap_run
    with np.load(folder / "model.npz", allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(ModelFileError) as caught:
        load_model(tmp_path / "m.npz")
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_an_unchanged_copy_loads_and_a_changed_value_fails_the_digest(umap_run, tmp_path):
    from pcagmm.model_file import ModelFileError

    _result, folder = umap_run
    with np.load(folder / "model.npz", allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    np.savez(tmp_path / "same.npz", **arrays)
    assert load_model(tmp_path / "same.npz").reducer.name == "UMAP"
    arrays["umap_embedding"] = arrays["umap_embedding"] + 1e-9
    np.savez(tmp_path / "changed.npz", **arrays)
    with pytest.raises(ModelFileError, match="do not match the SHA-256"):
        load_model(tmp_path / "changed.npz")


def test_the_page_names_the_embedding_in_a_real_browser(umap_run):
    from browser import Page, chromium

    _result, folder = umap_run
    with chromium() as browser:
        page = Page(browser, folder / "report.html")
        subtitle = page.evaluate("document.getElementById('subtitle').textContent")
        headers = page.evaluate(
            "[...document.querySelectorAll('#tables table')[0].querySelectorAll('th')]"
            ".map((th) => th.textContent)"
        )
        names = page.evaluate("window.pcagmmReport.meta.axes.map((a) => a.name)")
        assert page.errors == []
    assert "embedded in 2 dimensions by UMAP; 3-component full Gaussian mixture" in subtitle
    assert headers == ["cluster", "weight", "UMAP1", "UMAP2"]
    assert names == ["UMAP 1", "UMAP 2"]


def test_a_run_on_a_dask_cluster_embeds_as_the_local_run(umap_run):
    """All rows fitted (no sample): the embedding is sent to the workers for the mixture."""
    pytest.importorskip("distributed", reason="could not import 'distributed'")
    result, _folder = umap_run
    X = np.asarray(result.dataset.X)[:300]
    options = {"reducer": "umap", "umap_neighbors": 15, "clusters": 3, "write": False}
    local = pcagmm.run(X, **options)
    on_dask = pcagmm.run(X, dask="local", **options)
    np.testing.assert_array_equal(on_dask.Z, local.Z)
    np.testing.assert_array_equal(on_dask.clusters, local.clusters)
    assert on_dask.computed_on.startswith("Dask cluster at ")
