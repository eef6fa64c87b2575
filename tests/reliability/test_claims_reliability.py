"""RELIABILITY.md's quoted messages, read from RELIABILITY.md itself (issue 17).

The battery and the other tests make each fault for real and assert a fragment of its
message; here every part a row of RELIABILITY.md quotes is asserted, in full, against
the message the real code gives for the same input. A row is found by its first cell,
exactly, so a row that is reworded must be checked again. "…", "..." and the names
listed as ``wild`` stand for any text; paths are given relative to the test's folder,
as RELIABILITY.md gives them.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pcagmm.cli import main

RELIABILITY = Path(__file__).resolve().parents[2] / "RELIABILITY.md"
WILD = ("…", "...", "<task>", "<exception>")


def row(first_cell: str) -> str:
    """The outcome cell of the one table row of RELIABILITY.md whose first cell is this."""
    found = []
    for line in RELIABILITY.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            found.append(cells[1])
    assert len(found) == 1, (first_cell, found)
    return found[0]


def quotes(first_cell: str) -> list[str]:
    quoted = re.findall(r'"([^"]+)"', row(first_cell))
    assert quoted, first_cell
    return quoted


def pattern(quote: str, wild=()) -> re.Pattern:
    parts = re.split("|".join(re.escape(w) for w in (*WILD, *wild)), quote)
    return re.compile(".*?".join(re.escape(part.strip(" ")) for part in parts))


def assert_quoted(first_cell, messages, wild=(), alternatives=False):
    """Every quote of the row appears in one of ``messages``; with ``alternatives`` (a
    row whose quotes are "this" or "that"), each message also holds one of them."""
    messages = [messages] if isinstance(messages, str) else list(messages)
    patterns = [pattern(q, wild) for q in quotes(first_cell)]
    for quote, compiled in zip(quotes(first_cell), patterns, strict=True):
        assert any(compiled.search(m) for m in messages), (quote, messages)
    if alternatives:
        for message in messages:
            assert any(p.search(message) for p in patterns), message


def cli_error(capsys, tmp_path, *args) -> str:
    """``pcagmm ARGS`` in this process: exit status 2 and the one error line, with the
    test folder's path cut from it."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 2, (code, err)
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("pcagmm: error: "), err
    return last.replace(f"{tmp_path}/", "")


# ----------------------------------------------------------------------------- data files

#: RELIABILITY.md's first cell -> the battery's case (the same file, made the same way)
DATA_FILES = {
    "empty CSV": "empty csv",
    "one row": "one row",
    "one column": "one column",
    "NaN": "NaN",
    "infinity": "infinity",
    "wrong dtype (complex)": "complex dtype",
    "object array (pickled .npy)": "object array",
    "ragged CSV": "ragged csv",
    "CSV row longer than its header": "csv header mismatch",
    "non-numeric CSV": "non-numeric csv",
    "IDX with a wrong magic number": "IDX wrong magic",
    "IDX with one dimension": "IDX one dimension",
    "IDX with a truncated payload": "IDX truncated",
    "IDX with trailing bytes": "IDX trailing bytes",
    "truncated gzip": "gzip truncated",
    "a .gz that is not gzip": "not gzip",
    "a path that is a folder": "a folder",
    "a missing file": "missing file",
    "values of 1e200": "huge values",
    "a 200 GB CSV (sparse file)": "file larger than memory",
    "unknown data set name": "unknown data set",
}


@pytest.mark.parametrize("first_cell", list(DATA_FILES))
def test_data_file_errors_say_what_reliability_quotes(first_cell, tmp_path, capsys):
    from test_battery import ERROR_CASES

    setup, _ = ERROR_CASES[DATA_FILES[first_cell]]
    data = setup(tmp_path)
    line = cli_error(capsys, tmp_path, "run", "--dataset", data, "--out", tmp_path / "out",
                     "--no-plots", "--quiet")  # fmt: skip
    assert_quoted(first_cell, line)
    assert not (tmp_path / "out").exists()


def test_tiny_values_give_the_same_error_as_huge_ones(tmp_path, capsys):
    from test_battery import ERROR_CASES

    assert row("values of 1e-200") == "error, the same"
    data = ERROR_CASES["tiny values"][0](tmp_path)
    line = cli_error(capsys, tmp_path, "run", "--dataset", data, "--no-plots", "--quiet",
                     "--out", tmp_path / "out")  # fmt: skip
    assert_quoted("values of 1e200", line, wild=("1.48e+201",))


# ----------------------------------------------------------------------------- numerics


