"""The Dataset: rows of features, optional labels, and where they came from."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import PcagmmError
from .formats import content_sha256


def picture_shape(dataset) -> tuple[int, ...] | None:
    """The shape of each row as a picture: ``image_shape`` (grey), ``rgb_shape``
    (colour: height, width, 3), or None for rows that are not pictures."""
    return dataset.image_shape or getattr(dataset, "rgb_shape", None)


class Dataset:
    """A data set as pcagmm works with it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The features, one row per sample; uint8 grey levels for image data,
        memory-mapped when read from the cache or a large .npy file.
    y : ndarray of shape (n_samples,) or None
        The labels, if there are any.
    name : str
        The built-in name, or the file name for data read from a path.
    source : str
        Where the content came from (a folder, a mirror, a package, a file).
    split : mapping of str to (start, stop), optional
        Named row ranges; MNIST has ``train`` (0-60,000) and ``test``
        (60,000-70,000). Defaults to one range ``all``.
    sha256 : str, optional
        SHA-256 of ``X``'s bytes, then ``y``'s; computed on first use when not given.
    verified : bool or None
        Whether ``sha256`` matched the registry's value when the data were
        fetched; None for data without a recorded hash (files given by path).
    image_shape : (int, int), optional
        Height and width when each row is an image.
    target_names : sequence of str, optional
        The class names, indexed by label.
    title : str
        A one-line description.
    location : Path, optional
        The cache folder or file the data were read from.
    rgb_shape : (int, int, 3), optional
        Height, width and 3 when each row is a colour picture (red, green, blue for each
        pixel, row by row); such data have no ``image_shape``, which names grey pictures.
    pixel_max : float, optional
        The largest level a pixel can have, where the source says (255 for a folder of
        pictures, whose rows are 8-bit levels however dark the pictures); None: the
        data's largest value stands for it (what a model file records, see ``predict``).
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None,
        *,
        name: str,
        source: str,
        split: Mapping[str, tuple[int, int]] | None = None,
        sha256: str | None = None,
        verified: bool | None = None,
        image_shape: tuple[int, int] | None = None,
        target_names: tuple[str, ...] | None = None,
        title: str = "",
        location: Path | None = None,
        rgb_shape: tuple[int, int, int] | None = None,
        pixel_max: float | None = None,
    ):
        self.X = X
        self.y = y
        self.name = name
        self.source = source
        self.split = dict(split) if split is not None else {"all": (0, X.shape[0])}
        self._sha256 = sha256
        self.verified = verified
        self.image_shape = image_shape
        self.target_names = target_names
        self.title = title
        self.location = location
        self.pixel_max = pixel_max
        self.rgb_shape = rgb_shape

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_features)``."""
        return self.X.shape

    @property
    def sha256(self) -> str:
        """SHA-256 of the content (``X`` bytes, then ``y`` bytes)."""
        if self._sha256 is None:
            self._sha256 = content_sha256(self.X, self.y)
        return self._sha256

    def rows(self, split: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the rows and labels of one named split, e.g. ``dataset.rows("train")``.

        Parameters
        ----------
        split : str
            The split's name (a key of ``split``).

        Returns
        -------
        X : ndarray of shape (n_split, n_features)
            The split's rows (a view: memory-mapped data stay on disk).
        y : ndarray of shape (n_split,) or None
            Their labels, or None without labels.

        Raises
        ------
        PcagmmError
            For a split the data set does not have.
        """
        if split not in self.split:
            raise PcagmmError(
                f"{self.name} has no split {split!r}",
                f"choose one of {', '.join(self.split)}",
            )
        start, stop = self.split[split]
        return self.X[start:stop], None if self.y is None else self.y[start:stop]

    def class_counts(self) -> dict:
        """Count the rows of each label.

        Returns
        -------
        dict
            Label -> number of rows (empty when there are no labels).
        """
        if self.y is None:
            return {}
        labels, counts = np.unique(np.asarray(self.y), return_counts=True)
        return {_plain(label): int(count) for label, count in zip(labels, counts, strict=True)}

    def describe(self) -> dict:
        """Summarise the data set for JSON (what ``pcagmm data info --json`` prints).

        Returns
        -------
        dict
            The name, title, shape, dtype, image shape (grey pictures: height, width),
            rgb shape (colour pictures: height, width, 3), classes and their counts,
            splits, source, hash and location.
        """
        return {
            "name": self.name,
            "title": self.title,
            "shape": list(self.shape),
            "dtype": str(self.X.dtype),
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "rgb_shape": list(self.rgb_shape) if self.rgb_shape else None,
            "n_classes": len(self.class_counts()) if self.y is not None else None,
            "class_counts": {str(k): v for k, v in self.class_counts().items()},
            "target_names": list(self.target_names) if self.target_names else None,
            "split": {k: list(v) for k, v in self.split.items()},
            "source": self.source,
            "sha256": self.sha256,
            "verified": self.verified,
            "location": str(self.location) if self.location else None,
        }

    def __repr__(self) -> str:
        n, d = self.shape
        labels = "no labels" if self.y is None else f"{len(self.class_counts())} classes"
        return (
            f"<Dataset {self.name!r}: {n:,} x {d:,} {self.X.dtype}, {labels}, from {self.source}>"
        )


def _plain(value):
    return value.item() if hasattr(value, "item") else value
