"""The model-selection figure, read back from what was drawn.

Each line's data must be its (covariance type, D) group's finite values in increasing K
(rows are given shuffled, failed fits left out); the best ring must sit on the chosen
row's (K, value); the axes must name the criterion; limits come from finite values.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from pcagmm.report.selection_plot import selection_figure
from pcagmm.workflow.artifacts import DPI

TYPES = ("full", "tied", "diag", "spherical")


def sweep(ks=range(1, 11), types=TYPES, ds=(2, 50), scale=None, failed=(), seed=0):
    """Rows of a synthetic sweep (shuffled): a U in K with its minimum at K=7, offset by
    type and D; ``failed`` holds (K, type, D) cells that failed."""
    rng = np.random.default_rng(seed)
    scale = scale or {d: 1e6 + 1e4 * i for i, d in enumerate(ds)}
    rows = []
    for d in ds:
        for t, kind in enumerate(types):
            for k in ks:
                value = scale[d] + 500.0 * t + 300.0 * (k - 7) ** 2 + rng.normal(0, 20)
                bad = (k, kind, d) in failed
                row = {
                    "n_components": k,
                    "covariance_type": kind,
                    "bic": math.nan if bad else value,
                    "aic": math.nan if bad else value - 1000,
                    "icl": math.nan if bad else value + 1000,
                    "status": "failed" if bad else "ok",
                }
                if d is not None:
                    row["components"] = d
                rows.append(row)
    order = rng.permutation(len(rows))
    return [rows[i] for i in order]


def best_index(rows, criterion="bic"):
    values = [r[criterion] if r["status"] == "ok" else math.inf for r in rows]
    return int(np.argmin(values))


def expected_lines(rows, criterion, label_d=True):
    """label -> (Ks, values) of the finite fits, by hand."""
    out = {}
    for kind in TYPES:
        for d in sorted({r.get("components") for r in rows}, key=lambda d: d or 0):
            cells = sorted(
                (r["n_components"], r[criterion])
                for r in rows
                if r["covariance_type"] == kind and r.get("components") == d
            )
            if not cells:
                continue
            good = [(k, v) for k, v in cells if math.isfinite(v)]
            label = kind + (f", D={d}" if label_d and d is not None else "")
            out[label + ("" if good else " (failed)")] = (
                [k for k, _ in good],
                [v for _, v in good],
            )
    return out


def drawn_lines(figure):
    return {
        line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
        for ax in figure.axes
        for line in ax.lines
    }


def legend_labels(figure):
    return [t.get_text() for t in figure.axes[0].get_legend().get_texts()]


def collections(figure, gid):
    return [c for ax in figure.axes for c in ax.collections if c.get_gid() == gid]


@pytest.mark.parametrize("criterion", ["bic", "aic", "icl"])
def test_one_line_per_type_and_projection_holding_the_finite_values_in_k_order(criterion):
    rows = sweep(failed={(4, "full", 50), (9, "tied", 2)})
    figure = selection_figure(rows, criterion, best_index(rows, criterion))
    ax = figure.axes[0]
    assert len(figure.axes) == 1  # comparable values: one shared axis
    assert len(ax.lines) == 8
    expected = expected_lines(rows, criterion)
    assert drawn_lines(figure) == expected
    assert 4 not in drawn_lines(figure)["full, D=50"][0]
    assert 9 not in drawn_lines(figure)["tied, D=2"][0]
    assert legend_labels(figure) == [*expected, "failed fit (at its K)"]
    assert ax.get_ylabel() == f"{criterion.upper()} (lower is better)"
    assert ax.get_xlabel() == "number of clusters K"
    assert list(ax.get_xticks()) == list(range(1, 11))
    # each failed cell is a cross at its K
    crosses = sorted(float(x) for c in collections(figure, "failed") for x, _ in c.get_offsets())
    assert crosses == [4.0, 9.0]
    # colour names the type, line style the projection size
    lines = {line.get_label(): line for line in ax.lines}
    assert lines["full, D=2"].get_color() == lines["full, D=50"].get_color()
    assert lines["full, D=2"].get_color() != lines["tied, D=2"].get_color()
    assert lines["full, D=2"].get_linestyle() != lines["full, D=50"].get_linestyle()


def test_the_best_model_is_ringed_at_its_k_and_value_and_named():
    rows = sweep()
    best = best_index(rows)
    figure = selection_figure(rows, "bic", best, title="mnist: selection")
    ax = figure.axes[0]
    (ring,) = collections(figure, "best")
    chosen = rows[best]
    assert chosen["n_components"] == 7 and chosen["covariance_type"] == "full"
    np.testing.assert_array_equal(ring.get_offsets(), [[7, chosen["bic"]]])
    (note,) = [t for t in ax.texts if t.get_text().startswith("best:")]
    assert note.get_text() == (
        f"best: K=7, full, D={chosen['components']}, BIC={chosen['bic']:,.0f}"
    )
    assert ax.get_title() == "mnist: selection"
    low, high = ax.get_ylim()
    assert low < chosen["bic"] < high


def test_a_line_that_failed_everywhere_is_named_failed_and_empty():
    rows = sweep(failed={(k, "diag", 2) for k in range(1, 11)})
    figure = selection_figure(rows, "bic", best_index(rows))
    lines = drawn_lines(figure)
    assert lines["diag, D=2 (failed)"] == ([], [])
    assert "diag, D=2 (failed)" in legend_labels(figure)
    crosses = collections(figure, "failed")
    assert sorted(float(x) for c in crosses for x, _ in c.get_offsets()) == list(range(1, 11))


def test_limits_come_from_the_finite_values():
    rows = sweep(ds=(None,))
    rows[0]["bic"] = math.inf  # an infinite value counts as failed, like NaN
    rows[1]["bic"] = math.nan
    rows[1]["status"] = "failed"
    figure = selection_figure(rows, "bic", best_index(rows))
    ax = figure.axes[0]
    finite = [r["bic"] for r in rows[2:]]
    low, high = ax.get_ylim()
    assert math.isfinite(low) and math.isfinite(high)
    assert low < min(finite) and max(finite) < high
    # tight around the values: no stretch to zero, no more than a third of padding
    assert high - low < 1.5 * (max(finite) - min(finite))
    assert all(math.isfinite(v) for line in ax.lines for v in line.get_ydata())


def test_without_components_the_labels_are_the_type_names():
    rows = sweep(ds=(None,))
    assert all("components" not in r for r in rows)
    figure = selection_figure(rows, "aic", best_index(rows, "aic"))
    assert legend_labels(figure) == list(TYPES)
    assert drawn_lines(figure) == expected_lines(rows, "aic")


def test_a_single_type_and_a_single_k():
    rows = sweep(ks=[5], types=("full",), ds=(None,))
    figure = selection_figure(rows, "icl", 0)
    ax = figure.axes[0]
    assert drawn_lines(figure) == {"full": ([5], [rows[0]["icl"]])}
    assert list(ax.get_xticks()) == [5]
    assert ax.get_xlim()[0] < 5 < ax.get_xlim()[1]
    low, high = ax.get_ylim()
    assert low < rows[0]["icl"] < high
    np.testing.assert_array_equal(
        collections(figure, "best")[0].get_offsets(), [[5, rows[0]["icl"]]]
    )


def test_far_apart_projection_sizes_get_one_panel_each():
    scale = {2: 2e6, 10: 6e6, 50: 1.5e7}  # a shared axis would draw every line flat
    rows = sweep(ds=(2, 10, 50), scale=scale)
    best = best_index(rows)
    figure = selection_figure(rows, "bic", best)
    assert len(figure.axes) == 3
    assert drawn_lines(figure) == expected_lines(rows, "bic")
    for ax, d in zip(figure.axes, (2, 10, 50), strict=True):
        assert [line.get_label() for line in ax.lines] == [f"{t}, D={d}" for t in TYPES]
        values = [r["bic"] for r in rows if r["components"] == d]
        low, high = ax.get_ylim()
        assert low < min(values) and max(values) < high
        assert high - low < 2 * (max(values) - min(values))
        assert ax.get_ylabel() == "BIC (lower is better)"
    # the ring is on the panel of the best model's projection size
    (ring,) = collections(figure, "best")
    assert ring.axes is figure.axes[0]
    np.testing.assert_array_equal(ring.get_offsets(), [[7, rows[best]["bic"]]])


def test_an_unknown_criterion_is_refused():
    with pytest.raises(ValueError, match="bic, aic, icl"):
        selection_figure(sweep(), "likelihood", 0)


def test_saved_png_has_the_figure_size_at_the_dpi(tmp_path):
    rows = sweep()
    figure = selection_figure(rows, "bic", best_index(rows))
    path = tmp_path / "selection.png"
    figure.savefig(path, dpi=DPI)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    expected = figure.get_size_inches() * DPI
    assert (width, height) == (round(expected[0]), round(expected[1])) == (990, 616)
    assert len(data) > 20_000  # lines, text and legend, not a blank canvas
