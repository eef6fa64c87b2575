"""Colour pictures beyond a folder (issue 30): a .npy of (n, height, width, 3) loads as
rgb pictures and streams as any .npy does; `pcagmm data make-big` makes colour pictures
from an rgb folder or file; `pcagmm data info` shows their size.

The pictures are scikit-learn's digits tinted by class: each digit's levels times its
class's colour (:data:`TINTS`), so a picture's colour says its class, and a deformation
that moved one channel differently from another would show in every pixel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from commandline import cli, one_line_error
from pcagmm import datasets, run
from pcagmm.cli import main
from pcagmm.datasets.generate import labels_path
from pcagmm.rows import chunks
from pcagmm.rows.local import MEMORY_MAP, local_rows

#: each class's colour (red, green, blue), far apart in direction
TINTS = np.array([
    (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255),
    (0, 255, 255), (255, 255, 255), (255, 128, 0), (0, 128, 255), (128, 0, 255),
])  # fmt: skip


def tinted_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as 8 x 8 x 3 colour pictures (levels 0-255 times the class's
    tint / 255, rounded), and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    levels = digits.images * 255 / 16  # 1797 x 8 x 8
    tint = TINTS[digits.target][:, None, None, :]
    return np.round(levels[..., None] * tint / 255).astype(np.uint8), digits.target


def write_folder(folder: Path, pictures: np.ndarray, labels: np.ndarray) -> tuple:
    """The pictures as RGB PNG files, ``folder/<label>/<number>.png``; returns them and
    their labels in the folder's order (paths sorted as bytes)."""
    names = []
    for number, (picture, label) in enumerate(zip(pictures, labels, strict=True)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture, "RGB").save(folder / str(label) / f"{number:04d}.png")
        names.append(f"{label}/{number:04d}.png")
    order = sorted(range(len(names)), key=lambda i: names[i].encode())
    return pictures[order], labels[order]


@pytest.fixture(scope="module")
def colour_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("colour") / "tinted"
    return folder, *write_folder(folder, *tinted_digits())


def assert_tinted_by_label(pictures: np.ndarray, labels: np.ndarray) -> None:
    """Every pixel's colour is its row's class's tint, up to rounding: each channel c of
    a picture of tint t is L t_c / 255 + e_c with |e_c| <= 1 for one level L a pixel
    (rounded when tinted, then interpolated and rounded again), so c and r agree as
    |v_c t_r - v_r t_c| <= t_r + t_c. And the row's colour, summed over its pixels,
    is nearest in direction to its own class's tint."""
    tints = TINTS[labels].astype(np.float64)[:, None, None, :]  # rows x 1 x 1 x 3
    values = pictures.astype(np.float64)
    for c in range(3):
        for r in range(3):
            gap = np.abs(values[..., c] * tints[..., r] - values[..., r] * tints[..., c])
            assert np.all(gap <= tints[..., r] + tints[..., c]), (c, r)
    totals = values.sum(axis=(1, 2))
    totals /= np.linalg.norm(totals, axis=1, keepdims=True)
    directions = TINTS / np.linalg.norm(TINTS, axis=1, keepdims=True)
    np.testing.assert_array_equal(np.argmax(totals @ directions.T, axis=1), labels)


def test_the_tinted_pictures_are_what_the_checks_say(colour_folder):
    """The check itself, on the pictures before any deformation: it holds for the right
    labels and fails for shuffled ones."""
    _, pictures, labels = colour_folder
    assert_tinted_by_label(pictures, labels)
    with pytest.raises(AssertionError):
        assert_tinted_by_label(pictures, np.roll(labels, 1))


# ----------------------------------------------------------------------------- 4-D .npy


def test_a_4d_npy_of_colour_pictures_loads_as_rgb_rows(tmp_path):
    pictures, labels = tinted_digits()
    np.save(tmp_path / "pictures.npy", pictures)
    np.save(tmp_path / "pictures.labels.npy", labels)
    dataset = datasets.load(tmp_path / "pictures.npy")
    assert dataset.rgb_shape == (8, 8, 3) and dataset.image_shape is None
    assert isinstance(dataset.X, np.memmap) and dataset.shape == (1797, 192)
    # row, column, channel: feature 3 (w i + j) + c is pixel (i, j)'s channel c
    i, j, c = 5, 2, 1
    np.testing.assert_array_equal(dataset.X[:, 3 * (8 * i + j) + c], pictures[:, i, j, c])
    np.testing.assert_array_equal(dataset.y, labels)
    np.savez(tmp_path / "pictures.npz", X=pictures, y=labels)
    archived = datasets.load(tmp_path / "pictures.npz")
    assert archived.rgb_shape == (8, 8, 3)
    np.testing.assert_array_equal(archived.X, dataset.X)


