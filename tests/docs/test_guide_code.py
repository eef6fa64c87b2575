"""Every code block of the README, of Getting started and of the user guide runs (issue 29).

The blocks are the fenced blocks of language ``sh``, ``bash``, ``console`` (its ``$ `` lines)
or ``python`` in README.md, docs/site/getting-started.md and docs/site/guide/*.md. A block
with no language or ``text`` is a printout, and a MyST directive (``{include}``,
``{code-cell}``, ...) is the site's business (the notebooks' cells run when it is built).

Each page runs in a working folder of its own, as a reader who has done the Quickstart
would: its shell blocks in order, each with ``bash -e``, then its Python blocks in order in
one fresh Python process, in the same folder. All pages share one cache
(``PCAGMM_CACHE``) and read MNIST from the shared files (``PCAGMM_MNIST_DIR``). The files
a block names as the reader's own (``my.csv``, ``digit.png``, ...) are made by the test
(``READER_FILES``), and the default run's folder is there when a block names it.

A block that cannot run here as written is changed by one of ``SUBSTITUTIONS``, each with
its reason; a substitution that no longer matches any block fails
(:func:`test_every_substitution_and_reader_file_is_still_used`), so the table cannot go
stale. The promised numbers stay in the pages' prose, checked by their own tests.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import DEBIAN_FASHION
from documents import GUIDE, README, REPO, SITE

#: every page whose code blocks run
PAGES = [README, SITE / "getting-started.md", *sorted(GUIDE.glob("*.md"))]
SHELL = {"sh", "bash", "console"}
PRINTOUT = {"", "text"}
#: the default run's folder, as ``make demo`` leaves it
DEFAULT_RUN = "runs/mnist-pca2-gmm10-full-seed42"
#: a block's runs are stopped after this many seconds
TIMEOUT = 600


@dataclass(frozen=True)
class Substitution:
    pattern: str  # a regular expression (multiline), matched in a block's code
    replacement: str  # as re.sub's; ``{scheduler}``: the address of the test's scheduler
    reason: str


SUBSTITUTIONS = (
    Substitution(
        r"^make demo\b.*$",
        "pcagmm data fetch mnist --quiet\npcagmm run --force",
        "the Makefile's demo recipe without the .venv it makes, pcagmm being installed "
        "here (test_make_demo_is_what_its_substitution_runs reads the recipe)",
    ),
    Substitution(r"^make test\b.*$", ":", "it runs the test suite this test is part of"),
    Substitution(
        r"^pip install .*$",
        ":",
        "pcagmm is installed here with its test extra, which holds Dask and umap-learn; "
        "the tests reach no package index",
    ),
    Substitution(
        r"--rows (8400000|1000000)\b",
        "--rows 20000",
        "8.4 million rows are a 6.6 GB file and a million take minutes to make; 20,000 "
        "rows run the same code (the streamed path keeps its own tests and benchmark)",
    ),
    Substitution(
        r"tcp://scheduler:8786",
        "{scheduler}",
        "an existing cluster: a LocalCluster that the test starts, reached by its address "
        "as a remote scheduler is",
    ),
    Substitution(
        r"^pcagmm run --uncertainty(?P<options>[^#\n]*?)(?P<comment> *#.*)?$",
        r"pcagmm run --dataset digits --uncertainty\g<options> --bootstrap 9\g<comment>",
        "199 bootstrap refits of MNIST's converged fit take about three minutes here (999, "
        "a quarter of an hour); 9 refits of the 1,797 digits' take seconds",
    ),
    Substitution(
        r"pcagmm select",
        "pcagmm select --dataset digits",
        "MNIST's sweeps take minutes each; on the 1,797 digits the same options take seconds",
    ),
    Substitution(
        r"--lrt\b(?!-)",
        "--lrt --lrt-bootstrap 9",
        "99 bootstrap replicates a step take minutes even on the digits (MNIST's, 5.7); 9 "
        "run the same code",
    ),
    Substitution(
        r"pcagmm stability",
        "pcagmm stability --dataset digits",
        "20 seeds' MNIST fits run to convergence take about a minute here; on the 1,797 "
        "digits the same options take seconds",
    ),
    Substitution(
        r"^pcagmm run --reducer umap --dataset fashion-mnist$",
        ":",
        "the line above on Fashion-MNIST: its 70,000 rows take about a minute here",
    ),
    Substitution(
        r"--reducer umap(?! --dataset)",
        "--reducer umap --dataset digits",
        "UMAP of MNIST's 70,000 rows takes about a minute a run here; of the digits, seconds",
    ),
)


def _csv(folder: Path, mnist: Path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    header = ",".join([f"p{i}" for i in range(64)] + ["label"])
    rows = np.column_stack([digits.data.astype(int), digits.target])
    np.savetxt(folder / "my.csv", rows, fmt="%d", delimiter=",", header=header, comments="")


def _test_images(mnist: Path, n: int) -> np.ndarray:
    raw = gzip.decompress((mnist / "t10k-images-idx3-ubyte.gz").read_bytes())
    return np.frombuffer(raw[16:], np.uint8)[: n * 784].reshape(n, 28, 28)


def _pngs(folder: Path, mnist: Path) -> None:
    from PIL import Image

    for name, image in zip(("digit.png", "other.png"), _test_images(mnist, 2), strict=True):
        Image.fromarray(255 - image).save(folder / name)  # dark ink on white, as scanned


def _rows(name: str):
    def make(folder: Path, mnist: Path) -> None:
        np.save(folder / name, _test_images(mnist, 50).reshape(50, 784))

    return make


#: the files the blocks take as the reader's own, and how the test makes each
READER_FILES = {
    "my.csv": _csv,  # the 1,797 digits, a header row and a "label" column
    "digit.png": _pngs,  # two of MNIST's test images, as PNG files
    "other.png": _pngs,
    "new_rows.npy": _rows("new_rows.npy"),  # 50 of MNIST's test rows
    "scans.npy": _rows("scans.npy"),
}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    code: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line} ({self.language})"


FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$", re.M)


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` (indented ones in list items too), in order."""
    text = page.read_text()
    found, position = [], 0
    while opening := FENCE.search(text, position):
        indent, fence = opening["indent"], opening["fence"]
        closing = re.compile(rf"^ *{re.escape(fence[0])}{{{len(fence)},}} *$", re.M)
        end = closing.search(text, opening.end())
        assert end, f"{page}: a block opened at offset {opening.start()} is never closed"
        body = textwrap.dedent(text[opening.end() + 1 : end.start()])
        body = "\n".join(line.removeprefix(indent) for line in body.splitlines())
        line = text.count("\n", 0, opening.start()) + 1
        found.append(Block(page, line, opening["info"].strip().split(" ")[0], body))
        position = end.end()
    return found


