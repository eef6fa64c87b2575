"""GaussianMixtureSelection against scikit-learn's hand-written sweep on MNIST-PCA.

Usage: python benchmarks/select_vs_sklearn.py [--repeats 1] [--max-k 15] [--dims 50 2] [--dask]
       [--one-at-a-time]

MNIST is projected once with pcagmm.PCA(50) (not timed); the 2-dimensional data is its
first two columns. For each projection, the sweep K = 1..max_k x the four covariance
types (full, tied, diag, spherical), random_state = 42, is timed:

* pcagmm: ``GaussianMixtureSelection(range(1, max_k + 1), random_state=42).fit(Z)``
  (fits on threads, one per core);
* scikit-learn: ``joblib.Parallel(n_jobs)(delayed(fit_and_score)(K, t) ...)``, each
  call fitting ``sklearn.mixture.GaussianMixture(K, covariance_type=t,
  random_state=42)`` and returning its ``bic(Z)``, ``aic(Z)`` and ``n_iter_``, in two
  configurations measured in this run: 2 loky processes with 1 BLAS/OpenMP thread
  each (the process pool is started before timing), and 1 job with 2 threads. The
  faster is scikit-learn "at its best".

Both walk the cells in the same natural order (K ascending outer, covariance type
inner); neither is reordered largest-first for load balancing.

With ``--dask`` the pcagmm sweep is also run with ``client=`` a
``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` (its
workers without Dask's ``MALLOC_TRIM_THRESHOLD_``, as ``--dask local`` makes them), made
once before timing (its start-up, with pcagmm imported on the workers, is reported
separately and not counted in the sweep).

Prints, per projection: the median wall seconds of each sweep, the ratio
(scikit-learn at its best / pcagmm), the sum of pcagmm's per-cell fit times
(``results_`` time column), the largest relative difference of BIC and AIC between
pcagmm and scikit-learn over all cells and the count of cells whose n_iter differs;
then a summary block to paste into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import median_time, mnist_X

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
SEED = 42


def fit_and_score(Z, K, covariance_type):
    """scikit-learn's cell: (bic, aic, n_iter), NaNs when the fit fails."""
    import warnings

    from sklearn.mixture import GaussianMixture

    warnings.simplefilter("ignore")
    try:
        gmm = GaussianMixture(K, covariance_type=covariance_type, random_state=SEED).fit(Z)
        return gmm.bic(Z), gmm.aic(Z), int(gmm.n_iter_)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return float("nan"), float("nan"), None


def _import_sklearn_mixture():
    import sklearn.mixture  # noqa: F401

    return 0


def sklearn_sweep(Z, cells, n_jobs):
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(fit_and_score)(Z, K, t) for K, t in cells)


def compare(results, reference) -> tuple[float, float, int, int]:
    """Largest relative BIC and AIC differences, cells whose n_iter differs, failed cells."""
    bic_diff = aic_diff = 0.0
    n_iter_differs = failed = 0
    for row, (bic, aic, n_iter) in zip(results, reference, strict=True):
        if row["status"] != "ok" or n_iter is None:
            failed += 1
            continue
        bic_diff = max(bic_diff, abs(row["bic"] - bic) / abs(bic))
        aic_diff = max(aic_diff, abs(row["aic"] - aic) / abs(aic))
        n_iter_differs += row["n_iter"] != n_iter
    return bic_diff, aic_diff, n_iter_differs, failed


