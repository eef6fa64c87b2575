"""A data set of pictures written out as a folder of PNG files, one subfolder per class.

The folder is what :func:`pcagmm.datasets.load` reads as a folder of pictures
(torchvision's ``ImageFolder`` layout): ``FOLDER/<class>/<row>.png``, or
``FOLDER/<row>.png`` for data without labels. It is how to try the folder source on
known data (``pcagmm data export digits digit-pictures``), or to look at a data set's
pictures with the tools one looks at pictures with.

- **Levels.** Each row becomes 8-bit levels as the run's figures draw it: scaled so that
  the data's largest level (its ``pixel_max``, else its largest value) is 255, rounded,
  and clipped to 0-255. scikit-learn's digits (levels 0-16) become ``round(v * 255 / 16)``;
  MNIST's uint8 rows are written as they are.
- **Names.** A class's subfolder is its name (``target_names``), else its label; a
  ``/`` or ``\\`` in a name becomes ``-`` and leading dots are dropped (a hidden folder
  would not be read). Files are numbered by row, zero-padded to one width, so the files of
  a class are read back in the data set's order.
- **Reading it back.** The folder reads back as the same pictures, the classes in the
  order of their names (so their labels are renumbered where names do not sort as the
  labels do), and a picture whose mean level is above 127.5 inverted, as every folder's
  light-background picture is.

Nothing half-written is left: the pictures go into a temporary folder beside the
destination, renamed to it when complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._files import atomic_folder
from ..errors import PcagmmError
from ..progress import Progress
from ..rows.chunks import column_max, iter_stored_rows
from .dataset import Dataset, _plain, picture_shape


def write_pictures(
    dataset: Dataset, folder: str | os.PathLike, progress: Progress | None = None
) -> Path:
    """Write every row of ``dataset`` as a PNG file under ``folder``.

    Parameters
    ----------
    dataset : Dataset
        A data set of pictures: one with ``image_shape`` (grey) or ``rgb_shape`` (colour).
    folder : path-like
        The folder to make. It must not exist, or be empty.
    progress : Progress, optional
        Where the count of files written is shown.

    Returns
    -------
    Path
        The folder, holding one subfolder per class (a flat folder without labels).

    Raises
    ------
    PcagmmError
        The data are not pictures, ``folder`` holds files already, or it cannot be written.
    """
    shape = picture_shape(dataset)
    if shape is None:
        raise PcagmmError(
            f"{dataset.name}'s rows are {dataset.shape[1]:,} features, not pictures (it has no "
            "picture shape)",
            "export a data set of pictures: mnist, fashion-mnist, digits, a folder of "
            "pictures or an .npy of n x height x width levels",
        )
    folder = Path(folder).expanduser()
    _check_destination(folder)
    progress = progress or Progress()
    largest = dataset.pixel_max or float(column_max(dataset.X).max(initial=0))
    scale = 255.0 / largest if largest > 0 else 1.0
    mode = "RGB" if len(shape) == 3 else "L"
    labels = None if dataset.y is None else np.asarray(dataset.y)
    subfolders = {} if labels is None else class_folders(labels, dataset.target_names)
    width = len(str(max(dataset.shape[0] - 1, 0)))
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        # built beside it and renamed into place when complete (an empty folder given
        # as the destination is replaced): nothing half-written is left
        with atomic_folder(folder) as building:
            for name in subfolders.values():
                (building / name).mkdir()
            with progress.task(
                f"write {folder.name}", total=dataset.shape[0], unit="files"
            ) as task:
                for start, block in iter_stored_rows(dataset.X):
                    levels = _levels(block, scale)
                    for number, row in enumerate(levels, start=start):
                        place = building
                        if labels is not None:
                            place = building / subfolders[_plain(labels[number])]
                        picture = _image(row.reshape(shape), mode)
                        picture.save(place / f"{number:0{width}d}.png", compress_level=6)
                    task.advance(len(block))
    except OSError as exc:  # a full disk too (DiskFullError is an OSError)
        raise _unwritable(folder, exc) from None
    return folder


def class_folders(labels: np.ndarray, target_names=None) -> dict:
    """Each label's subfolder name: its name where the data set has names, else the label.

    Parameters
    ----------
    labels : ndarray
        The labels of the rows.
    target_names : sequence of str, optional
        The class names, indexed by label.

    Returns
    -------
    dict
        Label -> folder name. ``/`` and ``\\`` become ``-``, leading dots go; where two
        names would then be the same (or one empty), every folder is ``<label>-<name>``.
    """
    found = [_plain(label) for label in np.unique(labels)]

    def named(label) -> str:
        if target_names is not None and isinstance(label, int) and 0 <= label < len(target_names):
            return str(target_names[label])
        return str(label)

    names = {label: _safe(named(label)) for label in found}
    if "" in names.values() or len(set(names.values())) < len(names):
        names = {label: _safe(f"{label}-{named(label)}") for label in found}
    return names


def _check_destination(folder: Path) -> None:
    if folder.is_dir():
        if any(folder.iterdir()):
            raise PcagmmError(
                f"{folder} already holds files",
                "give a new or empty folder: the pictures of a data set go into a folder "
                "of their own",
            )
    elif folder.exists():
        raise PcagmmError(f"{folder} is a file, not a folder", "give the path of a new folder")


def _levels(block: np.ndarray, scale: float) -> np.ndarray:
    if block.dtype == np.uint8 and scale == 1.0:
        return block
    values = np.rint(np.asarray(block, dtype=np.float64) * scale)
    return np.clip(np.nan_to_num(values), 0, 255).astype(np.uint8)


def _image(pixels: np.ndarray, mode: str):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(pixels), mode)


def _safe(name: str) -> str:
    return name.replace("/", "-").replace("\\", "-").replace("\0", "-").lstrip(".")


def _unwritable(folder: Path, exc: OSError) -> PcagmmError:
    # the system's words for the errno (a DiskFullError's strerror holds its estimate)
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return PcagmmError(
        f"cannot write {folder} ({reason})",
        "free some space or choose a writable place",
    )
