"""``pcagmm run --mixture bayesian``: the kept components in the table, clusters.csv,
summary.json and the model file, each against scikit-learn's BayesianGaussianMixture
fitted on the same projection; ``pcagmm predict`` from the model file; one-line errors.
"""

from __future__ import annotations

import csv
import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGM

import pcagmm
from commandline import cli, one_line_error
from pcagmm.model_file import ModelFileError, load_model

CENTRES = np.array([[0.0, 0.0, 0.0], [9.0, 0.0, 1.0], [4.0, 8.0, -1.0]])
SETTINGS = ("--clusters", "10", "--weight-concentration", "0.001", "--max-iter", "500")


@pytest.fixture(scope="module")
def three_groups(tmp_path_factory):
    """600 rows of three separated 3-D groups, saved as .npy."""
    rng = np.random.default_rng(0)
    X = CENTRES[rng.integers(0, 3, size=600)] + rng.normal(0, 1.0, size=(600, 3))
    path = tmp_path_factory.mktemp("bayesian") / "three.npy"
    np.save(path, X)
    return path


@pytest.fixture(scope="module")
def bayesian_run(three_groups, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "three"
    result = cli("run", "--data", three_groups, "--mixture", "bayesian", *SETTINGS, "--out", out,
                 "--no-report", "--no-plots")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result, out


@pytest.fixture(scope="module")
def reference(three_groups):
    """scikit-learn's BayesianGaussianMixture on pcagmm's PCA-2 of the same rows."""
    Z = pcagmm.PCA(2).fit_transform(np.load(three_groups))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SklearnBGM(n_components=10, weight_concentration_prior=0.001, max_iter=500,
                           random_state=42).fit(Z)  # fmt: skip
    return Z, model


def test_the_run_keeps_what_scikit_learn_keeps(bayesian_run, reference):
    result, out = bayesian_run
    _, model = reference
    summary = json.loads((out / "summary.json").read_text())
    mixture = summary["mixture"]
    np.testing.assert_allclose(mixture["weights"], model.weights_, rtol=0, atol=1e-9)
    np.testing.assert_allclose(mixture["means"], model.means_, rtol=1e-9, atol=1e-9)
    assert mixture["n_iter"] == model.n_iter_
    assert mixture["lower_bound"] == pytest.approx(model.lower_bound_, rel=1e-9)
    assert mixture["model"] == "bayesian"
    variational = mixture["variational"]
    np.testing.assert_allclose(variational["weight_concentration"],
                               np.vstack(model.weight_concentration_), rtol=1e-9)  # fmt: skip
    np.testing.assert_allclose(variational["degrees_of_freedom"], model.degrees_of_freedom_,
                               rtol=1e-9)  # fmt: skip
    kept = np.flatnonzero(model.weights_ >= 0.01)
    assert len(kept) == 3  # the three groups
    assert sorted(variational["kept"]) == kept.tolist()
    assert variational["switched_off"] == sorted(set(range(10)) - set(kept.tolist()))
    assert summary["config"]["mixture"] == "bayesian"
    assert summary["config"]["weight_concentration"] == 0.001
    # the terminal: the kept line and every switched-off row marked
    text = result.stdout
    assert "Mixture   variational Bayesian, Dirichlet process prior (concentration 0.001)" in text
    assert "Kept      3 of 10 components (weight >= 0.01); switched off" in text
    table = text.split("Means of the clusters")[1].split("Standard deviations")[0]
    for k in range(10):
        marked = f"\n{k} off " if k not in kept else f"\n{k} "
        assert marked in "\n" + "\n".join(line.strip() for line in table.splitlines()), k
    with open(out / "clusters.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["kept"]) for row in rows] == [int(k in kept) for k in range(10)]


def test_the_model_file_predicts_as_scikit_learn(bayesian_run, reference, three_groups):
    _, out = bayesian_run
    Z, model = reference
    saved = load_model(out / "model.npz")
    assert type(saved.gmm).__name__ == "BayesianGaussianMixture"
    np.testing.assert_allclose(saved.gmm.predict_proba(Z), model.predict_proba(Z), rtol=0,
                               atol=1e-9)  # fmt: skip
    result = cli("predict", "--model", out / "model.npz", "--json", three_groups)
    assert result.returncode == 0, result.stderr
    predicted = [row["cluster"] for row in json.loads(result.stdout)]
    np.testing.assert_array_equal(predicted, model.predict(Z))


def test_a_changed_variational_array_is_refused(bayesian_run, tmp_path):
    _, out = bayesian_run
    with np.load(out / "model.npz") as archive:
        arrays = dict(archive)
    arrays["bgmm_weight_concentration"][0] *= 2  # the sticks' first parameters only
    del arrays["content_sha256"]  # as an older file would be: consistency checks only
    np.savez(tmp_path / "changed.npz", **arrays)
    with pytest.raises(ModelFileError, match="not the posterior means"):
        load_model(tmp_path / "changed.npz")
    arrays["bgmm_degrees_of_freedom"] = -arrays["bgmm_degrees_of_freedom"]
    np.savez(tmp_path / "negative.npz", **arrays)
    with pytest.raises(ModelFileError, match="bgmm_degrees_of_freedom holds values that are not"):
        load_model(tmp_path / "negative.npz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mixture": "em"}, "mixture is 'em', not 'bayesian'"),
        ({"bgmm_weight_concentration_prior_type": "pitman_yor"},
         "bgmm_weight_concentration_prior_type is 'pitman_yor', not one of dirichlet_process"),
        ({"bgmm_weight_concentration_prior_type": np.array([1.0])}, "is not a name"),
    ],
)  # fmt: skip
def test_a_variational_model_file_with_wrong_names_is_refused(bayesian_run, tmp_path, change,
                                                               message):  # fmt: skip
    _, out = bayesian_run
    with np.load(out / "model.npz") as archive:
        arrays = {**dict(archive), **{k: np.asarray(v) for k, v in change.items()}}
    del arrays["content_sha256"]
    np.savez(tmp_path / "changed.npz", **arrays)
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "changed.npz")


