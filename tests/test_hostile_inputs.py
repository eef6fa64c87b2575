"""Hostile PNG images for ``pcagmm predict`` (issue 14): each is refused with one line
(a :class:`~pcagmm.predict.PredictError`, or a ResourceError for memory) before
anything large is decoded, or gives the right grey levels, checked against a direct
computation. Every file is a real PNG (or not) written here, by Pillow or by hand.
RELIABILITY.md lists the cases.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from mutation import mutated
from pcagmm.cli import main
from pcagmm.errors import PcagmmError
from pcagmm.predict import MAX_IMAGE_PIXELS, PredictError, decoding_memory, png_row, predict
from pcagmm.resources import ResourceError

SHAPE = (8, 8)

# ----------------------------------------------------------------------------- PNG by hand


def chunk(kind: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    """One PNG chunk: length, type, data, CRC (the right one unless ``crc`` is given)."""
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bytes(width, height, bit_depth, colour_type, rows: bytes | None = None, *, idat=None,
              before_idat=()) -> bytes:  # fmt: skip
    """A PNG: ``rows`` are the raw scanlines without filter bytes (filter 0 is added);
    ``idat`` is a finished zlib stream instead; ``before_idat`` are extra chunks."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    if idat is None:
        stride = len(rows) // height
        raw = b"".join(b"\0" + rows[i * stride : (i + 1) * stride] for i in range(height))
        idat = zlib.compress(raw, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + b"".join(before_idat)
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))  # fmt: skip


