"""``pcagmm stability`` and ``pcagmm.stability``: the study's numbers against fits made
and compared directly (pcagmm's GaussianMixture, scikit-learn's ARI, Python sets), its
files and figure, the command line on MNIST, and one-line errors for bad settings."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import pcagmm
from commandline import cli, one_line_error
from pcagmm import PCA, GaussianMixture
from pcagmm.datasets import Dataset
from pcagmm.errors import ParameterError
from pcagmm.mixture.stability import bootstrap_counts
from pcagmm.report.stability import fit_name
from pcagmm.workflow.stability_study import StabilityConfig, stability

K = 5


@pytest.fixture(scope="module")
def blobs() -> Dataset:
    """600 labelled rows around 6 overlapping centres in 5-D: seeds 3, 4, 5 of a 5-component
    mixture on its PCA-2 reach two different optima."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, size=(6, 5))
    y = rng.integers(0, 6, size=600)
    X = centres[y] + rng.normal(0, 1.5, size=(600, 5))
    return Dataset(X, y, name="blobs", source="generated")


@pytest.fixture(scope="module")
def projection(blobs) -> np.ndarray:
    return PCA(2).fit(blobs.X).transform(blobs.X)


def direct_fit(Z, seed, sample_weight=None) -> GaussianMixture:
    return GaussianMixture(K, random_state=seed).fit(Z, sample_weight=sample_weight)


def jaccard_by_sets(reference, other, rows) -> list[float]:
    """Each reference cluster's best |A & B| / |A | B| over other's clusters, with sets
    of row numbers (the reference's clusters in increasing order)."""

    def sets(partition):
        found: dict[int, set] = {}
        for row in rows:
            found.setdefault(int(partition[row]), set()).add(int(row))
        return found

    mine, theirs = sets(reference), sets(other)
    return [max(len(a & b) / len(a | b) for b in theirs.values()) for _, a in sorted(mine.items())]


@pytest.fixture(scope="module")
def three_seeds(blobs):
    return stability(blobs, seeds=[3, 4, 5], clusters=K, write=False)


def test_three_seeds_equal_a_direct_computation(three_seeds, blobs, projection):
    """Log-likelihoods, partitions, pairwise ARI, ARI with the labels, per-cluster Jaccard
    and optimum groups equal fits made here and compared with scikit-learn and sets."""
    study = three_seeds
    fits = [direct_fit(projection, seed) for seed in (3, 4, 5)]
    partitions = [gmm.predict(projection) for gmm in fits]
    assert [row["seed"] for row in study.fits] == [3, 4, 5]
    assert [row["kind"] for row in study.fits] == ["seed"] * 3
    for row, gmm, partition, mine in zip(study.fits, fits, partitions, study.partitions,
                                         strict=True):  # fmt: skip
        assert row["log_likelihood"] == pytest.approx(gmm.lower_bound_, rel=1e-9)
        assert row["n_iter"] == gmm.n_iter_ and row["converged"] == gmm.converged_
        np.testing.assert_array_equal(mine, partition)
        assert row["ari_labels"] == pytest.approx(adjusted_rand_score(blobs.y, partition))
    ari = [[adjusted_rand_score(a, b) for b in partitions] for a in partitions]
    np.testing.assert_allclose(study.ari, ari, atol=1e-12)
    assert [row["ari_reference"] for row in study.fits] == pytest.approx(ari[0])
    assert study.ari[0, 1] < 0.99 or study.ari[0, 2] < 0.99  # not a trivial study
    every_row = range(len(projection))
    per_fit = [jaccard_by_sets(partitions[0], partitions[i], every_row) for i in (1, 2)]
    assert list(study.jaccard) == ["seed"] and study.jaccard["seed"]["fits"] == [1, 2]
    np.testing.assert_allclose(study.jaccard["seed"]["values"], per_fit, atol=1e-15)
    np.testing.assert_allclose(study.jaccard["seed"]["mean"], np.mean(per_fit, axis=0))
    assert study.clusters == sorted(set(partitions[0].tolist()))
    # optimum groups by hand: a fit joins the group of an earlier fit with ARI >= 0.99
    groups: list[int] = []
    for i in range(3):
        same = [groups[j] for j in range(i) if ari[i][j] >= 0.99]
        groups.append(same[0] if same else max(groups, default=-1) + 1)
    assert [row["optimum"] for row in study.fits] == groups
    assert len(study.optima) == max(groups) + 1
    for number, group in enumerate(study.optima):
        members = [i for i in range(3) if groups[i] == number]
        lls = [fits[i].lower_bound_ for i in members]
        assert group["fits"] == members and group["size"] == len(members)
        assert group["log_likelihood"] == pytest.approx([min(lls), max(lls)], rel=1e-9)


