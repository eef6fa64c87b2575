"""GaussianMixtureSelection against R's mclust ``Mclust(X, G = 1:9)`` on MNIST-PCA-2.

Usage: python benchmarks/select_vs_mclust.py [--repeats 1] [--max-k 9] [--seed 0]
       [--rows N] [--streamed] [--streamed-rows 700000] [--work scale-data]

MNIST (all 70,000 rows; with ``--rows N`` its first N rows, for smoke runs) is projected
with ``pcagmm.PCA(2)`` (not timed): Z. The grid is G = 1..max_k x mclust's fourteen
covariance structures (EII ... VVV), timed on both sides:

* mclust (R, in an ``Rscript`` child process; Z arrives as raw float64, not printed
  text): only ``Mclust(Z, G = 1:max_k, initialization = list(subset = idx))`` is timed,
  with ``system.time()``'s elapsed seconds inside R (R's start, ``library(mclust)`` and
  reading Z are not counted). mclust fits one model at a time on one core; it has no
  option to do otherwise.
* pcagmm (this process, after an untimed warm-up fit of 200 rows):
  ``GaussianMixtureSelection(range(1, max_k + 1), covariance_types="all",
  init_params="hierarchical", stopping="relative", tol=1e-5, reg_covar=0.0,
  max_iter=100_000, random_state=seed).fit(Z)``, its default threads (one fit per core).

Both do the same work: mclust's hierarchical start agglomerates a random subset of at
most 2,000 rows (``mclust.options("subset")``), and ``idx`` is the very subset pcagmm's
start agglomerates, ``pcagmm.mixture.hierarchical.subset_rows(n, 2000,
numpy.random.RandomState(seed))`` (1-based for R). Each side then takes one M-step of
the subset's classes and runs EM on every row to mclust's stopping rule (a relative
change of the log-likelihood of 1e-5), without regularisation.

Prints each side's wall seconds (median of ``--repeats``), the ratio mclust / pcagmm,
and the comparison of the two BIC tables, cell by cell, in mclust's sign (``2 log L - p
log n``, higher is better; pcagmm's is ``-bic``): the cells where pcagmm's BIC equals
mclust's to 1e-6 relative or is higher, the cells where it is lower (each listed with
both values), the cells that failed (NA) on one side only, and both chosen models.

With ``--streamed``, also the whole grid on a file of ``--streamed-rows`` (700,000) rows
of 2 float64 columns: the PCA-2 (``pcagmm.PCA(2)`` fitted on those rows) of the
deformed-MNIST images of ``pcagmm data make-big --rows 700000 --seed 0`` (the file
``scale.py`` makes; both are made once, not timed, and kept in ``--work``). Distinct
rows, not copies of Z. It is opened as a read-only memory map (``numpy.load(...,
mmap_mode="r")``) and fitted by ``GaussianMixtureSelection`` in a child process, as
above; every fit reads it in chunks (``GaussianMixture``'s default ``chunk_rows``:
GaussianMixtureSelection has no option of its own, and a read-only map is all the
streamed path needs). Reported: the fit's wall seconds (inside the child) and the
child's peak memory (``/usr/bin/time``'s maximum resident size, or the sampled sum over
its process tree where larger, as ``scale.py`` measures), beside the same child on Z
(the 70,000 rows saved as ``.npy``) and a child that only imports and opens the map (the
interpreter's floor). mclust is not run on the large file: it holds the rows and its
n x G responsibilities in memory and fits one model at a time (not measured here).

Ends with a summary block to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from _common import median_time, mnist_pca2

#: mclust's agglomeration subset (mclust.options("subset")), pcagmm's HIERARCHICAL_MAX_ROWS
SUBSET_ROWS = 2000
#: two BICs are "equal" within this relative difference
EQUAL_RTOL = 1e-6
#: the settings that make GaussianMixtureSelection's grid mclust's Mclust()
AS_MCLUST = dict(
    covariance_types="all",
    init_params="hierarchical",
    stopping="relative",
    tol=1e-5,
    reg_covar=0.0,
    max_iter=100_000,
)

R_SCRIPT = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
repeats <- as.integer(args[2])
max_k <- as.integer(args[3])
models <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV",
            "VEV", "EVV", "VVV")
dims <- scan(file.path(dir, "Z.dim"), quiet = TRUE)
con <- file(file.path(dir, "Z.bin"), "rb")
Z <- matrix(readBin(con, "double", n = prod(dims), endian = "little"),
            nrow = dims[1], ncol = dims[2])
close(con)
idx <- scan(file.path(dir, "subset.txt"), what = integer(), quiet = TRUE)
times <- numeric(repeats)
for (r in seq_len(repeats)) {
  times[r] <- system.time(
    fit <- Mclust(Z, G = 1:max_k, initialization = list(subset = idx))
  )[["elapsed"]]
}
bic <- unclass(fit$BIC)
stopifnot(identical(colnames(bic)[seq_along(models)], models))
bic <- matrix(as.vector(bic[, models]), nrow = max_k)
con <- file(file.path(dir, "bic.bin"), "wb")
writeBin(as.vector(bic), con, endian = "little")
close(con)
writeLines(c(fit$modelName, as.character(fit$G),
             as.character(packageVersion("mclust")), R.version.string,
             paste(format(times, digits = 17), collapse = " ")),
           file.path(dir, "result.txt"))
"""

