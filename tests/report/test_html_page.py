"""report.html's data, read back from the file in Python: the blobs decode to the run's
own projection, clusters, labels and images; the lists of each cluster's rows are
those a direct computation gives; bad run folders are refused with one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import pcagmm
from page_reading import image_data, page_blob, page_meta
from pcagmm.cli import main
from pcagmm.report import html
from pcagmm.workflow.html_report import ReportError, rebuild


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    path = image_data(folder)
    result = pcagmm.run(str(path), out=str(folder / "run"), clusters=3, plots=False, report=True)
    return result, folder / "run"


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 5, 7, 8, 9, 1000, 4099])
def test_base85_round_trip_and_alphabet(length):
    raw = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8).tobytes()
    text, deflated = html.encode(raw)
    assert html.decode(text, deflated) == raw
    assert len(text) % 5 == 0
    assert set(text) <= set(html.ALPHABET.decode())
    assert not set(text) & set("<>&\"'\\/ `\n")  # nothing that could end a <script>


def test_the_json_block_cannot_end_its_script_element():
    text = html._script_json({"label": "</script><script>alert(1)</script>", "x": float("nan")})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"label": "</script><script>alert(1)</script>", "x": None}


def test_the_page_holds_the_runs_projection_clusters_labels_and_images(image_run):
    result, folder = image_run
    text = (folder / "report.html").read_text()
    assert "report.html" in result.files
    meta = page_meta(text)
    n = result.Z.shape[0]
    assert meta["rows_total"] == meta["rows_shown"] == n and "rows" not in meta["blobs"]
    for j, axis in enumerate(meta["axes"]):
        values = np.frombuffer(page_blob(text, meta, f"axis{j}"), "<" + axis["dtype"])
        np.testing.assert_allclose(
            axis["centre"] + axis["scale"] * values.astype(float), result.Z[:, j], rtol=1e-6
        )
    np.testing.assert_array_equal(
        np.frombuffer(page_blob(text, meta, "clusters"), np.uint8), result.clusters
    )
    labels = np.frombuffer(page_blob(text, meta, "labels"), np.uint8)
    np.testing.assert_array_equal(np.asarray(meta["classes"])[labels], result.dataset.y.astype(str))
    packed = np.frombuffer(page_blob(text, meta, "images"), np.uint8).reshape(n, 32)
    levels = np.stack([packed >> 4, packed & 15], axis=2).reshape(n, 64)
    X = np.asarray(result.dataset.X, float)
    np.testing.assert_array_equal(levels, np.rint(X * 15 / X.max()))
    step = X.max() / 15  # 16 levels from 0 to the largest grey level: within half a step
    assert np.abs(levels * step - X).max() <= step / 2 + 1e-9
    assert meta["mixture"]["all_components"] and "probabilities" not in meta["blobs"]


def test_each_clusters_rows_are_its_members_and_its_least_sure(image_run):
    result, folder = image_run
    meta = page_meta((folder / "report.html").read_text())
    proba = result.gmm.predict_proba(result.Z)
    for k, listed in enumerate(meta["cluster_rows"]):
        members = np.flatnonzero(result.clusters == k)
        assert listed["size"] == len(members)
        assert len(listed["sample"]) == min(html.CLUSTER_ROWS, len(members))
        assert set(listed["sample"]) <= set(members.tolist())
        largest = proba[members].max(axis=1)
        expected = np.sort(largest)[: html.CLUSTER_ROWS]
        np.testing.assert_allclose(listed["uncertain_probability"], expected, rtol=1e-12)
        np.testing.assert_allclose(proba[listed["uncertain"]].max(axis=1), expected, rtol=1e-12)


def test_above_the_limit_a_uniform_sample_is_shown(image_run):
    result, folder = image_run
    target = folder.parent / "sampled"
    shutil.copytree(folder, target)
    rebuild(target, max_points=100)
    text = (target / "report.html").read_text()
    meta = page_meta(text)
    rows = np.frombuffer(page_blob(text, meta, "rows"), "<u4")
    assert meta["rows_shown"] == 100 and meta["rows_total"] == result.Z.shape[0]
    assert np.all(np.diff(rows.astype(int)) > 0) and rows.max() < result.Z.shape[0]
    clusters = np.frombuffer(page_blob(text, meta, "clusters"), np.uint8)
    np.testing.assert_array_equal(clusters, result.clusters[rows])
    # the tables stay those of all rows
    assert meta["summary"]["mixture"]["weights"] == result.gmm.weights_.tolist()


def test_a_rebuilt_page_shows_what_the_runs_own_page_shows(image_run, capsys):
    _result, folder = image_run
    own = (folder / "report.html").read_text()
    target = folder.parent / "rebuilt"
    shutil.copytree(folder, target)
    (target / "report.html").unlink()
    code, _out, err = run_cli(["report", str(target)], capsys)
    assert code == 0, err
    rebuilt = (target / "report.html").read_text()
    a, b = page_meta(own), page_meta(rebuilt)
    for name in ("clusters", "labels", "images", "axis0", "axis1"):
        assert page_blob(own, a, name) == page_blob(rebuilt, b, name)
    assert a["cluster_rows"] == b["cluster_rows"] and a["mixture"] == b["mixture"]


def test_extreme_coordinates_keep_their_precision():
    """Each coordinate to float32's precision of its distance from the axis' centre,
    however far the farthest point lies."""
    values = np.array([1.0, 1.5, -2.0, 3e30, 1e-20, 1.0 + 1e-6])
    raw, layout = html._coordinates(values)
    assert layout["dtype"] == "f4"
    v = np.frombuffer(raw, "<f4").astype(np.float64)  # the page computes in doubles
    back = layout["centre"] + layout["scale"] * v
    assert np.all(np.abs(back - values) <= 6e-8 * np.abs(values - layout["centre"]))
    wide = np.array([0.0, 1.0, 2.0, 1e40])  # 1e-40 after scaling: float64 is needed
    raw, layout = html._coordinates(wide)
    assert layout["dtype"] == "f8"
    back = layout["centre"] + layout["scale"] * np.frombuffer(raw, "<f8")
    assert np.all(np.abs(back - wide) <= 1e-15 * np.abs(wide - layout["centre"]))


def test_no_report_writes_none(tmp_path):
    path = image_data(tmp_path, n=200)
    result = pcagmm.run(str(path), out=str(tmp_path / "run"), clusters=3, report=False)
    assert not (tmp_path / "run" / "report.html").exists()
    assert "report.html" not in result.files


def test_bad_run_folders_are_refused_with_one_line(image_run, tmp_path, capsys):
    _result, folder = image_run
    code, _, err = run_cli(["report", str(tmp_path / "nothing")], capsys)
    assert code == 2 and "is not a folder" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["report", str(empty)], capsys)
    assert code == 2 and "has no summary.json" in err
    older = tmp_path / "older"
    shutil.copytree(folder, older)
    summary = json.loads((older / "summary.json").read_text())
    del summary["mixture"]["standard_deviations"], summary["mixture"]["stopping"]
    (older / "summary.json").write_text(json.dumps(summary))
    code, _, err = run_cli(["report", str(older)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "no mixture.standard_deviations, mixture.stopping" in err and "older pcagmm" in err
    no_model = tmp_path / "no-model"
    shutil.copytree(folder, no_model)
    (no_model / "model.npz").unlink()
    code, _, err = run_cli(["report", str(no_model)], capsys)
    assert code == 2 and "has no model.npz" in err
    changed = tmp_path / "changed"
    shutil.copytree(folder, changed)
    summary = json.loads((changed / "summary.json").read_text())
    summary["data"]["sha256"] = "0" * 64
    (changed / "summary.json").write_text(json.dumps(summary))
    before = (changed / "report.html").read_bytes()
    code, _, err = run_cli(["report", str(changed)], capsys)
    assert code == 2 and "has changed since the run" in err
    assert (changed / "report.html").read_bytes() == before  # nothing lost


def test_a_run_on_an_array_in_memory_cannot_be_rebuilt(tmp_path):
    X = np.random.default_rng(1).normal(size=(300, 4))
    pcagmm.run(X, out=str(tmp_path / "run"), clusters=2, plots=False, report=True)
    assert (tmp_path / "run" / "report.html").is_file()
    with pytest.raises(ReportError, match="array in memory"):
        rebuild(tmp_path / "run")


def test_more_than_ten_components_keep_ten_axes_and_store_probabilities(tmp_path):
    """Beyond MAX_AXES components the page holds the first ten and the probabilities to
    1/255 (it cannot compute them from the axes it holds)."""
    X = np.random.default_rng(2).normal(size=(400, 14)) + np.repeat(np.eye(14)[:2] * 6, 200, 0)
    result = pcagmm.run(
        X, components=12, clusters=2, out=str(tmp_path / "run"), plots=False, report=True
    )
    text = (tmp_path / "run" / "report.html").read_text()
    meta = page_meta(text)
    assert len(meta["axes"]) == html.MAX_AXES == 10 and meta["components"] == 12
    assert not meta["mixture"]["all_components"]
    stored = np.frombuffer(page_blob(text, meta, "probabilities"), np.uint8).reshape(400, 2)
    expected = result.gmm.predict_proba(result.Z)
    assert np.abs(stored / 255 - expected).max() <= 0.5 / 255 + 1e-12


def test_a_csv_runs_page_is_rebuilt_with_its_label_column(tmp_path, capsys):
    rng = np.random.default_rng(4)
    rows = np.hstack([rng.normal(size=(90, 3)) + np.repeat(np.arange(3), 30)[:, None] * 5,
                      np.repeat(np.arange(3), 30)[:, None]])  # fmt: skip
    path = tmp_path / "rows.csv"
    np.savetxt(path, rows, delimiter=",", header="a,b,c,kind", comments="")
    pcagmm.run(str(path), label_column="kind", clusters=3, out=str(tmp_path / "run"), report=True)
    own = (tmp_path / "run" / "report.html").read_text()
    code, _, err = run_cli(["report", str(tmp_path / "run")], capsys)  # no --label-column
    assert code == 0, err
    rebuilt = (tmp_path / "run" / "report.html").read_text()
    a, b = page_meta(own), page_meta(rebuilt)
    assert b["classes"] == a["classes"] == ["0", "1", "2"]
    assert page_blob(own, a, "labels") == page_blob(rebuilt, b, "labels")


def test_a_page_needs_at_least_one_point(image_run, capsys):
    from pcagmm.errors import ParameterError

    _, folder = image_run
    before = (folder / "report.html").read_bytes()
    code, _, err = run_cli(["report", str(folder), "--max-points", "0"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "--max-points must be a positive whole number, got 0; give e.g. --max-points" in err
    with pytest.raises(ParameterError, match="max_points must be a positive whole number"):
        rebuild(folder, max_points=0)
    assert (folder / "report.html").read_bytes() == before