def test_the_reference_is_the_run_of_the_first_seed(three_seeds, blobs):
    run = pcagmm.run(blobs, seed=3, clusters=K, write=False)
    np.testing.assert_array_equal(three_seeds.reference.clusters, run.clusters)
    assert three_seeds.reference.gmm.lower_bound_ == pytest.approx(run.gmm.lower_bound_, rel=1e-9)
    assert three_seeds.config["seed"] == 3 and three_seeds.config["seeds"] == [3, 4, 5]


def test_identical_seeds_agree_everywhere(blobs):
    study = stability(blobs, seeds=[7, 7, 7], clusters=K, write=False)
    np.testing.assert_array_equal(study.ari, np.ones((3, 3)))
    np.testing.assert_array_equal(
        study.jaccard["seed"]["values"], np.ones((2, len(study.clusters)))
    )
    assert [row["optimum"] for row in study.fits] == [0, 0, 0]
    assert [group["size"] for group in study.optima] == [3]
    text = study.report()
    assert "pairwise ARI mean 1.0000, min 1.0000" in text
    assert "Distinct optimum: 1 among 3 seeds" in text and "unstable" not in text


def test_bootstrap_fits_equal_weighted_fits_and_jaccard_counts_drawn_rows(blobs, projection):
    study = stability(blobs, seeds=2, seed=3, bootstrap=2, clusters=K, write=False)
    n = len(projection)
    counts = bootstrap_counts(n, 2, seed=3)
    assert [(row["kind"], row["seed"], row["resample"]) for row in study.fits] == [
        ("seed", 3, None), ("seed", 4, None), ("bootstrap", 3, 0), ("bootstrap", 3, 1)
    ]  # fmt: skip
    reference = direct_fit(projection, 3).predict(projection)
    per_fit = []
    for b, weights in enumerate(counts):
        assert weights.sum() == n
        gmm = direct_fit(projection, 3, sample_weight=weights)
        row = study.fits[2 + b]
        assert row["log_likelihood"] == pytest.approx(gmm.lower_bound_, rel=1e-9)
        assert row["optimum"] is None
        partition = gmm.predict(projection)  # a resample's model predicts every row
        np.testing.assert_array_equal(study.partitions[2 + b], partition)
        assert row["ari_reference"] == pytest.approx(adjusted_rand_score(reference, partition))
        per_fit.append(jaccard_by_sets(reference, partition, np.flatnonzero(weights)))
    np.testing.assert_allclose(study.jaccard["bootstrap"]["values"], per_fit, atol=1e-15)
    every_row = [jaccard_by_sets(reference, study.partitions[2 + b], range(n)) for b in (0, 1)]
    assert not np.allclose(per_fit, every_row)  # the rows not drawn were left out
    assert study.jaccard["seed"]["fits"] == [1] and study.jaccard["bootstrap"]["fits"] == [2, 3]
    assert len(study.optima) >= 1 and sum(g["size"] for g in study.optima) == 2  # seeds only
    again = stability(blobs, seeds=2, seed=3, bootstrap=2, clusters=K, write=False)
    assert [r["log_likelihood"] for r in again.fits] == [r["log_likelihood"] for r in study.fits]
    text = study.report()
    assert "bootstrap (2)" in text and "ARI with the reference" in text


@pytest.fixture(scope="module")
def written(blobs, tmp_path_factory):
    out = tmp_path_factory.mktemp("stability") / "blobs"
    return stability(blobs, seeds=[3, 4, 5], bootstrap=1, clusters=K, out=out), out


