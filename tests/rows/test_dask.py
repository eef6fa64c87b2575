"""The Dask path against the in-memory one, on real Dask clusters on 127.0.0.1.

Every comparison is with the same estimator fitted on the same rows as a NumPy
array or memory map (itself checked against scikit-learn elsewhere): the Dask
results must agree to 1e-9 relative, the PCA of uint8 data exactly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from pcagmm import PCA, BayesianGaussianMixture, GaussianMixture, run  # noqa: E402
from pcagmm.distributed import as_dask_array, from_memmap  # noqa: E402
from pcagmm.mixture import initialization  # noqa: E402

BIN = Path(sys.executable).parent


def relative(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def assert_same_numbers(first, second, tolerance=1e-9) -> None:
    """Two JSON trees hold the same keys and text, and numbers equal to ``tolerance``
    relative to the largest magnitude of each list."""
    if isinstance(first, dict):
        assert first.keys() == second.keys()
        for key in first:
            assert_same_numbers(first[key], second[key], tolerance)
    elif isinstance(first, list | int | float) and not isinstance(first, bool):
        assert relative(second, first) <= tolerance, (first, second)
    else:
        assert first == second


def clustered_images(n: int, d: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 rows around 5 prototypes (with always-zero border columns), and their labels."""
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 200, size=(5, d))
    labels = rng.integers(0, 5, size=n)
    X = prototypes[labels] + rng.normal(0, 25, size=(n, d))
    X = np.clip(X, 0, 255).astype(np.uint8)
    X[:, :3] = 0
    return X, labels