#: the streamed fit, in a child: argv = rows.npy, out.json, seed, max_k, "fit" or "floor",
#: the settings (AS_MCLUST as JSON)
STREAMED_CHILD = """
import json, sys, time, warnings
import numpy as np
from pcagmm.mixture.selection import GaussianMixtureSelection
path, out, seed, max_k, what, settings = sys.argv[1:7]
X = np.load(path, mmap_mode="r")
result = {"rows": int(X.shape[0])}
if what == "fit":
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    selection = GaussianMixtureSelection(
        range(1, int(max_k) + 1), random_state=int(seed), **json.loads(settings)
    ).fit(X)
    result["fit_seconds"] = time.perf_counter() - started
    result["best"] = selection.best_params_
    result["failed"] = sum(row["status"] != "ok" for row in selection.results_)
with open(out, "w") as file:
    json.dump(result, file)
"""


def write_exchange(folder: Path, Z: np.ndarray, subset: np.ndarray) -> None:
    """Z as raw little-endian float64 in R's column-major order, and the 1-based subset."""
    Z = np.asarray(Z, dtype="<f8")
    (folder / "Z.dim").write_text(" ".join(str(n) for n in Z.shape))
    (folder / "Z.bin").write_bytes(Z.tobytes(order="F"))
    (folder / "subset.txt").write_text("\n".join(str(int(i) + 1) for i in subset) + "\n")
    (folder / "script.R").write_text(R_SCRIPT)


def run_mclust(Z, subset, max_k: int, repeats: int) -> dict:
    """``Mclust`` in an Rscript child: its elapsed seconds per repeat, the BIC table
    (max_k x 14, NaN where mclust gives NA), the chosen model and G, the child's peak MiB."""
    from scale import measured

    with tempfile.TemporaryDirectory(prefix="select-vs-mclust-") as name:
        folder = Path(name)
        write_exchange(folder, Z, subset)
        rscript = shutil.which("Rscript")
        if rscript is None:
            raise SystemExit("Rscript is not installed (apt-get install r-base-core r-cran-mclust)")
        command = [rscript, "--vanilla", str(folder / "script.R"), str(folder)]
        command += [str(repeats), str(max_k)]
        _, peak = measured(command)
        bic = np.frombuffer((folder / "bic.bin").read_bytes(), dtype="<f8")
        lines = (folder / "result.txt").read_text().splitlines()
    model, G, version, r_version, times = lines
    return {
        "times": [float(t) for t in times.split()],
        "bic": bic.reshape((max_k, 14), order="F"),
        "model": model,
        "G": int(G),
        "version": f"mclust {version}, {r_version}",
        "peak_mib": peak,
    }


def our_table(results, max_k: int) -> np.ndarray:
    """pcagmm's BIC table in mclust's sign and layout (NaN where a fit failed)."""
    from pcagmm.mixture.covariance import MCLUST_NAMES

    table = np.full((max_k, len(MCLUST_NAMES)), np.nan)
    for row in results:
        if row["status"] == "ok":
            table[row["n_components"] - 1, MCLUST_NAMES.index(row["covariance_type"])] = -row["bic"]
    return table


def compare_tables(ours: np.ndarray, theirs: np.ndarray) -> dict:
    """Cell by cell (mclust's sign, higher is better): equal to EQUAL_RTOL, higher,
    lower; and the cells failed on one side only, or on both."""
    from pcagmm.mixture.covariance import MCLUST_NAMES

    cells = {key: [] for key in ("equal", "higher", "lower", "ours_only_failed")}
    cells.update(mclust_only_failed=[], both_failed=[])
    for g in range(ours.shape[0]):
        for j, name in enumerate(MCLUST_NAMES):
            a, b = ours[g, j], theirs[g, j]
            cell = (g + 1, name, a, b)
            if np.isnan(a) and np.isnan(b):
                cells["both_failed"].append(cell)
            elif np.isnan(a):
                cells["ours_only_failed"].append(cell)
            elif np.isnan(b):
                cells["mclust_only_failed"].append(cell)
            elif abs(a - b) <= EQUAL_RTOL * abs(b):
                cells["equal"].append(cell)
            elif a > b:
                cells["higher"].append(cell)
            else:
                cells["lower"].append(cell)
    return cells