def test_the_files_hold_what_the_study_found(written):
    study, out = written
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "stability.png", "stability.csv", "stability.json", "pca_scatter.png",
        "gmm_clusters.png", "uncertainty.png", "density.png", "clusters.csv", "model.npz",
        "report.html", "summary.json",
    ])  # fmt: skip
    assert study.files[:3] == ["stability.png", "stability.csv", "stability.json"]
    with open(out / "stability.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    for row, fit in zip(rows, study.fits, strict=True):
        assert row["kind"] == fit["kind"] and int(row["seed"]) == fit["seed"]
        assert row["resample"] == ("" if fit["resample"] is None else str(fit["resample"]))
        assert float(row["log_likelihood"]) == fit["log_likelihood"]  # every digit
        assert float(row["ari_labels"]) == fit["ari_labels"]
        assert float(row["ari_reference"]) == fit["ari_reference"]
        assert int(row["n_iter"]) == fit["n_iter"] and row["converged"] == str(fit["converged"])
        assert row["optimum"] == ("" if fit["optimum"] is None else str(fit["optimum"]))
    record = json.loads((out / "stability.json").read_text())
    assert record["config"] == study.config and record["config"]["analysis"] == "stability"
    assert record["config"]["seeds"] == [3, 4, 5] and record["config"]["bootstrap"] == 1
    np.testing.assert_array_equal(record["ari"], study.ari)
    for kind in ("seed", "bootstrap"):
        np.testing.assert_array_equal(record["jaccard"][kind]["mean"], study.jaccard[kind]["mean"])
        np.testing.assert_array_equal(
            record["jaccard"][kind]["values"], study.jaccard[kind]["values"]
        )
    assert record["fits"] == json.loads(json.dumps(study.fits))
    assert record["optima"] == study.optima
    seeds = record["summary"]["seed"]
    lls = [fit["log_likelihood"] for fit in study.fits[:3]]
    assert seeds["log_likelihood"] == {"min": min(lls), "median": np.median(lls), "max": max(lls)}
    assert record["summary"]["distinct_optima"] == len(study.optima)
    assert record["versions"]["pcagmm"] == pcagmm.__version__
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"] == record["config"]  # the folder holds this study
    assert "Files" in study.report() and "stability.json" in study.report()


def test_the_same_study_replaces_its_folder_a_different_one_is_refused(blobs, tmp_path):
    out = tmp_path / "study"
    options = dict(seeds=2, clusters=K, out=out, plots=False)
    stability(blobs, **options)
    stability(blobs, **options)
    with pytest.raises(ParameterError, match="already holds a different run"):
        stability(blobs, **{**options, "seeds": 3})
    stability(blobs, **{**options, "seeds": 3, "force": True})


def block_lines(heat) -> tuple[list[float], list[float]]:
    """The y of the heatmap's horizontal block lines and the x of its vertical ones."""
    lines = [line for line in heat.get_lines() if line.get_gid() == "block"]
    across = [line for line in lines if line.get_ydata()[0] == line.get_ydata()[1]]
    down = [line for line in lines if line.get_xdata()[0] == line.get_xdata()[1]]
    assert len(across) + len(down) == len(lines)
    return sorted(float(line.get_ydata()[0]) for line in across), sorted(
        float(line.get_xdata()[0]) for line in down
    )


def test_the_figure_draws_the_ari_matrix_and_the_jaccard_means(written):
    study, _ = written
    figure = study.plot_stability()
    heat = next(ax for ax in figure.axes if ax.get_gid() == "ari")
    bars = next(ax for ax in figure.axes if ax.get_gid() == "jaccard")
    [image] = heat.get_images()
    np.testing.assert_array_equal(image.get_array(), study.ari)
    assert image.get_clim() == (0.0, 1.0)
    assert [t.get_text() for t in heat.get_xticklabels()] == ["3", "4", "5", "b0"]
    assert [row["optimum"] for row in study.fits] == [0, 0, 1, None]
    assert block_lines(heat) == ([1.5], [1.5])  # none between two single fits (5 | b0)
    assert len(figure.axes) == 3  # and the colour bar
    for container in bars.containers:
        kind = container.patches[0].get_gid()  # each bar carries its kind
        heights = [patch.get_height() for patch in container.patches]
        np.testing.assert_allclose(heights, study.jaccard[kind]["mean"])
        colours = [patch.get_facecolor() for patch in container.patches]
        flagged = [mean < 0.6 for mean in study.jaccard[kind]["mean"]]
        red = __import__("matplotlib").colors.to_rgba("tab:red")
        assert [colour == red for colour in colours] == flagged
    assert sorted(c.patches[0].get_gid() for c in bars.containers) == ["bootstrap", "seed"]
    [line] = [line for line in bars.get_lines() if line.get_gid() == "threshold"]
    assert line.get_linestyle() == "--" and list(line.get_ydata()) == [0.6, 0.6]
    labels = [t.get_text() for t in bars.get_xticklabels()]
    assert labels == [f"{c}\n(={label})" for c, label in zip(study.clusters, study.cluster_labels,
                                                              strict=True)]  # fmt: skip


def test_the_heatmap_groups_the_fits_of_one_optimum(blobs):
    # seeds 3-10 reach two optima, interleaved: 3, 4, 6, 8, 9, 10 one, 5 and 7 the other
    study = stability(blobs, seeds=8, seed=3, bootstrap=2, clusters=K, write=False)
    optimum = [row["optimum"] for row in study.fits]
    assert optimum == [0, 0, 1, 0, 1, 0, 0, 0, None, None]
    assert [group["size"] for group in study.optima] == [6, 2]
    heat = next(ax for ax in study.plot_stability().axes if ax.get_gid() == "ari")
    # the larger optimum first, seed order within each, then the resamples
    order = [0, 1, 3, 5, 6, 7, 2, 4, 8, 9]
    names = [t.get_text() for t in heat.get_xticklabels()]
    assert names == ["3", "4", "6", "8", "9", "10", "5", "7", "b0", "b1"]
    assert [t.get_text() for t in heat.get_yticklabels()] == names
    [image] = heat.get_images()
    np.testing.assert_array_equal(image.get_array(), study.ari[np.ix_(order, order)])
    named = {fit_name(row): row["optimum"] for row in study.fits}
    drawn = [named[name] for name in names]  # the optimum of each fit as drawn
    assert drawn == sorted(drawn, key=drawn.index)  # each optimum's fits side by side
    block = image.get_array()[:6, :6]  # one optimum: a bright block
    assert block.min() >= 0.99 and image.get_array()[:6, 6:8].max() < 0.99
    assert block_lines(heat) == ([5.5, 7.5], [5.5, 7.5])  # between the three blocks


def test_seeds_count_from_the_run_seed_and_name_the_folder():
    config = StabilityConfig.of("digits", seeds=3, seed=10, bootstrap=4)
    assert config.seeds == (10, 11, 12) and config.run.seed == 10
    assert str(config.target) == "runs/digits-stability-pca2-gmm10-full-seed10-n3-b4"
    listed = StabilityConfig.of("digits", seeds="8,8,2")
    assert listed.seeds == (8, 8, 2) and listed.run.seed == 8
    assert str(listed.target) == "runs/digits-stability-pca2-gmm10-full-seed8-n3"
    assert StabilityConfig.of("digits").seeds == tuple(range(42, 62))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(seeds=0), "seeds=0 is out of range; give 1 to 1000 seeds"),
        (dict(seeds=-3), "seeds=-3 is out of range"),
        (dict(seeds=1001), "seeds=1001 is out of range"),
        (dict(seeds=2.5), "seeds must be a whole number or a list of them, got 2.5"),
        (dict(seeds=True), "seeds must be a whole number or a list of them, got True"),
        (dict(seeds="two"), "seeds=two is neither a number of seeds nor a list"),
        (dict(seeds=[1, 2.0]), "seeds must be whole numbers, got 2.0"),
        (dict(seeds=[]), "seeds holds 0 seeds"),
        (dict(seeds=[1] * 1001), "seeds holds 1001 seeds"),
        (dict(seeds=[1, -1]), "the seed -1 in seeds is outside 0 to 2\\*\\*32 - 1"),
        (dict(seeds=[2**32]), "the seed 4294967296 in seeds is outside"),
        (dict(seeds=3, seed=2**32 - 2), "the seed 4294967296 in seeds is outside"),
        (dict(seeds=3, seed=None), "a number of seeds counts from seed, which is None"),
        (dict(bootstrap=-1), "bootstrap=-1 is out of range; give 0 to 1000"),
        (dict(bootstrap=1.5), "bootstrap must be a whole number of resamples, got 1.5"),
        (dict(bootstrap="x"), "bootstrap must be a whole number of resamples, got 'x'"),
        (dict(seeds=1), "a stability study needs at least 2 fits; give seeds=2 or more"),
        (dict(clusters=0), "clusters must be a positive whole number"),
        (dict(seed=-1), "seed must be a whole number from 0"),
    ],
)
def test_bad_settings_in_python(options, message):
    with pytest.raises(ParameterError, match=message):
        StabilityConfig.of("digits", **options)


