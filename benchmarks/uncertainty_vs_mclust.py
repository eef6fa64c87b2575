"""Bootstrap standard errors and the bootstrap likelihood-ratio test against R's mclust.

Usage: python benchmarks/uncertainty_vs_mclust.py [--bootstrap 199] [--lrt-bootstrap 99]
       [--lrt-default-bootstrap B] [--mclust-refits 3] [--lrt-mclust-boot 3]
       [--mclust-budget 300] [--max-k 10] [--seed 0] [--rows N]
       [--skip-bootstrap] [--skip-lrt] [--work DIR]

MNIST (all 70,000 rows; with ``--rows N`` its first N rows, for smoke runs; read as
``_common.mnist_X`` reads it: ../shared/data/mnist where that exists, else
``PCAGMM_MNIST_DIR``) is projected with ``pcagmm.PCA(2)`` (not timed): Z. Each side
runs at its best: mclust in an ``Rscript`` child (one core: R fits one model at a time
and has no option to do otherwise), timed with ``system.time()``'s elapsed seconds
inside R (R's start, ``library(mclust)`` and reading the arrays, which arrive as raw
float64, are not counted); pcagmm in this process, its refits side by side on threads
(one per core), after an untimed warm-up.

1. Standard errors (``pcagmm.mixture.bootstrap`` against ``MclustBootstrap(obj, nboot =
   B, type = "bs")``). The estimate is the notebook's model, ``GaussianMixture(10,
   random_state=42)`` (full covariances: mclust's VVV) fitted to Z and then run to
   convergence (``CONVERGED``: relative 1e-12 with SQUAREM); both sides bootstrap that
   same estimate. mclust gets it as an object of class "Mclust" whose ``z`` is
   pcagmm's ``predict_proba(Z)`` (its parameters, log-likelihood and classification
   beside): each of its refits is ``me()`` on the resampled rows started from their
   ``z``, i.e. from the estimate, as pcagmm's refits start from its parameters.
   Resamples are nonparametric (rows drawn with replacement: mclust's "bs"), each side
   drawing its own: mclust refits on the n drawn rows (copies included), pcagmm on the
   distinct rows weighted by their counts (about 63% of the rows; the same fit). The
   estimate keeps the notebook's ``reg_covar=1e-6`` in pcagmm's refits (mclust adds
   none; the covariances' eigenvalues are above 2,000: 1e-6 is below either rule).
   Two stopping rules:

   (a) mclust's default, ``emControl()`` (relative change of the log-likelihood 1e-5,
       plain EM): pcagmm ``bootstrap(..., settings={"stopping": "relative", "tol":
       1e-5, "acceleration": None}, converge=False)`` with B = ``--bootstrap``, against
       mclust's default ``MclustBootstrap``. mclust runs in chunks of 10 resamples until
       it has B, or until the next chunk would take it past ``--mclust-budget`` seconds
       (at least 20 resamples); its time per refit is then scaled to B (said so in the
       output).
   (b) pcagmm's default (``REFIT`` = ``CONVERGED``, relative 1e-12 with SQUAREM), B =
       ``--bootstrap``, against mclust with ``emControl(tol = c(1e-12, ...))`` (its only
       way to that precision: plain EM, thousands of iterations per refit on this flat
       likelihood), timed on ``--mclust-refits`` refits and scaled per refit to B.

   Also printed: the median standard error of the means on each side (at 1e-5 the
   refits stop close to their start, and the errors come out several times smaller
   than at 1e-12), pcagmm's passes per refit, and mclust's iterations per refit.

2. The likelihood-ratio test (``pcagmm.mixture.lrt.likelihood_ratio_test`` against
   ``mclustBootstrapLRT(Z, modelName = "VVV", nboot, maxG = max_k - 1)``), every step
   K against K + 1 for K = 1 .. max_k - 1 (mclust with ``maxG``; pcagmm
   ``sequential=False``). mclust fits G = 1..max_k itself (``mclustBIC`` with its
   hierarchical start) and ``summary()`` refits each model of a step; it is given
   ``initialization = list(subset = idx)``, the very 2,000 rows pcagmm's hierarchical
   start agglomerates (``subset_rows(n, 2000, RandomState(seed))``, as in
   ``select_vs_mclust.py``), so both reach the same fits. mclust runs with ``nboot =
   --lrt-mclust-boot`` (after an untimed warm-up on 300 rows); the time of its own fits
   (``mclustBIC`` and ``summary.mclustBIC``, timed by ``trace()``) is kept apart, and the
   rest, its replicates' time, is scaled to ``--lrt-bootstrap`` replicates per step.
   pcagmm: ``GaussianMixture(K, init_params="hierarchical", stopping="relative",
   tol=1e-5, reg_covar=0, random_state=seed)`` for K = 1..max_k (side by side, one
   shared tree), then ``likelihood_ratio_test(Z, fits, resamples=B, sequential=False,
   converge=False, settings={"stopping": "relative", "tol": 1e-5, "acceleration":
   None})`` with B = ``--lrt-bootstrap`` in full (mclust's rule), and again at its
   default rule (``LRT_REFIT``: relative 1e-8 with SQUAREM, ``converge=True``) with B =
   ``--lrt-default-bootstrap`` (default ``--lrt-bootstrap``; 0 skips it).
   Printed: each side's total for "K = 1..max_k with B replicates per step", the
   ratio, the observed statistics of both sides side by side, and pcagmm's p-values
   and supported K.

Ends with a summary block (machine, each time, each ratio, what was scaled) to paste
into BENCHMARKS.md. ``--work DIR`` keeps the arrays exchanged with R and R's outputs
there (default: a temporary folder, removed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from _common import mnist_pca2

#: mclust's agglomeration subset (mclust.options("subset")), pcagmm's HIERARCHICAL_MAX_ROWS
SUBSET_ROWS = 2000
#: mclust's default rule (emControl()), as pcagmm refit settings
AT_MCLUST_RULE = {"stopping": "relative", "tol": 1e-5, "acceleration": None}
#: mclust's emControl(tol = ...) for comparison (b): pcagmm's CONVERGED tolerance
CONVERGED_TOL = 1e-12
#: the notebook's model
NOTEBOOK_K, NOTEBOOK_SEED = 10, 42
#: mclust's bootstrap (a) runs in chunks of this many resamples, and at least this many
MCLUST_CHUNK, MCLUST_AT_LEAST = 10, 20

R_COMMON = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
read_matrix <- function(name, nrow, ncol) {
  con <- file(file.path(dir, name), "rb")
  on.exit(close(con))
  matrix(readBin(con, "double", n = nrow * ncol, endian = "little"), nrow = nrow, ncol = ncol)
}
dims <- scan(file.path(dir, "dims.txt"), quiet = TRUE)  # n, d, K
n <- dims[1]; d <- dims[2]; K <- dims[3]
Z <- read_matrix("Z.bin", n, d)
out <- character()
put <- function(key, value) out <<- c(out, paste(key, paste(format(value, digits = 17),
                                                              collapse = " ")))
put("version", paste0("mclust ", packageVersion("mclust"), ", ", R.version.string))
"""