def zero_stream(row_bytes: int, height: int, block_rows: int | None = None) -> bytes:
    """A valid zlib stream of ``height`` scanlines of zeros (filter byte included), made
    without compressing them all: one block is compressed, ended with a full flush (so
    it refers to nothing before it), and repeated; the Adler-32 is of the whole."""
    line = row_bytes + 1
    block_rows = block_rows or max(1, min(height, (16 << 20) // line))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(line * block_rows)
    body = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeats, rest = divmod(height, block_rows)
    adler = 1
    for _ in range(repeats):
        adler = zlib.adler32(block, adler)
    tail_data = bytes(line * rest)
    adler = zlib.adler32(tail_data, adler)
    tail = compressor.compress(tail_data) + compressor.flush()
    return b"\x78\xda" + body * repeats + tail + struct.pack(">I", adler)


def zero_png(width, height, bit_depth=8, colour_type=0, block_rows=None) -> bytes:
    bands = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row_bytes = width * bands * bit_depth // 8
    return png_bytes(width, height, bit_depth, colour_type,
                     idat=zero_stream(row_bytes, height, block_rows))  # fmt: skip


# ----------------------------------------------------------------------------- pictures


@pytest.fixture(scope="module")
def ink():
    """A digit as ink levels 0-255 (32 x 32, upscaled from scikit-learn's 8 x 8)."""
    from sklearn.datasets import load_digits

    digit = load_digits().images[3]
    return np.kron(np.round(digit * 255 / 16), np.ones((4, 4))).astype(np.uint8)


@pytest.fixture
def reference(ink, tmp_path):
    """The row of the 8-bit grey picture: dark ink on white paper."""
    path = tmp_path / "grey8.png"
    Image.fromarray(255 - ink).save(path)
    return png_row(path, SHAPE)


def row_of(tmp_path, name, content) -> np.ndarray:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        content.save(path)
    return png_row(path, SHAPE)


# ----------------------------------------------------------------------------- refused


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(zero_png(30_000, 30_000))
    assert path.stat().st_size < 1_200_000  # 900 MB of pixels in about 1 MB
    start = time.monotonic()
    with pytest.raises(PredictError) as info:
        png_row(path, SHAPE)
    assert time.monotonic() - start < 1.0  # nothing was decoded
    message = str(info.value)
    assert "claims 30,000 x 30,000 = 900,000,000 pixels, more than the 100,000,000" in message
    assert "decompression bomb" in message and "the model reads 8 x 8 pixels" in message


def test_the_bomb_construction_makes_real_pngs(tmp_path):
    """The same construction, small and in several blocks, decodes to the zeros it says."""
    for colour_type in (0, 2, 6):
        path = tmp_path / f"zeros{colour_type}.png"
        path.write_bytes(zero_png(300, 200, colour_type=colour_type, block_rows=7))
        with Image.open(path) as image:
            pixels = np.asarray(image)
        assert pixels.shape[:2] == (200, 300) and not pixels.any()


def test_a_bomb_just_over_the_limit_and_pillows_own_settings(tmp_path, monkeypatch):
    """Our limit holds whatever the process set Pillow's to, and Pillow's settings are
    put back after each image."""
    side = int(MAX_IMAGE_PIXELS**0.5) + 1
    path = tmp_path / "over.png"
    path.write_bytes(zero_png(side, side))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # a program that turned it off
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(PredictError, match=f"claims {side:,} x {side:,}"):
        png_row(path, SHAPE)
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(PredictError, match="is not a readable PNG image"):
        png_row(cut, SHAPE)  # truncated images stay refused
    assert png_row(good, SHAPE).shape == (64,)
    assert Image.MAX_IMAGE_PIXELS is None and ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_a_huge_valid_image_is_refused_with_the_memory_estimate(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    path.write_bytes(zero_png(9_000, 9_000, colour_type=2))  # 81 million pixels, RGB
    monkeypatch.setenv("PCAGMM_MEMORY_LIMIT", "100M")
    with pytest.raises(ResourceError) as info:
        png_row(path, SHAPE)
    needed = decoding_memory(9_000, 9_000, "RGB", transparent=False)
    assert needed >= 9_000 * 9_000 * 3  # at least width x height x bands x bytes
    assert str(info.value) == (
        f"decoding {path} (9,000 x 9,000 pixels, RGB) needs about "
        f"{needed / 2**20:.1f} MiB of memory but 100.0 MiB is available; scale it down "
        "first: the model reads 8 x 8 pixels"
    )
    assert isinstance(info.value, PcagmmError)


def test_the_memory_estimate_counts_depth_and_transparency(tmp_path, monkeypatch):
    """A small image under a smaller limit: refused; the estimate grows with the bytes a
    pixel takes and with compositing; with the memory there, it is decoded."""
    sizes = [decoding_memory(300, 200, mode, transparent=False) for mode in ("L", "I;16", "RGB")]
    assert sizes == sorted(sizes) and sizes[0] >= 300 * 200
    assert decoding_memory(300, 200, "RGBA", True) > decoding_memory(300, 200, "RGB", False)
    path = tmp_path / "wide.png"
    Image.fromarray(np.zeros((200, 300, 4), np.uint8)).save(path)
    monkeypatch.setenv("PCAGMM_MEMORY_LIMIT", "100K")
    with pytest.raises(ResourceError, match=r"\(300 x 200 pixels, RGBA\) needs about"):
        png_row(path, SHAPE)
    monkeypatch.setenv("PCAGMM_MEMORY_LIMIT", "100M")
    assert png_row(path, SHAPE).shape == (64,)


def truncations(good: bytes):
    return {
        "signature only": good[:8],
        "inside IHDR": good[:20],
        "after IHDR": good[:33],
        "half the data": good[: len(good) // 2],
        "without IEND": good[:-12],
        "empty file": b"",
    }


@pytest.mark.parametrize("where", list(truncations(b"")))
def test_truncated_png(where, ink, tmp_path):
    Image.fromarray(255 - ink).save(tmp_path / "good.png")
    content = truncations((tmp_path / "good.png").read_bytes())[where]
    with pytest.raises(PredictError, match="is not a readable PNG image") as info:
        row_of(tmp_path, "cut.png", content)
    assert "\n" not in str(info.value) and "; " in str(info.value)


def corruptions(rows: bytes):
    good = png_bytes(32, 32, 8, 0, rows)
    idat = good.index(b"IDAT")
    length = struct.unpack(">I", good[idat - 4 : idat])[0]
    flipped = bytearray(good)
    flipped[idat + 4 + length // 2] ^= 0x55  # a byte of compressed data
    bad_idat_crc = bytearray(good)
    bad_idat_crc[idat + 4 + length] ^= 0xFF
    bad_ihdr_crc = bytearray(good)
    bad_ihdr_crc[29] ^= 0xFF
    half = b"".join(b"\0" + rows[i * 32 : (i + 1) * 32] for i in range(32))  # 32 of 64 lines
    return {
        "a flipped byte in IDAT": bytes(flipped),
        "a bad IDAT CRC": bytes(bad_idat_crc),
        "a bad IHDR CRC": bytes(bad_ihdr_crc),
        "garbage after the signature": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "a zlib stream that is not zlib": png_bytes(32, 32, 8, 0, idat=b"not zlib at all"),
        "too little pixel data": png_bytes(32, 64, 8, 0, idat=zlib.compress(half)),
        "bit depth 3": png_bytes(32, 32, 3, 0, rows),
        "colour type 5": png_bytes(32, 32, 8, 5, rows),
        "width 0": png_bytes(0, 32, 8, 0, idat=zlib.compress(b"\0" * 32)),
        "text, not an image": b"hello, I am not a picture\n" * 10,
    }


def test_a_cut_in_the_iend_crc_loses_no_pixel(ink, reference, tmp_path):
    """The one truncation that keeps every pixel (the last bytes are IEND's CRC, which
    guards no data) gives the intact picture's row."""
    Image.fromarray(255 - ink).save(tmp_path / "good.png")
    content = (tmp_path / "good.png").read_bytes()
    assert content.endswith(chunk(b"IEND", b""))
    assert np.array_equal(row_of(tmp_path, "cut.png", content[:-2]), reference)


@pytest.mark.parametrize("case", list(corruptions(bytes(1024))))
def test_corrupt_png(case, ink, tmp_path):
    content = corruptions((255 - ink).tobytes())[case]
    with pytest.raises(PredictError, match="is not a readable PNG image") as info:
        row_of(tmp_path, "corrupt.png", content)
    assert "\n" not in str(info.value)


def test_pixel_data_shorter_or_longer_than_the_header_says(ink, tmp_path):
    """Pillow would fill missing lines with black without a word: refused instead."""
    lines = [b"\0" + (255 - ink)[i].tobytes() for i in range(32)]
    cases = {
        "fewer": png_bytes(32, 32, 8, 0, idat=zlib.compress(b"".join(lines[:31]))),
        "more": png_bytes(32, 32, 8, 0, idat=zlib.compress(b"".join(lines + lines[:1]))),
    }
    for word, content in cases.items():
        with pytest.raises(PredictError) as info:
            row_of(tmp_path, f"{word}.png", content)
        assert str(info.value).endswith(
            f"is not a readable PNG image: its pixel data holds {word} bytes than the 1,056 "
            "its header (32 x 32, 8-bit, colour type 0) declares; give an intact PNG file"
        )


def adam7(picture: np.ndarray) -> bytes:
    """Grey 8-bit scanlines of the seven Adam7 passes, each line with filter byte 0."""
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
              (1, 0, 2, 2), (0, 1, 1, 2))  # fmt: skip
    out = b""
    for x0, y0, dx, dy in passes:
        part = picture[y0::dy, x0::dx]
        if part.size:
            out += b"".join(b"\0" + line.tobytes() for line in part)
    return out


def test_an_interlaced_png_reads_like_the_plain_one(ink, tmp_path):
    picture = np.ascontiguousarray((255 - ink)[:31, :29])  # odd sizes: partial passes
    header = struct.pack(">IIBBBBB", 29, 31, 8, 0, 0, 0, 1)
    content = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
               + chunk(b"IDAT", zlib.compress(adam7(picture))) + chunk(b"IEND", b""))  # fmt: skip
    plain = row_of(tmp_path, "plain.png", Image.fromarray(picture))
    assert np.array_equal(row_of(tmp_path, "interlaced.png", content), plain)


@pytest.mark.parametrize(
    ("fmt", "mode", "named"),
    [("JPEG", "CMYK", "JPEG"), ("TIFF", "CMYK", "TIFF"), ("JPEG", "RGB", "JPEG"),
     ("GIF", "P", "GIF"), ("BMP", "RGB", "BMP"), ("WEBP", "RGB", "RIFF")],
)  # fmt: skip
def test_other_formats_named_png(fmt, mode, named, ink, tmp_path):
    """CMYK (a CMYK JPEG or TIFF renamed .png) and other formats are refused by name:
    predict reads PNG only (PNG has no CMYK)."""
    picture = Image.fromarray(255 - ink).convert(mode)
    picture.save(tmp_path / "other.png", format=fmt)
    with pytest.raises(PredictError) as info:
        png_row(tmp_path / "other.png", SHAPE)
    assert str(info.value) == (
        f"{tmp_path / 'other.png'} is not a readable PNG image: it holds {named}"
        + (" (e.g. WebP)" if named == "RIFF" else "")
        + " data; convert it to a PNG file"
    )


def test_an_animated_png_is_refused(ink, tmp_path):
    frames = [Image.fromarray(255 - np.roll(ink, shift, axis=1)) for shift in (0, 2, 4)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    with pytest.raises(PredictError) as info:
        png_row(tmp_path / "anim.png", SHAPE)
    assert str(info.value) == (
        f"{tmp_path / 'anim.png'} is an animated PNG (3 frames), and predict reads one still "
        "picture; save the frame to classify as a PNG image of its own"
    )
    frames[0].save(tmp_path / "still.png")  # the first frame on its own is read
    assert png_row(tmp_path / "still.png", SHAPE).shape == (64,)


def test_missing_and_folder(tmp_path):
    with pytest.raises(PredictError, match="absent.png does not exist; check the path"):
        png_row(tmp_path / "absent.png", SHAPE)
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(PredictError, match="dir.png is a folder, not a PNG image"):
        png_row(tmp_path / "dir.png", SHAPE)


# ----------------------------------------------------------------------------- read right


def test_16_bit_grey_gives_the_8_bit_levels(ink, reference, tmp_path):
    levels = (255 - ink).astype(np.uint16)
    assert np.array_equal(row_of(tmp_path, "g16.png", Image.fromarray(levels * 257)), reference)
    # levels between the 8-bit ones round to the nearest: v -> round(v / 257)
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 65536, size=ink.shape).astype(np.uint16)
    eight = np.floor(wide / 257 + 0.5).astype(np.uint8)
    assert np.array_equal(
        row_of(tmp_path, "w16.png", Image.fromarray(wide)),
        row_of(tmp_path, "w8.png", Image.fromarray(eight)),
    )


def test_16_bit_colour_and_big_endian_by_hand(ink, reference, tmp_path):
    levels = (255 - ink).astype(">u2") * 257
    grey16 = png_bytes(32, 32, 16, 0, levels.tobytes())
    assert np.array_equal(row_of(tmp_path, "g16.png", grey16), reference)
    rgb16 = np.repeat(levels[..., None], 3, axis=2)
    rgb16_png = png_bytes(32, 32, 16, 2, rgb16.tobytes())
    assert np.array_equal(row_of(tmp_path, "rgb16.png", rgb16_png), reference)


def test_palette_one_bit_and_grey_rgb(ink, reference, tmp_path):
    grey = 255 - ink
    palette = Image.frombytes("P", (32, 32), grey.tobytes())
    palette.putpalette([v for g in range(256) for v in (g, g, g)])
    assert np.array_equal(row_of(tmp_path, "p.png", palette), reference)
    rgb = Image.fromarray(np.repeat(grey[..., None], 3, axis=2))
    assert np.array_equal(row_of(tmp_path, "rgb.png", rgb), reference)
    black_white = grey >= 128
    bits = Image.fromarray(black_white)
    assert bits.mode == "1"
    expected = row_of(tmp_path, "bw8.png", Image.fromarray(black_white.astype(np.uint8) * 255))
    assert np.array_equal(row_of(tmp_path, "bw1.png", bits), expected)


def test_colour_becomes_luma(ink, tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, size=(*ink.shape, 3)).astype(np.uint8)
    rgb[ink > 0] = (20, 40, 200)  # blue-ish ink on random paper
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    direct = row_of(tmp_path, "luma.png", Image.fromarray(np.round(luma).astype(np.uint8)))
    np.testing.assert_allclose(row_of(tmp_path, "rgb.png", Image.fromarray(rgb)), direct, atol=1)


def random_hidden_colours(shape, seed=2):
    return np.random.default_rng(seed).integers(0, 256, size=shape).astype(np.uint8)


def test_dark_ink_on_transparent_is_ink_on_white(ink, reference, tmp_path):
    """Alpha is composited on white behind dark ink; the colours hidden under fully
    transparent pixels (random here) do not show."""
    grey = 255 - ink
    alpha = np.where(ink > 0, 255, 0).astype(np.uint8)
    rgba = random_hidden_colours((*ink.shape, 4))
    rgba[ink > 0, :3] = grey[ink > 0, None]
    rgba[..., 3] = alpha
    assert np.array_equal(row_of(tmp_path, "rgba.png", Image.fromarray(rgba)), reference)
    la = np.stack([np.where(ink > 0, grey, random_hidden_colours(ink.shape)), alpha], axis=2)
    assert np.array_equal(row_of(tmp_path, "la.png", Image.fromarray(la, "LA")), reference)
    opaque = np.stack([grey, np.full_like(grey, 255)], axis=2)
    assert np.array_equal(row_of(tmp_path, "opaque.png", Image.fromarray(opaque, "LA")),
                          reference)  # fmt: skip


def test_light_ink_on_transparent_is_ink_on_black(ink, reference, tmp_path):
    alpha = np.where(ink > 0, 255, 0).astype(np.uint8)
    la = np.stack([np.where(ink > 0, ink, random_hidden_colours(ink.shape)), alpha], axis=2)
    on_black = row_of(tmp_path, "black.png", Image.fromarray(ink))  # light ink on black
    assert np.array_equal(on_black, reference)  # the reference, inverted, is the same row
    assert np.array_equal(row_of(tmp_path, "light.png", Image.fromarray(la, "LA")), on_black)


def test_partial_alpha_against_the_compositing_formula(ink, tmp_path):
    rng = np.random.default_rng(3)
    grey = (255 - ink).astype(np.float64)
    alpha = np.where(ink > 0, rng.integers(1, 256, size=ink.shape), 0).astype(np.uint8)
    la = np.stack([grey.astype(np.uint8), alpha], axis=2)
    a = alpha / 255.0
    assert (grey * a).sum() / a.sum() < 127.5  # dark ink: white behind it
    composite = np.round(grey * a + 255.0 * (1 - a)).astype(np.uint8)
    direct = row_of(tmp_path, "direct.png", Image.fromarray(composite))
    np.testing.assert_allclose(row_of(tmp_path, "la.png", Image.fromarray(la, "LA")), direct,
                               atol=1)  # fmt: skip


def test_transparency_keys_and_palette_alpha(ink, reference, tmp_path):
    grey = 255 - ink
    hidden = np.where(ink > 0, grey, 0).astype(np.uint8)  # paper drawn black, keyed out
    keyed = tmp_path / "keyed.png"
    Image.fromarray(hidden).save(keyed, transparency=0)
    assert np.array_equal(png_row(keyed, SHAPE), reference)
    rgb = np.repeat(hidden[..., None], 3, axis=2)
    Image.fromarray(rgb).save(tmp_path / "keyed_rgb.png", transparency=(0, 0, 0))
    assert np.array_equal(png_row(tmp_path / "keyed_rgb.png", SHAPE), reference)
    palette = Image.frombytes("P", (32, 32), hidden.tobytes())
    palette.putpalette([v for g in range(256) for v in (g, g, g)])
    palette.save(tmp_path / "keyed_p.png", transparency=0)
    assert np.array_equal(png_row(tmp_path / "keyed_p.png", SHAPE), reference)
    levels16 = hidden.astype(">u2") * 257
    trns = chunk(b"tRNS", struct.pack(">H", 0))
    content = png_bytes(32, 32, 16, 0, levels16.tobytes(), before_idat=[trns])
    assert np.array_equal(row_of(tmp_path, "keyed16.png", content), reference)


def test_a_fully_transparent_image_is_black(tmp_path):
    rgba = random_hidden_colours((16, 16, 4))
    rgba[..., 3] = 0
    assert not row_of(tmp_path, "clear.png", Image.fromarray(rgba)).any()


# ----------------------------------------------------------------------------- any bytes


@pytest.fixture(scope="module")
def small_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("png") / "small.png"
    picture = np.random.default_rng(4).integers(0, 256, size=(12, 12, 4)).astype(np.uint8)
    Image.fromarray(picture).save(path)
    return path.read_bytes()


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_mutated_png_bytes(small_png, tmp_path, data):
    """Any mutation of a real PNG: a PredictError, or a row of grey levels."""
    path = tmp_path / "mutated.png"
    path.write_bytes(mutated(data, small_png, edits=4, chunk=16))
    try:
        row = png_row(path, SHAPE)
    except PredictError as exc:
        assert "\n" not in str(exc)
        return
    assert row.shape == (64,) and np.all(np.isfinite(row))
    assert row.min() >= -1e-9 and row.max() <= 255 + 1e-9


# ----------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    """A model of scikit-learn's 8 x 8 digits (grey levels 0-16), as pcagmm run writes."""
    from sklearn.datasets import load_digits

    from pcagmm import PCA, GaussianMixture
    from pcagmm.model_file import save_model

    X = load_digits().data
    pca = PCA(10).fit(X)
    gmm = GaussianMixture(10, covariance_type="full", random_state=0).fit(pca.transform(X))
    path = tmp_path_factory.mktemp("model") / "model.npz"
    save_model(path, pca, gmm, (8, 8), None, pixel_max=16.0)
    return path


def cli_error(capsys, *args) -> str:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 2, (code, captured.err)
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert lines[-1].startswith("pcagmm: error: ") and "; " in lines[-1], captured.err
    return lines[-1]


def test_command_line_refusals(image_model, ink, tmp_path, capsys, monkeypatch):
    (tmp_path / "bomb.png").write_bytes(zero_png(30_000, 30_000))
    Image.fromarray(255 - ink).save(tmp_path / "good.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "good.png").read_bytes()[:100])
    Image.fromarray(255 - ink).convert("CMYK").save(tmp_path / "cmyk.png", format="JPEG")
    frames = [Image.fromarray(255 - ink), Image.fromarray(ink)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    Image.fromarray(np.zeros((600, 600, 3), np.uint8)).save(tmp_path / "big.png")
    model = ["predict", "--model", image_model]
    assert "claims 30,000 x 30,000" in cli_error(capsys, *model, tmp_path / "bomb.png")
    assert "cut.png is not a readable PNG image" in cli_error(capsys, *model,
                                                              tmp_path / "cut.png")  # fmt: skip
    assert "it holds JPEG data" in cli_error(capsys, *model, tmp_path / "cmyk.png")
    assert "animated PNG (2 frames)" in cli_error(capsys, *model, tmp_path / "good.png",
                                                  tmp_path / "anim.png")  # fmt: skip
    monkeypatch.setenv("PCAGMM_MEMORY_LIMIT", "1M")
    assert "(600 x 600 pixels, RGB) needs about 1.7 MiB of memory but 1.0 MiB" in cli_error(
        capsys, *model, tmp_path / "big.png"
    )


def test_command_line_bomb_in_a_fresh_process(image_model, tmp_path):
    (tmp_path / "bomb.png").write_bytes(zero_png(30_000, 30_000))
    result = subprocess.run(
        [sys.executable, "-m", "pcagmm", "predict", "--model", str(image_model),
         str(tmp_path / "bomb.png")],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("pcagmm: error: " + str(tmp_path / "bomb.png") + " claims 30,000 x 30,000")
    )


def test_command_line_odd_modes_give_the_8_bit_answer(image_model, ink, tmp_path, capsys):
    grey = 255 - ink
    Image.fromarray(grey).save(tmp_path / "grey8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 3] = np.where(ink > 0, 255, 0)
    rgba[ink > 0, :3] = grey[ink > 0, None]
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    answers = []
    for name in ("grey8.png", "grey16.png", "alpha.png"):
        assert main(["predict", "--model", str(image_model), str(tmp_path / name), "--json"]) == 0
        answers.append(json.loads(capsys.readouterr().out)[0])
    assert answers[0]["probabilities"] == answers[1]["probabilities"] == answers[2]["probabilities"]
    rows = predict(image_model, [tmp_path / "grey8.png", tmp_path / "grey16.png"])
    assert rows[0]["cluster"] == rows[1]["cluster"]