def test_collapsed_data_without_regularisation():
    from pcagmm import GaussianMixture
    from pcagmm.mixture import IllConditionedError

    with pytest.raises(IllConditionedError) as raised:
        GaussianMixture(1, reg_covar=0).fit(np.ones((10, 2)))
    assert row("collapsed data with `reg_covar=0`").startswith("`IllConditionedError`")
    assert_quoted("collapsed data with `reg_covar=0`", str(raised.value))


# ----------------------------------------------------------------------------- runs, models


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """A run of digits written by the command line, in a cache of its own."""
    folder = tmp_path_factory.mktemp("claims-model")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PCAGMM_CACHE", str(folder / "cache"))
        assert main(["run", "--dataset", "digits", "--out", str(folder / "run"), "--no-plots",
                     "--quiet"]) == 0  # fmt: skip
    return folder / "run" / "model.npz"


def test_output_folder_errors(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "digits", "--out", str(out), "--no-plots", "--quiet"]) == 0
    capsys.readouterr()
    line = cli_error(capsys, tmp_path, "run", "--dataset", "digits", "--clusters", "4",
                     "--out", out, "--no-plots", "--quiet")  # fmt: skip
    assert_quoted("output folder holding a different run", line)
    (tmp_path / "file").write_text("x")
    line = cli_error(capsys, tmp_path, "run", "--dataset", "digits", "--out",
                     tmp_path / "file", "--quiet")  # fmt: skip
    assert_quoted("output path that is a file", line)


@pytest.mark.parametrize(
    ("first_cell", "cases"),
    [
        ("model file truncated / not a model", ["truncated", "not a model"]),
        ("model file tampered (NaN)", ["tampered (NaN means)"]),
        ("model file from a future version", ["from a future version"]),
        ("model file with inconsistent shapes", ["inconsistent shapes"]),
    ],
)
def test_damaged_model_file_errors(first_cell, cases, digits_model, tmp_path, capsys):
    from test_battery import MODEL_CASES

    lines = []
    for case in cases:
        target = tmp_path / f"{len(lines)}.npz"
        MODEL_CASES[case][0](digits_model, target)
        lines.append(cli_error(capsys, tmp_path, "predict", "--model", target, "digits"))
    for line in lines:
        assert_quoted(first_cell, line)


def test_predict_with_the_wrong_number_of_features(digits_model, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((3, 10)))
    line = cli_error(capsys, tmp_path, "predict", "--model", digits_model, tmp_path / "x.npy")
    assert_quoted("predict with the wrong number of features", line)


def test_a_run_that_would_not_fit_in_memory(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PCAGMM_MEMORY_LIMIT", "100K")
    line = cli_error(capsys, tmp_path, "run", "--dataset", "digits", "--out", tmp_path / "o",
                     "--quiet")  # fmt: skip
    assert_quoted("a run that would not fit in memory (`PCAGMM_MEMORY_LIMIT=100K`)", line)
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- selection


def test_select_errors(tmp_path, capsys):
    select = ["select", "--dataset", "digits", "--no-plots", "--quiet", "--out", tmp_path / "o"]
    line = cli_error(capsys, tmp_path, *select, "--clusters", "15-1")
    assert_quoted("an inverted range (`--clusters 15-1`)", line)
    lines = [cli_error(capsys, tmp_path, *select, "--clusters", "1-2000"),
             cli_error(capsys, tmp_path, *select, "--components", "100")]  # fmt: skip
    assert_quoted("more clusters than rows, more components than features", lines)
    np.save(tmp_path / "collapsed.npy", np.tile([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]], (10, 1)))
    line = cli_error(capsys, tmp_path, "select", "--data", tmp_path / "collapsed.npy",
                     "--clusters", "2", "--covariance-types", "full", "--reg-covar", "0",
                     "--no-plots", "--quiet", "--out", tmp_path / "o")  # fmt: skip
    assert_quoted("every fit of the chosen projection size fails", line, wild=("N", "D", "K"))
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- convergence


def test_convergence_option_errors(tmp_path, capsys):
    from pcagmm.errors import ParameterError
    from pcagmm.workflow import RunConfig

    first = ("an unknown stopping rule or acceleration (`--stopping fast`, "
             "`--acceleration anderson`)")  # fmt: skip
    with pytest.raises(ParameterError) as raised:
        RunConfig("digits", stopping="fast")
    assert_quoted(first, str(raised.value))
    line = cli_error(capsys, tmp_path, "run", "--dataset", "digits", "--stopping", "aitken",
                     "--acceleration", "squarem", "--out", tmp_path / "o")  # fmt: skip
    assert_quoted("Aitken's rule with SQUAREM", line)