def test_degrees_of_freedom_at_or_below_the_dimension_less_one_are_refused(bayesian_run, tmp_path):
    _, out = bayesian_run
    with np.load(out / "model.npz") as archive:
        arrays = dict(archive)
    arrays["bgmm_degrees_of_freedom"] = np.full_like(arrays["bgmm_degrees_of_freedom"], 0.5)
    del arrays["content_sha256"]
    np.savez(tmp_path / "low.npz", **arrays)
    with pytest.raises(ModelFileError, match="bgmm_degrees_of_freedom go down to 0.5, not above 1"):
        load_model(tmp_path / "low.npz")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mixture": "variational"}, "unknown mixture 'variational'; choose one of em, bayesian"),
        ({"weight_prior": "pitman_yor"}, "unknown weight prior 'pitman_yor'; choose one of "
         "dirichlet_process, dirichlet_distribution"),
        ({"kept_weight": 0}, "kept_weight must be a number between 0 and 1, got 0; give e.g. "
         "kept_weight=0.01"),
    ],
)  # fmt: skip
def test_bad_options_from_python_name_the_parameter(options, message):
    from pcagmm.errors import ParameterError
    from pcagmm.workflow.config import RunConfig

    with pytest.raises(ParameterError) as raised:
        RunConfig(**options)
    assert str(raised.value) == message


def test_the_run_folder_is_named_for_the_variational_mixture(three_groups):
    from pcagmm.workflow.config import RunConfig

    config = RunConfig(dataset=str(three_groups), mixture="bayesian", clusters=4)
    assert config.target.name == "three_npy-pca2-bgmm4-full-seed42"
    assert RunConfig(dataset=str(three_groups), clusters=4).target.name == (
        "three_npy-pca2-gmm4-full-seed42"
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--covariance-type", "VEV"], ["no --covariance-type VEV", "full, tied, diag, spherical"]),
        (["--uncertainty"], ["--uncertainty", "--mixture em"]),
        (["--weight-concentration", "0"], ["--weight-concentration", "> 0"]),
        (["--kept-weight", "1.5"], ["--kept-weight", "between 0 and 1"]),
    ],
)
def test_bad_settings_are_one_line_errors(three_groups, tmp_path, args, fragments):
    result = cli("run", "--data", three_groups, "--mixture", "bayesian", *args,
                 "--out", tmp_path / "o")  # fmt: skip
    one_line_error(result, *fragments)
    assert not (tmp_path / "o").exists()


def test_the_command_lines_copies_of_the_estimators_names_agree():
    """config keeps its own copies so that the command line starts without
    scikit-learn; they must be the estimator's."""
    from pcagmm.mixture import bayesian, variational
    from pcagmm.workflow import config

    assert config.BAYESIAN_COVARIANCE_TYPES == bayesian.COVARIANCE_TYPES
    assert config.WEIGHT_PRIORS == variational.PRIOR_TYPES
    assert config.KEPT_WEIGHT == bayesian.KEPT_WEIGHT
