"""Large image data sets made from a small one by random deformations (infinite-MNIST style).

Each new row is a randomly chosen source image, shifted (up to 2 pixels), rotated (up to
10 degrees), and jittered by a smooth random displacement field (elastic distortion in
the manner of Simard et al.), resampled bilinearly; its label is the source's. The
deformations are geometric: a colour picture gets one of each, applied alike to its red,
green and blue. Rows are made and written a chunk at a time, so memory stays at one
chunk whatever the size.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from .._files import atomic_file
from ..errors import ParameterError, PcagmmError
from ..progress import Progress
from ..rows.chunks import check_mapped_file

MAX_SHIFT = 2.0
MAX_ROTATION_DEGREES = 10.0
ELASTIC_ALPHA = 2.0  # pixels of displacement
ELASTIC_SIGMA = 4.0  # smoothness of the field, in pixels
CHUNK_ROWS = 1024
#: the working memory of a chunk, at most: fewer rows a chunk for large pictures
CHUNK_BYTES = 256 << 20
#: bytes of working memory per value of a chunk (coordinates, field, copies; measured
#: loosely, an upper bound)
BYTES_PER_VALUE = 60
#: the size of a version 1.0 .npy header, as numpy writes it
NPY_HEADER_BYTES = 128


def labels_path(path: Path) -> Path:
    """Where the labels of a generated ``X.npy`` go: ``X.labels.npy`` beside it."""
    return path.with_name(path.name.removesuffix(".npy") + ".labels.npy")


def deform(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomly shift, rotate and elastically jitter a stack of pictures.

    Parameters
    ----------
    images : ndarray of shape (count, height, width) or (count, height, width, channels)
        Grey pictures, or colour ones with their channels last.
    rng : numpy.random.Generator
        Where the random shifts, rotations and displacement fields come from; a grey
        stack and a colour stack of as many pictures of the same size draw the same
        numbers.

    Returns
    -------
    ndarray of uint8, of the shape of ``images``
        Each picture deformed by its own shift, rotation and field, the same for every
        channel of it (each channel is resampled at the same points).
    """
    from scipy.ndimage import gaussian_filter, map_coordinates

    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (count, height, width[, channels]), got {images.shape}")
    count, height, width = images.shape[:3]
    ys, xs = np.meshgrid(
        np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij"
    )
    cy, cx = (height - 1) / 2, (width - 1) / 2
    angle = np.radians(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES, count))
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, (count, 2))
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    # where each output pixel samples the source: inverse rotation about the centre, shift
    source_y = cos * (ys - cy) - sin * (xs - cx) + cy - shift[:, 0, None, None]
    source_x = sin * (ys - cy) + cos * (xs - cx) + cx - shift[:, 1, None, None]
    field = rng.uniform(-1, 1, (2, count, height, width))
    field = gaussian_filter(field, sigma=(0, 0, ELASTIC_SIGMA, ELASTIC_SIGMA), mode="constant")
    scale = np.abs(field).reshape(2, count, -1).max(axis=2)[:, :, None, None]
    field = ELASTIC_ALPHA * field / np.where(scale > 0, scale, 1.0)
    source_y += field[0]
    source_x += field[1]
    layer = np.broadcast_to(np.arange(count, dtype=np.float64)[:, None, None], source_y.shape)

    def resample(plane: np.ndarray) -> np.ndarray:
        out = map_coordinates(
            plane.astype(np.float32), [layer, source_y, source_x], order=1, mode="constant",
            cval=0.0,
        )  # fmt: skip
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    if images.ndim == 3:
        return resample(images)
    return np.stack([resample(images[..., c]) for c in range(images.shape[3])], axis=-1)