# ----------------------------------------------------------------------------- Dask


def test_dask_cluster_failures_are_named_as_reliability_says():
    """The messages the failures of a cluster map to, from Dask's own exceptions (the
    failures themselves are made for real in tests/rows/test_dask_failures.py)."""
    pytest.importorskip("distributed")
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError
    from distributed.core import RPCClosed
    from distributed.scheduler import KilledWorker

    from pcagmm.rows.dask import cluster_failure

    address = "tcp://127.0.0.1:8786"

    def message(exc) -> str:
        error = cluster_failure(exc, address)
        return f"{error.render(lambda name: name)}"

    worker = SimpleNamespace(address="tcp://127.0.0.1:40000")  # the last worker that died
    killed = message(KilledWorker("kill_my_worker-1", worker, allowed_failures=3))
    assert_quoted("a task that kills its worker on every try (issue 14)", killed)
    lost = message(CommClosedError("in <TCP (closed)>: Stream is closed"))
    cancelled = message(FutureCancelledError("x-1", "cancelled by the client"))
    assert_quoted("the scheduler killed mid-run (issue 14)", [lost, cancelled])
    other = message(RPCClosed("RPC Closed: something"))
    assert_quoted("any other failure of the cluster", other)
    assert cluster_failure(ValueError("not Dask's"), address) is None


def test_no_scheduler_at_the_address(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("PCAGMM_DASK_TIMEOUT", "1s")
    line = cli_error(capsys, tmp_path, "run", "--dataset", "digits", "--no-plots", "--quiet",
                     "--dask", "tcp://127.0.0.1:9", "--out", tmp_path / "o")  # fmt: skip
    assert_quoted("no scheduler at the address", line)  # ADDRESS is the message's own word
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- images, models


def test_image_refusals(tmp_path, monkeypatch):
    from PIL import Image

    from pcagmm.predict import PredictError, png_row
    from pcagmm.resources import ResourceError
    from test_hostile_inputs import SHAPE, truncations, zero_png

    def refused(name, content, error=PredictError) -> str:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(error) as raised:
            png_row(tmp_path / name, SHAPE)
        return str(raised.value).replace(f"{tmp_path}/", "")

    bomb = refused("bomb.png", zero_png(30_000, 30_000))
    assert_quoted("decompression bomb: 30,000 x 30,000 grey in 0.9 MB", bomb)
    monkeypatch.setenv("PCAGMM_MEMORY_LIMIT", "100M")
    huge = refused("huge.png", zero_png(9_000, 9_000, colour_type=2), ResourceError)
    assert_quoted("huge but valid: 9,000 x 9,000 RGB with 100 MiB available", huge)
    monkeypatch.delenv("PCAGMM_MEMORY_LIMIT")
    Image.fromarray(np.arange(1024, dtype=np.uint8).reshape(32, 32)).save(tmp_path / "good.png")
    cut = [refused(f"cut{i}.png", content) for i, content in
           enumerate(truncations((tmp_path / "good.png").read_bytes()).values())]  # fmt: skip
    assert_quoted(
        "truncated PNG (signature only, inside or after IHDR, half the data, without IEND, "
        "empty file)", cut, alternatives=True,
    )  # fmt: skip


def test_model_file_refusals(tmp_path):
    from pcagmm import PCA, GaussianMixture
    from pcagmm.model_file import ModelFileError, load_model, save_model
    from pcagmm.predict import PredictError, predict

    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(loc=c, size=(60, 16)) for c in (0, 4, 8)])
    pca = PCA(3).fit(X)
    gmm = GaussianMixture(3, covariance_type="full", random_state=0).fit(pca.transform(X))
    save_model(tmp_path / "model.npz", pca, gmm, (4, 4), {0: 1, 2: 5}, pixel_max=16.0)
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        original = {key: archive[key] for key in archive.files}

    def refused(change, digest=False) -> str:
        arrays = {k: v.copy() for k, v in original.items() if digest or k != "content_sha256"}
        change(arrays)
        np.savez(tmp_path / "m.npz", **arrays)
        with pytest.raises(ModelFileError) as raised:
            load_model(tmp_path / "m.npz")
        return str(raised.value)

    def set_(key, value):
        return lambda a: a.update({key: value})

    def scale(key, factor):
        return lambda a: a.update({key: a[key] * factor})

    shifted = refused(set_("gmm_means", original["gmm_means"] + 0.5), digest=True)
    assert_quoted(
        "model file with its digest: any array changed, plausible or not (a shifted mean, "
        "swapped weights and labels, a component dropped from every array)",
        shifted,
    )
    cov = original["gmm_covariances"]
    flipped = cov.copy()
    flipped[0] = -flipped[0]
    damaged = [
        scale("gmm_weights", 1.01),
        set_("gmm_weights", np.array([1.5, -0.25, -0.25])),
        scale("gmm_covariances", 1.01),
        set_("gmm_covariances", flipped),
        set_("gmm_covariances", cov + np.triu(np.ones(3), 1)),
        scale("pca_components", 2.0),
        set_("gmm_covariance_type", np.array("round")),
        set_("gmm_covariance_type", np.array(3)),
        set_("image_shape", np.array([4, 5])),
        set_("pixel_max", np.array(-3.0)),
        set_("format_version", np.array("1")),
        set_("format_version", np.array(0)),
        set_("n_features", np.array(2)),
        set_("cluster_to_label", np.array([-2, 0, 1])),
        set_("pca_whiten", np.array(1)),
        set_("gmm_means", original["gmm_means"].astype(np.complex128)),
    ]
    assert_quoted("one of each consistency check", [refused(change) for change in damaged])
    extreme = {k: v for k, v in original.items() if k != "content_sha256"}
    extreme["pca_mean"] = np.full_like(extreme["pca_mean"], 1e300)
    np.savez(tmp_path / "extreme.npz", **extreme)
    np.save(tmp_path / "rows.npy", X[:3])
    with pytest.raises(PredictError) as raised:
        predict(tmp_path / "extreme.npz", tmp_path / "rows.npy")
    assert_quoted(
        "model without a digest holding extreme but finite values (mean 1e300)", str(raised.value)
    )


