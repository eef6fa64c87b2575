"""Matched labels shown by name where the data set names its labels.

A run on small images whose three classes are named as Fashion-MNIST's must show the
name beside the number wherever it shows a matched label: the terminal report's
matching line, cluster_means.png's titles, clusters.csv, summary.json, report.html (its
data and the text the browser shows), the model file and ``pcagmm predict``. The same
run with unnamed labels (or digit names) must show what it always did. The expected
texts are built here from the registry's names and the run's matching, not with the
helper that draws them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import pcagmm
from documents import page_text
from page_reading import image_data, page_meta
from pcagmm.cli import main
from pcagmm.datasets import Dataset
from pcagmm.datasets.registry import FASHION_MNIST
from pcagmm.model_file import ModelFileError, load_model, save_model
from pcagmm.predict import predict
from pcagmm.report import plots
from pcagmm.report.labels import label_text, name_of_label, named_labels
from pcagmm.workflow.html_report import rebuild, recorded_matching

#: three of Fashion-MNIST's names, the longest among them, for labels 0, 1, 2
NAMES = ("T-shirt/top", "Ankle boot", "Sneaker")
FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def named(value) -> str:
    """The form every place shows: the name, then the number in brackets."""
    return f"{NAMES[value]} ({value})"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labelled")
    path = image_data(folder, n=300, seed=4)
    X = np.load(path).reshape(300, -1)
    y = np.load(folder / "images.labels.npy")
    np.save(folder / "rows.npy", X[:30])
    return folder, X, y


def run_on(data, target_names, name):
    folder, X, y = data
    dataset = Dataset(X, y, name="toy", source="a test", image_shape=(8, 8),
                      target_names=target_names)  # fmt: skip
    return pcagmm.run(dataset, out=str(folder / name), clusters=3, plots=True, report=True)


@pytest.fixture(scope="module")
def named_run(data):
    result = run_on(data, NAMES, "named")
    # the classes are far apart: each cluster is one class, and no label is its cluster
    # (so a shown cluster number is never mistaken for a label)
    assert result.agreement.accuracy == 1.0
    return result


@pytest.fixture(scope="module", params=[None, ("0", "1", "2")], ids=["no-names", "digits"])
def unnamed_run(data, request):
    return run_on(data, request.param, f"unnamed-{request.param is None}")


# ------------------------------------------------------------------------------- the helper


def test_label_text_names_a_label_only_where_a_name_says_more_than_its_number():
    names = FASHION_MNIST.target_names
    assert label_text(9, names) == "Ankle boot (9)"
    assert label_text(np.int64(0), names) == "T-shirt/top (0)"
    assert label_text(9, tuple(str(d) for d in range(10))) == "9"  # MNIST's digits
    assert label_text(9, None) == "9"
    assert [label_text(v, names) for v in (-1, 10, "cat", True)] == ["-1", "10", "cat", "True"]
    assert label_text(2, {2: "Pullover"}) == "Pullover (2)"
    assert label_text(2, {2: None}) == label_text(2, {}) == "2"
    assert name_of_label(1, ("a", "")) is None
    assert named_labels(names) == names
    assert named_labels(list("0123")) is None and named_labels(None) is None
    assert named_labels(("0", "shoe")) == ("0", "shoe")


# ------------------------------------------------------------------------- the places shown


def test_the_terminal_report_names_the_matched_labels(named_run):
    matching = sorted(named_run.agreement.matching.items())
    expected = ", ".join(f"{k}->{named(v)}" for k, v in matching)
    assert f"Matching (cluster->label): {expected}\n" in named_run.report()


def test_the_cluster_means_titles_name_the_matched_labels(named_run):
    figure = plots.means_figure(named_run)
    matching, weights = named_run.agreement.matching, named_run.gmm.weights_
    assert [ax.get_title() for ax in figure.axes] == [
        f"cluster {k}\n→ {named(matching[k])}\nw={weights[k]:.2f}" for k in range(3)
    ]


@pytest.mark.parametrize("K", [10, 12])
def test_fashion_names_fit_the_cluster_means_titles_without_overlapping(K):
    """Fashion-MNIST's names are the titles' longest lines: every title stays inside
    the figure and apart from the other titles and panels."""
    from pcagmm import GaussianMixture

    names = FASHION_MNIST.target_names
    gmm = GaussianMixture(K)
    gmm.weights_ = np.full(K, 1.0 / K)
    images = np.random.default_rng(0).uniform(0, 255, size=(K, 28 * 28))
    matching = {k: k % 10 for k in range(K)}
    figure = plots.cluster_means(images, (28, 28), gmm, matching, title="t", target_names=names)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    titles = [ax.title.get_window_extent(renderer) for ax in figure.axes if ax.get_title()]
    panels = [ax.get_window_extent(renderer) for ax in figure.axes if ax.images]
    assert figure.axes[9].get_title().splitlines()[1] == "→ Ankle boot (9)"
    page = figure.bbox
    for box in titles:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    for i, a in enumerate(titles):
        assert not any(a.overlaps(b) for b in titles[i + 1 :])
        assert not any(a.overlaps(panel) for panel in panels)


def test_clusters_csv_gives_the_matched_label_and_its_name(named_run):
    with open(named_run.out / "clusters.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    header = list(rows[0])
    assert header[:2] == ["cluster", "weight"]
    assert header[-2:] == ["matched_label", "matched_label_name"]  # after the old columns
    matching = named_run.agreement.matching
    assert [(row["matched_label"], row["matched_label_name"]) for row in rows] == [
        (str(matching[k]), NAMES[matching[k]]) for k in range(3)
    ]


def test_summary_json_names_the_matched_labels(named_run):
    metrics = json.loads((named_run.out / "summary.json").read_text())["metrics"]
    matching = named_run.agreement.matching
    assert metrics["cluster_to_label"] == {str(k): v for k, v in matching.items()}
    assert metrics["cluster_to_label_name"] == {str(k): NAMES[v] for k, v in matching.items()}


def test_report_html_holds_the_named_labels(named_run):
    expected = [named(named_run.agreement.matching[k]) for k in range(3)]
    assert page_meta((named_run.out / "report.html").read_text())["matched"] == expected
    # pcagmm report rebuilds the page with the matching summary.json records (a data set
    # in memory cannot be loaded again: test_fashion_mnist_end_to_end rebuilds one)
    summary = json.loads((named_run.out / "summary.json").read_text())
    assert recorded_matching(summary) == named_run.agreement.matching
    assert recorded_matching({"metrics": None}) is None


def test_the_model_file_keeps_the_names_and_predict_shows_them(named_run, data, capsys):
    model = named_run.out / "model.npz"
    assert load_model(model).target_names == NAMES
    rows = predict(model, str(data[0] / "rows.npy"))
    clusters = named_run.clusters[:30]
    matching = named_run.agreement.matching
    assert [row["cluster"] for row in rows] == clusters.tolist()
    assert [(row["matched_label"], row["matched_label_name"]) for row in rows] == [
        (matching[k], NAMES[matching[k]]) for k in clusters
    ]
    assert list(rows[0]) == ["row", "cluster", "probability", "matched_label",
                             "matched_label_name", "probabilities"]  # fmt: skip
    assert main(["predict", "--model", str(model), str(data[0] / "rows.npy")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("  ")[-1].strip() == "matched label"
    for line, k in zip(lines[2:], clusters, strict=True):
        assert line.endswith(f"  {named(matching[k])}"), line


def test_a_model_files_names_are_checked(named_run, tmp_path):
    """Names that are not a vector of text are refused; names changed after pcagmm wrote
    the file are caught by the file's SHA-256."""
    run = named_run
    path = tmp_path / "model.npz"
    save_model(path, run.reducer, run.gmm, (8, 8), run.agreement.matching, 255.0,
               target_names=NAMES)  # fmt: skip
    with np.load(path) as archive:
        arrays = dict(archive)
    assert arrays["target_names"].tolist() == list(NAMES)
    for names, message in (
        (np.array([[1, 2]]), "target_names is not a vector of names"),
        (np.array(["Bag", "Ankle boot", "Sneaker"]), "do not match the SHA-256"),
    ):
        np.savez(tmp_path / "changed.npz", **{**arrays, "target_names": names})
        with pytest.raises(ModelFileError, match=message):
            load_model(tmp_path / "changed.npz")


