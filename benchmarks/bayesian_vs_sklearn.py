"""BayesianGaussianMixture against scikit-learn's on MNIST projected to 2 and 50 dimensions.

Usage: python benchmarks/bayesian_vs_sklearn.py [--repeats 3] [--rows N] [--skip-pca50]

MNIST (all 70,000 rows, read as ``_common.mnist_X`` reads it: ../shared/data/mnist where
that exists, else ``PCAGMM_MNIST_DIR``) is projected with ``pcagmm.PCA`` fitted on all
rows (not timed); ``--rows N`` keeps the projection's first N rows, for a quick check.
Three fits are timed, each with scikit-learn's defaults otherwise (max_iter = 100,
tol = 1e-3, full covariance, k-means start) and random_state = 42:

1. MNIST-PCA-2, n_components = 30, weight_concentration_prior_type "dirichlet_process";
2. the same, "dirichlet_distribution";
3. MNIST-PCA-50, n_components = 20, "dirichlet_process" (scikit-learn takes about a
   minute per fit here; ``--skip-pca50`` leaves it out).

``pcagmm.BayesianGaussianMixture`` is timed as it runs by default;
``sklearn.mixture.BayesianGaussianMixture`` at its best: the median time with 1 and
with 2 BLAS/OpenMP threads (threadpoolctl), measured in this run, the faster kept (as
``_common.best_threads``). Each time is the median of ``--repeats`` whole fits, after
an untimed warm-up of both on the first 2,000 rows.

Both fit the same array with the same parameters, and must reach the same model: the
same ``n_iter_``, and weights_, means_, covariances_ and lower_bound_ equal to within
``AGREE`` (each the largest absolute difference over the largest absolute value of
scikit-learn's, as in gmm_vs_sklearn.py). Otherwise the script says so and exits
with status 1 after its summary.

Prints, per fit: both times and the ratio scikit-learn / pcagmm, what the model keeps
(components with weight >= 0.01, ``kept(0.01)``; converged_; n_iter_) on each side and
the agreement; then a summary block to paste into BENCHMARKS.md, one ratio line per fit
and the issue's target (ratio >= 5x) met or not.

Machine of the recorded numbers: 2 cores, 24 GB. Run it alone (two shared cores give
nonsense). With the default 3 repeats, scikit-learn's 6 fits per problem dominate:
about 15 s each on PCA-2 and a minute on PCA-50, so a full run takes 10 minutes or
more; ``--repeats 1`` for a third of that.

Run: PCAGMM_MNIST_DIR=/path/to/mnist python benchmarks/bayesian_vs_sklearn.py
     python benchmarks/bayesian_vs_sklearn.py --rows 5000 --repeats 1   (quick check)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import median_time, mnist_pca2, mnist_X

SEED = 42
#: the issue's target: scikit-learn's time / pcagmm's, at least this
TARGET = 5.0
#: the largest relative difference allowed between the two models
AGREE = 1e-9
#: a component "kept" by the model: weight at least this
KEPT = 0.01
#: rows of the untimed warm-up fits
WARM_UP_ROWS = 2000
#: (label, projection dimensions, n_components, weight_concentration_prior_type)
CASES = (
    ("MNIST-PCA-2", 2, 30, "dirichlet_process"),
    ("MNIST-PCA-2", 2, 30, "dirichlet_distribution"),
    ("MNIST-PCA-50", 50, 20, "dirichlet_process"),
)


def sklearn_at_best(function, repeats: int, threads=(1, 2)):
    """``_common.best_threads`` keeping a model: (median seconds at the fastest thread
    count, that count, the last model fitted with it)."""
    from threadpoolctl import threadpool_limits

    results = []
    for count in threads:
        with threadpool_limits(limits=count):
            seconds, model = median_time(function, repeats)
        results.append((seconds, count, model))
    return min(results, key=lambda result: result[0])


def relative_difference(ours, theirs) -> float:
    """max |ours - theirs| / max |theirs|."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def agreement(ours, theirs) -> dict:
    """The relative difference of each compared attribute."""
    return {
        name: relative_difference(getattr(ours, name), getattr(theirs, name))
        for name in ("weights_", "means_", "covariances_", "lower_bound_")
    }