def print_comparison(cells: dict, results, n_cells: int) -> None:
    errors = {(row["n_components"], row["covariance_type"]): row["error"] for row in results}
    compared = n_cells - sum(len(cells[k]) for k in cells if "failed" in k)
    at_least = len(cells["equal"]) + len(cells["higher"])
    print(
        f"  BIC, cells fitted on both sides: {compared}; pcagmm's >= mclust's (or equal to "
        f"{EQUAL_RTOL:g} relative): {at_least} ({len(cells['equal'])} equal, "
        f"{len(cells['higher'])} higher); lower: {len(cells['lower'])}"
    )
    for label, key in (("higher", "higher"), ("LOWER ", "lower")):
        for G, name, a, b in cells[key]:
            difference = (a - b) / abs(b)
            print(f"    {label}  G={G} {name}: pcagmm {a:.6f}  mclust {b:.6f}  ({difference:+.2e})")
    print(
        f"  NA: both sides {len(cells['both_failed'])}, pcagmm only "
        f"{len(cells['ours_only_failed'])}, mclust only {len(cells['mclust_only_failed'])}"
    )
    for G, name, _, b in cells["ours_only_failed"]:
        print(f"    failed in pcagmm only  G={G} {name}: mclust {b:.6f}; {errors[(G, name)]}")
    for G, name, a, _ in cells["mclust_only_failed"]:
        print(f"    failed in mclust only  G={G} {name}: pcagmm {a:.6f}")
    for G, name, _, _ in cells["both_failed"]:
        print(f"    failed on both sides   G={G} {name}")


