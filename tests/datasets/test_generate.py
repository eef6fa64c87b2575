"""`pcagmm data make-big`: deformed MNIST rows written chunk by chunk, labels kept."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from pcagmm import datasets
from pcagmm.datasets import generate
from pcagmm.datasets.generate import deform, labels_path, make_big
from test_cli import assert_one_line_error, pcagmm


@pytest.fixture
def mnist_cached(shared_mnist):
    datasets.fetch("mnist", folder=shared_mnist)


def test_no_deformation_is_the_identity(monkeypatch):
    for name in ("MAX_SHIFT", "MAX_ROTATION_DEGREES", "ELASTIC_ALPHA"):
        monkeypatch.setattr(generate, name, 0.0)
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(deform(images, np.random.default_rng(1)), images)


def test_deformations_are_small_and_keep_the_ink():
    X = np.zeros((200, 28, 28), np.uint8)
    X[:, 8:20, 12:16] = 255  # a bar in the middle
    out = deform(X, np.random.default_rng(2))
    assert out.dtype == np.uint8
    ink = out.reshape(200, -1).sum(axis=1) / X.reshape(200, -1).sum(axis=1)
    assert np.all((ink > 0.5) & (ink < 2.0))  # the jitter stretches and squeezes, within 2x
    assert not np.array_equal(out[0], out[1])  # each image its own deformation


def test_make_big_writes_rows_and_labels(mnist_cached, tmp_path):
    out = make_big(2500, tmp_path / "out" / "big.npy", seed=3, chunk_rows=1000)
    X = np.load(out, mmap_mode="r").reshape(2500, -1)
    y = np.load(labels_path(out))
    assert X.shape == (2500, 784) and X.dtype == np.uint8
    assert y.shape == (2500,) and set(np.unique(y)) == set(range(10))
    dataset = datasets.load(out)  # the labels beside it are picked up
    np.testing.assert_array_equal(dataset.y, y)
    assert dataset.image_shape == (28, 28) and dataset.shape == (2500, 784)
    # the rows still look like their digits: a raw-pixel nearest-neighbour classifier on
    # 20,000 MNIST images gives most of them their label (chance is 10%; it is not
    # shift-invariant, so 2-pixel shifts alone cost it much of its ~96% on MNIST itself)
    mnist = datasets.load("mnist")
    reference = np.asarray(mnist.X[:20_000], dtype=np.float32)
    norms = (reference**2).sum(axis=1)
    rows = X[:100].astype(np.float32)
    nearest = np.argmin(norms[None, :] - 2 * rows @ reference.T, axis=1)
    assert np.mean(mnist.y[nearest] == y[:100]) >= 0.6
    assert sorted(p.name for p in out.parent.iterdir()) == ["big.labels.npy", "big.npy"]


def test_same_seed_same_bytes(mnist_cached, tmp_path):
    a = make_big(300, tmp_path / "a.npy", seed=7, chunk_rows=128)
    b = make_big(300, tmp_path / "b.npy", seed=7, chunk_rows=128)
    c = make_big(300, tmp_path / "c.npy", seed=8, chunk_rows=128)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_memory_does_not_grow_with_rows(mnist_cached, tmp_path):
    peaks = []
    for rows in (1000, 8000):
        tracemalloc.start()
        make_big(rows, tmp_path / f"m{rows}.npy", chunk_rows=250)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5 + (1 << 20)


def test_interrupted_make_big_leaves_nothing(mnist_cached, tmp_path, monkeypatch):
    calls = []

    def failing(images, rng):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return images.astype(np.uint8)

    monkeypatch.setattr(generate, "deform", failing)
    with pytest.raises(KeyboardInterrupt):
        make_big(500, tmp_path / "out" / "x.npy", chunk_rows=100)
    assert list((tmp_path / "out").iterdir()) == []


def test_make_big_command_line(shared_mnist, tmp_path):
    pcagmm("data", "fetch", "mnist", "--from", shared_mnist, "--quiet")
    result = pcagmm("data", "make-big", "--rows", "200", "--out", tmp_path / "b.npy", "--json")
    assert '"rows": 200' in result.stdout
    np.save(tmp_path / "plain.npy", np.ones((4, 9)))
    cases = [
        (["--rows", "0", "--out", tmp_path / "z.npy"], "--rows must be a positive whole number"),
        (["--rows", "5", "--out", tmp_path / "z.txt"], "does not end in .npy"),
        (["--rows", "5", "--out", tmp_path / "z.npy", "--source", tmp_path / "plain.npy"],
         "plain.npy is not a labelled image data set"),
    ]  # fmt: skip
    for args, fragment in cases:
        assert_one_line_error(pcagmm("data", "make-big", *args, check=False), fragment)


# ----------------------------------------------------------------------------- colour


def test_a_colour_deform_is_one_transform_for_every_channel():
    """An rgb stack deformed at once equals each channel deformed alone by a generator of
    the same seed: the shift, rotation and field are drawn once a picture and applied to
    its three channels alike."""
    images = np.random.default_rng(0).integers(0, 256, size=(6, 12, 10, 3), dtype=np.uint8)
    out = deform(images, np.random.default_rng(4))
    assert out.shape == images.shape and out.dtype == np.uint8
    for channel in range(3):
        alone = deform(np.ascontiguousarray(images[..., channel]), np.random.default_rng(4))
        np.testing.assert_array_equal(out[..., channel], alone)
    assert not np.array_equal(out, images)


def test_a_grey_picture_in_three_channels_deforms_as_the_grey_one():
    grey = np.random.default_rng(1).integers(0, 256, size=(5, 9, 11), dtype=np.uint8)
    out = deform(np.repeat(grey[..., None], 3, axis=-1), np.random.default_rng(9))
    expected = deform(grey, np.random.default_rng(9))
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], expected)


def test_make_big_in_colour_is_three_grey_make_bigs_of_its_channels(tmp_path):
    """A .npy of colour pictures (n, height, width, 3) with its labels, made big, equals
    the three grey files of its channels made big with the same seed: the same pictures
    picked, the same deformation of each, the same labels."""
    rng = np.random.default_rng(3)
    pictures = rng.integers(0, 256, size=(40, 9, 7, 3), dtype=np.uint8)
    labels = rng.integers(0, 4, size=40).astype(np.uint8)
    np.save(tmp_path / "colour.npy", pictures)
    np.save(tmp_path / "colour.labels.npy", labels)
    out = make_big(500, tmp_path / "big.npy", source=tmp_path / "colour.npy", seed=2,
                   chunk_rows=128)  # fmt: skip
    big = np.load(out)
    y = np.load(labels_path(out))
    assert big.shape == (500, 9, 7, 3) and big.dtype == np.uint8
    for channel in range(3):
        grey = tmp_path / f"channel{channel}.npy"
        np.save(grey, np.ascontiguousarray(pictures[..., channel]))
        np.save(labels_path(grey), labels)
        alone = make_big(500, tmp_path / f"big{channel}.npy", source=grey, seed=2,
                         chunk_rows=128)  # fmt: skip
        np.testing.assert_array_equal(big[..., channel], np.load(alone))
        np.testing.assert_array_equal(y, np.load(labels_path(alone)))
    dataset = datasets.load(out)  # read back as colour pictures, labels beside
    assert dataset.rgb_shape == (9, 7, 3) and dataset.image_shape is None
    np.testing.assert_array_equal(dataset.X, big.reshape(500, -1))
    np.testing.assert_array_equal(dataset.y, y)


def test_the_chunk_shrinks_for_large_pictures(tmp_path, monkeypatch):
    """Rows are made fewer at a time when a chunk of pictures would pass CHUNK_BYTES."""
    seen = []

    def counting(images, rng):
        seen.append(len(images))
        return images.astype(np.uint8)

    monkeypatch.setattr(generate, "deform", counting)
    np.save(tmp_path / "p.npy", np.zeros((3, 10, 10, 3), np.uint8))
    np.save(tmp_path / "p.labels.npy", np.arange(3))
    monkeypatch.setattr(generate, "CHUNK_BYTES", 300 * 60 * 7)  # 7 rows of 300 values
    make_big(20, tmp_path / "b.npy", source=tmp_path / "p.npy")
    assert seen == [7, 7, 6]