def run_case(label, Z, n_components, prior, repeats) -> dict:
    from sklearn.mixture import BayesianGaussianMixture as SklearnBGM

    from pcagmm import BayesianGaussianMixture

    params = dict(
        n_components=n_components,
        weight_concentration_prior_type=prior,
        covariance_type="full",
        max_iter=100,
        tol=1e-3,
        random_state=SEED,
    )

    def ours(Z=Z):
        return BayesianGaussianMixture(**params).fit(Z)

    def theirs(Z=Z):
        return SklearnBGM(**params).fit(Z)

    ours(Z[:WARM_UP_ROWS])
    theirs(Z[:WARM_UP_ROWS])
    ours_time, model = median_time(ours, repeats)
    theirs_time, threads, reference = sklearn_at_best(theirs, repeats)

    diffs = agreement(model, reference)
    worst = max(diffs.values())
    same_iter = int(model.n_iter_) == int(reference.n_iter_)
    ok = same_iter and worst <= AGREE
    kept_ours = len(model.kept(KEPT))
    kept_theirs = int(np.sum(reference.weights_ >= KEPT))
    ratio = theirs_time / ours_time

    print(f"{label} ({Z.shape[0]:,} rows), K = {n_components}, full, {prior}:")
    print(
        f"  pcagmm        {ours_time:8.3f} s   scikit-learn {theirs_time:8.3f} s "
        f"({threads} thread{'s' if threads > 1 else ''})   ratio {ratio:5.1f}x"
    )
    print(
        f"  kept (weight >= {KEPT:g}): pcagmm {kept_ours}, scikit-learn {kept_theirs} "
        f"of {n_components};  converged_: pcagmm {model.converged_}, scikit-learn "
        f"{reference.converged_};  n_iter_: pcagmm {model.n_iter_}, scikit-learn "
        f"{reference.n_iter_}"
    )
    print(
        "  agreement (max rel. diff): "
        + ", ".join(f"{name} {value:.1e}" for name, value in diffs.items())
        + f"  -> {'OK' if ok else 'DIFFERENT'}"
    )
    if not ok:
        why = [] if same_iter else [f"n_iter_ {model.n_iter_} != {reference.n_iter_}"]
        if worst > AGREE:
            why.append(f"max rel. diff {worst:.1e} > {AGREE:g}")
        print(f"  !!! the models differ: {'; '.join(why)}")
    return dict(
        label=label,
        rows=Z.shape[0],
        K=n_components,
        prior=prior,
        ours=ours_time,
        theirs=theirs_time,
        threads=threads,
        ratio=ratio,
        kept=(kept_ours, kept_theirs),
        converged=(bool(model.converged_), bool(reference.converged_)),
        n_iter=(int(model.n_iter_), int(reference.n_iter_)),
        worst=worst,
        ok=ok,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--rows", type=int, default=None, help="the projections' first N rows (quick check)"
    )
    parser.add_argument("--skip-pca50", action="store_true", help="leave out MNIST-PCA-50")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.rows is not None and args.rows < WARM_UP_ROWS:
        parser.error(f"--rows must be at least {WARM_UP_ROWS}")
    warnings.simplefilter("ignore")

    import joblib
    import sklearn

    import pcagmm
    from pcagmm import PCA

    started = time.perf_counter()
    print(
        f"pcagmm {pcagmm.__version__}, scikit-learn {sklearn.__version__}, numpy "
        f"{np.__version__}; {joblib.cpu_count()} cores; median of {args.repeats}",
        flush=True,
    )
    projections = {2: mnist_pca2(args.rows)}
    if not args.skip_pca50:
        Z50 = PCA(50).fit_transform(mnist_X())
        if args.rows is not None:
            Z50 = Z50[: args.rows]
        projections[50] = np.ascontiguousarray(Z50, dtype=np.float64)

    summary = []
    for label, d, n_components, prior in CASES:
        if d in projections:
            summary.append(run_case(label, projections[d], n_components, prior, args.repeats))
            print(flush=True)

    print(
        f"--- summary (median of {args.repeats}, full covariance, max_iter 100, tol 1e-3, "
        f"random_state {SEED}, {joblib.cpu_count()} cores) ---"
    )
    print(
        "| data | K | prior | pcagmm | scikit-learn (threads) | ratio (sklearn / pcagmm) "
        "| kept (w >= 0.01) | converged | n_iter | max rel. diff |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---|---:|---:|")
    for r in summary:
        kept = r["kept"][0] if r["kept"][0] == r["kept"][1] else "{} / {}".format(*r["kept"])
        converged = (
            r["converged"][0]
            if r["converged"][0] == r["converged"][1]
            else "{} / {}".format(*r["converged"])
        )
        n_iter = (
            r["n_iter"][0] if r["n_iter"][0] == r["n_iter"][1] else "{} / {}".format(*r["n_iter"])
        )
        print(
            f"| {r['label']} ({r['rows']:,} rows) | {r['K']} | {r['prior']} | {r['ours']:.2f} s "
            f"| {r['theirs']:.2f} s ({r['threads']}) | {r['ratio']:.1f}x | {kept} "
            f"| {converged} | {n_iter} | {r['worst']:.1e} |"
        )
    print()
    for r in summary:
        print(
            f"{r['label']}, K = {r['K']}, {r['prior']}: ratio {r['ratio']:.1f}x (target >= "
            f"{TARGET:g}x: {'met' if r['ratio'] >= TARGET else 'NOT met'})"
        )
    print(f"total runtime {time.perf_counter() - started:.0f} s")

    failed = [r for r in summary if not r["ok"]]
    if failed:
        raise SystemExit(
            "the models differ (n_iter_ or max rel. diff > "
            f"{AGREE:g}): " + ", ".join(f"{r['label']} {r['prior']}" for r in failed)
        )


if __name__ == "__main__":
    main()
