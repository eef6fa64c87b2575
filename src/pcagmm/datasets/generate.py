"""Large image data sets made from a small one by random deformations (infinite-MNIST style).

Each new row is a randomly chosen source image, shifted (up to 2 pixels), rotated (up to
10 degrees), and jittered by a smooth random displacement field (elastic distortion in
the manner of Simard et al.), resampled bilinearly; its label is the source's. Rows are
made and written a chunk at a time, so memory stays at one chunk whatever the size.
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
#: the size of a version 1.0 .npy header, as numpy writes it
NPY_HEADER_BYTES = 128


def labels_path(path: Path) -> Path:
    """Where the labels of a generated ``X.npy`` go: ``X.labels.npy`` beside it."""
    return path.with_name(path.name.removesuffix(".npy") + ".labels.npy")


def deform(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomly shift, rotate and elastically jitter a stack of images (B, H, W) -> uint8."""
    from scipy.ndimage import gaussian_filter, map_coordinates

    count, height, width = images.shape
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
    out = map_coordinates(
        images.astype(np.float32), [layer, source_y, source_x], order=1, mode="constant", cval=0.0
    )
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def make_big(
    rows: int,
    out: str | os.PathLike,
    *,
    source: str = "mnist",
    seed: int = 0,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> Path:
    """Write ``rows`` deformed images of ``source`` to ``out`` (.npy, uint8, rows x height x
    width) and their labels to ``out``'s ``.labels.npy``; both via temporary files renamed
    when complete (:func:`pcagmm._files.atomic_file`). A disk that fills up raises
    :class:`~pcagmm.errors.DiskFullError` naming the folder and the two files' size."""
    from . import load

    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ParameterError(
            f"{{rows}} must be a positive whole number, got {rows!r}", "give e.g. {rows=100000}"
        )
    out = Path(out)
    if out.suffix != ".npy":
        raise PcagmmError(f"{out} does not end in .npy", "name the output file something.npy")
    progress = progress or Progress()
    dataset = load(source, progress=progress)
    if dataset.image_shape is None or dataset.y is None:
        raise PcagmmError(
            f"{source} is not a labelled image data set", "use mnist or fashion-mnist"
        )
    height, width = dataset.image_shape
    from ..resources import require_memory

    require_memory(chunk_rows * height * width * 60, "generating a chunk", "use a smaller chunk")
    # the sizes of the two files (a .npy header is 128 bytes): what a full disk is
    # reported as needing (pcagmm._files.atomic_file); the data file's counts both
    labels_bytes = NPY_HEADER_BYTES + rows
    expected = NPY_HEADER_BYTES + rows * height * width + labels_bytes
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
        y = np.asarray(dataset.y)
        labels = np.empty(rows, dtype=np.uint8)
        # written, not memory-mapped: pages of a written map would count as resident
        # rows x height x width: loading it gives rows of pixels and the image shape
        header = {"descr": "|u1", "fortran_order": False, "shape": (rows, height, width)}
        np.lib.format.write_array_header_1_0(file, header)
        with progress.task(f"make {out.name}", total=rows, unit="rows") as task:
            for start in range(0, rows, chunk_rows):
                count = min(chunk_rows, rows - start)
                picks = np.sort(rng.integers(0, len(X), count))
                check_mapped_file(X)  # the cached source, memory-mapped: still whole?
                sources = np.asarray(X[picks]).reshape(count, height, width)
                file.write(deform(sources, rng).tobytes())
                labels[start : start + count] = y[picks]
                task.advance(count)
        np.save(labels_file, labels)
    return out