def code_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.language in SHELL | {"python"}]


def substituted(code: str, context: dict[str, str]) -> str:
    for substitution in SUBSTITUTIONS:

        def replace(match, replacement=substitution.replacement):
            return match.expand(replacement.format(**context))

        code = re.sub(substitution.pattern, replace, code, flags=re.M)
    return code


def shell_code(block: Block) -> str:
    if block.language != "console":
        return block.code
    return "\n".join(line[2:] for line in block.code.splitlines() if line.startswith("$ "))


# ------------------------------------------------------------------------ fast checks


def test_every_block_is_code_a_printout_or_a_directive():
    for page in PAGES:
        for block in blocks(page):
            known = block.language in SHELL | {"python"} | PRINTOUT
            assert known or block.language.startswith("{"), f"{block}: which language?"


def test_every_substitution_and_reader_file_is_still_used():
    every = [b.code for page in PAGES for b in code_blocks(page)]
    for substitution in SUBSTITUTIONS:
        assert any(re.search(substitution.pattern, c, re.M) for c in every), substitution
    for name in READER_FILES:
        assert any(name in c for c in every), f"no block names {name} any more"


def test_make_demo_is_what_its_substitution_runs():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    commands = [line.strip().removeprefix("$(BIN)/") for line in recipe]
    assert "\n".join(commands) == SUBSTITUTIONS[0].replacement


# ------------------------------------------------------------------------ the runs


@dataclass(frozen=True)
class Reader:
    files: Path  # the reader's own files
    cache: Path  # the cache every page shares
    mnist: Path  # the shared MNIST files

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["PCAGMM_CACHE"] = str(self.cache)
        env["PCAGMM_MNIST_DIR"] = str(self.mnist)
        env["MPLBACKEND"] = "Agg"
        return env


@pytest.fixture(scope="module")
def reader(tmp_path_factory, shared_mnist) -> Reader:
    folder = tmp_path_factory.mktemp("reader")
    for make in dict.fromkeys(READER_FILES.values()):
        make(folder, shared_mnist)
    return Reader(folder, tmp_path_factory.mktemp("guide-cache"), shared_mnist)


@pytest.fixture(scope="module")
def default_run(reader, tmp_path_factory) -> Path:
    """The default run's folder (``pcagmm run``), as the Quickstart leaves it."""
    folder = tmp_path_factory.mktemp("default")
    done = subprocess.run(["pcagmm", "run", "--quiet"], cwd=folder, env=reader.environment(),
                          capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder / DEFAULT_RUN


@pytest.fixture(scope="module")
def scheduler():
    """A scheduler and two single-threaded worker processes on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        yield cluster.scheduler_address


def check(done: subprocess.CompletedProcess, block: Block, code: str) -> None:
    assert done.returncode == 0, (
        f"{block} failed (exit status {done.returncode}):\n{code}\n"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_the_code_blocks_of_a_page_run(page, reader, tmp_path, request):
    found = code_blocks(page)
    if not found:
        return
    every = "\n".join(b.code for b in found)
    if "fashion-mnist" in every and not DEBIAN_FASHION.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is absent")
    work = tmp_path / "work"
    shutil.copytree(reader.files, work)
    if DEFAULT_RUN in every:
        shutil.copytree(request.getfixturevalue("default_run"), work / DEFAULT_RUN)
    context = {}
    if "tcp://scheduler:8786" in every:
        context["scheduler"] = request.getfixturevalue("scheduler")
    env = reader.environment()
    for block in (b for b in found if b.language in SHELL):
        code = substituted(shell_code(block), context)
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=work, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
        check(done, block, code)
    python = [b for b in found if b.language == "python"]
    if python:
        script = "\n\n".join(
            f"print('--- {b}', flush=True)\n{substituted(b.code, context)}" for b in python
        )
        done = subprocess.run([sys.executable, "-c", script], cwd=work, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
        check(done, python[-1], script)
