"""Assign new rows (a data set, a file, a folder of pictures, or PNG images) to the
clusters of a saved model."""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets.pixels import MAX_IMAGE_PIXELS, picture_row, pillow_limits, transparent
from .errors import PcagmmError
from .model_file import load_model
from .report.labels import name_of_label, named_labels
from .resources import require_memory


class PredictError(PcagmmError, ValueError):
    """Input that a model cannot be applied to."""


def predict(model_path, inputs, *, label_column=None, progress=None) -> list[dict]:
    """One dict per input row: its cluster, that cluster's probability, all probabilities,
    and the label the cluster was matched to when the model was fitted (or None); where
    the model keeps the names of the labels (Fashion-MNIST's), ``matched_label_name``
    too (None for a cluster matched to none)."""
    model = load_model(model_path)
    label_names = named_labels(model.target_names)
    inputs = [str(i) for i in ([inputs] if isinstance(inputs, str | Path) else inputs)]
    X, names = _rows(inputs, model, label_column, progress)
    if X.ndim != 2 or X.shape[1] != model.n_features:
        got = X.shape[1] if X.ndim == 2 else X.shape
        raise PredictError(
            f"the input has {got} features per row but the model was fitted on {model.n_features}",
            "give rows of the same kind of data the model was fitted on",
        )
    with np.errstate(all="ignore"):
        proba = model.gmm.predict_proba(model.reducer.transform(X))
    bad = np.flatnonzero(~np.all(np.isfinite(proba), axis=1))
    if bad.size:
        raise PredictError(
            f"the model gives no finite probabilities for {names[bad[0]]} (the model or "
            "the row holds extreme values)",
            "check the input, or fit the model again with pcagmm run",
        )
    clusters = proba.argmax(axis=1)
    rows = []
    for name, k, p in zip(names, clusters, proba, strict=True):
        label = int(model.cluster_to_label[k])
        row = {
            "row": name,
            "cluster": int(k),
            "probability": float(p[k]),
            "matched_label": None if label < 0 else label,
        }
        if label_names is not None:
            row["matched_label_name"] = name_of_label(label, label_names)
        row["probabilities"] = [round(float(v), 6) for v in p]
        rows.append(row)
    return rows


def _rows(inputs: list[str], model, label_column, progress):
    if all(i.lower().endswith(".png") for i in inputs):
        if model.image_shape is None:
            raise PredictError("the model was not fitted on images", "give rows of data instead")
        rows = np.stack([png_row(i, model.image_shape) for i in inputs])
        return rows * (model.pixel_max / 255.0), [Path(i).name for i in inputs]
    if len(inputs) > 1:
        raise PredictError(
            "more than one input that is not a PNG image",
            "give one data set, file or folder of pictures, or any number of PNG images",
        )
    from . import datasets
    from .datasets.loading import _builtin_or_none, _is_picture_folder

    folder = Path(inputs[0]).expanduser()
    if _builtin_or_none(inputs[0]) is None and _is_picture_folder(folder):
        return _folder_rows(folder, model, label_column, progress)
    dataset = datasets.load(inputs[0], label_column=label_column, progress=progress)
    return dataset.X, [str(i) for i in range(dataset.shape[0])]


def _folder_rows(folder: Path, model, label_column, progress):
    """The pictures of a folder read by the folder's rules at the model's size and in its
    colour (whatever size most of them have), named by their paths in the folder."""
    from . import datasets
    from .datasets.images import list_files

    if model.image_shape is None:
        raise PredictError(
            f"{folder} is a folder of pictures, but the model was not fitted on pictures",
            "give rows of the kind of data the model was fitted on",
        )
    height, width = model.image_shape[:2]
    dataset = datasets.load(
        folder,
        label_column=label_column,
        image_size=(width, height),
        colour=_colour(model.image_shape),
        progress=progress,
    )
    listing = list_files(folder.absolute())
    names = [listing.relative(number) for number in range(len(listing))]
    return dataset.X * (model.pixel_max / 255.0), names


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Leading bytes of other image formats, to name what a misnamed file holds.
_OTHER_FORMATS = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"RIFF", "RIFF (e.g. WebP)"),
    (b"\x00\x00\x01\x00", "ICO"),
)
#: Pixel modes Pillow gives PNG images -> (bytes Pillow stores per pixel, bytes per
#: pixel of the working copies that turning them into grey levels makes).
_MODES = {
    "1": (1, 1),
    "L": (1, 1),
    "P": (1, 1),
    "RGB": (4, 1),
    "I;16": (2, 3),
    "I;16B": (2, 3),
    "I;16L": (2, 3),
    "I": (4, 3),
    "LA": (4, 4),
    "PA": (4, 8),
    "RGBA": (4, 8),
}
#: Extra working bytes per pixel when transparency is composited (see :func:`png_row`).
_COMPOSITING_BYTES = 11
#: Extra working bytes per pixel of reading in colour (opaque, transparent): two more
#: channels, and when transparent the RGBA copy and the composited channels.
_RGB_BYTES = {False: 2, True: 10}
#: Decompressed bytes the pixel-data check takes at a time.
_INFLATE_STEP = 1 << 20


