"""A run made from Python leaves its figures and report.html to be asked for (issue 29):
``plots=None`` and ``report=None`` are Python's defaults, True the command line's.

What is checked: the folder a Python run writes and the summary.json that lists it;
report.html built on request equals, byte for byte outside the run's timings, the
page ``pcagmm run`` writes, and so do the figures' file names and summary.json; each
request adds whole files or none; a folder replaced since is refused; ``pcagmm report``
on such a folder lists the page it adds; the command line still writes everything.
"""

from __future__ import annotations

import json
import re

import pytest

import pcagmm
from page_reading import image_data, page_meta
from pcagmm.cli import main
from pcagmm.errors import ParameterError
from pcagmm.workflow import artifacts, html_report

SMALL = ("clusters.csv", "model.npz", "summary.json")
EVERYTHING = [
    "pca_scatter.png", "gmm_clusters.png", "cluster_means.png", "uncertainty.png", "density.png",
    "clusters.csv", "model.npz", "report.html", "summary.json",
]  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return image_data(tmp_path_factory.mktemp("on-request"))


def cli_run(data, out, capsys, *flags):
    code = main(["run", "--data", str(data), "--clusters", "3", "--out", str(out), *flags])
    _out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads((out / "summary.json").read_text())


def untimed(summary: dict) -> dict:
    """A summary without what differs between two runs of the same thing."""
    return {k: v for k, v in summary.items() if k != "timings_seconds"}


def same_page_but_timings(page: str) -> str:
    """The page with its JSON block's summary timings left out (the rest, byte for byte)."""
    meta = page_meta(page)
    meta["summary"].pop("timings_seconds")
    block = re.search(r'(<script type="application/json" id="pcagmm-meta">)(.*?)(</script>)', page)
    return page[: block.start(2)] + json.dumps(meta, sort_keys=True) + page[block.end(2) :]


def test_python_leaves_the_figures_and_the_page_to_be_asked_for(data, tmp_path):
    result = pcagmm.run(str(data), clusters=3, out=tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(SMALL)
    assert result.files == list(SMALL) and result.on_request == ("figures", "report")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["files"] == list(SMALL)  # summary.json records what was built
    assert "result.write_figures(), result.write_report()" in result.report()
    assert "figures" not in result.timings and "report" not in result.timings
    assert pcagmm.RunConfig().plots is None and pcagmm.RunConfig().report is None


def test_the_page_built_on_request_is_the_one_the_command_line_writes(data, tmp_path, capsys):
    cli = cli_run(data, tmp_path / "cli", capsys)
    result = pcagmm.run(str(data), clusters=3, out=tmp_path / "python")
    assert result.write_figures() == EVERYTHING[:5]
    path = result.write_report()
    assert path == tmp_path / "python" / "report.html"
    assert result.files == EVERYTHING == cli["files"] and result.on_request == ()
    assert sorted(p.name for p in (tmp_path / "python").iterdir()) == sorted(EVERYTHING)
    ours = json.loads((tmp_path / "python" / "summary.json").read_text())
    assert untimed(ours) == untimed(cli)
    assert set(ours["timings_seconds"]) == set(cli["timings_seconds"])  # figures, report too
    own = (tmp_path / "cli" / "report.html").read_text()
    built = path.read_text()
    assert same_page_but_timings(built) == same_page_but_timings(own)
    assert page_meta(built)["summary"]["files"] == EVERYTHING
    for name in EVERYTHING[:5]:  # the same figures (the same pixels: same code, same data)
        assert (tmp_path / "python" / name).stat().st_size > 1000


def test_asking_again_changes_nothing(data, tmp_path):
    result = pcagmm.run(str(data), clusters=3, out=tmp_path / "run", plots=False)
    page = result.write_report()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()}
    assert result.write_report() == page
    shown = result.show_report()  # the file's page, not built again
    assert shown.page == page.read_text()
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()} == before
    assert result.on_request == ()  # plots=False: never drawn, not on request either
    assert result.files == ["clusters.csv", "model.npz", "report.html", "summary.json"]


def test_show_report_writes_the_page_first_or_builds_it_in_memory(data, tmp_path):
    result = pcagmm.run(str(data), clusters=3, out=tmp_path / "run")
    shown = result.show_report()
    assert (tmp_path / "run" / "report.html").read_text() == shown.page
    assert "report.html" in json.loads((tmp_path / "run" / "summary.json").read_text())["files"]
    alone = pcagmm.run(str(data), clusters=3, write=False)
    page = alone.show_report().page
    assert page_meta(page)["rows_total"] == len(alone.clusters)
    assert alone.show_report().page is page  # built once
    with pytest.raises(ParameterError, match=r"^this run wrote no run folder \(write=False\)"):
        alone.write_report()
    with pytest.raises(ParameterError, match="wrote no run folder"):
        alone.write_figures()


