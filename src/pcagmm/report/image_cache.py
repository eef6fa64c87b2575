"""The images of a page, encoded once per data set and kept in the cache folder.

A page's images (every row shown, at :data:`~pcagmm.report.html.IMAGE_LEVELS` grey
levels, or as many levels of each channel of a colour picture) are most of its bytes
and most of the time it takes to make: on MNIST, 27 MB deflated to 7.5 MB in ~0.5 s of
CPU, against ~0.1 s for all the rest. They depend only on the data, the rows shown and
the page's encoding, not on the run, so the encoded parts are kept under
``<cache>/report-images/`` and every later page of the same rows reads them back (the
same text, so the same page).

An entry's name is the SHA-256 of what the text depends on: the data's content digest
(the data set's SHA-256, which every run records), the rows shown, the largest grey
level, and the page's encoding settings. An entry holds the parts' texts, their sizes
and deflated lengths, and the SHA-256 of all three; one that cannot be read or does not
match its digest is ignored and written again. Writing is whole or not at all (a
temporary file renamed); a cache folder that cannot be written only means the next page
encodes its images again.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

#: the cache subfolder the entries live in
FOLDER = "report-images"
#: version of an entry's layout
LAYOUT = 1

Parts = list[tuple[str, int]]


def entry_path(
    content_id: str, shown: np.ndarray, pixel_max: float, root: Path, encoding: Mapping
) -> Path:
    """Where the encoded images of ``shown`` rows of the data ``content_id`` are kept.

    ``encoding`` holds the page's settings the encoded text depends on (its grey levels,
    deflate level, part size, alphabet and format, :func:`pcagmm.report.html.image_encoding`):
    the page passes them in, so this module needs nothing from it.
    """
    rows = hashlib.sha256(np.asarray(shown, dtype="<u8").tobytes()).hexdigest()
    identity = {
        "layout": LAYOUT,
        "data": content_id,
        "rows": rows,
        "pixel_max": float(pixel_max),
        **encoding,
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return root / FOLDER / f"{key}.npz"


def encoded_images(
    content_id: str | None,
    shown: np.ndarray,
    pixel_max: float,
    encode: Callable[[], Parts],
    encoding: Mapping,
) -> Parts:
    """The parts ``encode()`` makes, read from the cache when an entry is there.

    ``content_id`` None (data without a known digest) leaves the cache out.
    """
    if content_id is None:
        return encode()
    from ..datasets.cache import cache_root

    path = entry_path(content_id, shown, pixel_max, cache_root(), encoding)
    parts = read_entry(path)
    if parts is None:
        parts = encode()
        write_entry(path, parts)
    return parts


def read_entry(path: Path) -> Parts | None:
    """An entry's parts, or None where it is missing, unreadable or damaged."""
    try:
        with np.load(path, allow_pickle=False) as entry:
            text = entry["text"].tobytes()
            sizes, lengths = entry["sizes"].tolist(), entry["lengths"].tolist()
            digest = str(entry["digest"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if (len(sizes) != len(lengths) or sum(sizes) != len(text)
            or digest != _digest(text, sizes, lengths)):  # fmt: skip
        return None
    parts, start = [], 0
    for size, length in zip(sizes, lengths, strict=True):
        parts.append((text[start : start + size].decode("ascii"), length))
        start += size
    return parts


def write_entry(path: Path, parts: Parts) -> None:
    """Keep ``parts`` at ``path`` (whole, or not at all; a failure is not an error)."""
    from .._files import atomic_file

    text = "".join(part for part, _ in parts).encode("ascii")
    sizes = [len(part) for part, _ in parts]
    lengths = [length for _, length in parts]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, "wb", expected_bytes=len(text)) as file:
            np.savez(
                file,
                text=np.frombuffer(text, dtype=np.uint8),
                sizes=np.array(sizes, dtype=np.int64),
                lengths=np.array(lengths, dtype=np.int64),
                digest=np.array(_digest(text, sizes, lengths)),
            )
    except OSError:  # a read-only or full cache: the page is written all the same
        pass


def _digest(text: bytes, sizes: list[int], lengths: list[int]) -> str:
    """SHA-256 of the text and how it splits into parts (their sizes and deflated lengths)."""
    hasher = hashlib.sha256(text)
    hasher.update(json.dumps([sizes, lengths]).encode())
    return hasher.hexdigest()