def png_row(path, image_shape) -> np.ndarray:
    """A PNG image as one row of grey levels 0-255, light strokes on dark like MNIST
    (or of red, green and blue levels, for a model of colour pictures).

    Parameters
    ----------
    path : str or os.PathLike
        A PNG file.
    image_shape : tuple of int
        ``(height, width)`` of the model's grey images, or ``(height, width, 3)`` of its
        colour ones (read in ``rgb``: red, green, blue of each pixel, row by row); the
        picture is resized to it.

    Returns
    -------
    numpy.ndarray
        ``height * width`` grey levels, or ``height * width * 3`` colour levels
        (float64, 0-255).

    Raises
    ------
    PredictError
        The file is missing, not a PNG (a JPEG or other format named .png),
        truncated, corrupt (a chunk's CRC, the compressed stream), animated (an
        APNG of more than one frame: predict reads one still picture), of a pixel
        mode PNG does not have, or claims more than :data:`MAX_IMAGE_PIXELS`
        pixels (a decompression bomb).
    pcagmm.resources.ResourceError
        Decoding would need more memory than is available (estimated from the
        header, before decoding).

    Notes
    -----
    How pixels become grey levels:

    - colour (RGB, a palette) becomes luma, ITU-R 601-2 (``L = 0.299 R + 0.587 G +
      0.114 B``, Pillow's conversion);
    - 16-bit grey levels ``v`` become ``round(v / 257)`` (65535 -> 255; a 16-bit
      image made from an 8-bit one gives the 8-bit levels back); 16-bit colour is
      read at 8 bits by Pillow;
    - transparency (an alpha band, or a tRNS colour key or palette alpha) is
      composited onto a background that contrasts with the drawn pixels: white
      when their alpha-weighted mean grey is dark (below 127.5, dark ink), black
      otherwise (light ink): ``round((g * a + b * (255 - a)) / 255)``. A fully
      transparent image is black.

    A model of colour pictures reads red, green and blue instead of luma (grey
    pictures give three equal channels), composited alike.

    The picture is then resized to ``image_shape`` (Lanczos), and a grey picture
    with a light background (mean above 127.5, dark ink on paper) is inverted (a
    colour one is kept as it is). These
    steps are ``pcagmm.datasets.pixels``'s, which a folder of pictures is read by too.
    Nothing is decoded before the header has been checked: the signature, the
    pixel count, the mode, the frame count and the memory decoding needs; then every
    chunk's CRC, and the length of the decompressed pixel data against the header.
    """
    from PIL import Image

    path = Path(path)
    header = _png_header(path)
    width, height = header.width, header.height
    if width * height > MAX_IMAGE_PIXELS:
        raise PredictError(
            f"{path} claims {width:,} x {height:,} = {width * height:,} pixels, more than the "
            f"{MAX_IMAGE_PIXELS:,} predict decodes (a decompression bomb, or a picture far "
            "larger than needed)",
            f"scale it down first: the model reads {_size(image_shape)} pixels",
        )
    with pillow_limits():
        try:
            with Image.open(path, formats=["PNG"]) as image:
                _check_still_image(path, image, image_shape)
                image.verify()  # every chunk and its CRC, through IEND; decodes no pixels
            _check_pixel_data(path, header)
            with Image.open(path, formats=["PNG"]) as image:
                size, colour = (image_shape[1], image_shape[0]), _colour(image_shape)
                values = picture_row(image, size, colour).astype(np.float64)
        except (PcagmmError, MemoryError):
            raise
        except Exception as exc:  # Pillow's decoders raise many kinds; all mean a bad file
            raise PredictError(
                f"{path} is not a readable PNG image ({type(exc).__name__}: {_one_line(exc)})",
                "give an intact PNG file",
            ) from None
    return values


def decoding_memory(
    width: int, height: int, mode: str, transparent: bool, colour: str = "grey"
) -> int:
    """Bytes that decoding a ``width`` x ``height`` PNG of Pillow ``mode`` into grey
    levels needs: the decoded pixels, as Pillow stores them, plus the working copies
    of the conversion (and of compositing, when ``transparent``). ``colour="rgb"``
    (a model of colour pictures) adds :data:`_RGB_BYTES` per pixel: the other two
    channels, and the RGBA copy that compositing makes."""
    stored, working = _MODES[mode]
    if transparent:
        working += _COMPOSITING_BYTES
    if colour == "rgb":
        working += _RGB_BYTES[transparent]
    return width * height * (stored + working)


