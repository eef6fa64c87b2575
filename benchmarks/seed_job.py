"""The main job against the course notebook's code, each in fresh processes.

Usage: python benchmarks/seed_job.py [--repeats 5] [--in-process]

Notebook: a fresh Python process running the notebook's code with scikit-learn and
matplotlib (Agg backend): MNIST as float64 loaded from an .npy file (download time
excluded), PCA(2), the scatter coloured by digit with a colour bar, GaussianMixture(10,
full, random_state=42), the means and standard deviations printed, the clusters with
1-2-3 sigma ellipses; both figures saved as PNG.
Ours: a fresh ``pcagmm run`` on the cached MNIST (all its figures and all files,
report.html included), and the same with ``--no-report`` (what the page costs).
Each command runs under /usr/bin/time; printed: median wall time and median peak
resident memory of each, and the ratios.

``--in-process``: a notebook user's time, where a kernel pays the imports once. In one
process, after both sides' imports and one untimed warm-up of each (the first figure a
process draws loads its fonts), the notebook's cells (PCA, figure 1, the mixture and its
printout, figure 2, on the float64 array the notebook holds) alternate with
``pcagmm.run("mnist", force=True)`` on the cached memory map, as Python runs it by
default (issue 29): PCA, the mixture, the agreement, and a run folder of summary.json,
clusters.csv and model.npz; the figures and report.html are left to be asked for
(``plots=None``, ``report=None``). Printed: the median of each and their ratio (the
headline), and beside them, alternated in the same loop, what a notebook user who looks
at the result pays (``pcagmm.run()`` then ``result._repr_html_()``: the tables and three
figures inline, at 80 dpi) and the command line's folder from Python
(``plots=True, report=True``: five figures and report.html).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import mnist_X

NOTEBOOK_IMPORTS = """
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Ellipse
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
"""
NOTEBOOK_LOAD = """
X = np.load({x!r})
y = np.load({y!r})
"""
NOTEBOOK_CELLS = """
pca = PCA(n_components=2)
X_pca = pca.fit_transform(X)
plt.figure(figsize=(10, 8))
scatter = plt.scatter(X_pca[:, 0], X_pca[:, 1], c=y, cmap="tab10", alpha=0.5, s=1)
plt.colorbar(scatter, label="Digit Label", ticks=range(10))
plt.title("PCA of MNIST Dataset")
plt.xlabel("Principal Component 1")
plt.ylabel("Principal Component 2")
plt.grid(True)
plt.savefig({out!r} + "/pca_scatter.png")
plt.close()

gmm = GaussianMixture(n_components=10, covariance_type="full", random_state=42)
gmm.fit(X_pca)
means = gmm.means_
stds = np.sqrt(np.array([np.diag(c) for c in gmm.covariances_]))
print("Means of the clusters:\\n", means)
print("Standard deviations of the clusters:\\n", stds)

labels = gmm.predict(X_pca)
plt.figure(figsize=(10, 8))
plt.scatter(X_pca[:, 0], X_pca[:, 1], c=labels, cmap="tab10", alpha=0.5, s=1)
ax = plt.gca()
for mean, covariance, weight in zip(gmm.means_, gmm.covariances_, gmm.weights_):
    values, vectors = np.linalg.eigh(covariance)
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    for n_std in (1, 2, 3):
        width, height = 2 * n_std * np.sqrt(values[1]), 2 * n_std * np.sqrt(values[0])
        ax.add_patch(Ellipse(mean, width, height, angle=angle, alpha=weight, fill=False))
