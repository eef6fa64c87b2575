"""How far the converged MNIST fit moves between processors, and under one-ulp moves.

The user guide's page "Has EM converged?" (``docs/site/guide/converge.md``) says the
converged fit (``pcagmm run --converge``) is pinned down only so far: the likelihood is
flat near its optimum, so rounding that differs between processors (BLAS kernels,
NumPy's SIMD loops) and one-ulp moves of the projection move it. This
script measures both on this machine under the configurations of
``tools/kernel_sweep.py`` (each in a fresh process), and prints, per configuration, the
largest distance of the converged means, standard deviations and weights from the
page's table, the printed log-likelihood, and the largest moves of the six one-ulp
moves that ``tests/workflow/test_claims_readme.py`` makes:

    .venv/bin/python tools/converged_spread.py [--folder ../shared/data/mnist]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_MEASURE = r"""
import json, sys
from pathlib import Path
import numpy as np
from pcagmm import GaussianMixture, run

folder, readme = sys.argv[1], Path(sys.argv[2]).read_text()
result = run(folder=folder, converge=True, write=False)
gmm = result.gmm

def sd(g):
    return np.sqrt(np.array([np.diag(c) for c in g.covariances_]))

table = readme.split("<!-- converged-table -->")[1].split("<!-- /converged-table -->")[0]
lines = table.strip().splitlines()[2:]
rows = [[c.strip() for c in r.strip().strip("|").split("|")] for r in lines]
printed_w = np.array([float(r[2]) for r in rows])
printed_m = np.array([[float(v) for v in r[4].split(",")] for r in rows])
printed_s = np.array([[float(v) for v in r[6].split(",")] for r in rows])
out = {
    "table_means": float(np.abs(printed_m - gmm.means_).max()),
    "table_sds": float(np.abs(printed_s - sd(gmm)).max()),
    "table_weights": float(np.abs(printed_w - gmm.weights_).max()),
    "log_likelihood": round(gmm.lower_bound_, 6),
    "passes": gmm.n_iter_,
    "ari_partitions": round(result.convergence.partition_agreement.adjusted_rand, 4),
    "changed": [round(result.convergence.changed, 4), round(result.convergence.changed_matched, 4)],
    "ari_labels": round(result.agreement.adjusted_rand, 4),
}
Z = np.asarray(result.Z)
moves = []
for seed in range(6):
    rng = np.random.default_rng(seed)
    moved = np.nextafter(Z, np.where(rng.random(Z.shape) < 0.5, -np.inf, np.inf))
    again = GaussianMixture(10, random_state=42, stopping="relative", tol=1e-12,
                            max_iter=100_000, acceleration="squarem").fit(moved)
    moves.append({
        "means": float(np.abs(again.means_ - gmm.means_).max()),
        "sds": float(np.abs(sd(again) - sd(gmm)).max()),
        "weights": float(np.abs(again.weights_ - gmm.weights_).max()),
        "rows": int(np.sum(again.predict(Z) != result.clusters)),
        "passes": again.n_iter_,
        "log_likelihood": float(abs(again.lower_bound_ - gmm.lower_bound_) / abs(gmm.lower_bound_)),
    })
out["one_ulp"] = {key: [m[key] for m in moves] for key in moves[0]}
print(json.dumps(out))
"""

#: the page that holds the converged table
CONVERGE_PAGE = ROOT / "docs" / "site" / "guide" / "converge.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from kernel_sweep import configurations, inherited_environment

    for name, env, what in configurations(inherited_environment()):
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, args.folder, str(CONVERGE_PAGE)],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"{what:<22} {name}: failed\n{done.stderr[-2000:]}", flush=True)
            continue
        found = json.loads(done.stdout.strip().splitlines()[-1])
        ulp = found.pop("one_ulp")
        print(f"{what:<22} {name}", flush=True)
        print(f"    converged: {json.dumps(found)}", flush=True)
        summary = {
            key: [min(values), max(values)] if key in ("passes",) else max(values)
            for key, values in ulp.items()
        }
        print(f"    one-ulp moves (largest of six): {json.dumps(summary)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
