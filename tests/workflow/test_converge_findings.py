"""``pcagmm run --converge`` on MNIST, and what the README and the user guide's page "Has EM
converged?" say of the notebook's early stop, checked at the precision it is printed."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from commandline import cli, one_line_error
from documents import README, page_text
from pcagmm import GaussianMixture, run
from pcagmm.evaluate import agreement


@pytest.fixture(scope="module")
def converged_run(shared_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("converged") / "run"
    return run(folder=shared_mnist, converge=True, out=out, plots=False), out


@pytest.mark.slow
def test_the_default_run_says_em_stopped_while_still_rising(shared_mnist, tmp_path):
    result = run(folder=shared_mnist, out=tmp_path / "run", plots=False)
    report = result.report()
    assert (
        "stopped (tol=0.001 on the change of the mean log-likelihood) while the mean "
        "log-likelihood was still rising by 0.000911 per iteration (63.8 in total); its "
        "extrapolated (Aitken) limit is 0.00337 higher;" in report
    )
    assert "run with --converge to see the converged fit" in report
    mixture = json.loads((tmp_path / "run" / "summary.json").read_text())["mixture"]
    bounds = result.gmm.lower_bounds_
    assert mixture["last_change"] == bounds[-1] - bounds[-2]
    assert mixture["stopping"] == "absolute" and mixture["acceleration"] is None


@pytest.mark.slow
def test_run_converge_reports_the_converged_fit_beside_the_early_stop(converged_run):
    result, out = converged_run
    gmm, convergence = result.gmm, result.convergence
    assert gmm.converged_ and gmm.acceleration == "squarem" and gmm.tol == 1e-12
    assert round(gmm.lower_bound_, 6) == -15.130227
    assert convergence.early.n_iter_ == 9
    assert round(convergence.early.lower_bound_, 6) == -15.151062
    # the figures of the converged partition (guide, "Has EM converged?"), to its digits
    assert round(convergence.partition_agreement.adjusted_rand, 1) == 0.4
    assert (round(convergence.changed, 2), round(convergence.changed_matched, 2)) == (0.56, 0.45)
    assert round(result.agreement.adjusted_rand, 2) == 0.19
    early_agreement = agreement(result.dataset.y, convergence.early_clusters)
    assert round(early_agreement.adjusted_rand, 2) == 0.23
    np.testing.assert_array_equal(result.clusters, gmm.predict(result.Z))
    np.testing.assert_array_equal(convergence.early_clusters, convergence.early.predict(result.Z))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["converge"] is True
    assert summary["early_stop"]["n_iter"] == 9
    assert summary["early_stop"]["rows_in_another_component"] == convergence.changed
    report = result.report()
    assert "Early     the run's own stop: 9 iterations, mean log-likelihood -15.151062" in report
    assert "% of the rows in another component (" in report
    assert "% after matching the components)" in report
    assert "still rising" not in report  # the converged fit met the tight rule


@pytest.mark.slow
def test_the_converged_fit_is_plain_ems_limit(converged_run):
    # plain EM from the same start, to a relative change of 1e-12: the same optimum
    result, _ = converged_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = GaussianMixture(
            10, random_state=42, stopping="relative", tol=1e-12, max_iter=20_000
        ).fit(result.Z)
    assert plain.converged_
    assert abs(plain.lower_bound_ - result.gmm.lower_bound_) < 1e-9 * abs(plain.lower_bound_)
    assert np.mean(plain.predict(result.Z) != result.clusters) < 1e-3  # 30 rows of 70,000
    assert result.gmm.n_iter_ * 5 < plain.n_iter_


@pytest.mark.slow
def test_squarem_is_not_lower_than_plain_em_on_mnist(converged_run):
    result, _ = converged_run
    settings = {"random_state": 42, "stopping": "relative", "tol": 1e-8, "max_iter": 20_000}
    plain = GaussianMixture(10, **settings).fit(result.Z)
    fast = GaussianMixture(10, acceleration="squarem", **settings).fit(result.Z)
    assert fast.lower_bound_ >= plain.lower_bound_
    assert fast.extrapolations_[1] > 0  # the safeguard dropped some steps here
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-12 * abs(fast.lower_bound_))
    assert fast.n_iter_ * 3 < plain.n_iter_


@pytest.mark.slow
def test_the_command_line_converges_and_refuses_a_bad_rule(shared_mnist, tmp_path):
    done = cli(
        "run", "--from", str(shared_mnist), "--converge", "--no-plots", "--out", str(tmp_path / "r")
    )
    assert done.returncode == 0, done.stderr
    assert "the run's own stop: 9 iterations" in done.stdout
    bad = cli("run", "--stopping", "aitken", "--acceleration", "squarem", "--no-plots")
    one_line_error(bad, "use --stopping relative with --acceleration squarem")


@pytest.mark.slow
def test_the_readmes_converged_table_is_what_the_run_gives(converged_run):
    """The table of the guide's page "Has EM converged?" (the README's until issue 29)."""
    result, _ = converged_run
    text = page_text("Has EM converged?")
    table = text.split("<!-- converged-table -->")[1].split("<!-- /converged-table -->")[0]
    rows = [line for line in table.strip().splitlines()[2:]]
    early, converged = result.convergence.early, result.gmm
    early_sd, converged_sd = (np.sqrt(np.array([np.diag(c) for c in g.covariances_]))
                              for g in (early, converged))  # fmt: skip
    assert len(rows) == 10
    pair = "{:.1f}, {:.1f}".format
    for k, row in enumerate(rows):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        # the notebook's fit exactly as printed
        assert cells[:2] == [str(k), f"{early.weights_[k]:.4f}"]
        assert (cells[3], cells[5]) == (pair(*early.means_[k]), pair(*early_sd[k]))
        # the converged fit within what the page says it holds to on any processor:
        # +-0.5 in the means, +-0.2 in the deviations, +-0.0002 in the weights (under
        # OpenBLAS's Nehalem kernel a mean lies 0.35 from the printed one)
        assert abs(float(cells[2]) - converged.weights_[k]) <= 2e-4
        for cell, values, bound in ((cells[4], converged.means_[k], 0.5),
                                    (cells[6], converged_sd[k], 0.2)):  # fmt: skip
            printed = np.array([float(v) for v in cell.split(",")])
            assert np.all(np.abs(printed - values) <= bound), (k, cell, values)
    # the report's lines the page quotes: the log-likelihoods to the digits printed
    assert f"passes, mean log-likelihood {result.gmm.lower_bound_:.6f}\n" in text
    assert "mean log-likelihood -15.151062 (0.020836 lower)" in text


@pytest.mark.slow
def test_the_readmes_default_report_says_what_the_run_says(shared_mnist):
    report = run(folder=shared_mnist, write=False).report().splitlines()
    text = README.read_text()
    for line in report[1:5]:  # PCA, Mixture and the two lines on how EM stopped
        assert line in text, line
