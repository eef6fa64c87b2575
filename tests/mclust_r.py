"""R's mclust as the reference: run an R script on arrays and read back its arrays.

Arrays go to R and come back as raw little-endian float64 (``writeBin``/``readBin``),
so nothing is rounded by printing. A test calls :func:`run_mclust` with R code that
reads its inputs as variables of the same names and calls ``out(name, value)`` for each
result. Without ``Rscript`` or mclust the test skips, naming what is missing; on CI
(``CI=true``) such a skip fails instead (``tests/conftest.py``), as the browser's does.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

#: the skip's reason begins with this (conftest turns it into a failure on CI)
MISSING = "R's mclust"

_PRELUDE = r"""
suppressPackageStartupMessages(library(mclust))
.dir <- commandArgs(trailingOnly = TRUE)[1]
.read <- function(name) {
  dims <- scan(file.path(.dir, paste0(name, ".dim")), quiet = TRUE)
  con <- file(file.path(.dir, paste0(name, ".bin")), "rb")
  on.exit(close(con))
  values <- readBin(con, "double", n = prod(dims), endian = "little")
  if (length(dims) > 1) array(values, dim = dims) else values
}
out <- function(name, value) {
  value <- as.array(value)
  storage.mode(value) <- "double"
  dims <- dim(value)
  if (is.null(dims)) dims <- length(value)
  writeLines(as.character(dims), file.path(.dir, paste0("out-", name, ".dim")))
  con <- file(file.path(.dir, paste0("out-", name, ".bin")), "wb")
  writeBin(as.vector(value), con, endian = "little")
  close(con)
}
"""


def rscript() -> str:
    """The path of ``Rscript``, or a skip (a failure on CI) when R is not installed."""
    path = shutil.which("Rscript")
    if path is None:
        pytest.skip(
            f"{MISSING} is needed: Rscript is not installed "
            "(apt-get install -y r-base-core r-cran-mclust)"
        )
    return path


def run_mclust(code: str, folder: Path, timeout: float = 600, **arrays) -> dict[str, np.ndarray]:
    """Run R ``code`` with mclust loaded and ``arrays`` bound to R variables.

    Parameters
    ----------
    code : str
        R code; each keyword of ``arrays`` is a variable (a matrix keeps its shape:
        NumPy's row-major array arrives as R's column-major one of the same shape), and
        ``out(name, value)`` returns a numeric value.
    folder : pathlib.Path
        An empty folder for the exchange (a test's ``tmp_path``).
    timeout : float
        Seconds R may take.
    **arrays : array-like
        Inputs, as float64.

    Returns
    -------
    dict of str to ndarray
        Each ``out`` by name, with R's dimensions (a matrix as NumPy's (rows, cols)).
    """
    program = rscript()
    folder.mkdir(parents=True, exist_ok=True)
    reads = []
    for name, value in arrays.items():
        value = np.asarray(value, dtype="<f8")
        dims = value.shape or (1,)
        (folder / f"{name}.dim").write_text(" ".join(str(n) for n in dims))
        # R is column-major: write in Fortran order so R's dim() matches NumPy's shape
        (folder / f"{name}.bin").write_bytes(np.asfortranarray(value).tobytes(order="F"))
        reads.append(f"{name} <- .read({name!r})")
    script = folder / "script.R"
    script.write_text(_PRELUDE + "\n".join(reads) + "\n" + textwrap.dedent(code))
    done = subprocess.run(
        [program, "--vanilla", str(script), str(folder)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        if "there is no package called" in done.stderr and "mclust" in done.stderr:
            pytest.skip(f"{MISSING} is needed: the R package is not installed (r-cran-mclust)")
        raise AssertionError(f"Rscript failed ({done.returncode}):\n{done.stderr[-4000:]}")
    results = {}
    for dim_file in folder.glob("out-*.dim"):
        name = dim_file.name[4:-4]
        dims = tuple(int(n) for n in dim_file.read_text().split())
        values = np.frombuffer((folder / f"out-{name}.bin").read_bytes(), dtype="<f8")
        results[name] = values.reshape(dims, order="F")
    return results