plt.title("GMM Clustering of MNIST (PCA-reduced)")
plt.xlabel("Principal Component 1")
plt.ylabel("Principal Component 2")
plt.grid(True)
plt.savefig({out!r} + "/gmm_clusters.png")
plt.close()
"""
NOTEBOOK = NOTEBOOK_IMPORTS + NOTEBOOK_LOAD + NOTEBOOK_CELLS


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of a command, from /usr/bin/time."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command],
                            capture_output=True, text=True, check=True)  # fmt: skip
    wall, kib = result.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024


def in_process(repeats: int) -> None:
    """The notebook's cells against pcagmm.run(), alternated in this process."""
    import contextlib
    import io
    import time

    import pcagmm
    import pcagmm.datasets

    namespace: dict = {}
    exec(NOTEBOOK_IMPORTS, namespace)
    dataset = pcagmm.datasets.load("mnist")
    namespace["X"] = np.asarray(dataset.X, dtype=np.float64)  # what the notebook holds
    namespace["y"] = np.asarray(dataset.y, dtype=np.int64)
    with tempfile.TemporaryDirectory() as folder:
        cells = compile(NOTEBOOK_CELLS.format(out=folder), "<notebook cells>", "exec")

        def notebook() -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # its printout, not shown
                exec(cells, namespace)

        def ours() -> None:  # Python's default: figures and report.html when asked
            pcagmm.run("mnist", out=f"{folder}/run", force=True)

        def ours_shown() -> None:  # and the notebook's view of the result
            pcagmm.run("mnist", out=f"{folder}/run", force=True)._repr_html_()

        def ours_everything() -> None:  # the command line's folder
            pcagmm.run("mnist", out=f"{folder}/run", force=True, plots=True, report=True)

        def seconds(function) -> float:
            start = time.perf_counter()
            function()
            return time.perf_counter() - start

        sides = (notebook, ours, ours_shown, ours_everything)
        first = [seconds(side) for side in sides]  # fonts, caches
        timings = [[seconds(side) for side in sides] for _ in range(repeats)]
    median = [statistics.median(t[i] for t in timings) for i in range(len(sides))]
    notebook_time, ours_time = median[0], median[1]
    print(f"in one process, after the imports; median of {repeats}, alternated")
    print(f"  notebook cells: {notebook_time:6.2f} s (first, untimed: {first[0]:.2f} s)")
    print(f"  pcagmm.run():   {ours_time:6.2f} s (first, untimed: {first[1]:.2f} s)")
    print(f"  ours/notebook:  {ours_time / notebook_time:6.2f} of the time")
    for label, i in (("run() + its notebook view", 2), ("run(plots=True, report=True)", 3)):
        print(f"  {label}: {median[i]:.2f} s, {median[i] / notebook_time:.2f} of the time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--in-process", action="store_true",
                        help="a notebook kernel's time: both after their imports")  # fmt: skip
    args = parser.parse_args()
    if args.in_process:
        in_process(args.repeats)
        return

    import pcagmm.datasets

    X = mnist_X()
    y = pcagmm.datasets.load("mnist").y
    pcagmm_cli = str(Path(sys.executable).with_name("pcagmm"))
    with tempfile.TemporaryDirectory() as folder:
        x_path, y_path = f"{folder}/X.npy", f"{folder}/y.npy"
        np.save(x_path, np.asarray(X, dtype=np.float64))
        np.save(y_path, np.asarray(y, dtype=np.int64))
        code = NOTEBOOK.format(x=x_path, y=y_path, out=folder)
        notebook, ours, no_report = [], [], []
        run = [pcagmm_cli, "run", "--quiet", "--force", "--out", f"{folder}/run"]
        for _ in range(args.repeats):  # interleaved, so drift hits all alike
            notebook.append(timed([sys.executable, "-c", code]))
            ours.append(timed(run))
            no_report.append(timed([*run, "--no-report"]))

    def median(rows, i):
        return statistics.median(r[i] for r in rows)

    nb_wall, nb_mem = median(notebook, 0), median(notebook, 1)
    our_wall, our_mem = median(ours, 0), median(ours, 1)
    print(f"median of {args.repeats} fresh processes each")
    print(f"  notebook code: {nb_wall:6.2f} s, {nb_mem:6.0f} MiB peak")
    print(f"  pcagmm run:    {our_wall:6.2f} s, {our_mem:6.0f} MiB peak")
    print(f"  ours/notebook: {our_wall / nb_wall:6.2f} of the time, {our_mem / nb_mem:.2f} "
          "of the memory")  # fmt: skip
    bare_wall, bare_mem = median(no_report, 0), median(no_report, 1)
    print(
        f"  pcagmm run --no-report: {bare_wall:6.2f} s, {bare_mem:6.0f} MiB peak; "
        f"{bare_wall / nb_wall:.2f} of the time, {bare_mem / nb_mem:.2f} of the memory"
    )


if __name__ == "__main__":
    main()