@dataclass(frozen=True)
class PngHeader:
    """What a PNG's IHDR chunk declares."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlaced: bool

    def pixel_data_bytes(self) -> int:
        """Bytes of decompressed pixel data (scanlines with their filter bytes) the
        header declares; 0 when its bit depth or colour type is not PNG's."""
        channels = _CHANNELS.get(self.colour_type)
        if channels is None or self.bit_depth not in (1, 2, 4, 8, 16):
            return 0
        passes = _ADAM7 if self.interlaced else ((0, 0, 1, 1),)
        total = 0
        for x0, y0, dx, dy in passes:
            columns = -(-(self.width - x0) // dx) if self.width > x0 else 0
            lines = -(-(self.height - y0) // dy) if self.height > y0 else 0
            if columns and lines:
                total += lines * (1 + -(-(columns * channels * self.bit_depth) // 8))
        return total


#: Colour type -> channels (grey, RGB, palette, grey + alpha, RGBA).
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: The seven passes of Adam7 interlacing: first column, first line, steps.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _png_header(path: Path) -> PngHeader:
    """The IHDR chunk, read before Pillow sees the file."""
    try:
        with open(path, "rb") as file:
            head = file.read(29)
    except FileNotFoundError:
        raise PredictError(f"{path} does not exist", "check the path") from None
    except IsADirectoryError:
        raise PredictError(f"{path} is a folder, not a PNG image", "give PNG files") from None
    except PermissionError:
        raise PredictError(
            f"{path} is not readable (permission denied)", "fix its permissions"
        ) from None
    except OSError as exc:
        raise PredictError(f"{path} cannot be read ({exc.strerror})", "give PNG files") from None
    if not head.startswith(_PNG_SIGNATURE):
        found = next((name for magic, name in _OTHER_FORMATS if head.startswith(magic)), None)
        what = f"it holds {found} data" if found else "it does not start with the PNG signature"
        raise PredictError(
            f"{path} is not a readable PNG image: {what}",
            "convert it to a PNG file" if found else "give PNG files",
        )
    if len(head) < 29 or head[12:16] != b"IHDR":
        raise PredictError(
            f"{path} is not a readable PNG image: its header (IHDR) is missing or cut short",
            "give an intact PNG file",
        )
    width, height, bit_depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", head[16:29])
    if width == 0 or height == 0:
        raise PredictError(
            f"{path} is not a readable PNG image: its header says {width} x {height} pixels",
            "give an intact PNG file",
        )
    return PngHeader(width, height, bit_depth, colour_type, interlace == 1)


def _check_pixel_data(path: Path, header: PngHeader) -> None:
    """The compressed pixel data (the IDAT chunks) holds exactly the scanlines the header
    declares: Pillow fills a stream that ends early with black, without a word.

    The stream is decompressed a piece at a time and only counted (no pixels kept).
    """
    expected = header.pixel_data_bytes()
    decompressor = zlib.decompressobj()
    found = 0
    with open(path, "rb") as file:
        file.seek(len(_PNG_SIGNATURE))
        while True:
            start = file.read(8)
            if len(start) < 8:
                break
            length, kind = struct.unpack(">I4s", start)
            if kind == b"IEND":
                break
            if kind != b"IDAT":
                file.seek(length + 4, os.SEEK_CUR)
                continue
            data = file.read(length)
            file.seek(4, os.SEEK_CUR)
            while data and found <= expected and not decompressor.eof:
                found += len(decompressor.decompress(data, _INFLATE_STEP))
                data = decompressor.unconsumed_tail
    if found != expected or not decompressor.eof:
        more = "more" if found > expected else "fewer"
        raise PredictError(
            f"{path} is not a readable PNG image: its pixel data holds {more} bytes than "
            f"the {expected:,} its header ({header.width:,} x {header.height:,}, "
            f"{header.bit_depth}-bit, colour type {header.colour_type}) declares",
            "give an intact PNG file",
        )


def _check_still_image(path: Path, image, image_shape) -> None:
    """Refuse, from the header, animations, unknown modes and what would not fit in memory."""
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise PredictError(
            f"{path} is an animated PNG ({frames} frames), and predict reads one still picture",
            "save the frame to classify as a PNG image of its own",
        )
    if image.mode not in _MODES:
        raise PredictError(
            f"{path} has pixel mode {image.mode}, which predict does not read",
            "save it as an 8-bit greyscale or RGB PNG",
        )
    width, height = image.size
    needed = decoding_memory(width, height, image.mode, transparent(image), _colour(image_shape))
    require_memory(
        needed,
        f"decoding {path} ({width:,} x {height:,} pixels, {image.mode})",
        f"scale it down first: the model reads {_size(image_shape)} pixels",
    )


def _colour(image_shape) -> str:
    """How a model's pictures are read: ``rgb`` for ``(height, width, 3)``, else ``grey``."""
    return "rgb" if len(image_shape) == 3 else "grey"


def _size(image_shape) -> str:
    return f"{image_shape[0]} x {image_shape[1]}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or "no detail"