def test_one_seed_and_resamples_is_a_study():
    config = StabilityConfig.of("digits", seeds=1, bootstrap=2)
    assert [fit.kind for fit in config.fits] == ["seed", "bootstrap", "bootstrap"]


def test_the_command_on_mnist_writes_the_three_files(shared_mnist, tmp_path):
    out = tmp_path / "mnist"
    result = cli("stability", "--from", shared_mnist, "--seeds", "3", "--out", out)
    assert result.returncode == 0, result.stderr
    for name in ("stability.csv", "stability.json", "stability.png", "summary.json"):
        assert (out / name).is_file(), name
    assert "Stability mnist: PCA-2, 10 full components; 3 seeds (42-44)" in result.stdout
    assert "Cluster stability" in result.stdout and "Distinct optim" in result.stdout
    record = json.loads((out / "stability.json").read_text())
    assert [fit["seed"] for fit in record["fits"]] == [42, 43, 44]
    reference = json.loads((out / "summary.json").read_text())
    # the reference fit is the default run's model (seed 42), as pcagmm run reports it
    assert reference["mixture"]["lower_bound"] == record["fits"][0]["log_likelihood"]
    assert reference["metrics"]["adjusted_rand_index"] == record["fits"][0]["ari_labels"]


def test_the_command_prints_json(tmp_path):
    result = cli("stability", "--dataset", "digits", "--seeds", "7,7", "--out", tmp_path / "j",
                 "--no-plots", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["ari"] == [[1.0, 1.0], [1.0, 1.0]] and record["files"][-1] == "summary.json"


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--seeds", "0"], ["--seeds 0 is out of range", "give 1 to 1000 seeds"]),
        (["--seeds", "1001"], ["--seeds 1001 is out of range"]),
        (["--seeds", "2.5"], ["--seeds 2.5 is neither a number of seeds nor a list"]),
        (["--seeds", "-2"], ["--seeds -2 is neither"]),
        (["--seeds", "42,x"], ["--seeds 42,x is neither"]),
        (["--seeds", "1,4294967296"], ["the seed 4294967296 in --seeds is outside 0 to 2**32 - 1"]),
        (["--seeds", "1"], ["a stability study needs at least 2 fits", "give --seeds 2 or more"]),
        (["--bootstrap", "-1"], ["--bootstrap -1 is out of range"]),
        (["--bootstrap", "1.5"], ["--bootstrap must be a whole number of resamples"]),
        (["--clusters", "0"], ["--clusters must be a positive whole number"]),
        (["--seed", "-5"], ["--seed must be a whole number"]),
        (["--clusters", "2000"], ["--clusters 2000 is more than the 1797 rows"]),
    ],
)  # fmt: skip
def test_the_command_refuses_bad_settings_in_one_line(arguments, fragments, tmp_path):
    result = cli("stability", "--dataset", "digits", *arguments, "--out", tmp_path / "out",
                 "--no-plots", "--quiet")  # fmt: skip
    one_line_error(result, *fragments)
    assert not (tmp_path / "out").exists()