def start_dask():
    """A 2-process, 1-thread-each LocalCluster client and its start-up seconds (its
    workers configured as ``pcagmm select --dask local`` makes them)."""
    import dask
    from distributed import Client, LocalCluster

    from pcagmm.rows.dask import WORKER_ENVIRONMENT

    started = time.perf_counter()
    with dask.config.set(WORKER_ENVIRONMENT):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
    client = Client(cluster)
    client.wait_for_workers(2)
    client.run(lambda: __import__("pcagmm.mixture.selection") and 0)
    return client, cluster, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-k", type=int, default=15)
    parser.add_argument("--dims", type=int, nargs="+", default=[50, 2])
    parser.add_argument("--dask", action="store_true", help="also time the sweep on Dask")
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="also time pcagmm's sweep with n_jobs=1 (one fit at a time, on both cores)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import joblib
    from threadpoolctl import threadpool_limits

    from pcagmm import PCA, GaussianMixtureSelection

    Z50 = PCA(50).fit_transform(mnist_X())
    projections = {d: np.ascontiguousarray(Z50[:, :d]) for d in args.dims}
    counts = range(1, args.max_k + 1)
    cells = [(K, t) for K in counts for t in COVARIANCE_TYPES]

    client = cluster = None
    if args.dask:
        client, cluster, dask_start = start_dask()
        print(f"Dask LocalCluster (2 processes x 1 thread) start-up: {dask_start:.2f} s")

    summary = []
    for d, Z in projections.items():

        def ours(Z=Z, client=None):
            return GaussianMixtureSelection(counts, random_state=SEED, client=client).fit(Z)

        ours_time, selection = median_time(ours, args.repeats)
        results = selection.results_

        # scikit-learn, 2 loky processes x 1 thread; the pool is started before timing
        with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
            joblib.Parallel(n_jobs=2)(joblib.delayed(_import_sklearn_mixture)() for _ in range(2))
            procs_time, reference = median_time(
                lambda Z=Z: sklearn_sweep(Z, cells, 2), args.repeats
            )
        # scikit-learn, 1 job x 2 threads
        with threadpool_limits(limits=2):
            threads_time, reference_threads = median_time(
                lambda Z=Z: sklearn_sweep(Z, cells, 1), args.repeats
            )
        best_time, best_name = min(
            (procs_time, "2 processes x 1 thread"), (threads_time, "1 job x 2 threads")
        )
        # the worse of the two configurations (they run the same fits)
        bic_diff, aic_diff, n_iter_differs, failed = (
            max(a, b)
            for a, b in zip(
                compare(results, reference), compare(results, reference_threads), strict=True
            )
        )

        fit_sum = sum(row["time"] for row in results)
        print(
            f"\nMNIST-PCA-{d}, K = 1..{args.max_k} x {len(COVARIANCE_TYPES)} types "
            f"= {len(cells)} fits, random_state={SEED}"
        )
        print(
            f"  pcagmm GaussianMixtureSelection (threads) {ours_time:8.2f} s   "
            f"(sum of per-cell fit times {fit_sum:.2f} s)"
        )
        print(f"  scikit-learn, 2 processes x 1 thread     {procs_time:8.2f} s")
        print(f"  scikit-learn, 1 job x 2 threads          {threads_time:8.2f} s")
        print(
            f"  ratio scikit-learn at its best ({best_name}) / pcagmm: {best_time / ours_time:.2f}x"
        )
        print(
            f"  agreement: max relative difference bic {bic_diff:.1e}, aic {aic_diff:.1e}; "
            f"n_iter differs in {n_iter_differs}/{len(cells)} cells; failed cells {failed}"
        )
        row = dict(
            d=d,
            ours=ours_time,
            procs=procs_time,
            threads=threads_time,
            best=best_time,
            best_name=best_name,
            fit_sum=fit_sum,
            bic=bic_diff,
            aic=aic_diff,
            n_iter=n_iter_differs,
            dask=None,
        )
        if args.one_at_a_time:
            single_time, _ = median_time(
                lambda Z=Z: GaussianMixtureSelection(counts, random_state=SEED, n_jobs=1).fit(Z),
                args.repeats,
            )
            print(
                f"  pcagmm one fit at a time (n_jobs=1)      {single_time:8.2f} s   "
                f"(one at a time / side by side {single_time / ours_time:.2f}x)"
            )
        if client is not None:
            dask_time, dask_selection = median_time(lambda Z=Z: ours(Z, client), args.repeats)
            dask_bic = compare(dask_selection.results_, reference)[0]
            print(
                f"  pcagmm on Dask (2 processes x 1 thread)  {dask_time:8.2f} s   "
                f"(Dask / threads {dask_time / ours_time:.2f}x; bic vs scikit-learn "
                f"{dask_bic:.1e})"
            )
            row["dask"] = dask_time
        summary.append(row)

    if client is not None:
        client.close()
        cluster.close()

    print(
        f"\n--- summary (median of {args.repeats}, K = 1..{args.max_k} x 4 covariance types, "
        f"{joblib.cpu_count()} cores) ---"
    )
    header = "| data | pcagmm (threads) | scikit-learn 2 procs x 1 thr | scikit-learn 1 x 2 thr "
    header += "| ratio (sklearn best / pcagmm) |"
    rule = "|---|---:|---:|---:|---:|"
    if args.dask:
        header += " pcagmm on Dask | Dask / threads |"
        rule += "---:|---:|"
    header += " max rel. diff BIC / AIC | n_iter differs |"
    rule += "---:|---:|"
    print(header)
    print(rule)
    for row in summary:
        line = (
            f"| MNIST-PCA-{row['d']} | {row['ours']:.2f} s | {row['procs']:.2f} s "
            f"| {row['threads']:.2f} s | {row['best'] / row['ours']:.2f}x |"
        )
        if args.dask:
            line += f" {row['dask']:.2f} s | {row['dask'] / row['ours']:.2f}x |"
        line += f" {row['bic']:.1e} / {row['aic']:.1e} | {row['n_iter']}/{len(cells)} |"
        print(line)
    if args.dask:
        print(f"Dask cluster start-up (not in the sweep times): {dask_start:.2f} s")


if __name__ == "__main__":
    main()