def make_big(
    rows: int,
    out: str | os.PathLike,
    *,
    source: str | os.PathLike = "mnist",
    seed: int = 0,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    image_size=None,
    resize: bool = True,
    colour: str = "grey",
    skip_bad_images: bool = False,
) -> Path:
    """Write ``rows`` randomly deformed pictures of ``source`` and their labels.

    The pictures go to ``out`` (.npy, uint8, ``rows x height x width`` for grey pictures,
    ``rows x height x width x 3`` for colour ones), their labels to ``out``'s
    ``.labels.npy``; both via temporary files renamed when complete
    (:func:`pcagmm._files.atomic_file`). Loading ``out`` gives the rows, the labels and
    the pictures' shape back.

    Parameters
    ----------
    rows : int
        How many rows to write.
    out : path-like
        The .npy file to write.
    source : str or path-like, default="mnist"
        A labelled picture data set, as :func:`pcagmm.datasets.load` reads it: a built-in
        name, a .npy of pictures with its .labels.npy (such as this function writes), or a
        folder of pictures with one subfolder per class.
    seed : int, default=0
        The seed of the choice of pictures and of their deformations.
    chunk_rows : int, default=1024
        Rows made at a time, at most (fewer for large pictures, so that a chunk's working
        memory stays under :data:`CHUNK_BYTES`). The rows depend on it.
    progress : Progress, optional
        Where to report the rows made.
    image_size : str or (int, int), optional
        A folder of pictures: their size, ``"WxH"`` (default: the most common size).
    resize : bool, default=True
        A folder of pictures: resize pictures of another size (Lanczos); False refuses them.
    colour : {"grey", "rgb"}, default="grey"
        A folder of pictures: one grey level per pixel, or red, green and blue (colour
        pictures out).
    skip_bad_images : bool, default=False
        A folder of pictures: skip (and count) bad files instead of stopping at the first.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    PcagmmError
        For a source that is not labelled pictures, an output not named .npy, or one that
        cannot be written; :class:`~pcagmm.errors.DiskFullError`, a full disk, naming the
        folder and the two files' size.
    """
    from . import load
    from .dataset import picture_shape

    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ParameterError(
            f"{{rows}} must be a positive whole number, got {rows!r}", "give e.g. {rows=100000}"
        )
    out = Path(out)
    if out.suffix != ".npy":
        raise PcagmmError(f"{out} does not end in .npy", "name the output file something.npy")
    progress = progress or Progress()
    dataset = load(
        source,
        progress=progress,
        image_size=image_size,
        resize=resize,
        colour=colour,
        skip_bad_images=skip_bad_images,
    )
    shape = picture_shape(dataset)  # (height, width) or (height, width, 3)
    if shape is None or dataset.y is None:
        why = "its rows are not pictures" if shape is None else "it has no labels"
        raise PcagmmError(
            f"{source} is not a labelled image data set ({why})",
            "use mnist, fashion-mnist or digits, a folder of pictures with one subfolder "
            "per class, or a .npy of pictures with its .labels.npy",
        )
    features = int(np.prod(shape))
    chunk_rows = max(1, min(chunk_rows, CHUNK_BYTES // (features * BYTES_PER_VALUE)))
    from ..resources import require_memory

    require_memory(
        chunk_rows * features * BYTES_PER_VALUE, "generating a chunk", "use a smaller chunk"
    )
    y = np.asarray(dataset.y)
    labels_dtype = _labels_dtype(y)
    # the sizes of the two files (a .npy header is 128 bytes): what a full disk is
    # reported as needing (pcagmm._files.atomic_file); the data file's counts both
    labels_bytes = NPY_HEADER_BYTES + rows * labels_dtype.itemsize
    expected = NPY_HEADER_BYTES + rows * features + labels_bytes
    with contextlib.ExitStack() as files:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            # the data file is renamed into place last (its block exits last): it appears
            # only when both are complete
            file = files.enter_context(atomic_file(out, expected_bytes=expected))
            labels_file = files.enter_context(
                atomic_file(labels_path(out), expected_bytes=labels_bytes)
            )
        except OSError as exc:
            raise PcagmmError(
                f"cannot write {out} ({exc.strerror or exc})", "choose a writable place"
            ) from None
        rng = np.random.default_rng(seed)
        X = dataset.X
        labels = np.empty(rows, dtype=labels_dtype)
        # written, not memory-mapped: pages of a written map would count as resident
        # rows x height x width (x 3): loading it gives rows of pixels and their shape
        header = {"descr": "|u1", "fortran_order": False, "shape": (rows, *shape)}
        np.lib.format.write_array_header_1_0(file, header)
        with progress.task(f"make {out.name}", total=rows, unit="rows") as task:
            for start in range(0, rows, chunk_rows):
                count = min(chunk_rows, rows - start)
                picks = np.sort(rng.integers(0, len(X), count))
                check_mapped_file(X)  # the cached source, memory-mapped: still whole?
                # a colour row is (row, column, channel): it reshapes to its picture
                sources = np.asarray(X[picks]).reshape(count, *shape)
                file.write(deform(sources, rng).tobytes())
                labels[start : start + count] = y[picks]
                task.advance(count)
        np.save(labels_file, labels)
    return out


def _labels_dtype(y: np.ndarray) -> np.dtype:
    """uint8 for labels 0-255 (MNIST's, a folder's of up to 256 classes), else their own."""
    if y.dtype.kind in "iub" and (len(y) == 0 or (y.min() >= 0 and y.max() <= 255)):
        return np.dtype(np.uint8)
    return y.dtype