#: MclustBootstrap on pcagmm's estimate: (a) at emControl() in time-boxed chunks, (b) at
#: emControl(tol = c(1e-12, ...)) on a few refits. argv: dir, seed, B, budget, chunk,
#: at_least, refits_b, tol_b, skip_b
R_BOOTSTRAP = (
    R_COMMON
    + r"""
seed <- as.integer(args[2]); B <- as.integer(args[3]); budget <- as.numeric(args[4])
chunk <- as.integer(args[5]); at_least <- as.integer(args[6])
refits_b <- as.integer(args[7]); tol_b <- as.numeric(args[8])
z <- read_matrix("z.bin", n, K)
pro <- as.vector(read_matrix("pro.bin", K, 1))
mu <- read_matrix("mean.bin", d, K)
sigma <- array(as.vector(read_matrix("sigma.bin", d * d, K)), dim = c(d, d, K))
cholsigma <- array(apply(sigma, 3, chol), dim = c(d, d, K))
loglik <- as.vector(read_matrix("loglik.bin", 1, 1))
obj <- list(data = Z, modelName = "VVV", n = n, d = d, G = K, loglik = loglik,
            hypvol = NA, z = z, classification = max.col(z, ties.method = "first"),
            parameters = list(pro = pro, mean = mu, Vinv = NULL,
                              variance = list(modelName = "VVV", d = d, G = K,
                                              sigma = sigma, cholsigma = cholsigma)))
class(obj) <- "Mclust"

# me()'s iterations per refit (MclustBootstrap keeps only the parameters)
iterations <- numeric()
suppressMessages(trace("me", where = asNamespace("mclust"), print = FALSE,
  exit = quote(iterations <<- c(iterations, attr(returnValue(), "info")[["iterations"]]))))
median_se <- function(means) median(apply(means, c(2, 3), sd, na.rm = TRUE))

# (a) emControl(), in chunks until B resamples or the budget, after one untimed refit
set.seed(seed)
invisible(MclustBootstrap(obj, nboot = 1, type = "bs", verbose = FALSE))
set.seed(seed)
means <- NULL; elapsed <- 0; nonfit <- 0; iterations <- numeric()
while (is.null(means) || dim(means)[1] < B) {
  done <- if (is.null(means)) 0 else dim(means)[1]
  step <- min(chunk, B - done)
  if (done >= at_least && elapsed + step * elapsed / done > budget) break
  elapsed <- elapsed + system.time(
    boot <- MclustBootstrap(obj, nboot = step, type = "bs", verbose = FALSE)
  )[["elapsed"]]
  nonfit <- nonfit + boot$nonfit
  means <- if (is.null(means)) boot$mean else {
    both <- array(NA, c(dim(means)[1] + step, d, K))
    both[seq_len(dim(means)[1]), , ] <- means
    both[dim(means)[1] + seq_len(step), , ] <- boot$mean
    both
  }
}
put("a_refits", dim(means)[1]); put("a_seconds", elapsed); put("a_nonfit", nonfit)
put("a_median_se_means", median_se(means)); put("a_iterations", iterations)

# (b) emControl(tol = c(tol_b, default)): plain EM to a relative change of tol_b
if (refits_b > 0) {
  set.seed(seed + 1L)
  obj$control <- emControl(tol = c(tol_b, emControl()$tol[2]))
  iterations <- numeric()
  seconds <- system.time(
    boot <- MclustBootstrap(obj, nboot = refits_b, type = "bs", verbose = FALSE)
  )[["elapsed"]]
  put("b_refits", refits_b); put("b_seconds", seconds); put("b_nonfit", boot$nonfit)
  put("b_median_se_means", if (refits_b > 1) median_se(boot$mean) else NA)
  put("b_iterations", iterations)
}
writeLines(out, file.path(dir, "bootstrap.txt"))
"""
)