def shown_matching(folder) -> tuple[list[list[str]], list[str], str, int]:
    """What report.html shows of the matching in a real browser: the rows of its
    "Matching" table, each cluster panel's title, and a hovered row's "cluster" fact
    with that row's number."""
    from test_report_browser import isolated_rows, screen_positions

    from browser import Page, chromium

    with chromium() as browser:
        page = Page(browser, folder / "report.html")
        table = page.evaluate(
            """() => { const h = [...document.querySelectorAll('#tables h3')]
                .find((e) => e.textContent.startsWith('Matching'));
              return [...h.nextElementSibling.querySelectorAll('tr')]
                .map((tr) => [...tr.children].map((c) => c.textContent)); }"""
        )
        titles = []
        for k in range(3):
            page.evaluate(f"pcagmmReport.showCluster({k})")
            titles.append(page.page.inner_text("#cluster-title"))
        positions = screen_positions(page)
        row = isolated_rows(positions)[0]
        page.page.mouse.move(*positions[row])
        facts = page.page.inner_text("#row-facts").splitlines()
        assert page.errors == []
    return table, titles, next(f for f in facts if f.startswith("cluster\t")), row


def test_report_html_shows_the_names_in_the_browser(named_run):
    table, titles, fact, row = shown_matching(named_run.out)
    matching = named_run.agreement.matching
    assert table == [["cluster", "label"]] + [[str(k), named(matching[k])] for k in range(3)]
    for k, title in enumerate(titles):
        assert title.endswith(f", matched to label {named(matching[k])}"), title
    k = named_run.clusters[row]
    assert fact == f"cluster\t{k} (matched to {named(matching[k])})"