@pytest.mark.parametrize(
    ("shape", "fix"),
    [
        ((5, 4, 4, 2), "save colour pictures as (n, height, width, 3), grey ones as (n, "
                       "height, width), or rows as (n, features)"),
        ((5, 3, 4, 4), "move the channels last, numpy.moveaxis(X, 1, -1), and save it again"),
        ((5, 4, 4, 1), "save grey pictures without their channel axis, X[..., 0], as (n, "
                       "height, width)"),
        ((5, 4, 4, 4), "save red, green and blue without the alpha channel, X[..., :3]"),
    ],
)  # fmt: skip
def test_other_4d_arrays_are_refused_in_one_line(tmp_path, shape, fix):
    np.save(tmp_path / "x.npy", np.zeros(shape, np.uint8))
    result = cli("run", "--data", tmp_path / "x.npy", "--out", tmp_path / "out", "--quiet")
    line = one_line_error(result)
    problem = (f"x.npy holds a 4-D array of shape {shape}, and pcagmm reads a 4-D array as "
               "colour pictures, (n, height, width, 3)")  # fmt: skip
    assert line.endswith(f"{problem}; {fix}"), line
    assert not (tmp_path / "out").exists()


def test_a_4d_npy_is_streamed_and_its_means_drawn_in_colour(tmp_path, monkeypatch):
    """The run on the file reads it as a memory map (the streaming driver), a chunk of rows
    at a time, and draws its cluster means in colour as a folder's are; its numbers are
    those of the same rows in memory, and its model file records 3 channels."""
    pictures, labels = tinted_digits()
    np.save(tmp_path / "pictures.npy", pictures)
    np.save(tmp_path / "pictures.labels.npy", labels)
    read, real = [], chunks.read_chunk

    def reading(X, start, stop, *args, **kwargs):
        read.append((start, stop, chunks.memory_mapping(X) is not None))
        return real(X, start, stop, *args, **kwargs)

    monkeypatch.setattr(chunks, "read_chunk", reading)
    settings = {"components": 6, "clusters": 10, "seed": 0}
    result = run(tmp_path / "pictures.npy", out=tmp_path / "run", plots=True, **settings)
    assert local_rows(result.dataset.X) is MEMORY_MAP
    mapped = sorted((start, stop) for start, stop, from_map in read if from_map)
    assert len(mapped) >= 2 and mapped[0][0] == 0 and mapped[-1][1] == 1797  # in chunks
    assert result.dataset.rgb_shape == (8, 8, 3)
    assert "cluster_means.png" in result.files
    figure = result.plot_means()
    drawn = [ax.images[0].get_array() for ax in figure.axes if ax.images]
    assert len(drawn) == 10
    for k, image in enumerate(drawn):
        expected = np.clip(result.cluster_images[k], 0, 255).reshape(8, 8, 3)
        np.testing.assert_allclose(np.asarray(image), expected / 255)
    with np.load(tmp_path / "run" / "model.npz") as saved:
        assert saved["image_shape"].tolist() == [8, 8]
        assert int(saved["image_channels"]) == 3

    in_memory = run(np.array(pictures.reshape(1797, -1)), out=tmp_path / "memory",
                    plots=False, report=False, **settings)  # fmt: skip
    assert local_rows(in_memory.dataset.X) is not MEMORY_MAP
    np.testing.assert_allclose(result.means, in_memory.means, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(result.clusters, in_memory.clusters)


# ----------------------------------------------------------------------------- make-big


def test_make_big_from_a_colour_folder_then_a_run_on_it(colour_folder, tmp_path, capsys):
    """`data make-big --source FOLDER --colour rgb` writes (rows, 8, 8, 3) uint8 pictures
    whose every pixel keeps its class's colour (one deformation for the three channels)
    and whose labels are their pictures' classes; `data info` and `run` read the file as
    colour pictures."""
    folder, _, _ = colour_folder
    big = tmp_path / "big.npy"
    code = main(["data", "make-big", "--rows", "3000", "--source", str(folder), "--colour",
                 "rgb", "--seed", "5", "--out", str(big), "--json", "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["rows"] == 3000
    pictures, labels = np.load(big), np.load(labels_path(big))
    assert pictures.shape == (3000, 8, 8, 3) and pictures.dtype == np.uint8
    assert labels.dtype == np.uint8 and set(labels.tolist()) == set(range(10))
    assert_tinted_by_label(pictures, labels)
    sources = {row.tobytes() for row in datasets.load(folder, colour="rgb").X}
    copies = sum(row.tobytes() in sources for row in pictures.reshape(3000, -1))
    assert copies <= 30  # deformed: hardly any picture left as it was

    assert main(["data", "info", str(big), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rgb_shape"] == [8, 8, 3] and info["image_shape"] is None
    assert info["shape"] == [3000, 192]
    out = tmp_path / "run"
    code = main(["run", "--data", str(big), "--clusters", "10", "--components", "6",
                 "--out", str(out), "--no-report", "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert (out / "cluster_means.png").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data"]["shape"] == [3000, 192]
    with np.load(out / "model.npz") as saved:
        assert int(saved["image_channels"]) == 3


def test_make_big_takes_the_options_of_a_folder_from_python(colour_folder, tmp_path):
    from pcagmm.datasets.generate import make_big

    folder, _, _ = colour_folder
    out = make_big(300, tmp_path / "small.npy", source=folder, colour="rgb",
                   image_size="6x4", seed=1)  # fmt: skip
    assert np.load(out).shape == (300, 4, 6, 3)
    grey = make_big(300, tmp_path / "grey.npy", source=folder, seed=1)
    assert np.load(grey).shape == (300, 8, 8)


def test_make_big_refusals(colour_folder, tmp_path):
    _, pictures, _ = colour_folder
    flat = tmp_path / "flat"
    flat.mkdir()
    for number, picture in enumerate(pictures[:5]):
        Image.fromarray(picture, "RGB").save(flat / f"{number}.png")
    np.save(tmp_path / "unlabelled.npy", pictures[:5])
    np.save(tmp_path / "plain.npy", np.ones((4, 9)))
    fix = ("use mnist, fashion-mnist or digits, a folder of pictures with one subfolder "
           "per class, or a .npy of pictures with its .labels.npy")  # fmt: skip
    cases = [
        ([flat, "--colour", "rgb"], f"{flat} is not a labelled image data set (it has no "
                                    f"labels); {fix}"),
        ([tmp_path / "unlabelled.npy"], "unlabelled.npy is not a labelled image data set "
                                        f"(it has no labels); {fix}"),
        ([tmp_path / "plain.npy"], "plain.npy is not a labelled image data set (its rows "
                                   f"are not pictures); {fix}"),
        (["digits", "--colour", "rgb"], "the options of pictures (image size, resizing, "
                                        "colour, bad images) apply to a folder of pictures, "
                                        "and digits is not one"),
    ]  # fmt: skip
    for source, message in cases:
        result = cli("data", "make-big", "--rows", "10", "--out", tmp_path / "b.npy",
                     "--source", *source)  # fmt: skip
        one_line_error(result, message)
    assert not (tmp_path / "b.npy").exists()


# ----------------------------------------------------------------------------- data info


def test_data_info_shows_the_size_of_colour_pictures(colour_folder, capsys):
    folder, _, _ = colour_folder
    assert main(["data", "info", str(folder), "--colour", "rgb"]) == 0
    assert "1,797 x 192 uint8 (8x8 rgb images)" in capsys.readouterr().out
    assert main(["data", "info", str(folder), "--colour", "rgb", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rgb_shape"] == [8, 8, 3] and info["image_shape"] is None
    assert main(["data", "info", str(folder), "--json"]) == 0  # grey, the default
    info = json.loads(capsys.readouterr().out)
    assert info["rgb_shape"] is None and info["image_shape"] == [8, 8]
    assert main(["data", "info", str(folder)]) == 0
    assert "1,797 x 64 uint8 (8x8 images)" in capsys.readouterr().out