#: mclustBootstrapLRT with nboot = B, after an untimed warm-up on 300 rows. Its own fits
#: (mclustBIC, and the summary() of each step's two models) are timed apart by tracing
#: those two functions; the rest of its time is the replicates'. argv: dir, seed, B
R_LRT = (
    R_COMMON
    + r"""
seed <- as.integer(args[2]); B <- as.integer(args[3])
idx <- scan(file.path(dir, "subset.txt"), what = integer(), quiet = TRUE)
set.seed(seed)
invisible(mclustBootstrapLRT(Z[seq_len(min(n, 300)), ], modelName = "VVV", nboot = 1,
                             maxG = 1, verbose = FALSE))
fits_seconds <- 0
for (name in c("mclustBIC", "summary.mclustBIC")) {
  suppressMessages(trace(name, where = asNamespace("mclust"), print = FALSE,
    tracer = quote(.started <- proc.time()[["elapsed"]]),
    exit = quote(fits_seconds <<- fits_seconds + proc.time()[["elapsed"]] - .started)))
}
set.seed(seed)
seconds <- system.time(
  result <- mclustBootstrapLRT(Z, modelName = "VVV", nboot = B, maxG = K - 1,
                               initialization = list(subset = idx), verbose = FALSE)
)[["elapsed"]]
put("fits_seconds", fits_seconds); put("seconds", seconds); put("nboot", B)
put("observed", result$obs); put("p_values", result$p.value)
writeLines(out, file.path(dir, "lrt.txt"))
"""
)


