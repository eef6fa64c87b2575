"""UMAP before the mixture: agreement with the labels, time against umap-learn +
scikit-learn doing the same steps, placement of new rows, what selection chooses.

Usage: python benchmarks/reducers.py [--datasets mnist fashion-mnist] [--repeats 1]
                                     [--no-placement] [--no-select] [--big FILE ...]

For each data set (all 70,000 rows), in one process, after one warm-up of each side on
6,000 rows (umap-learn compiles its numba functions once per process, both sides share
that; above 4,096 rows it takes the nearest-neighbour-descent path of large data), the
two sides alternate, pcagmm first:

* pcagmm: ``pcagmm.run(name, reducer="umap", write=False)`` with the documented
  defaults: PCA to 50 (pcagmm's exact PCA), UMAP to 2 (30 neighbours, min_dist 0,
  random_state 42, so umap-learn runs on one thread), the mixture K=10 full with
  10 starts (UMAP's default), the agreement with the labels;
* umap-learn + scikit-learn, the same steps at their best: ``PCA(50)`` on float32
  rows with 2 BLAS threads, ``umap.UMAP(n_neighbors=30, min_dist=0,
  random_state=42)``, ``GaussianMixture(10, n_init=10, random_state=42)`` on 1 thread
  (faster than 2 for 2 features), ``adjusted_rand_score``;
* for reference, the notebook's PCA-2 run (``pcagmm.run(name, write=False)``): its ARI.

Then (MNIST): the placement of the 10,000 test rows in a UMAP fitted on the 60,000
training rows, against umap-learn's own ``transform`` of the same rows with the same
fitted model: how often the mixture (fitted on the training embedding) gives both the
same cluster, how far apart they are, and each one's ARI with the test labels. And
what a sweep K = 6..15 (full, 10 starts, seed 42) on the UMAP-2 embedding chooses by
BIC, AIC and ICL, with the ARI of each choice.

With ``--big FILE ...`` (``pcagmm data make-big --rows 700000 --out FILE``): ``pcagmm run
--data FILE --reducer umap --no-plots --no-report`` in a fresh process (UMAP on a
uniform sample of 100,000 rows, the rest placed in chunks): wall time, peak memory of
the process, ARI from its summary.json; then the default PCA-2 run's ARI (not timed).
Two sizes above 100,000 rows show whether memory stays flat in the number of rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import SHARED_MNIST

#: rows of the warm-up: above umap-learn's 4,096, where it switches to NN-descent
WARM_UP_ROWS = 6000
UMAP_SETTINGS = {"n_neighbors": 30, "min_dist": 0.0, "random_state": 42}


def load(name: str):
    import pcagmm.datasets

    folder = SHARED_MNIST if name == "mnist" and SHARED_MNIST.is_dir() else None
    return pcagmm.datasets.load(name, folder=folder)


def peer(X, y, rows=None):
    """umap-learn + scikit-learn: PCA(50) -> UMAP(2) -> GaussianMixture(10, n_init=10)."""
    import umap
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    X = np.asarray(X if rows is None else X[:rows], dtype=np.float32).reshape(-1, 784)
    with threadpool_limits(2):
        Z50 = PCA(50).fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        E = umap.UMAP(n_components=2, **UMAP_SETTINGS).fit_transform(Z50)
    with threadpool_limits(1):
        clusters = GaussianMixture(10, n_init=10, random_state=42).fit_predict(E)
    return adjusted_rand_score(y if rows is None else y[:rows], clusters)


def ours(dataset):
    import pcagmm

    result = pcagmm.run(dataset, reducer="umap", write=False, plots=False, report=False)
    return result


def side_by_side(name: str, repeats: int) -> dict:
    import pcagmm

    dataset = load(name)
    X, y = dataset.X, dataset.y
    # numba compiles umap-learn's functions once per process, for both sides: on more
    # than 4,096 rows, so that the nearest-neighbour descent of large data is compiled too
    warm = WARM_UP_ROWS
    small = pcagmm.datasets.Dataset(np.asarray(X[:warm]), y[:warm], name="warm-up", source="memory")
    ours(small), peer(X, y, rows=warm)
    times = {"pcagmm": [], "peer": []}
    for _ in range(repeats):
        started = time.perf_counter()
        result = ours(dataset)
        times["pcagmm"].append(time.perf_counter() - started)
        started = time.perf_counter()
        peer_ari = peer(X, y)
        times["peer"].append(time.perf_counter() - started)
    ours_median = statistics.median(times["pcagmm"])
    peer_median = statistics.median(times["peer"])
    pca2 = pcagmm.run(dataset, write=False, plots=False, report=False)
    # the same embedding, the mixture from one start (seed 42) instead of the best of 10
    from sklearn.metrics import adjusted_rand_score

    from pcagmm.mixture import GaussianMixture

    one_start = adjusted_rand_score(y, GaussianMixture(10, random_state=42).fit_predict(result.Z))
    row = {
        "data": name,
        "pcagmm_s": ours_median,
        "peer_s": peer_median,
        "ratio": ours_median / peer_median,
        "ari_umap": result.agreement.adjusted_rand,
        "ari_peer": peer_ari,
        "ari_pca2": pca2.agreement.adjusted_rand,
        "ari_umap_one_start": one_start,
        "stages": result.timings,
    }
    print(
        f"{name}: pcagmm {ours_median:.1f} s (stages "
        + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
        + f"), umap-learn + scikit-learn {peer_median:.1f} s, ratio {row['ratio']:.2f}; "
        f"ARI UMAP-2 {row['ari_umap']:.3f} (peer {peer_ari:.3f}; one start "
        f"{row['ari_umap_one_start']:.3f}), PCA-2 {row['ari_pca2']:.3f}",
        flush=True,
    )
    return row | {"Z": result.Z, "y": y}


def placement_agreement() -> dict:
    """Fit on the 60,000 training rows, place the 10,000 test rows both ways."""
    from sklearn.metrics import adjusted_rand_score

    from pcagmm.mixture import GaussianMixture
    from pcagmm.reducers.umap import UMAP

    dataset = load("mnist")
    X, y = np.asarray(dataset.X), dataset.y
    train, test = slice(0, 60_000), slice(60_000, 70_000)
    reducer = UMAP(2, **UMAP_SETTINGS)
    embedding = reducer.fit_transform(X[train])
    gmm = GaussianMixture(10, n_init=10, random_state=42).fit(embedding)
    started = time.perf_counter()
    placed = reducer.transform(X[test])
    placing = time.perf_counter() - started
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = reducer.umap_.transform(reducer._reduce(X[test]))
    transforming = time.perf_counter() - started
    same = float(np.mean(gmm.predict(placed) == gmm.predict(theirs)))
    spread = float(np.linalg.norm(embedding.std(axis=0)))
    apart = np.linalg.norm(placed - theirs, axis=1)
    row = {
        "same_cluster": same,
        "median_apart_over_spread": float(np.median(apart) / spread),
        "p90_apart_over_spread": float(np.quantile(apart, 0.9) / spread),
        "ari_placed": adjusted_rand_score(y[test], gmm.predict(placed)),
        "ari_transform": adjusted_rand_score(y[test], gmm.predict(theirs)),
        "ari_train": adjusted_rand_score(y[train], gmm.predict(embedding)),
        "placing_s": placing,
        "transform_s": transforming,
    }
    print(
        f"placement of the 10,000 test rows (UMAP fitted on the 60,000 training rows): same "
        f"cluster as umap-learn's transform for {same:.2%}; apart by "
        f"{row['median_apart_over_spread']:.3f} "
        f"(median; p90 {row['p90_apart_over_spread']:.3f}) of the embedding's spread; ARI with "
        f"the test labels {row['ari_placed']:.3f} placed, {row['ari_transform']:.3f} transform "
        f"(training rows {row['ari_train']:.3f}); {placing:.1f} s placed, {transforming:.1f} s "
        "transform",
        flush=True,
    )
    return row


def selection(Z, y) -> dict:
    """What K = 6..15 (full, 10 starts) chooses on the embedding by each criterion."""
    from sklearn.metrics import adjusted_rand_score

    from pcagmm.mixture import GaussianMixture, GaussianMixtureSelection

    sweep = GaussianMixtureSelection(
        range(6, 16), covariance_types=("full",), n_init=10, random_state=42
    ).fit(Z)
    chosen = {}
    for criterion in ("bic", "aic", "icl"):
        best = min(sweep.results_, key=lambda row, c=criterion: row[c])
        K = best["n_components"]
        clusters = GaussianMixture(K, n_init=10, random_state=42).fit_predict(Z)
        chosen[criterion] = {"K": K, "ari": adjusted_rand_score(y, clusters)}
    print(
        "selection on UMAP-2 (K 6-15, full, 10 starts): "
        + ", ".join(f"{c.upper()} K={v['K']} (ARI {v['ari']:.3f})" for c, v in chosen.items()),
        flush=True,
    )
    return chosen


def big(path: Path) -> dict:
    """A fresh ``pcagmm run --reducer umap`` on a large file: time, peak memory, ARI."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "run"
        command = [sys.executable, "-m", "pcagmm", "run", "--data", str(path), "--reducer",
                   "umap", "--no-plots", "--no-report", "--out", str(out)]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True,
                              text=True, check=True)  # fmt: skip
        wall = time.perf_counter() - started
        peak = int(done.stderr.strip().splitlines()[-1]) / 1024
        summary = json.loads((out / "summary.json").read_text())
        pca_out = Path(work) / "pca"
        subprocess.run([*command[:6], "--no-plots", "--no-report", "--out", str(pca_out)],
                       capture_output=True, check=True)  # fmt: skip
        pca_summary = json.loads((pca_out / "summary.json").read_text())
    row = {
        "rows": summary["data"]["shape"][0],
        "wall_s": wall,
        "peak_mib": peak,
        "ari": summary["metrics"]["adjusted_rand_index"],
        "ari_pca2": pca_summary["metrics"]["adjusted_rand_index"],
        "stages": summary["timings_seconds"],
    }
    print(
        f"{path.name}: {row['rows']:,} rows, pcagmm run --reducer umap {wall:.1f} s, peak "
        f"{peak:.0f} MiB, ARI {row['ari']:.3f} (PCA-2: {row['ari_pca2']:.3f}); stages "
        + ", ".join(f"{k} {v:.1f}" for k, v in row["stages"].items()),
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=["mnist", "fashion-mnist"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-placement", action="store_true")
    parser.add_argument("--no-select", action="store_true")
    parser.add_argument("--big", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    print("2 cores, 24 GB; umap-learn runs on one thread (seeded), as in both sides", flush=True)
    report = {}
    for name in args.datasets:
        row = side_by_side(name, args.repeats)
        Z, y = row.pop("Z"), row.pop("y")
        if name == "mnist" and not args.no_select:
            row["selection"] = selection(Z, y)
        report[name] = row
    if not args.no_placement:
        report["placement"] = placement_agreement()
    for path in args.big:
        report[f"big {path.name}"] = big(path)
    print(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