@pytest.fixture(scope="module")
def client():
    """A LocalCluster: a scheduler and 2 single-threaded worker processes on 127.0.0.1."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        yield client


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """6,000 clustered uint8 rows saved as .npy (with labels) and opened as a memory map."""
    X, y = clustered_images(6000)
    path = tmp_path_factory.mktemp("dask-data") / "images.npy"
    np.save(path, X)
    np.save(path.with_suffix(".labels.npy"), y)
    return np.load(path, mmap_mode="r")


def test_pca_of_uint8_blocks_is_exactly_the_in_memory_pca(client, images):
    X = from_memmap(images, block_rows=700)  # uneven blocks: 8 of 700 and one of 400
    assert X.numblocks[0] == 9
    ours = PCA(4).fit(X)
    reference = PCA(4).fit(images)
    np.testing.assert_array_equal(ours.components_, reference.components_)
    np.testing.assert_array_equal(ours.explained_variance_, reference.explained_variance_)
    np.testing.assert_array_equal(ours.mean_, reference.mean_)
    projected = ours.transform(X)
    assert isinstance(projected, da.Array)
    np.testing.assert_allclose(projected.compute(), reference.transform(images), rtol=0,
                               atol=1e-12 * np.abs(reference.transform(images)).max())  # fmt: skip


def test_pca_of_float_blocks_split_in_both_directions(client):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 12)) @ rng.normal(size=(12, 12)) + 1e4  # far from the origin
    X_dask = da.from_array(X, chunks=((1000, 700, 1300), (5, 7)))  # blocks split columns too
    ours = PCA(3).fit(X_dask)
    reference = PCA(3).fit(X)
    assert relative(ours.components_, reference.components_) < 1e-9
    assert relative(ours.explained_variance_, reference.explained_variance_) < 1e-9
    assert relative(ours.mean_, reference.mean_) < 1e-12


def test_pca_of_an_npy_stack(client, images, tmp_path):
    da.to_npy_stack(tmp_path / "stack", da.from_array(np.asarray(images), chunks=(1500, 64)))
    X = da.from_npy_stack(tmp_path / "stack")
    np.testing.assert_array_equal(PCA(2).fit(X).components_, PCA(2).fit(images).components_)


# scikit-learn's four, and mclust's iterative structures (their M-steps read the same sums)
@pytest.mark.parametrize(
    "covariance_type", ["full", "tied", "diag", "spherical", "VEI", "EVE", "VEV"]
)
def test_mixture_on_dask_blocks_equals_in_memory(client, images, covariance_type):
    Z = PCA(3).fit_transform(images)
    Z_dask = da.from_array(Z, chunks=800)
    ours = GaussianMixture(5, covariance_type=covariance_type, random_state=3).fit(Z_dask)
    reference = GaussianMixture(5, covariance_type=covariance_type, random_state=3).fit(Z)
    assert ours.n_iter_ == reference.n_iter_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert relative(getattr(ours, name), getattr(reference, name)) < 1e-9, name
    assert abs(ours.lower_bound_ - reference.lower_bound_) < 1e-9 * abs(reference.lower_bound_)
    np.testing.assert_array_equal(ours.predict(Z_dask).compute(), reference.predict(Z))
    np.testing.assert_allclose(ours.predict_proba(Z_dask).compute(), reference.predict_proba(Z),
                               rtol=0, atol=1e-9)  # fmt: skip
    assert abs(ours.score(Z_dask) - reference.score(Z)) < 1e-9 * abs(reference.score(Z))
    lazy = ours.score_samples(Z_dask)  # a lazy Dask array, as the README says
    assert type(lazy).__module__.startswith("dask.array")
    np.testing.assert_allclose(lazy.compute(), reference.score_samples(Z), rtol=1e-9)


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_variational_mixture_on_dask_blocks_equals_in_memory(
    client, images, covariance_type, prior_type
):
    # the priors' defaults (a pass for the rows' mean and covariance), every variational
    # pass and the bound's entropy from the workers' sums
    Z = PCA(3).fit_transform(images)
    settings = {"covariance_type": covariance_type, "weight_concentration_prior_type": prior_type,
                "random_state": 3, "max_iter": 30, "tol": 1e-6}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(8, **settings).fit(da.from_array(Z, chunks=800))
        reference = BayesianGaussianMixture(8, **settings).fit(Z)
    assert ours.n_iter_ == reference.n_iter_
    for name in ("weights_", "means_", "covariances_", "degrees_of_freedom_", "mean_precision_"):
        assert relative(getattr(ours, name), getattr(reference, name)) < 1e-9, name
    assert relative(ours.covariance_prior_, reference.covariance_prior_) < 1e-12
    assert abs(ours.lower_bound_ - reference.lower_bound_) < 1e-9 * abs(reference.lower_bound_)
    np.testing.assert_array_equal(ours.predict(da.from_array(Z, chunks=800)).compute(),
                                  reference.predict(Z))  # fmt: skip


def test_squarem_on_dask_blocks_and_a_memory_map_equals_in_memory(client, images, tmp_path):
    # SQUAREM combines parameter vectors between passes: the drivers only make the passes.
    # From a random start (33 passes here, 8 extrapolations taken and 3 dropped) every
    # decision is far from a tie; from the k-means start these clusters were fitted at
    # once, and whether a pass changed the log-likelihood by 0 or 1e-16 (rounding, which
    # differs between chunkings under OpenBLAS's Nehalem kernel) decided the pass count.
    Z = PCA(3).fit_transform(images)
    np.save(tmp_path / "z.npy", Z)
    settings = {"random_state": 3, "stopping": "relative", "tol": 1e-10, "acceleration": "squarem",
                "init_params": "random"}  # fmt: skip
    reference = GaussianMixture(5, **settings).fit(Z)
    assert reference.extrapolations_[0] > 0 and reference.extrapolations_[1] > 0
    for X in (da.from_array(Z, chunks=800), np.load(tmp_path / "z.npy", mmap_mode="r")):
        ours = GaussianMixture(5, chunk_rows=700, **settings).fit(X)
        assert ours.n_iter_ == reference.n_iter_
        assert ours.extrapolations_ == reference.extrapolations_
        assert relative(ours.means_, reference.means_) < 1e-9
        assert abs(ours.lower_bound_ - reference.lower_bound_) < 1e-9 * abs(reference.lower_bound_)


def test_mixture_on_many_features_uses_the_direct_pass(client, images):
    # 20 features > 16: the per-component (u - m) P pass instead of quadratic features
    Z = PCA(20).fit_transform(images)
    ours = GaussianMixture(4, random_state=0).fit(da.from_array(Z, chunks=1000))
    reference = GaussianMixture(4, random_state=0).fit(Z)
    assert ours.n_iter_ == reference.n_iter_
    assert relative(ours.covariances_, reference.covariances_) < 1e-9


def test_sampled_kmeans_start_on_dask_equals_the_streamed_one(client, images, monkeypatch):
    # Above KMEANS_SAMPLE_ABOVE rows, k-means runs on a sample drawn from random_state and
    # every row goes to its nearest centre: on the workers for Dask, in chunks otherwise.
    monkeypatch.setattr(initialization, "KMEANS_SAMPLE_ABOVE", 2000)
    monkeypatch.setattr(initialization, "KMEANS_SAMPLE_ROWS", 1500)
    Z = PCA(2).fit_transform(images)
    ours = GaussianMixture(5, random_state=7).fit(da.from_array(Z, chunks=900))
    reference = GaussianMixture(5, random_state=7).fit(Z)
    assert ours.n_iter_ == reference.n_iter_
    assert relative(ours.means_, reference.means_) < 1e-9
    again = GaussianMixture(5, random_state=7).fit(da.from_array(Z, chunks=1700))
    assert relative(again.means_, ours.means_) < 1e-9  # the blocks do not change the start


def test_bad_dask_input(client):
    X = da.zeros((10, 3), chunks=5)
    with pytest.raises(ValueError, match="sample_weight is not supported with a Dask array"):
        GaussianMixture(2).fit(X, sample_weight=np.ones(10))
    with pytest.raises(ValueError, match="2-D numeric Dask array"):
        PCA(1).fit(da.zeros((10,), chunks=5))
    with_nan = da.from_array(np.where(np.eye(10, 3) > 0, np.nan, 1.0) + np.arange(10)[:, None],
                             chunks=4)  # fmt: skip
    with pytest.raises(ValueError, match="Input X contains NaN or infinity"):
        PCA(1).fit(with_nan)
    with pytest.raises(ValueError, match="Input X contains NaN or infinity"):
        GaussianMixture(2).fit(with_nan)
    fitted = PCA(1).fit(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(ValueError, match="X has 4 features"):
        fitted.transform(da.zeros((10, 4), chunks=5))


def test_run_on_a_cluster_equals_the_streamed_run(client, images, tmp_path):
    path = Path(images.filename)
    streamed = run(path, components=2, clusters=5, seed=1, out=tmp_path / "streamed", plots=False)
    on_dask = run(path, components=2, clusters=5, seed=1, out=tmp_path / "dask",
                  dask=client.scheduler.address, plots=True)  # fmt: skip
    assert {"pca_scatter.png", "gmm_clusters.png"} <= set(on_dask.files)  # drawn from its Z
    assert on_dask.computed_on == f"Dask cluster at {client.scheduler.address}, 2 workers"
    assert streamed.computed_on == "this process"
    assert f"on the Dask cluster at {client.scheduler.address}" in on_dask.report()
    assert on_dask.gmm.n_iter_ == streamed.gmm.n_iter_
    assert relative(on_dask.means, streamed.means) < 1e-9
    assert relative(on_dask.gmm.covariances_, streamed.gmm.covariances_) < 1e-9
    np.testing.assert_array_equal(on_dask.clusters, streamed.clusters)
    assert on_dask.agreement.adjusted_rand == streamed.agreement.adjusted_rand
    first = json.loads((tmp_path / "streamed" / "summary.json").read_text())
    second = json.loads((tmp_path / "dask" / "summary.json").read_text())
    for key in ("pca", "mixture", "metrics"):
        assert_same_numbers(first[key], second[key])
    assert second["computed_on"] == on_dask.computed_on


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # tol=0 on purpose
def test_a_worker_killed_mid_fit_does_not_change_the_answer(images):
    Z = PCA(2).fit_transform(images)
    settings = dict(n_components=5, tol=0.0, max_iter=60, random_state=2)
    reference = GaussianMixture(**settings).fit(Z)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        Z_dask = da.from_array(Z, chunks=150).persist()  # 40 blocks, spread over both workers
        distributed.wait(Z_dask)
        pids = client.run(os.getpid)
        fitted = {}

        def fit():
            fitted["model"] = GaussianMixture(**settings).fit(Z_dask)

        fitting = threading.Thread(target=fit)
        fitting.start()
        time.sleep(1.0)
        assert fitting.is_alive(), "the fit ended before a worker could be killed"
        victim = sorted(pids)[0]
        os.kill(pids[victim], signal.SIGKILL)  # its blocks of Z and its tasks are lost
        fitting.join(timeout=120)
        assert not fitting.is_alive()
        client.wait_for_workers(2, timeout=30)
        assert set(client.run(os.getpid).values()) != set(pids.values())  # one was replaced
    ours = fitted["model"]
    assert ours.n_iter_ == reference.n_iter_ == 60
    for name in ("weights_", "means_", "covariances_"):
        assert relative(getattr(ours, name), getattr(reference, name)) < 1e-9, name


@pytest.fixture
def dask_command_line_cluster(tmp_path):
    """A scheduler and a worker (2 processes) started with the ``dask`` command line."""
    scheduler_file = tmp_path / "scheduler.json"
    dask = str(BIN / "dask")
    common = ["--no-dashboard"]
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--scheduler-file", str(scheduler_file), *common],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    workers = None
    try:
        for _ in range(300):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        command = [dask, "worker", address, "--nworkers", "2", "--nthreads", "1",
                   "--host", "127.0.0.1", *common]  # fmt: skip
        workers = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with distributed.Client(address) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in (workers, scheduler):
            if process is not None:
                process.terminate()
        for process in (workers, scheduler):
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def test_cli_run_on_a_cluster_started_with_the_dask_command(
    dask_command_line_cluster, images, tmp_path
):
    path = Path(images.filename)
    common = ["run", "--data", str(path), "--components", "2", "--clusters", "5",
              "--no-plots", "--json", "--quiet"]  # fmt: skip
    outputs = {}
    for name, extra in (("streamed", []), ("dask", ["--dask", dask_command_line_cluster])):
        result = subprocess.run([str(BIN / "pcagmm"), *common, "--out", str(tmp_path / name),
                                 *extra], capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs[name] = json.loads(result.stdout)
    for key in ("pca", "mixture", "metrics"):
        assert_same_numbers(outputs["streamed"][key], outputs["dask"][key])


def run_cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "pcagmm"), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})  # fmt: skip


def test_unreachable_scheduler_is_a_one_line_error(images, tmp_path):
    result = run_cli("run", "--data", images.filename, "--no-plots", "--out",
                     str(tmp_path / "out"), "--dask", "tcp://127.0.0.1:9",
                     env={"PCAGMM_DASK_TIMEOUT": "2s"})  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("pcagmm: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert "--dask local" in last
    assert not (tmp_path / "out").exists()


def test_without_dask_the_option_says_how_to_install_it(images, tmp_path):
    # A fresh interpreter in which importing dask fails, as on a machine without it.
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
        "from pcagmm.cli import main\n"
        f"sys.exit(main(['run', '--data', {str(images.filename)!r}, '--no-plots', '--dask', "
        f"'local', '--out', {str(tmp_path / 'out')!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "pcagmm: error: Dask is not installed, and a Dask array or cluster was asked for; "
        "install it with: pip install 'pcagmm[dask]'"
    )


def test_as_dask_array_reads_memory_maps_per_block(images):
    X = as_dask_array(images)
    graph = dict(X.__dask_graph__())
    # no task holds the rows: the graph is small whatever the file's size
    assert sum(len(repr(task)) for task in graph.values()) < 20_000
    np.testing.assert_array_equal(X[100:2000].compute(scheduler="sync"), images[100:2000])


def test_a_scheduler_without_workers_is_a_one_line_error(images, tmp_path, monkeypatch):
    from pcagmm.distributed import DaskError

    monkeypatch.setenv("PCAGMM_DASK_TIMEOUT", "2s")
    bare = distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None)
    address = bare.scheduler_address
    with bare, pytest.raises(DaskError, match="has no workers") as raised:
        run(Path(images.filename), clusters=3, out=tmp_path / "out", dask=address)
    assert f"dask worker {address}" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_workers_that_cannot_read_the_file_give_a_one_line_error(client, tmp_path):
    from pcagmm import datasets
    from pcagmm.distributed import DaskError

    X, _ = clustered_images(3000)
    path = tmp_path / "gone.npy"
    np.save(path, X)
    dataset = datasets.load(path)
    path.unlink()  # this process keeps its map; the workers find no file
    with pytest.raises(DaskError, match="could not read the data") as raised:
        run(dataset, clusters=3, out=tmp_path / "out", dask=client.scheduler.address)
    assert "shared file system" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_the_python_api_runs_on_a_memory_map(images, tmp_path):
    from_path = run(Path(images.filename), clusters=4, seed=0, write=False)
    from_map = run(images, clusters=4, seed=0, write=False)
    np.testing.assert_array_equal(from_map.gmm.means_, from_path.gmm.means_)
    assert from_map.dataset.name == "images.npy" and from_map.agreement is None  # no labels


def test_a_dask_run_without_figures_leaves_the_projection_on_the_cluster(client, images, tmp_path):
    from pcagmm.errors import RunError

    result = run(Path(images.filename), clusters=3, seed=0, out=tmp_path / "out", plots=False,
                 report=False,
                 dask=client.scheduler.address)  # fmt: skip
    assert result.Z is None
    assert result.clusters.dtype == np.uint8 and len(result.clusters) == len(images)
    with pytest.raises(RunError, match="left its projection on the Dask cluster"):
        result.plot_scatter()
    streamed = run(Path(images.filename), clusters=3, seed=0, write=False)
    np.testing.assert_array_equal(result.clusters, streamed.clusters)


def test_runs_on_different_arrays_are_different_runs(tmp_path):
    from pcagmm.errors import RunError

    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    done = run(first, clusters=2, seed=0, plots=False, out=tmp_path / "out")
    assert done.config["dataset"].startswith("array sha256:")
    with pytest.raises(RunError, match="already holds a different run"):
        run(second, clusters=2, seed=0, plots=False, out=tmp_path / "out")
    run(first, clusters=2, seed=0, plots=False, out=tmp_path / "out")  # the same run: replaced


def test_dask_errors_name_the_parameter_as_python_spells_it(monkeypatch):
    from pcagmm.distributed import DaskError, connect

    monkeypatch.setenv("PCAGMM_DASK_TIMEOUT", "1s")
    with pytest.raises(DaskError, match="or pass dask=local$"), connect("tcp://127.0.0.1:9"):
        pass


def test_local_cluster_workers_keep_the_default_malloc_trimming(monkeypatch):
    """Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which made a mixture fit on a
    worker 2.2x slower; the local cluster pcagmm starts leaves glibc's default."""
    from pcagmm.distributed import connect

    # as a process that has started a default Dask cluster before has it
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with connect("local", workers=1) as client:
        settings = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        threads = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
    assert list(settings.values()) == [None]
    assert list(threads.values()) == ["1"]  # Dask's other worker settings are kept
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's is put back