# ----------------------------------------------------------------------------- image folders


def _image_folder_helpers():
    """make_shapes, bad_files and growing_when_read of tests/datasets/test_image_folder.py
    (one drawing)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "datasets" / "test_image_folder.py"
    spec = importlib.util.spec_from_file_location("image_folder_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_image_folder_refusals(tmp_path, capsys, monkeypatch):
    from PIL import Image

    from pcagmm.datasets import images

    helpers = _image_folder_helpers()

    def refused(folder, *options) -> str:
        return cli_error(capsys, tmp_path, "run", "--data", folder, *options, "--no-plots",
                         "--no-report", "--quiet", "--out", tmp_path / "out")  # fmt: skip

    def fresh():
        shutil.rmtree(tmp_path / "shapes", ignore_errors=True)
        return helpers.make_shapes(tmp_path / "shapes")

    empty = tmp_path / "empty"
    empty.mkdir()
    assert_quoted("an empty folder", refused(empty))
    (empty / "a.txt").write_text("x")
    (empty / "b.gif").write_bytes(b"GIF89a")
    assert_quoted("a folder without pictures (a .txt and a .gif file)", refused(empty))
    for first_cell, name in (
        ("a text file named .png", "text.png"),
        ("a truncated PNG (its first half)", "truncated.png"),
        ("a decompression bomb: 12,000 x 12,000 1-bit PNG of a few kB", "bomb.png"),
    ):
        shapes = fresh()
        for other in helpers.bad_files(shapes):
            if other != name:
                (shapes / "circle" / other).unlink()
        assert_quoted(first_cell, refused(shapes))
    shapes = fresh()
    (shapes / "square" / "broken.png").symlink_to(shapes / "nowhere.png")
    assert_quoted("a dangling link named .png", refused(shapes))
    shapes = fresh()
    (shapes / "circle" / "loop").symlink_to(shapes / "circle")
    assert_quoted("a symlink loop (a link to its own folder)", refused(shapes))
    shapes = fresh()
    assert_quoted("mixed sizes with `--no-resize`", refused(shapes, "--no-resize"))
    Image.new("L", (8, 8)).save(shapes / "loose.png")
    assert_quoted("pictures at the top and in class subfolders", refused(shapes))
    (shapes / "loose.png").unlink()
    growing = helpers.growing_when_read(shapes / "square" / "3.png")
    with monkeypatch.context() as patch:
        patch.setattr(images, "_read_bytes", growing)
        assert_quoted("a picture that grows while it is read", refused(shapes))
    assert not list((tmp_path / "cache" / "images").glob("*/X.npy"))
    assert not list((tmp_path / "cache" / "images").glob(".tmp-*"))
    assert not (tmp_path / "out").exists()

    shapes = fresh()
    helpers.bad_files(shapes)
    first_cell = "the text file, the truncated PNG and the bomb with `--skip-bad-images`"
    for _ in range(2):  # read, then from the cache
        out = tmp_path / "skipped"
        options = ["--skip-bad-images", "--clusters", "3", "--no-plots", "--no-report"]
        code = main(
            ["run", "--data", str(shapes), *options, "--quiet", "--force", "--out", str(out)]
        )
        assert code == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["data"]["shape"][0] == 26
        assert_quoted(first_cell, summary["data"]["source"].replace(f"{tmp_path}/", ""))
    capsys.readouterr()


def test_make_big_refuses_what_is_not_labelled_pictures(tmp_path, capsys):
    from PIL import Image

    flat = tmp_path / "flat"
    flat.mkdir()
    for number in range(3):
        Image.new("RGB", (8, 8), (40 * number, 0, 0)).save(flat / f"{number}.png")
    np.save(tmp_path / "plain.npy", np.ones((4, 9)))
    make_big = ["data", "make-big", "--rows", "10", "--out", tmp_path / "b.npy", "--source"]
    lines = [cli_error(capsys, tmp_path, *make_big, flat, "--colour", "rgb"),
             cli_error(capsys, tmp_path, *make_big, tmp_path / "plain.npy")]  # fmt: skip
    first_cell = ("`pcagmm data make-big --source` a flat folder of pictures (no labels), or "
                  "a file of rows that are not pictures")  # fmt: skip
    assert_quoted(first_cell, lines, alternatives=True)
    assert not (tmp_path / "b.npy").exists()


def test_four_dimensional_arrays_that_are_not_colour_pictures(tmp_path, capsys):
    lines = []
    for shape in ((5, 4, 4, 2), (5, 3, 4, 4)):
        np.save(tmp_path / "x.npy", np.zeros(shape, np.uint8))
        lines.append(cli_error(capsys, tmp_path, "run", "--data", tmp_path / "x.npy", "--out",
                               tmp_path / "out", "--no-plots", "--quiet"))  # fmt: skip
    first_cell = ("a 4-D array other than colour pictures (n, height, width, 3): (5, 4, 4, 2), "
                  "and channels first (5, 3, 4, 4)")  # fmt: skip
    assert_quoted(first_cell, lines, alternatives=True)
    assert not (tmp_path / "out").exists()


def test_colour_model_channel_refusals(tmp_path, capsys):
    """A model file's channels against its features, from ``pcagmm predict``: each file
    changed as a writer would have written it (its digest made again), so only the
    consistency check can refuse it."""
    from pcagmm import PCA, GaussianMixture
    from pcagmm.model_file import content_digest, save_model

    rng = np.random.default_rng(2)
    models = {}
    for name, shape in (("colour", (4, 4, 3)), ("grey", (4, 4))):
        X = rng.integers(0, 256, size=(90, int(np.prod(shape)))).astype(float)
        pca = PCA(2).fit(X)
        gmm = GaussianMixture(2, random_state=0).fit(pca.transform(X))
        save_model(tmp_path / f"{name}.npz", pca, gmm, shape, pixel_max=255.0)
        with np.load(tmp_path / f"{name}.npz") as saved:
            models[name] = dict(saved)
    assert int(models["colour"]["image_channels"]) == 3
    assert "image_channels" not in models["grey"]
    np.save(tmp_path / "rows.npy", np.zeros((2, 16)))

    def refused(name, change) -> str:
        arrays = {k: v for k, v in models[name].items() if k != "content_sha256"}
        change(arrays)
        arrays["content_sha256"] = np.array(content_digest(arrays))
        np.savez(tmp_path / "changed.npz", **arrays)
        return cli_error(capsys, tmp_path, "predict", "--model", tmp_path / "changed.npz",
                         tmp_path / "rows.npy")  # fmt: skip

    lines = [
        refused("colour", lambda a: a.update(image_channels=np.array(2))),
        refused("colour", lambda a: a.pop("image_channels")),
        refused("grey", lambda a: a.update(image_channels=np.array(3))),
    ]
    first_cell = (
        "a colour model file (issue 30: `image_channels` 3 beside the two numbers of "
        "`image_shape`) whose channels are not 3, or a file whose picture size does not make "
        "its features (`image_channels` missing from a colour model, as an older pcagmm reads "
        "it; `image_channels` added to a grey one), its digest made again"
    )
    assert_quoted(first_cell, lines, alternatives=True)