def test_on_dask_the_study_equals_the_one_on_threads(blobs):
    pytest.importorskip("distributed")
    options = dict(seeds=[3, 4, 5], bootstrap=1, clusters=K, write=False)
    on_threads = stability(blobs, **options)
    on_dask = stability(blobs, dask="local", **options)
    assert on_dask.computed_on.startswith("Dask cluster at")
    drop = lambda rows: [{k: v for k, v in row.items() if k != "time"} for row in rows]  # noqa: E731
    for mine, theirs in zip(drop(on_dask.fits), drop(on_threads.fits), strict=True):
        assert mine.keys() == theirs.keys()
        for key in mine:
            if isinstance(mine[key], float):
                assert mine[key] == pytest.approx(theirs[key], rel=1e-9), key
            else:
                assert mine[key] == theirs[key], key
    np.testing.assert_allclose(on_dask.ari, on_threads.ari, atol=1e-12)
    for kind in ("seed", "bootstrap"):
        np.testing.assert_allclose(
            on_dask.jaccard[kind]["values"], on_threads.jaccard[kind]["values"], atol=1e-12
        )
    assert on_dask.optima == on_threads.optima


def test_fits_that_did_not_converge_are_called_stopping_points(blobs):
    study = stability(blobs, seeds=3, clusters=K, max_iter=2, write=False)
    assert not any(row["converged"] for row in study.fits)
    assert "3 of 3 fits did NOT converge (stopped at max_iter)" in study.report()
    assert "stopping points, not optima" in study.report()
