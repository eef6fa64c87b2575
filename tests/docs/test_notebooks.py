"""The example notebooks in examples/ (the site's gallery, issue 29).

They are stored clean: nbformat 4, no outputs, no execution counts, the ``python3``
kernel, so a diff shows only code and prose and the site shows what the code gives when it
is built (the docs build executes every one, in CI). The checks of the stored form read the
JSON itself, so they need no Jupyter package; nbformat's schema check and the execution of
one notebook end to end run where nbformat and nbclient are installed (the ``docs`` extra).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
#: the notebook executed here: the course notebook's analysis on MNIST, about 10 s
EXECUTED = EXAMPLES / "course_notebook.ipynb"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_gallery_has_its_notebooks():
    names = {path.stem for path in NOTEBOOKS}
    assert {
        "course_notebook",
        "choosing_the_model",
        "convergence_and_stability",
        "umap",
        "larger_than_memory",
    } <= names
    # only notebooks: a text source (a jupytext .py or .md) would be a second copy
    others = [p.name for p in EXAMPLES.iterdir() if p.suffix != ".ipynb" and p.is_file()]
    assert others == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_is_stored_clean(path):
    notebook = _read(path)
    assert notebook["nbformat"] == 4
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    cells = notebook["cells"]
    assert cells, "an empty notebook"
    assert cells[0]["cell_type"] == "markdown"
    assert "".join(cells[0]["source"]).startswith("# "), "the first cell is the title"
    for number, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        assert cell["outputs"] == [], f"cell {number} has outputs"
        assert cell["execution_count"] is None, f"cell {number} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_is_valid_nbformat(path):
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.read(path, as_version=4))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_neither_downloads_nor_writes_a_run_folder(path):
    code = "\n".join(
        "".join(cell["source"]) for cell in _read(path)["cells"] if cell["cell_type"] == "code"
    )
    for fetching in ("fetch_openml", "urlopen", "requests.", "pooch."):
        assert fetching not in code
    # a run, a sweep or a study writes a folder under runs/ unless told write=False
    for name in ("pcagmm.run(", "select(", "pcagmm.stability("):
        for arguments in _calls(code, name):
            assert "write=False" in arguments, f"{path.name}: {name}{arguments}"


def _calls(code: str, name: str):
    """The argument text of each call of ``name`` (which ends with its opening bracket)."""
    start = code.find(name)
    while start >= 0:
        depth, end = 1, start + len(name)
        while depth:
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            end += 1
        yield code[start + len(name) : end - 1]
        start = code.find(name, end)


@pytest.mark.slow
def test_the_course_notebook_runs_end_to_end(shared_mnist, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    kernelspec = pytest.importorskip("jupyter_client.kernelspec")
    try:
        kernelspec.get_kernel_spec("python3")
    except kernelspec.NoSuchKernel:
        pytest.skip("no Jupyter kernel named python3 (make test installs it)")
    monkeypatch.setenv("PCAGMM_MNIST_DIR", str(shared_mnist))  # the kernel inherits it
    work = tmp_path / "work"  # the notebook's working folder (the cache is beside it)
    work.mkdir()
    notebook = nbformat.read(EXECUTED, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the figures drawn step by step are shown as images, the Result as its HTML view
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2
    (shown,) = [cell for cell in code if cell.source.startswith("result = pcagmm.run(")]
    assert "<img" in shown.outputs[-1].data["text/html"]  # its tables and figures
    # its last check: run() gives the step-by-step numbers to the last bit
    assert code[-1].outputs[-1].data["text/plain"] == "(True, True)"
    assert list(work.iterdir()) == []  # it wrote nothing
