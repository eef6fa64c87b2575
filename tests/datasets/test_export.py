"""``pcagmm data export``: a data set of pictures written as a folder of PNG files
(issue 30), checked against an independent writer and by reading the folder back."""

from __future__ import annotations

import errno
import gzip
import stat

import numpy as np
import pytest
from PIL import Image
from test_image_folder_run import write_digits

from commandline import cli, one_line_error
from pcagmm import datasets
from pcagmm._files import umask
from pcagmm.datasets.export import class_folders, write_pictures
from pcagmm.errors import PcagmmError


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_digits_exported_are_the_files_the_tests_write_by_hand(tmp_path):
    """The README's folder: `pcagmm data export digits` writes, file for file and pixel for
    pixel, what write_digits writes with Pillow from scikit-learn's own array (levels 0-16
    scaled to 0-255, one folder per digit, files numbered by row)."""
    result = cli("data", "export", "digits", tmp_path / "digit-pictures")
    assert result.returncode == 0, result.stderr
    assert "1,797 PNG files of digits in 10 class folders" in result.stdout
    write_digits(tmp_path / "by-hand")
    exported, by_hand = tmp_path / "digit-pictures", tmp_path / "by-hand"
    assert _files(exported) == _files(by_hand)
    for name in _files(by_hand):
        with Image.open(exported / name) as a, Image.open(by_hand / name) as b:
            assert a.mode == b.mode == "L"
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not list(tmp_path.glob(".*"))  # no temporary folder left beside it
    # the permissions a new folder gets under the umask (a temporary folder is private)
    assert stat.S_IMODE(exported.stat().st_mode) == 0o777 & ~umask()


def test_mnist_rows_read_back_as_they_were(shared_mnist, tmp_path):
    """500 of MNIST's test images (uint8, written as they are) and their labels, saved as an
    .npy with labels beside it, exported and read back as a folder: the same rows, each
    class's in its order (no MNIST digit has a light background to invert)."""
    raw = gzip.decompress((shared_mnist / "t10k-images-idx3-ubyte.gz").read_bytes())
    images = np.frombuffer(raw[16:], np.uint8)[: 500 * 784].reshape(500, 28, 28)
    raw = gzip.decompress((shared_mnist / "t10k-labels-idx1-ubyte.gz").read_bytes())
    labels = np.frombuffer(raw[8:], np.uint8)[:500]
    np.save(tmp_path / "scans.npy", images)
    np.save(tmp_path / "scans.labels.npy", labels)
    write_pictures(datasets.load(tmp_path / "scans.npy"), tmp_path / "pictures")
    back = datasets.load(tmp_path / "pictures")
    order = np.argsort(labels, kind="stable")
    np.testing.assert_array_equal(back.X, images.reshape(500, 784)[order])
    np.testing.assert_array_equal(back.y, labels[order])
    assert back.target_names == tuple("0123456789")


def test_rows_without_labels_make_a_flat_folder_and_colour_stays_colour(tmp_path):
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 40, (12, 5, 7, 3), dtype=np.uint8)  # dark: nothing inverted
    colour[0, 0, 0, 0] = 99  # the largest level, 99, becomes 255
    data = datasets.Dataset(colour.reshape(12, -1), None, name="c", source="test",
                            rgb_shape=(5, 7, 3))  # fmt: skip
    write_pictures(data, tmp_path / "flat")
    assert _files(tmp_path / "flat") == [f"{i:02d}.png" for i in range(12)]
    with Image.open(tmp_path / "flat" / "03.png") as picture:
        assert picture.mode == "RGB" and picture.size == (7, 5)
        expected = np.rint(colour[3] * (255 / 99)).astype(np.uint8)
        np.testing.assert_array_equal(np.asarray(picture), expected)
    back = datasets.load(tmp_path / "flat", colour="rgb")
    assert back.y is None and back.rgb_shape == (5, 7, 3)
    np.testing.assert_array_equal(back.X, np.rint(colour.reshape(12, -1) * (255 / 99)))


def test_class_folders_are_safe_names_that_keep_every_class_apart():
    labels = np.array([0, 1, 2, 1])
    assert class_folders(labels, ("T-shirt/top", "Trouser", ".hidden")) == {
        0: "T-shirt-top", 1: "Trouser", 2: "hidden"}  # fmt: skip
    assert class_folders(labels) == {0: "0", 1: "1", 2: "2"}
    # two names the same once made safe (or one empty): each folder keeps its label too
    assert class_folders(labels, ("a/b", "a-b", "c")) == {0: "0-a-b", 1: "1-a-b", 2: "2-c"}
    assert class_folders(labels, ("..", "x", "y")) == {0: "0-..", 1: "1-x", 2: "2-y"}


def test_rows_that_are_not_pictures_are_refused(tmp_path):
    np.savetxt(tmp_path / "rows.csv", np.ones((3, 4)), delimiter=",", header="a,b,c,d",
               comments="")  # fmt: skip
    result = cli("data", "export", tmp_path / "rows.csv", tmp_path / "out")
    one_line_error(result, "rows.csv's rows are 4 features, not pictures", "export a data set")
    assert not (tmp_path / "out").exists()


def test_a_folder_that_holds_files_is_refused_and_kept(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    result = cli("data", "export", "digits", tmp_path / "out")
    one_line_error(result, "out already holds files", "give a new or empty folder")
    assert _files(tmp_path / "out") == ["mine.txt"]
    (tmp_path / "file").write_text("x")
    one_line_error(cli("data", "export", "digits", tmp_path / "file"), "is a file, not a folder")


def test_an_empty_folder_is_filled(tmp_path):
    (tmp_path / "out").mkdir()
    assert cli("data", "export", "digits", tmp_path / "out").returncode == 0
    assert len(_files(tmp_path / "out")) == 1797


def test_a_write_that_fails_leaves_nothing(tmp_path, monkeypatch):
    """A disk that fills up at the 100th file (fault injected into Pillow's save): one
    message naming the folder, and neither it nor a temporary folder is left."""
    saved = []
    real_save = Image.Image.save

    def save(self, target, *args, **kwargs):
        saved.append(target)
        if len(saved) == 100:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, target, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    with pytest.raises(PcagmmError) as caught:
        write_pictures(datasets.load("digits"), tmp_path / "here" / "out")
    assert str(caught.value) == (
        f"cannot write {tmp_path / 'here' / 'out'} (No space left on device); "
        "free some space or choose a writable place"
    )
    assert list((tmp_path / "here").iterdir()) == []
