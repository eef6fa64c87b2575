"""What the user guide's page "How sure is each number?" says of ``pcagmm run --uncertainty``
on MNIST, checked at the precision it is printed: the table of estimates with their
standard errors, and the share of rows whose classification is unsure."""

from __future__ import annotations

import re

import numpy as np
import pytest

from documents import page
from pcagmm import run
from pcagmm.report.mixture_plots import share_above, uncertainty

#: the page that holds the README's "How sure is each number?" since issue 29
PAGE = page("How sure is each number?")
#: ``value ± error`` as the table prints it
PLUS_MINUS = re.compile(r"(-?\d+(?:\.\d+)?) ± (\d+(?:\.\d+)?)")
#: how far the converged MNIST fit moves between processors (guide, "Has EM converged?":
#: +-0.5 in the means, +-0.2 in the standard deviations; the weights by 1e-4)
ESTIMATE_SPREAD = {"weights": 1e-4, "means": 0.5, "standard_deviations": 0.2}
#: the page's promise for the errors: 10% between processors
ERROR_SPREAD = 0.10


@pytest.fixture(scope="module")
def uncertain_mnist(shared_mnist):
    return run(folder=shared_mnist, uncertainty=True, write=False, plots=False, report=False)


def readme_table() -> dict[str, list[list[tuple[str, str]]]]:
    """The page's two tables: per row, the printed (value, error) pairs."""
    text = PAGE.read_text()
    block = text.split("<!-- uncertainty-table -->")[1].split("<!-- /uncertainty-table -->")[0]
    means_part, sds_part = block.split("Standard deviations of the clusters")
    tables = {}
    for name, part in (("means", means_part), ("standard_deviations", sds_part)):
        rows = [PLUS_MINUS.findall(line) for line in part.splitlines()]
        tables[name] = [row for row in rows if row]
    return tables


def half_unit(printed: str) -> float:
    """Half the unit of the last digit printed: the rounding of a printed number."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0**-decimals


def check(printed_value, printed_error, value, error, spread) -> None:
    assert abs(float(printed_value) - value) <= spread + half_unit(printed_value), (
        printed_value,
        value,
    )
    assert abs(float(printed_error) - error) <= ERROR_SPREAD * error + half_unit(printed_error), (
        printed_error,
        error,
    )


@pytest.mark.slow
def test_the_readmes_table_of_errors_is_what_the_run_gives(uncertain_mnist):
    """Every ``value ± error`` of the page's table against a fresh run of 199 refits:
    the values to the converged fit's spread between processors plus the printed
    rounding, the errors to 10% plus the printed rounding."""
    result = uncertain_mnist
    study = result.bootstrap
    assert study.requested == 199 and study.kept == 199 and not study.collapsed
    errors = study.standard_errors()
    table = readme_table()
    assert len(table["means"]) == len(table["standard_deviations"]) == 10
    stds = np.sqrt(np.diagonal(result.gmm.covariances_, axis1=1, axis2=2))
    for k in range(10):
        (w, w_se), *means = table["means"][k]
        check(w, w_se, result.gmm.weights_[k], errors["weights"][k], ESTIMATE_SPREAD["weights"])
        for j, (value, error) in enumerate(means):
            check(
                value, error, result.gmm.means_[k, j], errors["means"][k, j],
                ESTIMATE_SPREAD["means"],
            )  # fmt: skip
        for j, (value, error) in enumerate(table["standard_deviations"][k]):
            check(
                value, error, stds[k, j], errors["standard_deviations"][k, j],
                ESTIMATE_SPREAD["standard_deviations"],
            )  # fmt: skip


@pytest.mark.slow
def test_the_readmes_share_of_unsure_rows_is_the_converged_models(uncertain_mnist):
    """ "15.9% of the rows are less than half sure of their component": the share of
    ``1 - max z > 0.5`` under the converged model, to the 0.1% printed."""
    result = uncertain_mnist
    share = share_above(uncertainty(result.gmm.predict_proba(result.Z)), 0.5)
    assert "15.9% of the rows are less than half sure" in PAGE.read_text()
    assert abs(share - 0.159) <= 0.0005 + 0.0005, share
