"""How a decoded picture becomes a row of features: one implementation, used by
``pcagmm predict`` (PNG files) and by the image-folder data source (:mod:`.images`).

The steps, in order:

1. **Levels.** ``grey``: 8-bit grey levels; colour (RGB, a palette, CMYK) becomes luma,
   ITU-R 601-2 (``L = 0.299 R + 0.587 G + 0.114 B``, Pillow's conversion); 16-bit grey
   levels ``v`` become ``round(v / 257)``. ``rgb``: 8-bit red, green and blue (Pillow's
   conversion; grey pictures get three equal channels).
2. **Transparency** (an alpha band, or a tRNS colour key or palette alpha) is composited
   onto a background that contrasts with the drawn pixels: white when their
   alpha-weighted mean grey level is dark (below 127.5, dark ink), black otherwise:
   ``round((v * a + b * (255 - a)) / 255)``. A fully transparent picture is black.
3. **Size.** A picture of another size is resized to the target with Pillow's Lanczos
   filter (:data:`RESIZE_FILTER`), which keeps strokes sharp and averages away aliasing
   when it shrinks.
4. **Background** (grey only). A grey picture whose mean level is above 127.5 (a light
   background: dark ink on paper) is inverted, ``255 - v``, so that every picture is
   light strokes on a dark ground, as MNIST's are. ``rgb`` pictures are kept as they
   are: colour pictures are more often photographs than ink, and inverting the brighter
   ones would turn two alike pictures into opposites.

A grey picture gives ``height * width`` features, row by row; an ``rgb`` one
``height * width * 3``, in the order ``(row, column, channel)`` with the channels red,
green, blue (``numpy.asarray`` of the Pillow image, flattened in C order).
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager

import numpy as np

#: The most pixels a picture may have; larger ones are refused from their header, before
#: anything is decoded (a decompression bomb, or a picture far larger than a model of
#: small images needs). Pillow's own limit is set to the same number while pcagmm
#: decodes (see :func:`pillow_limits`).
MAX_IMAGE_PIXELS = 100_000_000

#: Uncompressed text (tEXt, zTXt, iTXt) Pillow may read from one chunk, and in all.
MAX_TEXT_CHUNK = 1 << 20
MAX_TEXT_MEMORY = 64 << 20

#: the colour modes a picture can be read in
COLOURS = ("grey", "rgb")
#: the name of Pillow's resampling filter used to resize (``Image.Resampling.LANCZOS``)
RESIZE_FILTER = "LANCZOS"

#: Rows of pixels handled at a time in the numpy steps, to bound their temporaries.
_BLOCK_PIXELS = 1 << 20

_PILLOW_LOCK = threading.RLock()


def picture_row(image, size: tuple[int, int], colour: str = "grey") -> np.ndarray:
    """A decoded Pillow image as one row of uint8 features, by the module's steps.

    Parameters
    ----------
    image : PIL.Image.Image
        The decoded picture (any mode Pillow reads).
    size : (int, int)
        ``(width, height)`` of the row's picture; another size is resized to it.
    colour : {"grey", "rgb"}
        One level per pixel, or red, green and blue.

    Returns
    -------
    numpy.ndarray
        ``width * height`` (grey) or ``width * height * 3`` (rgb) uint8 values.
    """
    from PIL import Image

    levels = grey_levels(image) if colour == "grey" else rgb_levels(image)
    if levels.size != tuple(size):
        levels = levels.resize(tuple(size), getattr(Image.Resampling, RESIZE_FILTER))
    values = np.asarray(levels, dtype=np.uint8)
    if colour == "grey" and values.mean() > 127.5:
        values = 255 - values
    return values.reshape(-1)


def transparent(image) -> bool:
    """Whether ``image`` has transparency (an alpha band, a colour key, palette alpha)."""
    return "A" in image.getbands() or "transparency" in image.info


def grey_levels(image):
    """The image as 8-bit grey levels (a Pillow "L" image): steps 1 and 2 above."""
    from PIL import Image

    if image.mode.startswith("I"):
        values = np.asarray(image)
        grey = np.empty(values.shape, dtype=np.uint8)
        alpha = None
        key = image.info.get("transparency")
        if isinstance(key, int):
            alpha = np.empty(values.shape, dtype=np.uint8)
        for rows in _blocks(values.shape):
            block = values[rows].astype(np.int64)
            grey[rows] = np.clip((block * 255 + 32767) // 65535, 0, 255)
            if alpha is not None:
                alpha[rows] = np.where(block == key, 0, 255)
        del values
    elif transparent(image):
        if image.mode in ("LA", "L"):
            pair = np.asarray(image.convert("LA"))
        else:
            pair = np.asarray(image.convert("RGBA").convert("LA"))
        grey, alpha = pair[..., 0], pair[..., 1]
    else:
        return image.convert("L")
    if alpha is not None:
        grey = _composite(grey[..., None], alpha[..., None], _background(grey, alpha))[..., 0]
    return Image.fromarray(np.ascontiguousarray(grey), "L")


def rgb_levels(image):
    """The image as 8-bit red, green and blue (a Pillow "RGB" image): steps 1 and 2."""
    from PIL import Image

    if image.mode.startswith("I"):
        grey = grey_levels(image)  # 16-bit grey: its levels, composited, three times
        return grey.convert("RGB")
    if not transparent(image):
        return image.convert("RGB")
    rgba = np.asarray(image.convert("RGBA"))
    alpha = rgba[..., 3]
    grey = np.asarray(image.convert("RGBA").convert("LA"))[..., 0]
    rgb = _composite(rgba[..., :3], alpha[..., None], _background(grey, alpha))
    return Image.fromarray(np.ascontiguousarray(rgb), "RGB")


def _background(grey: np.ndarray, alpha: np.ndarray) -> int:
    """0 (black) or 255 (white): the one that contrasts with the drawn pixels."""
    drawn = 0
    mass = 0
    for rows in _blocks(grey.shape):
        a = alpha[rows].astype(np.int64)
        drawn += int((grey[rows] * a).sum())
        mass += int(a.sum())
    return 0 if mass == 0 or drawn / mass >= 127.5 else 255


def _composite(values: np.ndarray, alpha: np.ndarray, background: int) -> np.ndarray:
    """``values`` (height x width x channels) with ``alpha`` over ``background``."""
    out = np.empty(values.shape, dtype=np.uint8)
    for rows in _blocks(values.shape):
        a = alpha[rows].astype(np.int64)
        out[rows] = (values[rows] * a + background * (255 - a) + 127) // 255
    return out


def _blocks(shape: tuple[int, ...]):
    step = max(1, _BLOCK_PIXELS // max(1, shape[1]))
    for start in range(0, shape[0], step):
        yield slice(start, start + step)


@contextmanager
def pillow_limits():
    """Pillow's limits, set to pcagmm's for the duration (then restored): the pixel
    count of a decompression bomb (its warning made an error), no truncated images,
    and bounded text chunks.

    Pillow keeps them in module globals, so one block at a time holds them, under a
    lock; threads the block starts see them too (the image-folder reader decodes on
    threads inside one block). Other threads of the process that use Pillow meanwhile
    see these limits.
    """
    from PIL import Image, ImageFile, PngImagePlugin

    settings = (
        (Image, "MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS),
        (ImageFile, "LOAD_TRUNCATED_IMAGES", False),
        (PngImagePlugin, "MAX_TEXT_CHUNK", MAX_TEXT_CHUNK),
        (PngImagePlugin, "MAX_TEXT_MEMORY", MAX_TEXT_MEMORY),
    )
    with _PILLOW_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved = [(module, name, getattr(module, name)) for module, name, _ in settings]
        try:
            for module, name, value in settings:
                setattr(module, name, value)
            yield
        finally:
            for module, name, value in saved:
                setattr(module, name, value)