def test_bootstrap_and_lrt_refits_on_dask_equal_those_on_threads(client):
    """Every refit of a bootstrap, and every replicate of the likelihood-ratio test, is
    a task on the workers; each computes the same numbers as on a thread here (the same
    rows, start and resample or draw: 1e-12 relative, where only the BLAS of another
    process could differ)."""
    from pcagmm.mixture.bootstrap import bootstrap
    from pcagmm.mixture.lrt import likelihood_ratio_test

    rng = np.random.default_rng(4)
    Z = np.vstack([rng.normal(c, 1.0, size=(150, 2)) for c in ((0, 0), (6, 0), (3, 5))])
    gmm = GaussianMixture(3, random_state=0, stopping="relative", tol=1e-10).fit(Z)
    on_dask = bootstrap(gmm, Z, resamples=6, seed=1, converge=False, client=client)
    here = bootstrap(gmm, Z, resamples=6, seed=1, converge=False, n_jobs=2)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(on_dask.values(name), here.values(name), rtol=1e-12)
    fits = {K: GaussianMixture(K, random_state=0).fit(Z) for K in (2, 3)}
    tested = likelihood_ratio_test(Z, fits, resamples=4, seed=2, client=client)
    threads = likelihood_ratio_test(Z, fits, resamples=4, seed=2, n_jobs=2)
    np.testing.assert_allclose(tested.steps[0].bootstrap, threads.steps[0].bootstrap, rtol=1e-12)
    assert tested.steps[0].statistic == threads.steps[0].statistic