def write_array(folder: Path, name: str, array) -> None:
    """``array`` as raw little-endian float64 in R's column-major order."""
    (folder / name).write_bytes(np.asarray(array, dtype="<f8").tobytes(order="F"))


def run_r(folder: Path, name: str, script: str, arguments: list) -> dict:
    """Run ``script`` in an Rscript child; its ``key value ...`` lines as a dict of
    lists of strings."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise SystemExit("Rscript is not installed (apt-get install r-base-core r-cran-mclust)")
    (folder / f"{name}.R").write_text(script)
    command = [rscript, "--vanilla", str(folder / f"{name}.R"), str(folder)]
    done = subprocess.run(
        [*command, *map(str, arguments)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"Rscript {name}.R failed:\n{done.stderr}")
    result = {}
    for line in (folder / f"{name}.txt").read_text().splitlines():
        key, *values = line.split()
        result[key] = values
    return result


def numbers(values) -> np.ndarray:
    """R's printed numbers ("NA" as NaN) as a float array."""
    return np.array([float("nan") if v == "NA" else float(v) for v in values], dtype=float)


def machine() -> str:
    import psutil

    return f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB"


def quartiles(values) -> str:
    """``median (min-max)`` of a few counts."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return "-"
    return f"{np.median(values):.0f} ({values.min():.0f}-{values.max():.0f})"


# ---------------------------------------------------------------------------- part 1


def notebook_estimate(Z):
    """The notebook's fit, ``GaussianMixture(10, random_state=42)``, run to convergence
    (``CONVERGED``) from where it stopped; and the seconds that took (not compared)."""
    from pcagmm.mixture import GaussianMixture
    from pcagmm.mixture.convergence import CONVERGED
    from pcagmm.mixture.refit import fit_one, started_from

    started = time.perf_counter()
    notebook = GaussianMixture(NOTEBOOK_K, random_state=NOTEBOOK_SEED).fit(Z)
    estimate, row = fit_one(Z, started_from(notebook, **CONVERGED), threads=None)
    return estimate, row, time.perf_counter() - started


def write_estimate(folder: Path, Z, estimate) -> None:
    """Z, and the estimate as mclust holds it: z (n x K), pro, mean (d x K), sigma
    (d x d x K), the total log-likelihood."""
    K, d = estimate.means_.shape
    (folder / "dims.txt").write_text(f"{len(Z)} {d} {K}\n")
    write_array(folder, "Z.bin", Z)
    write_array(folder, "z.bin", estimate.predict_proba(Z))
    write_array(folder, "pro.bin", estimate.weights_)
    write_array(folder, "mean.bin", estimate.means_.T)
    write_array(folder, "sigma.bin", np.transpose(estimate.covariances_, (1, 2, 0)))
    write_array(folder, "loglik.bin", [float(np.sum(estimate.score_samples(Z)))])


def ours_bootstrap(estimate, Z, resamples: int, seed: int, settings: dict) -> dict:
    from pcagmm.mixture.bootstrap import bootstrap

    started = time.perf_counter()
    result = bootstrap(
        estimate, Z, resamples=resamples, seed=seed, converge=False, settings=settings
    )
    seconds = time.perf_counter() - started
    errors = result.standard_errors() if result.kept >= 2 else None
    return {
        "seconds": seconds,
        "per_refit": seconds / resamples,
        "kept": result.kept,
        "collapsed": len(result.collapsed),
        "passes": result.n_iter,
        "not_converged": int(np.sum(~result.converged)),
        "median_se_means": float(np.median(errors["means"])) if errors else float("nan"),
    }


def theirs_bootstrap(folder: Path, args, B: int) -> dict:
    """MclustBootstrap (a) and (b) in one Rscript child."""
    refits_b = args.mclust_refits
    arguments = [args.seed, B, args.mclust_budget, MCLUST_CHUNK, min(MCLUST_AT_LEAST, B)]
    arguments.append(refits_b)
    raw = run_r(folder, "bootstrap", R_BOOTSTRAP, [*arguments, CONVERGED_TOL])
    result = {"version": " ".join(raw["version"])}
    for part in ("a", "b") if refits_b else ("a",):
        refits = int(raw[f"{part}_refits"][0])
        seconds = float(raw[f"{part}_seconds"][0])
        result[part] = {
            "refits": refits,
            "seconds": seconds,
            "per_refit": seconds / refits,
            "scaled": seconds / refits * B,
            "nonfit": int(raw[f"{part}_nonfit"][0]),
            "median_se_means": float(numbers(raw[f"{part}_median_se_means"])[0]),
            "iterations": numbers(raw.get(f"{part}_iterations", [])),
        }
    return result


def part_bootstrap(Z, folder: Path, args) -> dict:
    from pcagmm.mixture.refit import REFIT

    B = args.bootstrap
    estimate, row, fit_seconds = notebook_estimate(Z)
    print(
        f"\n1. Standard errors: the notebook's model (K={NOTEBOOK_K}, full = VVV, "
        f"random_state={NOTEBOOK_SEED}) run to convergence: {row['n_iter']} passes, "
        f"mean log-likelihood {row['log_likelihood']:.6f} ({fit_seconds:.1f} s, not compared)"
    )
    write_estimate(folder, Z, estimate)
    # warm-up, not timed
    ours_bootstrap(estimate, Z[:2000], 2, args.seed, AT_MCLUST_RULE)
    ours = {"a": ours_bootstrap(estimate, Z, B, args.seed, AT_MCLUST_RULE)}
    ours["b"] = ours_bootstrap(estimate, Z, B, args.seed, REFIT)
    theirs = theirs_bootstrap(folder, args, B)

    labels = {
        "a": "(a) mclust's rule: relative 1e-5, plain EM",
        "b": "(b) pcagmm's rule: relative 1e-12 (pcagmm with SQUAREM, mclust plain EM)",
    }
    for part in ("a", "b"):
        mine = ours[part]
        print(f"  {labels[part]}")
        print(
            f"    pcagmm bootstrap (threads), B={B}:      {mine['seconds']:9.2f} s  "
            f"({mine['per_refit']:.3f} s per refit; passes per refit {quartiles(mine['passes'])}"
            f", {mine['not_converged']} not converged, {mine['collapsed']} collapsed); "
            f"median SE of the means {mine['median_se_means']:.4g}"
        )
        if part not in theirs:
            print("    mclust: not run (--mclust-refits 0)")
            continue
        other = theirs[part]
        timed = f"{other['seconds']:.2f} s for {other['refits']} refits, "
        scaled = f", SCALED to B={B}" if other["refits"] != B else ""
        print(
            f"    mclust MclustBootstrap (1 core), B={B}: {other['scaled']:9.2f} s  "
            f"({timed}{other['per_refit']:.3f} s per refit{scaled}; iterations per refit "
            f"{quartiles(other['iterations'])}, {other['nonfit']} refits failed); "
            f"median SE of the means {other['median_se_means']:.4g} "
            f"(from {other['refits']} refits)"
        )
        print(f"    ratio mclust / pcagmm: {other['scaled'] / mine['seconds']:.2f}x")
    print(
        f"  median SE of the means, pcagmm at 1e-12 / at 1e-5: "
        f"{ours['b']['median_se_means'] / ours['a']['median_se_means']:.2f}"
    )
    return {"B": B, "ours": ours, "theirs": theirs, "n_iter": row["n_iter"]}


# ---------------------------------------------------------------------------- part 2


def ours_fits(Z, max_k: int, seed: int) -> tuple[dict, float]:
    """GaussianMixture(K, full, as mclust) for K = 1..max_k, side by side with one shared
    hierarchical tree (GaussianMixtureSelection's sweep); the fits and their seconds."""
    from pcagmm.mixture.selection import Cell, fit_grid

    params = dict(
        n_init=1,
        init_params="hierarchical",
        random_state=seed,
        tol=1e-5,
        reg_covar=0.0,
        max_iter=100_000,
        stopping="relative",
    )
    started = time.perf_counter()
    results, models = fit_grid({None: Z}, [Cell(K, "full") for K in range(1, max_k + 1)], params)
    seconds = time.perf_counter() - started
    failed = [row for row in results if row["status"] != "ok"]
    if failed:
        reasons = "; ".join(f"K={row['n_components']}: {row['error']}" for row in failed)
        raise SystemExit(f"pcagmm's fits failed ({reasons}): try a smaller --max-k")
    return {K: models[K - 1] for K in range(1, max_k + 1)}, seconds


def ours_lrt(Z, fits, B: int, seed: int, settings: dict | None, converge: bool) -> dict:
    from pcagmm.mixture.lrt import likelihood_ratio_test

    started = time.perf_counter()
    test = likelihood_ratio_test(
        Z, fits, resamples=B, seed=seed, sequential=False, converge=converge, settings=settings
    )
    return {"seconds": time.perf_counter() - started, "test": test}


def part_lrt(Z, folder: Path, args) -> dict:
    from pcagmm.mixture.hierarchical import subset_rows
    from pcagmm.mixture.lrt import LRT_REFIT

    B, max_k, steps = args.lrt_bootstrap, args.max_k, args.max_k - 1
    n = len(Z)
    subset = subset_rows(n, SUBSET_ROWS, np.random.RandomState(args.seed))
    (folder / "dims.txt").write_text(f"{n} {Z.shape[1]} {max_k}\n")
    write_array(folder, "Z.bin", Z)
    (folder / "subset.txt").write_text("\n".join(str(int(i) + 1) for i in subset) + "\n")

    ours_fits(Z[:2000], 3, args.seed)  # warm-up, not timed
    fits, fits_seconds = ours_fits(Z, max_k, args.seed)
    at_rule = ours_lrt(Z, fits, B, args.seed, AT_MCLUST_RULE, converge=False)
    B_default = B if args.lrt_default_bootstrap is None else args.lrt_default_bootstrap
    at_default = None
    if B_default > 0:
        at_default = ours_lrt(Z, fits, B_default, args.seed, LRT_REFIT, converge=True)
    raw = run_r(folder, "lrt", R_LRT, [args.seed, args.lrt_mclust_boot])

    boot = int(raw["nboot"][0])
    their_fits, their_seconds = float(raw["fits_seconds"][0]), float(raw["seconds"][0])
    replicates = max(their_seconds - their_fits, 0.0)
    per_replicate = replicates / (boot * steps)
    theirs_total = their_fits + per_replicate * B * steps
    ours_total = fits_seconds + at_rule["seconds"]
    ours_per_replicate = at_rule["seconds"] / (B * steps)
    observed = numbers(raw["observed"])
    test = at_rule["test"]
    differences = [
        (step.statistic - observed[i]) / abs(observed[i])
        for i, step in enumerate(test.steps[: observed.size])
    ]

    print(
        f"\n2. Likelihood-ratio test, VVV, every K against K + 1 for K = 1..{steps} "
        f"(the start agglomerates {len(subset):,} rows, the same on both sides)"
    )
    print(
        f"  mclust mclustBootstrapLRT (1 core), nboot = {boot}: {their_seconds:.2f} s, of "
        f"which its fits (mclustBIC, summary) {their_fits:.2f} s and {boot * steps} "
        f"replicates {replicates:.2f} s ({per_replicate:.3f} s each); SCALED to B={B}: "
        f"{theirs_total:.2f} s"
    )
    print(
        f"  pcagmm at mclust's rule (threads): fits {fits_seconds:.2f} s + test B={B} "
        f"{at_rule['seconds']:.2f} s ({ours_per_replicate:.4f} s per replicate, wall) = "
        f"{ours_total:.2f} s"
    )
    print(
        f"  ratio mclust / pcagmm, K = 1..{max_k} with B = {B}: "
        f"{theirs_total / ours_total:.2f}x; per replicate "
        f"{per_replicate / ours_per_replicate:.2f}x"
    )
    if at_default is not None:
        print(
            f"  pcagmm at its default rule (LRT_REFIT: relative 1e-8 with SQUAREM, "
            f"converge=True), B={B_default}: test {at_default['seconds']:.2f} s "
            f"(+ fits {fits_seconds:.2f} s)"
        )
    default_steps = at_default["test"].steps if at_default is not None else [None] * steps
    header = "   K vs K+1   LRTS mclust   LRTS pcagmm  (rel. diff)   p pcagmm"
    print(header + ("   | LRTS pcagmm 1e-8   p pcagmm 1e-8" if at_default is not None else ""))
    for index, (step, other) in enumerate(zip(test.steps, default_steps, strict=True)):
        theirs_obs = observed[index] if index < observed.size else float("nan")
        line = (
            f"  {step.n_components:4d} vs {step.n_components + 1:<4d} {theirs_obs:12.4f}  "
            f"{step.statistic:12.4f}  ({(step.statistic - theirs_obs) / abs(theirs_obs):+.1e})"
            f"  {step.p_value:9.3f}"
        )
        if other is not None:
            line += f"   | {other.statistic:16.4f}  {other.p_value:14.3f}"
        print(line)
    supported = [test.supported, at_default["test"].supported if at_default else None]
    redrawn = sum(step.redrawn for step in test.steps)
    print(
        f"  pcagmm supports K = {supported[0]} at mclust's rule"
        + (f", K = {supported[1]} at its default" if at_default is not None else "")
        + f"; {redrawn} replicates redrawn. (mclust's p-values, from {boot} replicates per "
        "step, are not compared.)"
    )
    return {
        "B": B,
        "B_default": B_default,
        "boot": boot,
        "steps": steps,
        "theirs_total": theirs_total,
        "their_fits": their_fits,
        "per_replicate": per_replicate,
        "ours_total": ours_total,
        "ours_fits": fits_seconds,
        "ours_test": at_rule["seconds"],
        "ours_per_replicate": ours_per_replicate,
        "ours_default": at_default["seconds"] if at_default is not None else None,
        "supported": supported,
        "max_difference": float(np.nanmax(np.abs(differences))) if differences else np.nan,
        "version": " ".join(raw["version"]),
    }


# ---------------------------------------------------------------------------- summary


def print_summary(n: int, args, command: str, boot: dict | None, lrt: dict | None) -> None:
    version = boot["theirs"]["version"] if boot is not None else lrt["version"]
    print(
        f"\n--- summary ({machine()}; {time.strftime('%Y-%m-%d')}; {version}; "
        f"MNIST-PCA-2, {n:,} rows; `{command}`) ---"
    )
    if boot is not None:
        B = boot["B"]
        print(
            f"Standard errors, the notebook's model (K={NOTEBOOK_K} VVV, run to convergence), "
            f"nonparametric bootstrap, B = {B}"
        )
        print(
            "| rule | mclust `MclustBootstrap` (1 core) | pcagmm `bootstrap` (threads) "
            "| **ratio** | median SE of the means: mclust / pcagmm |"
        )
        print("|---|---:|---:|---:|---:|")
        names = {"a": "relative 1e-5, plain EM (mclust's default)",
                 "b": "relative 1e-12 (pcagmm's default: SQUAREM; mclust plain EM)"}  # fmt: skip
        for part in ("a", "b"):
            mine = boot["ours"][part]
            other = boot["theirs"].get(part)
            if other is None:
                print(f"| {names[part]} | not run | {mine['seconds']:.2f} s | | |")
                continue
            scaled = other["refits"] != B
            note = f" (scaled from {other['refits']} refits, {other['seconds']:.2f} s)"
            print(
                f"| {names[part]} | {other['scaled']:.2f} s{note if scaled else ''} "
                f"| {mine['seconds']:.2f} s | **{other['scaled'] / mine['seconds']:.2f}x** "
                f"| {other['median_se_means']:.4g} / {mine['median_se_means']:.4g} |"
            )
    if lrt is not None:
        B, steps = lrt["B"], lrt["steps"]
        print(f"\nBootstrap LRT, VVV, K = 1..{steps + 1} (every step), B = {B} per step")
        print(
            "| | mclust `mclustBootstrapLRT` (1 core) | pcagmm (threads) | **ratio** "
            "| observed LRTS, largest relative difference |"
        )
        print("|---|---:|---:|---:|---:|")
        print(
            f"| relative 1e-5, plain EM: fits + test | {lrt['theirs_total']:.2f} s "
            f"(fits {lrt['their_fits']:.2f} s + replicates scaled from {lrt['boot']} per step) "
            f"| {lrt['ours_total']:.2f} s (fits {lrt['ours_fits']:.2f} s + test "
            f"{lrt['ours_test']:.2f} s) | **{lrt['theirs_total'] / lrt['ours_total']:.2f}x** "
            f"| {lrt['max_difference']:.1e} |"
        )
        print(
            f"| per replicate | {lrt['per_replicate']:.3f} s | {lrt['ours_per_replicate']:.4f} s "
            f"| {lrt['per_replicate'] / lrt['ours_per_replicate']:.2f}x | |"
        )
        if lrt["ours_default"] is not None:
            print(
                f"| pcagmm's default rule (relative 1e-8, SQUAREM), test, B = "
                f"{lrt['B_default']} | | {lrt['ours_default']:.2f} s | | |"
            )
        supported = lrt["supported"]
        print(
            f"pcagmm supports K = {supported[0]} (rule 1e-5)"
            + (f" / {supported[1]} (rule 1e-8)" if supported[1] is not None else "")
        )


def scaled_note(boot: dict | None, lrt: dict | None) -> str:
    """What the summary scaled, in one line."""
    notes = []
    if boot is not None:
        B = boot["B"]
        for part, rule in (("a", "1e-5"), ("b", "1e-12")):
            other = boot["theirs"].get(part)
            if other is not None and other["refits"] != B:
                notes.append(
                    f"mclust's bootstrap at {rule} timed on {other['refits']} refits, "
                    f"scaled per refit to {B}"
                )
    if lrt is not None:
        notes.append(
            f"mclust's LRT replicates timed on {lrt['boot']} per step, scaled to {lrt['B']} "
            "(its fits timed in full)"
        )
    notes.append("every pcagmm time in full")
    return "Scaled: " + "; ".join(notes) + "."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=199, help="B of the standard errors")
    parser.add_argument("--lrt-bootstrap", type=int, default=99, help="pcagmm's LRT B")
    parser.add_argument(
        "--mclust-refits", type=int, default=3, help="mclust's refits at 1e-12 (0: none)"
    )
    parser.add_argument(
        "--lrt-default-bootstrap",
        type=int,
        default=None,
        help="pcagmm's LRT B at its default rule (default: --lrt-bootstrap; 0: not run)",
    )
    parser.add_argument("--lrt-mclust-boot", type=int, default=3, help="mclust's LRT nboot")
    parser.add_argument(
        "--mclust-budget", type=float, default=300.0, help="seconds for mclust's bootstrap (a)"
    )
    parser.add_argument("--max-k", type=int, default=10, help="the LRT's largest K")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=None, help="the first N rows of Z (smoke)")
    parser.add_argument("--skip-bootstrap", action="store_true")
    parser.add_argument("--skip-lrt", action="store_true")
    parser.add_argument("--work", default=None, help="keep the exchanged files here")
    args = parser.parse_args()
    if args.skip_bootstrap and args.skip_lrt:
        parser.error("nothing to run: --skip-bootstrap and --skip-lrt")
    if args.lrt_mclust_boot < 1 or args.lrt_bootstrap < 1 or args.bootstrap < 2:
        parser.error("--lrt-mclust-boot and --lrt-bootstrap must be >= 1, --bootstrap >= 2")
    warnings.simplefilter("ignore")
    command = "python benchmarks/uncertainty_vs_mclust.py " + " ".join(sys.argv[1:])

    Z = mnist_pca2(args.rows)

    if args.work is not None:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="uncertainty-vs-mclust-") as name:
        work = Path(args.work) if args.work is not None else Path(name)
        boot = lrt = None
        if not args.skip_bootstrap:
            (work / "bootstrap").mkdir(exist_ok=True)
            boot = part_bootstrap(Z, work / "bootstrap", args)
        if not args.skip_lrt:
            (work / "lrt").mkdir(exist_ok=True)
            lrt = part_lrt(Z, work / "lrt", args)
    print_summary(len(Z), args, command, boot, lrt)
    print(scaled_note(boot, lrt))


if __name__ == "__main__":
    main()
