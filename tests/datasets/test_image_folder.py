"""A folder of pictures as a data set (issue 30): the order, the labels, the pixels against
Pillow's own decoding, the cache, the options, and every bad input's message."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pcagmm import datasets
from pcagmm.cli import main
from pcagmm.datasets import images as image_folder
from pcagmm.datasets.images import ImageOptions, read_folder
from pcagmm.datasets.pixels import COLOURS
from pcagmm.errors import DataFormatError, ParameterError, PcagmmError

SIZE = (24, 20)  # width, height of most pictures


def draw(shape: str, number: int, size=SIZE, mode="L", background=0, ink=255) -> Image.Image:
    """A picture of one class: a filled circle, square or triangle, moved by ``number``."""
    image = Image.new(mode, size, background)
    pen = ImageDraw.Draw(image)
    w, h = size
    dx, dy = number % 4, number % 3
    box = (2 + dx, 2 + dy, w - 6 + dx, h - 5 + dy)
    if shape == "circle":
        pen.ellipse(box, fill=ink)
    elif shape == "square":
        pen.rectangle(box, fill=ink)
    else:
        pen.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], ink)
    return image


def make_shapes(folder: Path) -> Path:
    """Three classes of drawn shapes: grey PNGs, JPEGs, PNGs with alpha, one CMYK JPEG,
    one picture of another size, BMP, TIFF and WebP; and files that are not pictures."""
    for shape in ("circle", "square", "triangle"):
        (folder / shape).mkdir(parents=True)
        for number in range(6):
            draw(shape, number).save(folder / shape / f"{number}.png")
    draw("circle", 6).convert("RGB").save(folder / "circle" / "6.jpg", quality=90)
    draw("square", 6, mode="RGB", background=(255, 255, 255), ink=(20, 40, 200)).save(
        folder / "square" / "6.jpeg", quality=95
    )
    rgba = draw("triangle", 6, mode="RGBA", background=(0, 0, 0, 0), ink=(250, 30, 30, 255))
    rgba.save(folder / "triangle" / "6.png")  # alpha: transparent background, red ink
    draw("circle", 7, mode="CMYK", background=(0, 0, 0, 0), ink=(0, 0, 0, 255)).save(
        folder / "circle" / "7.jpg"
    )  # CMYK: black ink on white paper
    draw("square", 7, size=(36, 30)).save(folder / "square" / "7-odd.png")  # another size
    draw("triangle", 7).save(folder / "triangle" / "7.bmp")
    draw("triangle", 8).save(folder / "triangle" / "8.tif")
    draw("circle", 8).save(folder / "circle" / "8.webp", lossless=True)
    (folder / "circle" / "notes.txt").write_text("not a picture")
    (folder / ".hidden").mkdir()
    draw("circle", 9).save(folder / ".hidden" / "9.png")
    return folder


def expected_row(path: Path, size=SIZE, colour="grey") -> np.ndarray:
    """An independent reading: Pillow's decoding, converted, composited, resized with
    Lanczos, and (grey only) inverted when its background is light, as the user guide
    says."""
    with Image.open(path) as image:
        image.load()
        if "A" in image.getbands() or "transparency" in image.info:
            rgba = np.asarray(image.convert("RGBA")).astype(np.int64)
            luma = np.asarray(image.convert("RGBA").convert("LA"))[..., 0].astype(np.int64)
            alpha = rgba[..., 3]
            background = (
                0 if alpha.sum() == 0 or (luma * alpha).sum() / alpha.sum() >= 127.5 else 255
            )
            values = luma[..., None] if colour == "grey" else rgba[..., :3]
            values = (
                values * alpha[..., None] + background * (255 - alpha[..., None]) + 127
            ) // 255
            mode = "L" if colour == "grey" else "RGB"
            converted = Image.fromarray(values.astype(np.uint8).squeeze(), mode)
        else:
            converted = image.convert("L" if colour == "grey" else "RGB")
    if converted.size != size:
        converted = converted.resize(size, Image.Resampling.LANCZOS)
    values = np.asarray(converted).astype(np.int64)
    if colour == "grey" and values.mean() > 127.5:
        values = 255 - values
    return values.astype(np.uint8).reshape(-1)


@pytest.fixture
def shapes(tmp_path) -> Path:
    return make_shapes(tmp_path / "shapes")


def pictures(folder: Path) -> list[str]:
    found = [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.suffix.lower() in image_folder.SUFFIXES and ".hidden" not in p.parts
    ]
    return sorted(found, key=lambda r: r.encode())


def test_the_rows_are_pillows_decoding_in_the_documented_order(shapes):
    dataset = datasets.load(shapes)
    order = pictures(shapes)
    assert len(order) == 26
    assert dataset.shape == (26, SIZE[0] * SIZE[1])
    assert dataset.X.dtype == np.uint8 and isinstance(dataset.X, np.memmap)
    assert dataset.image_shape == (SIZE[1], SIZE[0])
    assert dataset.target_names == ("circle", "square", "triangle")
    names = [dataset.target_names[label] for label in dataset.y]
    assert names == [relative.split("/")[0] for relative in order]
    for row, relative in zip(dataset.X, order, strict=True):
        np.testing.assert_array_equal(row, expected_row(shapes / relative), err_msg=relative)
    assert dataset.source == f"image folder {shapes}"
    assert dataset.location == shapes


def test_rgb_keeps_three_channels_per_pixel(shapes):
    dataset = datasets.load(shapes, colour="rgb")
    assert dataset.shape == (26, SIZE[0] * SIZE[1] * 3)
    for row, relative in zip(dataset.X, pictures(shapes), strict=True):
        np.testing.assert_array_equal(row, expected_row(shapes / relative, colour="rgb"))
    # red ink on transparency: composited onto white (the ink is dark), and kept so (a
    # colour picture is not inverted, however light): red ink on white
    red = pictures(shapes).index("triangle/6.png")
    pixels = dataset.X[red].reshape(SIZE[1], SIZE[0], 3)
    assert pixels[..., 0].min() > 200 and pixels[..., 1].min() < 60
    assert pixels[0, 0].tolist() == [255, 255, 255]
    assert pixels.mean() > 127.5  # a grey reading of it is inverted
    assert dataset.image_shape is None  # names grey pictures; colour ones have rgb_shape


def test_the_background_rule_is_predicts(shapes):
    """A picture read from the folder and the same file given to predict are one row."""
    from pcagmm.predict import png_row

    dataset = datasets.load(shapes)
    for relative in ("triangle/6.png", "square/7-odd.png", "circle/0.png"):
        row = dataset.X[pictures(shapes).index(relative)]
        np.testing.assert_array_equal(row, png_row(shapes / relative, (SIZE[1], SIZE[0])))
    cmyk = dataset.X[pictures(shapes).index("circle/7.jpg")]  # black on white: inverted
    assert cmyk.mean() < 127.5 and cmyk.max() > 200


def test_a_given_size_and_a_flat_folder(tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    for number in range(3):
        draw("circle", number).save(folder / f"b{number}.png")
    draw("square", 0, size=(10, 10)).save(folder / "a.png")
    dataset = datasets.load(folder, image_size="12x10")
    assert dataset.y is None and dataset.target_names is None
    assert dataset.shape == (4, 120) and dataset.image_shape == (10, 12)
    for row, name in zip(dataset.X, ["a.png", "b0.png", "b1.png", "b2.png"], strict=True):
        np.testing.assert_array_equal(row, expected_row(folder / name, size=(12, 10)))


def test_the_most_common_size_wins_and_a_tie_goes_to_the_first(tmp_path):
    folder = tmp_path / "tie"
    folder.mkdir()
    draw("circle", 0, size=(16, 12)).save(folder / "a.png")
    draw("circle", 1, size=(20, 10)).save(folder / "b.png")
    assert datasets.load(folder).image_shape == (12, 16)
    draw("circle", 2, size=(20, 10)).save(folder / "c.png")
    assert datasets.load(folder).image_shape == (10, 20)


def test_read_twice_is_the_same_array_and_hash_from_the_cache(shapes, monkeypatch):
    first = datasets.load(shapes)
    index = Path(os.environ["PCAGMM_CACHE"]) / "images" / "index"
    assert entries() == [json.loads(p.read_text())["key"] for p in index.glob("*.json")]
    decoded = []
    monkeypatch.setattr(image_folder, "_decode", lambda *a: decoded.append(a))
    second = datasets.load(shapes)
    assert decoded == []  # nothing decoded: memory-mapped from the cache
    assert isinstance(second.X, np.memmap)
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.y, second.y)
    assert first.sha256 == second.sha256 == datasets.formats.content_sha256(first.X, first.y)


def entries() -> list[str]:
    root = Path(os.environ["PCAGMM_CACHE"]) / "images"
    return sorted(p.name for p in root.iterdir() if p.name != "index")


def test_a_changed_file_changes_the_hash(shapes):
    first = datasets.load(shapes)
    (key,) = entries()
    target = shapes / "circle" / "0.png"
    was = expected_row(target)
    draw("square", 0).save(target)  # another picture
    second = datasets.load(shapes)
    assert second.sha256 != first.sha256
    assert len(entries()) == 1 and entries() != [key]  # the new entry replaces the old
    np.testing.assert_array_equal(second.X[0], expected_row(target))
    np.testing.assert_array_equal(first.X[0], was)  # its memory map reads the removed entry
    draw("circle", 0).save(target)  # back as it was: the first key again
    assert datasets.load(shapes).sha256 == first.sha256
    assert entries() == [key]
    target.rename(shapes / "circle" / "00.png")  # a renamed file
    assert datasets.load(shapes).sha256 == first.sha256  # the same rows in the same order
    assert len(entries()) == 1 and entries() != [key]  # but another key: paths are in it


def test_a_change_that_keeps_the_size_and_time_is_noticed(shapes):
    """The files' size and time only tell which entry to check; their content decides."""
    first = datasets.load(shapes)
    bmp = shapes / "triangle" / "7.bmp"  # uncompressed: one byte is one pixel
    before = bmp.stat()
    data = bytearray(bmp.read_bytes())
    data[-1] ^= 0xFF
    bmp.write_bytes(bytes(data))
    os.utime(bmp, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (bmp.stat().st_size, bmp.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second = datasets.load(shapes)
    assert second.sha256 != first.sha256
    row = pictures(shapes).index("triangle/7.bmp")
    np.testing.assert_array_equal(second.X[row], expected_row(bmp))
    assert not np.array_equal(second.X[row], first.X[row])


def test_options_change_the_key_not_the_files(shapes):
    grey = datasets.load(shapes)
    assert datasets.load(shapes, image_size="12x10").shape == (26, 120)
    assert datasets.load(shapes).sha256 == grey.sha256


def test_labels_round_trip_into_clusters_csv_and_summary(shapes, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--data", str(shapes), "--clusters", "3", "--out", str(out),
                 "--no-plots", "--no-report"]) == 0  # fmt: skip
    capsys.readouterr()
    with (out / "clusters.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    names = {row["matched_label_name"] for row in rows}
    assert names <= {"circle", "square", "triangle", ""} and names - {""}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data"]["source"] == f"image folder {shapes}"
    assert set(summary["metrics"]["cluster_to_label_name"].values()) <= {
        "circle",
        "square",
        "triangle",
    }
    assert "matched_label_name" in rows[0]


def test_run_options_are_recorded_and_report_reads_the_folder_as_the_run_did(shapes, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--data", str(shapes), "--clusters", "3", "--out", str(out),
                 "--image-size", "12x10", "--colour", "rgb", "--no-plots",
                 "--no-report"]) == 0  # fmt: skip
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["image_size"] == "12x10" and config["colour"] == "rgb"
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "circle" in page and "triangle" in page  # the classes by name


def test_data_info_on_a_folder(shapes, capsys):
    assert main(["data", "info", str(shapes), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shape"] == [26, SIZE[0] * SIZE[1]]
    assert info["target_names"] == ["circle", "square", "triangle"]
    assert info["class_counts"] == {"0": 9, "1": 8, "2": 9}


# ----------------------------------------------------------------------------- bad input


def error_of(folder, **options) -> str:
    with pytest.raises(PcagmmError) as caught:
        datasets.load(folder, **options)
    return caught.value.render()


def test_an_empty_folder_and_one_without_pictures(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert error_of(empty) == (
        f"{empty} is an empty folder; put pictures in it (PNG, JPEG, BMP, TIFF or WebP), "
        "one subfolder per class"
    )
    (empty / "a.txt").write_text("x")
    (empty / "b.gif").write_bytes(b"GIF89a")
    assert error_of(empty) == (
        f"{empty} holds no pictures: none of its 2 files ends in .png, .jpg, .jpeg, .bmp, "
        ".tif, .tiff, .webp; put pictures in it (PNG, JPEG, BMP, TIFF or WebP), one "
        "subfolder per class"
    )


def test_pictures_at_the_top_and_in_subfolders(shapes):
    draw("circle", 0).save(shapes / "loose.png")
    assert error_of(shapes) == (
        f"{shapes} holds pictures both at its top (loose.png) and in class subfolders; move "
        "each picture into the subfolder of its class (or all to the top, for no labels)"
    )


def bad_files(folder: Path) -> dict[str, str]:
    """Each kind of bad file, made in ``folder/circle``: name -> the message's problem."""
    circle = folder / "circle"
    (circle / "text.png").write_text("this is not a picture")
    good = (circle / "0.png").read_bytes()
    (circle / "truncated.png").write_bytes(good[: len(good) // 2])
    bomb = Image.new("1", (12_000, 12_000))  # 144 million pixels, a few kB
    bomb.save(circle / "bomb.png")
    return {
        "text.png": f"{circle / 'text.png'} is named .png but holds no picture Pillow reads "
        "(PNG, JPEG, BMP, TIFF or WebP); remove it, or give --skip-bad-images to skip it",
        "truncated.png": f"{circle / 'truncated.png'} is a truncated or corrupt picture (",
        # Pillow's own check, its warning made an error (its words, after ours)
        "bomb.png": f"{circle / 'bomb.png'} is a decompression bomb (Image size (144000000 "
        "pixels) exceeds limit of 100000000 pixels",
    }


@pytest.mark.parametrize("name", ["text.png", "truncated.png", "bomb.png"])
def test_each_bad_file_is_a_one_line_error_naming_it(shapes, name):
    messages = bad_files(shapes)
    for other in messages:
        if other != name:
            (shapes / "circle" / other).unlink()
    message = error_of(shapes)
    assert message.startswith(messages[name]), message
    assert "\n" not in message
    if name == "truncated.png":
        assert message.endswith("; replace it, or give --skip-bad-images to skip it")
    if name == "bomb.png":
        assert message.endswith("; scale it down first, or give --skip-bad-images to skip it")
    assert not list((Path(os.environ["PCAGMM_CACHE"]) / "images").glob("*/X.npy"))
    assert not list((Path(os.environ["PCAGMM_CACHE"]) / "images").glob(".tmp-*"))


def test_bad_files_are_skipped_and_counted(shapes):
    bad_files(shapes)
    notes = []

    class Notes(datasets.loading.Progress):
        def note(self, message):
            notes.append(message)

    dataset = datasets.load(shapes, skip_bad_images=True, progress=Notes())
    clean = sorted(set(pictures(shapes)) - {f"circle/{n}" for n in bad_files(shapes)})
    assert dataset.shape[0] == 26 == len(clean)
    assert dataset.skipped == 3
    assert dataset.source == f"image folder {shapes} (3 bad files skipped)"
    assert notes and notes[0].startswith(f"{shapes}: 3 bad files skipped (the first: ")
    again = datasets.load(shapes, skip_bad_images=True)  # from the cache, still counted
    assert again.skipped == 3 and again.sha256 == dataset.sha256


def test_a_truncated_picture_skipped_while_decoding(shapes):
    good = (shapes / "square" / "0.png").read_bytes()
    (shapes / "square" / "00-cut.png").write_bytes(good[: len(good) // 2])
    dataset = datasets.load(shapes, skip_bad_images=True, image_size=SIZE)  # no header pass
    assert dataset.shape[0] == 26 and dataset.skipped == 1
    assert datasets.load(shapes, skip_bad_images=True, image_size=SIZE).skipped == 1


def test_mixed_sizes_with_no_resize(shapes):
    odd = shapes / "square" / "7-odd.png"
    assert error_of(shapes, resize=False) == (
        f"{odd} is 36 x 30 pixels, not 24 x 20 as {shapes / 'circle' / '0.png'} is, and "
        "resizing is off (--no-resize); resize it, or leave out --no-resize to resize it "
        "with Lanczos, or give --skip-bad-images to skip it"
    )
    dataset = datasets.load(shapes, resize=False, skip_bad_images=True)
    assert dataset.shape[0] == 25 and dataset.skipped == 1


def test_a_symlink_loop(shapes):
    (shapes / "circle" / "loop").symlink_to(shapes / "circle")
    assert error_of(shapes) == (
        f"{shapes / 'circle' / 'loop'} links to a folder already read ({shapes / 'circle'}): "
        "a symlink loop or a second path to the same pictures; remove the link, or give "
        "--skip-bad-images to skip it"
    )
    assert datasets.load(shapes, skip_bad_images=True).shape[0] == 26


def growing_when_read(target: Path):
    """A stand-in for the folder reader's ``_read_bytes`` that appends to ``target`` just
    before reading it: a file that changes while it is read."""
    real = image_folder._read_bytes

    def growing(file):
        if file.path == target:
            with target.open("ab") as handle:
                handle.write(b"more")
        return real(file)

    return growing


def test_a_file_that_changes_while_it_is_read(shapes, monkeypatch):
    target = shapes / "square" / "3.png"
    monkeypatch.setattr(image_folder, "_read_bytes", growing_when_read(target))
    assert error_of(shapes) == (
        f"{target} changed while the folder was read; read the folder again when nothing is "
        "writing to it, or give --skip-bad-images to skip it"
    )


def test_an_unreadable_file(shapes):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    target = shapes / "square" / "3.png"
    target.chmod(0)
    message = error_of(shapes, image_size=SIZE)
    assert message == (
        f"{target} cannot be read (Permission denied); fix its permissions or remove it, or "
        "give --skip-bad-images to skip it"
    )


def test_a_dangling_link_is_unreadable(shapes):
    target = shapes / "square" / "broken.png"
    target.symlink_to(shapes / "nowhere.png")
    for options in ({}, {"image_size": SIZE}):  # found by the header pass, or the decoding
        assert error_of(shapes, **options) == (
            f"{target} cannot be read (No such file or directory); fix its permissions or "
            "remove it, or give --skip-bad-images to skip it"
        )


def test_bad_options(shapes, tmp_path):
    with pytest.raises(ParameterError, match="must be a width and a height in pixels"):
        datasets.load(shapes, image_size="12")
    with pytest.raises(ParameterError, match="unknown colour 'cmyk'"):
        datasets.load(shapes, colour="cmyk")
    np.save(tmp_path / "x.npy", np.zeros((3, 4), np.uint8))
    assert error_of(tmp_path / "x.npy", colour="rgb").startswith(
        "the options of pictures (image size, resizing, colour, bad images) apply to a "
        "folder of pictures"
    )
    assert ImageOptions.make("28x28").size == (28, 28)


def test_the_command_line_errors_in_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", "--data", str(empty), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"pcagmm: error: {empty} is an empty folder; put pictures in it (PNG, JPEG, BMP, TIFF "
        "or WebP), one subfolder per class"
    )
    assert main(["run", "--data", str(empty), "--image-size", "big"]) == 2
    assert "--image-size" in capsys.readouterr().err


def test_nothing_half_written_when_a_read_fails(shapes, monkeypatch):
    real = image_folder._decode

    def failing(file, *args):
        if file.relative == "triangle/0.png":
            raise KeyboardInterrupt
        return real(file, *args)

    monkeypatch.setattr(image_folder, "_decode", failing)
    with pytest.raises(KeyboardInterrupt):
        read_folder(shapes)
    root = Path(os.environ["PCAGMM_CACHE"]) / "images"
    assert entries() == [] and not list(root.glob(".tmp-*"))
    monkeypatch.setattr(image_folder, "_decode", real)
    assert read_folder(shapes).shape[0] == 26


def test_a_ctrl_c_as_the_entry_folder_is_made_leaves_nothing(shapes, monkeypatch):
    """SIGINT the instant the entry's temporary folder exists (as tests/test_files.py does
    for run folders): held back until its name is known, it lands where the cleanup
    removes the folder."""
    import signal
    import tempfile

    real = tempfile.mkdtemp

    def make_then_interrupt(*args, **kwargs):
        made = real(*args, **kwargs)
        if ".tmp-" in Path(made).name:
            os.kill(os.getpid(), signal.SIGINT)
        return made

    monkeypatch.setattr(tempfile, "mkdtemp", make_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        read_folder(shapes)
    root = Path(os.environ["PCAGMM_CACHE"]) / "images"
    assert entries() == [] and not list(root.glob(".tmp-*"))


def test_a_data_format_error_is_a_pcagmm_error():
    assert issubclass(DataFormatError, PcagmmError)


def test_a_damaged_entry_is_read_again_and_a_killed_readers_leftovers_go(shapes):
    first = datasets.load(shapes)
    rows, digest = np.array(first.X), first.sha256
    del first  # its memory map
    root = Path(os.environ["PCAGMM_CACHE"]) / "images"
    (entry,) = [root / name for name in entries()]
    (entry / "X.npy").write_bytes(b"not an array")
    hint = next((root / "index").glob("*.json"))
    stale = root / f".tmp-{hint.stem[:16]}-killed"
    stale.mkdir()
    (stale / "X.part.npy").write_bytes(b"half")
    again = datasets.load(shapes)
    np.testing.assert_array_equal(again.X, rows)
    assert again.sha256 == digest
    assert not stale.exists()
    assert entries() == [entry.name]


def test_at_most_two_chunks_per_thread_are_in_flight():
    """Rows come back in order, and the reader holds at most 2 x threads chunks: memory
    does not grow with the number of files."""
    pulled = []

    def chunks():
        for number in range(100):
            pulled.append(number)
            yield number

    seen = []
    for result in image_folder._threaded(lambda n: n * 2, chunks(), workers=3):
        assert len(pulled) - len(seen) <= 6
        seen.append(result)
    assert seen == [2 * n for n in range(100)]


def test_braces_in_a_path_are_shown_as_they_are(tmp_path, capsys):
    folder = tmp_path / "my {pictures}"
    folder.mkdir()
    assert main(["data", "info", str(folder)]) == 2
    assert f"pcagmm: error: {folder} is an empty folder;" in capsys.readouterr().err


def test_select_and_stability_read_a_folder_with_its_options(shapes, tmp_path, capsys):
    common = ["--data", str(shapes), "--image-size", "12x10", "--no-plots", "--no-report"]
    assert main(["select", *common, "--clusters", "2-3", "--covariance-types", "full",
                 "--out", str(tmp_path / "select"), "--json"]) == 0  # fmt: skip
    summary = json.loads((tmp_path / "select" / "summary.json").read_text())
    assert summary["data"]["shape"] == [26, 120]
    assert main(["stability", *common, "--seeds", "1,2", "--clusters", "3",
                 "--out", str(tmp_path / "stability"), "--json"]) == 0  # fmt: skip
    summary = json.loads((tmp_path / "stability" / "summary.json").read_text())
    assert summary["data"]["shape"] == [26, 120]
    assert summary["config"]["image_size"] == "12x10"
    capsys.readouterr()


def test_a_folder_named_like_a_data_file_is_refused_as_before(tmp_path):
    folder = tmp_path / "rows.npy"
    folder.mkdir()
    draw("circle", 0).save(folder / "a.png")
    assert error_of(folder) == f"{folder} is a folder, not a data file; give the path of a file"


def test_a_model_of_dim_pictures_predicts_their_files_as_the_run_clustered_them(tmp_path):
    """The rows are 8-bit levels however dark the pictures: the model records 255 as the
    largest level (not the data's largest, 120), so predict reads a file as the run did."""
    from pcagmm import run
    from pcagmm.model_file import load_model
    from pcagmm.predict import predict

    folder = tmp_path / "dim"
    for shape in ("circle", "square", "triangle"):
        (folder / shape).mkdir(parents=True)
        for number in range(6):
            draw(shape, number, ink=120).save(folder / shape / f"{number}.png")
    result = run(folder, clusters=3, out=tmp_path / "run", plots=False, report=False)
    assert int(result.dataset.X.max()) == 120
    model = load_model(tmp_path / "run" / "model.npz")
    assert model.pixel_max == 255.0
    files = pictures(folder)
    predicted = predict(tmp_path / "run" / "model.npz", [folder / f for f in files])
    assert [row["cluster"] for row in predicted] == result.clusters.tolist()


def test_an_rgb_runs_cluster_means_are_drawn_in_colour(shapes, tmp_path):
    from pcagmm import run

    result = run(shapes, colour="rgb", clusters=3, out=tmp_path / "rgb", plots=True)
    assert "cluster_means.png" in result.files
    assert result.dataset.rgb_shape == (SIZE[1], SIZE[0], 3)
    figure = result.plot_means()
    drawn = [ax.images[0].get_array() for ax in figure.axes if ax.images]
    assert len(drawn) == 3
    for k, image in enumerate(drawn):
        expected = np.clip(result.cluster_images[k], 0, 255).reshape(SIZE[1], SIZE[0], 3)
        np.testing.assert_allclose(np.asarray(image), expected / 255)
    grey = run(shapes, clusters=3, out=tmp_path / "grey", plots=True)
    assert grey.dataset.rgb_shape is None and "cluster_means.png" in grey.files


def test_predict_reads_a_picture_in_the_colour_of_a_colour_model(shapes, tmp_path, capsys):
    """A model fitted on rgb pictures records their channels (image_channels, beside the
    two numbers of image_shape, so older files load as before), and predict reads a PNG
    in red, green and blue: the folder's own pictures get the run's clusters."""
    from pcagmm import run
    from pcagmm.model_file import load_model
    from pcagmm.predict import png_row, predict

    result = run(shapes, colour="rgb", clusters=3, out=tmp_path / "rgb", plots=False)
    model_path = tmp_path / "rgb" / "model.npz"
    with np.load(model_path) as saved:
        assert saved["image_shape"].tolist() == [SIZE[1], SIZE[0]]
        assert int(saved["image_channels"]) == 3
    model = load_model(model_path)
    assert model.image_shape == (SIZE[1], SIZE[0], 3) and model.pixel_max == 255
    names = ("triangle/6.png", "square/7-odd.png", "circle/0.png")  # alpha, odd size
    rows = [pictures(shapes).index(name) for name in names]
    for name, row in zip(names, rows, strict=True):
        np.testing.assert_array_equal(
            png_row(shapes / name, model.image_shape), result.dataset.X[row]
        )
    found = predict(model_path, [shapes / name for name in names])
    assert [f["cluster"] for f in found] == result.clusters[rows].tolist()
    proba = result.gmm.predict_proba(result.Z[rows])
    np.testing.assert_allclose([f["probabilities"] for f in found], proba, atol=1e-6)
    assert main(["predict", "--model", str(model_path), str(shapes / names[0]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["cluster"] == result.clusters[rows[0]]

    # a grey model is written as before (no image_channels) and reads grey pictures
    run(shapes, clusters=3, out=tmp_path / "grey", plots=False, report=False)
    with np.load(tmp_path / "grey" / "model.npz") as saved:
        assert "image_channels" not in saved.files
    assert load_model(tmp_path / "grey" / "model.npz").image_shape == (SIZE[1], SIZE[0])


def test_a_colour_models_channels_must_make_its_features(shapes, tmp_path):
    from pcagmm import run
    from pcagmm.model_file import ModelFileError, content_digest, load_model

    run(shapes, colour="rgb", clusters=3, out=tmp_path / "rgb", plots=False, report=False)
    with np.load(tmp_path / "rgb" / "model.npz") as saved:
        arrays = dict(saved)
    cases = (
        (2, "image_channels is 2, expected 3"),
        (None, "image_shape 20 x 24 does not make the 1440 features"),  # read as grey
    )
    for channels, message in cases:
        changed = {k: v for k, v in arrays.items() if k != "content_sha256"}
        if channels is None:
            del changed["image_channels"]
        else:
            changed["image_channels"] = np.array(channels)
        changed["content_sha256"] = np.array(content_digest(changed))
        path = tmp_path / f"changed-{channels}.npz"
        np.savez(path, **changed)
        with pytest.raises(ModelFileError, match=message):
            load_model(path)


def test_the_rows_of_files_skipped_while_decoding_are_left_out_whole(shapes):
    """The rows are written as they are decoded and only the kept ones (the header's row
    count rewritten at the end): the cached rows are the kept files' decodings in order,
    the labels theirs, and the recorded hash that of the cached arrays."""
    good = (shapes / "square" / "0.png").read_bytes()
    for name in ("circle/00-cut.png", "square/00-cut.png", "triangle/9-cut.png"):
        (shapes / name).write_bytes(good[: len(good) // 2])
    dataset = datasets.load(shapes, skip_bad_images=True, image_size=SIZE)  # no header pass
    kept = [r for r in pictures(shapes) if not r.endswith("-cut.png")]
    assert dataset.skipped == 3 and dataset.shape == (len(kept), SIZE[0] * SIZE[1])
    for row, relative in zip(dataset.X, kept, strict=True):
        np.testing.assert_array_equal(row, expected_row(shapes / relative), err_msg=relative)
    names = [dataset.target_names[label] for label in dataset.y]
    assert names == [relative.split("/")[0] for relative in kept]
    cached = np.load(Path(dataset.X.filename), allow_pickle=False)
    np.testing.assert_array_equal(cached, dataset.X)
    assert dataset.sha256 == datasets.formats.content_sha256(cached, dataset.y)


def test_the_cache_key_is_the_hash_of_the_options_and_every_files_path_class_and_bytes(shapes):
    """The key, computed here from its rule: a listing held in arrays must give the key
    that a list of objects gave, or every folder read before would be read again."""
    import hashlib

    datasets.load(shapes)
    options = ImageOptions()
    expected = hashlib.sha256(f"pcagmm image folder {image_folder.IMAGE_FORMAT}\n".encode())
    expected.update(json.dumps(options.record(), sort_keys=True).encode() + b"\n")
    expected.update(b'["circle", "square", "triangle"]\n[]\n')
    for relative in pictures(shapes):
        label = ["circle", "square", "triangle"].index(relative.split("/")[0])
        digest = hashlib.sha256((shapes / relative).read_bytes()).digest()
        expected.update(relative.encode() + b"\0" + str(label).encode() + b"\0" + digest)
    assert entries() == [expected.hexdigest()]


def hint_keys() -> list[str]:
    index = Path(os.environ["PCAGMM_CACHE"]) / "images" / "index"
    return sorted(json.loads(p.read_text())["key"] for p in index.glob("*.json"))


def test_grey_and_rgb_of_one_folder_keep_an_entry_each(shapes):
    """Each options set's new entry replaces its own previous one, not the other's."""
    before = {colour: datasets.load(shapes, colour=colour).sha256 for colour in COLOURS}
    old = entries()
    assert len(old) == 2 and hint_keys() == old
    draw("square", 0).save(shapes / "circle" / "0.png")
    after = {colour: datasets.load(shapes, colour=colour) for colour in COLOURS}
    assert len(entries()) == 2 and not set(entries()) & set(old)
    assert hint_keys() == entries()
    for colour, dataset in after.items():
        assert dataset.sha256 != before[colour]
        assert dataset.sha256 == datasets.formats.content_sha256(dataset.X, dataset.y)


def test_the_same_pictures_under_another_path_keep_the_entry_they_share(shapes, monkeypatch):
    """Two folders of the same files share an entry: a new version of one keeps it."""
    import shutil

    copy = shapes.parent / "copy"
    shutil.copytree(shapes, copy)
    assert datasets.load(shapes).sha256 == datasets.load(copy).sha256
    (shared,) = entries()  # one key: it hashes the relative paths, not the folder's
    draw("square", 0).save(shapes / "circle" / "0.png")
    datasets.load(shapes)
    assert len(entries()) == 2 and shared in entries()  # the copy's hint still names it
    decoded = []
    monkeypatch.setattr(image_folder, "_decode", lambda *a: decoded.append(a))
    cached = Path(os.environ["PCAGMM_CACHE"]) / "images" / shared / "X.npy"
    assert datasets.load(copy).X.filename == str(cached) and decoded == []


@pytest.mark.parametrize("failing", ["rename", "delete"])
def test_a_removal_that_fails_does_not_fail_the_read(shapes, monkeypatch, failing):
    """Tests run as root, who may delete a read-only folder: the failures are made by
    replacing the calls that would fail."""
    datasets.load(shapes)
    (old,) = entries()
    target = shapes / "circle" / "0.png"
    draw("square", 0).save(target)
    with monkeypatch.context() as patch:
        if failing == "rename":
            real = os.rename

            def rename(source, target):
                if Path(source).name == old:
                    raise PermissionError(13, "Permission denied", str(source))
                return real(source, target)

            patch.setattr(image_folder.os, "rename", rename)
        else:  # what shutil.rmtree(..., ignore_errors=True) does when it can delete nothing
            patch.setattr(image_folder.shutil, "rmtree", lambda path, ignore_errors=False: None)
        dataset = datasets.load(shapes)
    np.testing.assert_array_equal(dataset.X[0], expected_row(target))
    (new,) = hint_keys()
    if failing == "rename":
        assert entries() == sorted([old, new])  # the old one stays
        return
    left = [name for name in entries() if name.startswith(".tmp-")]
    assert [name for name in entries() if not name.startswith(".")] == [new]
    assert len(left) == 1 and left[0].endswith(f"-replaced-{old[:16]}")
    draw("triangle", 0).save(target)  # the next version's read deletes what was left
    datasets.load(shapes)
    assert entries() == hint_keys() and len(entries()) == 1


def test_a_reader_that_finds_its_entry_replaced_reads_the_folder_again(shapes, monkeypatch):
    """Another process reads a newer version of the folder while this one hashes the
    files it listed: the entry this one was about to open is removed, so it lists the
    files again and opens the new entry."""
    datasets.load(shapes)
    target = shapes / "circle" / "0.png"
    real_hash, real_list = image_folder._hash_files, image_folder.list_files
    listed = []

    def list_files(*args):
        listed.append(args[0])
        return real_list(*args)

    def hash_then_another_reads(*args):
        out = real_hash(*args)
        if len(listed) == 1:  # the first hashing pass: another process, meanwhile
            draw("square", 0).save(target)
            listed.append("another")
            newer.append(read_folder(shapes))
        return out

    newer = []
    monkeypatch.setattr(image_folder, "list_files", list_files)
    monkeypatch.setattr(image_folder, "_hash_files", hash_then_another_reads)
    dataset = read_folder(shapes)
    assert listed == [shapes, "another", shapes, shapes]  # its own listing, then again
    assert dataset.sha256 == newer[0].sha256
    np.testing.assert_array_equal(dataset.X[0], expected_row(target))
    assert entries() == hint_keys() and len(entries()) == 1


def test_a_reader_whose_entry_goes_as_it_opens_it_reads_the_folder_again(shapes, monkeypatch):
    """The entry is removed between finding it complete and opening it: gone, not damaged
    (nothing else is removed), and the folder is listed and read again."""
    first = datasets.load(shapes)
    (old,) = entries()
    target = shapes / "circle" / "0.png"
    real_open = image_folder._open
    opened = []

    def another_reads_first(entry, *args):
        opened.append(entry.name)
        if len(opened) == 1:  # another process reads a newer version and removes this one
            draw("square", 0).save(target)
            newer.append(read_folder(shapes))
        return real_open(entry, *args)

    newer = []
    monkeypatch.setattr(image_folder, "_open", another_reads_first)
    dataset = read_folder(shapes)
    (new,) = hint_keys()
    assert opened == [old, new, new]  # the old one (gone), the other's, this one's again
    assert dataset.sha256 == newer[0].sha256 != first.sha256
    np.testing.assert_array_equal(dataset.X[0], expected_row(target))
    assert [name for name in entries() if not name.startswith(".")] == [new]


def test_small_files_are_read_on_one_thread(tmp_path):
    """Small pictures (median file under SMALL_FILE_BYTES) are read on one thread, where
    two contend for Python's lock (BENCHMARKS.md, issue 30); larger ones on WORKERS."""
    small = tmp_path / "small"
    small.mkdir()
    for number in range(3):
        draw("circle", number).save(small / f"{number}.png")
    listing = image_folder.list_files(small)
    assert listing.median_bytes() < image_folder.SMALL_FILE_BYTES
    assert image_folder._workers(listing) == 1
    large = tmp_path / "large"
    large.mkdir()
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for number in range(3):
        Image.fromarray(noise).save(large / f"{number}.png")  # noise: about 12 kB each
    listing = image_folder.list_files(large)
    assert listing.median_bytes() > image_folder.SMALL_FILE_BYTES
    assert image_folder._workers(listing) == image_folder.WORKERS