# ------------------------------------------------------------------- unnamed: as they were


def test_unnamed_labels_are_shown_as_numbers_as_before(unnamed_run, data, capsys):
    matching = unnamed_run.agreement.matching
    text = ", ".join(f"{k}->{v}" for k, v in sorted(matching.items()))
    assert f"Matching (cluster->label): {text}\n" in unnamed_run.report()
    titles = [ax.get_title() for ax in plots.means_figure(unnamed_run).axes]
    weights = unnamed_run.gmm.weights_
    assert titles == [f"cluster {k}\n→ {matching[k]}\nw={weights[k]:.2f}" for k in range(3)]
    header = (unnamed_run.out / "clusters.csv").read_text().splitlines()[0]
    assert header == "cluster,weight,mean_pc1,mean_pc2,std_pc1,std_pc2"
    metrics = json.loads((unnamed_run.out / "summary.json").read_text())["metrics"]
    assert set(metrics) == {"adjusted_rand_index", "normalized_mutual_info",
                            "matched_accuracy", "cluster_to_label"}  # fmt: skip
    meta = page_meta((unnamed_run.out / "report.html").read_text())
    assert meta["matched"] == [str(matching[k]) for k in range(3)]
    model = unnamed_run.out / "model.npz"
    assert load_model(model).target_names is None
    with np.load(model) as archive:
        assert "target_names" not in archive.files
    rows = predict(model, str(data[0] / "rows.npy"))
    assert list(rows[0]) == ["row", "cluster", "probability", "matched_label", "probabilities"]
    assert main(["predict", "--model", str(model), str(data[0] / "rows.npy")]) == 0
    lines = capsys.readouterr().out.splitlines()
    for line, row in zip(lines[2:], rows, strict=True):
        assert line.endswith(f"  {row['matched_label']}"), line