def test_a_failed_request_leaves_the_folder_as_it_was(data, tmp_path, monkeypatch):
    result = pcagmm.run(str(data), clusters=3, out=tmp_path / "run")
    folder = tmp_path / "run"
    summary = (folder / "summary.json").read_text()
    saved = artifacts.save_figure
    drawn = []

    def fails_on_the_third(figure, path, file=None):
        drawn.append(path.name)
        if len(drawn) == 3:
            raise KeyboardInterrupt
        saved(figure, path, file)

    monkeypatch.setattr(artifacts, "save_figure", fails_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        result.write_figures()

    def no_room(path, page):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(html_report, "_write", no_room)
    with pytest.raises(OSError):
        result.write_report()
    # nothing added, nothing half-written, the result as it was
    assert sorted(p.name for p in folder.parent.iterdir() if p.name != "cache") == ["run"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(SMALL)
    assert (folder / "summary.json").read_text() == summary
    assert result.files == list(SMALL) and result.on_request == ("figures", "report")
    assert set(result.timings) == {"load", "pca", "mixture", "evaluation", "files"}
    monkeypatch.undo()
    assert len(result.write_figures()) == 5 and result.write_report().is_file()


def test_a_folder_replaced_since_is_refused(data, tmp_path):
    first = pcagmm.run(str(data), clusters=3, out=tmp_path / "run")
    pcagmm.run(str(data), clusters=3, out=tmp_path / "run")  # the same run again: replaced
    with pytest.raises(ParameterError, match="no longer holds the files of this run"):
        first.write_report()
    assert not (tmp_path / "run" / "report.html").exists()


def test_pcagmm_report_lists_the_page_it_adds(data, tmp_path, capsys):
    pcagmm.run(str(data), clusters=3, out=tmp_path / "run")
    assert main(["report", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["files"] == ["clusters.csv", "model.npz", "report.html", "summary.json"]
    page = (tmp_path / "run" / "report.html").read_text()
    assert page_meta(page)["summary"] == summary


def test_the_command_line_still_writes_everything(data, tmp_path, capsys):
    summary = cli_run(data, tmp_path / "cli", capsys)
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == sorted(EVERYTHING)
    assert summary["files"] == EVERYTHING
    bare = cli_run(data, tmp_path / "bare", capsys, "--no-plots", "--no-report")
    assert bare["files"] == list(SMALL)
    assert "when asked" not in capsys.readouterr().out


def test_a_study_draws_its_figures_and_page_with_its_folder(data, tmp_path):
    study = pcagmm.stability(str(data), clusters=3, seeds=2, out=tmp_path / "study")
    assert {"stability.png", "pca_scatter.png", "report.html"} <= set(study.files)
    assert study.reference.on_request == ()


@pytest.mark.parametrize("name", ["plots", "report"])
def test_plots_and_report_take_true_false_or_none(name):
    with pytest.raises(ParameterError, match=rf"^{name} must be True, False or None"):
        pcagmm.RunConfig(**{name: "yes"})


def test_a_folder_written_since_is_refused(data, tmp_path):
    """Files are added only to the folder as this run wrote it."""
    result = pcagmm.run(str(data), clusters=3, out=tmp_path / "run")
    summary = tmp_path / "run" / "summary.json"
    summary.write_text(summary.read_text().replace('"seed": 42', '"seed": 43'))
    with pytest.raises(ParameterError, match="no longer holds"):
        result.write_figures()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(SMALL)


def test_a_request_while_another_run_holds_the_folder_is_refused_in_one_line(data, tmp_path):
    from pcagmm import _locks

    result = pcagmm.run(str(data), clusters=3, out=tmp_path / "run")
    folder = tmp_path / "run"
    with _locks.exclusive(artifacts.lock_file(folder)), pytest.raises(ParameterError) as refused:
        result.write_report()
    message = str(refused.value)
    assert re.fullmatch(
        rf"another pcagmm run( \(process \d+\))? is writing {re.escape(str(folder))}; "
        "wait for it to finish and ask again",
        message,
    ), message
    assert not (folder / "report.html").exists()


def test_a_request_whose_folder_is_gone_is_refused_in_one_line(data, tmp_path):
    result = pcagmm.run(str(data), clusters=3, out=tmp_path / "parent" / "run")
    (tmp_path / "parent").rename(tmp_path / "moved")
    with pytest.raises(ParameterError) as refused:
        result.write_figures()
    message = str(refused.value)
    assert message.startswith(f"cannot add files to {tmp_path / 'parent' / 'run'} ("), message
    assert message.endswith(
        "; run it again, with plots=True and report=True to write everything at once"
    ), message