def streamed_file(work: Path, rows: int) -> Path:
    """The PCA-2 of ``pcagmm data make-big --rows ROWS --seed 0`` (made once, kept)."""
    big = work / f"mnist-deformed-{rows}.npy"
    projected = work / f"mnist-deformed-{rows}-pca2.npy"
    if projected.exists():
        return projected
    work.mkdir(parents=True, exist_ok=True)
    if not big.exists():
        cli = str(Path(sys.executable).with_name("pcagmm"))
        subprocess.run([cli, "data", "make-big", "--rows", str(rows), "--out", str(big),
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    import pcagmm.datasets
    from pcagmm import PCA

    X = pcagmm.datasets.load(big).X  # memory-mapped rows of 784 pixels
    Z = PCA(2).fit(X).transform(X)
    partial = projected.with_name(projected.name + ".partial.npy")
    np.save(partial, np.ascontiguousarray(Z, dtype=np.float64))
    partial.replace(projected)
    return projected


def streamed_child(path: Path, seed: int, max_k: int, what: str) -> dict:
    """The child's result, its whole wall seconds and its peak MiB."""
    import json

    from scale import measured

    with tempfile.TemporaryDirectory(prefix="select-vs-mclust-") as name:
        out = Path(name) / "out.json"
        command = [sys.executable, "-c", STREAMED_CHILD, str(path), str(out), str(seed)]
        wall, peak = measured([*command, str(max_k), what, json.dumps(AS_MCLUST)])
        result = json.loads(out.read_text())
    return {**result, "wall": wall, "peak_mib": peak}


def machine() -> str:
    import psutil

    return f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-k", type=int, default=9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=None, help="the first N rows of Z (smoke)")
    parser.add_argument("--streamed", action="store_true", help="also the streamed large file")
    parser.add_argument("--streamed-rows", type=int, default=700_000)
    parser.add_argument("--work", default="scale-data", help="where the large files are kept")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    command = "python benchmarks/select_vs_mclust.py " + " ".join(sys.argv[1:])

    from pcagmm.mixture.covariance import MCLUST_NAMES
    from pcagmm.mixture.hierarchical import subset_rows
    from pcagmm.mixture.selection import GaussianMixtureSelection

    Z = mnist_pca2(args.rows)
    n = len(Z)
    counts = range(1, args.max_k + 1)
    n_cells = args.max_k * len(MCLUST_NAMES)
    subset = subset_rows(n, SUBSET_ROWS, np.random.RandomState(args.seed))

    def ours(X=Z):
        return GaussianMixtureSelection(counts, random_state=args.seed, **AS_MCLUST).fit(X)

    ours(Z[:200])  # warm-up, not timed
    ours_time, selection = median_time(ours, args.repeats)
    mclust = run_mclust(Z, subset, args.max_k, args.repeats)
    mclust_time = statistics.median(mclust["times"])

    results = selection.results_
    cells = compare_tables(our_table(results, args.max_k), mclust["bic"])
    best = selection.best_params_
    ours_choice = f"{best['covariance_type']} G={best['n_components']}"
    mclust_choice = f"{mclust['model']} G={mclust['G']}"
    not_converged = sum(row["status"] == "ok" and not row["converged"] for row in results)
    fit_sum = sum(row["time"] for row in results)

    print(
        f"\nMNIST-PCA-2, {n:,} rows, G = 1..{args.max_k} x 14 structures = {n_cells} fits, "
        f"seed {args.seed} (the start agglomerates {len(subset):,} rows, the same on both sides)"
    )
    print(
        f"  mclust Mclust() (one core)                  {mclust_time:8.2f} s   "
        f"(the Rscript child's peak {mclust['peak_mib']:.0f} MiB; {mclust['version']})"
    )
    print(
        f"  pcagmm GaussianMixtureSelection (threads)   {ours_time:8.2f} s   "
        f"(sum of per-cell fit times {fit_sum:.2f} s; {not_converged} cells stopped by max_iter)"
    )
    print(f"  ratio mclust / pcagmm: {mclust_time / ours_time:.2f}x (target: at least 5x)")
    print_comparison(cells, results, n_cells)
    same = "the same" if ours_choice == mclust_choice else "DIFFERENT"
    print(f"  chosen: mclust {mclust_choice}, pcagmm {ours_choice} ({same})")

    streamed = None
    if args.streamed:
        work = Path(args.work)
        path = streamed_file(work, args.streamed_rows)
        floor = streamed_child(path, args.seed, args.max_k, "floor")
        with tempfile.TemporaryDirectory(prefix="select-vs-mclust-") as name:
            small = Path(name) / f"mnist-pca2-{n}.npy"
            np.save(small, Z)
            at_small = streamed_child(small, args.seed, args.max_k, "fit")
        at_large = streamed_child(path, args.seed, args.max_k, "fit")
        streamed = (floor, at_small, at_large)
        print(
            f"\nstreamed: {path} ({at_large['rows']:,} x 2 float64, the PCA-2 of `pcagmm data "
            f"make-big`), a read-only memory map, fitted in a child process"
        )
        print(f"  a child that only imports and opens the map: peak {floor['peak_mib']:.0f} MiB")
        for label, result in (("Z", at_small), ("make-big PCA-2", at_large)):
            chosen = result["best"]
            print(
                f"  {label:>14} {result['rows']:>9,} rows: fit {result['fit_seconds']:8.2f} s "
                f"(child {result['wall']:.2f} s), peak {result['peak_mib']:.0f} MiB; chosen "
                f"{chosen['covariance_type']} G={chosen['n_components']}; "
                f"failed cells {result['failed']}"
            )
        print("  mclust is not run on the large file.")

    at_least = len(cells["equal"]) + len(cells["higher"])
    one_side = len(cells["ours_only_failed"]) + len(cells["mclust_only_failed"])
    print(
        f"\n--- summary (median of {args.repeats}; {machine()}; "
        f"{time.strftime('%Y-%m-%d')}; `{command}`) ---"
    )
    print(
        f"| data | mclust `Mclust(G = 1:{args.max_k})` (1 core) | pcagmm (threads) | **ratio** "
        "| BIC >= mclust's (1e-6) | lower | NA one side only | chosen: mclust / pcagmm |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| MNIST-PCA-2, {n:,} rows, G = 1..{args.max_k} x 14 | {mclust_time:.2f} s "
        f"| {ours_time:.2f} s | **{mclust_time / ours_time:.2f}x** | {at_least}/{n_cells} "
        f"| {len(cells['lower'])} | {one_side} | {mclust_choice} / {ours_choice} |"
    )
    if streamed is not None:
        floor, at_small, at_large = streamed
        print("\n| streamed (memory map, child process) | fit | peak memory | chosen |")
        print("|---|---:|---:|---|")
        for label, result in (("MNIST-PCA-2 (Z)", at_small), ("make-big PCA-2", at_large)):
            chosen = result["best"]
            print(
                f"| {label}, {result['rows']:,} rows | {result['fit_seconds']:.2f} s "
                f"| {result['peak_mib']:.0f} MiB | {chosen['covariance_type']} "
                f"G={chosen['n_components']} |"
            )
        print(f"| (import and open only) | | {floor['peak_mib']:.0f} MiB | |")
        print("mclust not run on the large file.")


if __name__ == "__main__":
    main()