# ------------------------------------------------------------------ Fashion-MNIST itself


@pytest.mark.slow
@pytest.mark.skipif(not FASHION_DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is absent")
def test_fashion_mnist_end_to_end(tmp_path):
    """The notebook's run on Fashion-MNIST names its labels in the report, and so does
    the page that pcagmm report rebuilds from the run folder."""
    names = FASHION_MNIST.target_names
    folder = tmp_path / "run"
    result = pcagmm.run("fashion-mnist", out=str(folder), plots=False, report=True)
    matching = result.agreement.matching
    text = ", ".join(f"{k}->{names[v]} ({v})" for k, v in sorted(matching.items()))
    assert f"Matching (cluster->label): {text}\n" in result.report()
    # the example of the line in the guide's page "Data sets", as this run prints it
    assert text.startswith("0->Ankle boot (9), 1->T-shirt/top (0), ")
    assert "`Matching (cluster->label): 0->Ankle boot (9), 1->T-shirt/top (0), ...`" in (
        page_text("Data sets").replace("\n  ", " ")
    )
    expected = [f"{names[matching[k]]} ({matching[k]})" for k in range(10)]
    assert page_meta((folder / "report.html").read_text())["matched"] == expected
    (folder / "report.html").unlink()
    rebuild(folder)
    assert page_meta((folder / "report.html").read_text())["matched"] == expected


def test_unnamed_labels_are_shown_as_numbers_in_the_browser(unnamed_run):
    table, titles, fact, row = shown_matching(unnamed_run.out)
    matching = unnamed_run.agreement.matching
    assert table == [["cluster", "label"]] + [[str(k), str(matching[k])] for k in range(3)]
    what = "digit label" if unnamed_run.dataset.target_names else "label"
    for k, title in enumerate(titles):
        assert title.endswith(f", matched to {what} {matching[k]}"), title
    k = unnamed_run.clusters[row]
    assert fact == f"cluster\t{k} (matched to {matching[k]})"


def test_the_stability_study_names_the_matched_labels(data):
    """pcagmm stability: its table's label column, stability.json and the bars' ticks."""
    folder, X, y = data
    dataset = Dataset(X, y, name="toy", source="a test", image_shape=(8, 8), target_names=NAMES)
    study = pcagmm.stability(dataset, out=str(folder / "stability"), clusters=3, seeds=2)
    matching = study.reference.agreement.matching
    report = study.report()
    for cluster in range(3):
        assert named(matching[cluster]) in report
    record = json.loads((folder / "stability" / "stability.json").read_text())
    assert record["cluster_labels"] == [matching[c] for c in study.clusters]
    assert record["cluster_label_names"] == [NAMES[matching[c]] for c in study.clusters]
    figure = study.plot_stability()
    ticks = [tick.get_text() for tick in figure.axes[1].get_xticklabels()]
    assert ticks == [f"{c}\n(={matching[c]})\n{NAMES[matching[c]]}" for c in study.clusters]


def test_the_stability_study_of_unnamed_labels_is_as_before(data):
    folder, X, y = data
    dataset = Dataset(X, y, name="toy", source="a test", image_shape=(8, 8))
    study = pcagmm.stability(dataset, out=str(folder / "stability-unnamed"), clusters=3, seeds=2)
    matching = study.reference.agreement.matching
    record = json.loads((folder / "stability-unnamed" / "stability.json").read_text())
    assert "cluster_label_names" not in record
    figure = study.plot_stability()
    ticks = [tick.get_text() for tick in figure.axes[1].get_xticklabels()]
    assert ticks == [f"{c}\n(={matching[c]})" for c in study.clusters]
