"""A folder of pictures as a data set: PNG, JPEG, BMP, TIFF and WebP files, read with Pillow.

The rules (the user guide's "Your own pictures" page says the same):

- **Which files.** Every file under the folder, subfolders included (symbolic links
  followed), whose name ends in one of :data:`SUFFIXES` (any case). Other files are
  left alone; hidden files and folders (a name starting with ".") are skipped.
- **Order.** Rows are in the order of the files' paths relative to the folder, written
  with "/" and compared as UTF-8 bytes (``sorted`` of the relative POSIX paths).
- **Labels.** With subfolders, the first folder of a file's relative path is its class:
  the class names, sorted as bytes, are the labels' names (label ``i`` is the ``i``-th
  name). A flat folder has no labels. Pictures both at the top and in subfolders are
  refused (which class the top ones are in is the user's call).
- **Pixels.** Each picture becomes one row as :mod:`pcagmm.datasets.pixels` says (grey
  levels or RGB, transparency composited, resized with Lanczos, a light background
  inverted). The size is ``size`` when given, else the most common size among the
  pictures (a tie goes to the size met first in the order above).
- **The cache.** The rows are written once, as a uint8 ``X.npy`` (and ``y.npy``) in the
  folder ``images/<key>`` of the cache, where ``key`` is the SHA-256 of the reading
  options and of every file's relative path, class and content (its own SHA-256). A
  later read hashes every file again (it reads every byte, but decodes nothing) and
  memory-maps the entry with that key; a changed, added or removed file gives another
  key, so the folder is read again. The first read reads each file once (hashing and
  decoding the same bytes), into a temporary folder renamed to its key when complete.
  The new entry then replaces the one the folder was last read into with the same
  options, which is removed (unless another folder's hint names it too).
- **Bad files** (unreadable, not a picture, truncated, a decompression bomb, another
  size with ``resize=False``, a file that changes while it is read, a symlink loop) stop
  the read with a one-line error naming the file, or are skipped and counted with
  ``skip_bad=True``.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import interrupts_deferred
from ..errors import CacheError, DataFormatError, ParameterError, literal
from ..progress import Progress
from . import cache
from .dataset import Dataset
from .pixels import COLOURS, MAX_IMAGE_PIXELS, RESIZE_FILTER, picture_row, pillow_limits

#: the names a picture may end in (compared in lower case)
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: the Pillow formats a picture may be in, whatever its suffix
FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")
#: version of the cached layout and the reading rules; bump when either changes
IMAGE_FORMAT = 2
#: files each thread reads at a time; and threads
CHUNK_FILES = 256
WORKERS = min(8, os.cpu_count() or 1)
#: a folder whose files are smaller than this (their median) is read on one thread:
#: reading a small picture is mostly Python's own work, which threads contend for.
#: Measured on 2 cores (load of rgb folders, one thread against two): 28 x 28 grey PNGs
#: of 390 bytes 14.1 s against 23.5 s for 100,000 files; 40 x 40 RGB PNGs of 2.1 kB
#: 1.02 s against 1.42 s for 6,000; 64 x 64 of 5.7 kB 0.99 against 0.90 s; 96 x 96 PNGs
#: of 14 kB 1.19 against 0.83 s; 256 x 256 JPEGs of 12.7 kB 1.45 against 0.97 s.
SMALL_FILE_BYTES = 4096
#: the cache's sub-folder of image folders
CACHE_FOLDER = "images"
#: reads of a folder that start again (listing its files) when another process read
#: another version of it meanwhile; the last reads the files as it listed them
READ_ATTEMPTS = 3
SKIP_HINT = "or give --skip-bad-images to skip it"


@dataclass(frozen=True)
class ImageOptions:
    """How a folder of pictures is read.

    Parameters
    ----------
    size : (int, int) or None
        ``(width, height)`` of the rows' pictures; None: the most common size.
    resize : bool
        Resize pictures of another size (Lanczos); False: refuse them.
    colour : {"grey", "rgb"}
        One grey level per pixel, or red, green and blue (3 features per pixel).
    skip_bad : bool
        Skip (and count) bad files instead of stopping at the first.
    """

    size: tuple[int, int] | None = None
    resize: bool = True
    colour: str = "grey"
    skip_bad: bool = False

    @classmethod
    def make(cls, size=None, resize=True, colour="grey", skip_bad=False) -> ImageOptions:
        """Options from a run's values, checked (``size`` may be ``"WxH"``)."""
        if colour not in COLOURS:
            raise ParameterError(
                f"unknown colour {literal(repr(colour))}", f"choose one of {', '.join(COLOURS)}"
            )
        for name, value in (("resize", resize), ("skip_bad_images", skip_bad)):
            if not isinstance(value, bool):
                raise ParameterError(
                    f"{{{name}}} must be True or False, got {literal(repr(value))}",
                    f"give e.g. {{{name}=True}}",
                )
        return cls(parse_size(size), resize, colour, skip_bad)

    def record(self) -> dict:
        """The options as JSON, as the cache key hashes them."""
        return {
            "size": list(self.size) if self.size else None,
            "resize": self.resize,
            "colour": self.colour,
            "skip_bad": self.skip_bad,
            "filter": RESIZE_FILTER,
        }


def parse_size(value) -> tuple[int, int] | None:
    """``"28x28"``, ``(28, 28)`` or None -> ``(width, height)`` or None."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().replace("×", "x").split("x")
    else:
        parts = list(value) if isinstance(value, list | tuple) else [value]
    try:
        size = tuple(int(str(p).strip()) for p in parts)
    except ValueError:
        size = ()
    if len(size) != 2 or min(size) < 1:
        raise ParameterError(
            f"{{image_size}} must be a width and a height in pixels, WxH, got "
            f"{literal(repr(value))}",
            "give e.g. {image_size=28x28}",
        )
    return size


def read_folder(
    folder: str | os.PathLike, options: ImageOptions | None = None, progress: Progress | None = None
) -> Dataset:
    """Read a folder of pictures (from the cache when it was read before).

    Parameters
    ----------
    folder : path-like
        The folder: one subfolder per class, or flat (no labels).
    options : ImageOptions, optional
        How to read it (default: grey, the most common size, resized with Lanczos).
    progress : Progress, optional
        Where to report the passes over the files.

    Returns
    -------
    Dataset
        uint8 rows memory-mapped from the cache, the labels and their names.

    Raises
    ------
    DataFormatError
        For a folder without pictures, or a bad file (unless ``options.skip_bad``).
    """
    folder = Path(folder).expanduser().absolute()
    options = options or ImageOptions()
    progress = progress or Progress()
    attempt = 1
    while True:
        try:
            return _read(folder, options, progress, restart=attempt < READ_ATTEMPTS)
        except _Replaced:
            attempt += 1


class _Replaced(Exception):
    """Another process read another version of the folder while this one read it: the
    files this one listed may have changed since, and the entry it found be removed."""


def _read(folder: Path, options: ImageOptions, progress: Progress, restart: bool) -> Dataset:
    listing = list_files(folder, options.skip_bad)
    root = cache.cache_root() / CACHE_FOLDER
    hint = _hint_path(root, folder, options)
    stats = _stats_digest(listing)
    recorded = _read_hint(hint)
    found = _cached(root, recorded, stats, folder, listing, options, progress)
    if found is not None:
        return found
    cache.ensure_writable(root)
    # One reader of a folder (with these options) at a time: a second waits, then finds
    # the entry the first wrote; the temporary folders of a reader that was killed go.
    name = hint.stem[:16]
    waiting = f"waiting for another pcagmm process that is reading {folder}"
    hint.parent.mkdir(parents=True, exist_ok=True)  # the index holds the locks too
    with cache.locked(hint.parent, name, on_wait=lambda: progress.note(waiting)):
        now = _read_hint(hint)
        if now != recorded:  # another process read the folder meanwhile
            found = _cached(root, now, stats, folder, listing, options, progress)
            if found is not None:
                return found
            if restart:  # it read another version: list the files again
                raise _Replaced
        for stale in root.glob(f".tmp-{name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        key = _build(folder, listing, options, root, f".tmp-{name}-", progress)
        if _write_hint(hint, {"stats": stats, "key": key}) and now.get("key") != key:
            _remove_replaced(root, hint, now.get("key"))
        # mapped while the lock is held: the next version's read may then remove it
        return _open(root / key, folder, progress)


def _cached(root, recorded, stats, folder, listing, options, progress) -> Dataset | None:
    """The cached rows of the folder when its files look as they did when the entry that
    the hint ``recorded`` names was read (the same paths, sizes and times) and, hashed
    again, are: else None."""
    if recorded.get("stats") != stats or not cache.is_complete(root / recorded.get("key", "-")):
        return None
    key = _folder_key(options, listing, *_hash_files(listing, progress))
    entry = root / key
    if not cache.is_complete(entry):
        return None  # a file changed but kept its size and time (or the entry was replaced)
    try:
        return _open(entry, folder, progress)
    except (CacheError, OSError, KeyError, TypeError, ValueError):
        if os.path.lexists(entry):
            cache.remove_entry(entry)  # damaged: read the folder again
        return None  # gone: a read of a newer version removed it; the hint names that one


def _remove_replaced(root: Path, hint: Path, key) -> None:
    """Remove the entry ``key`` that the folder's new entry replaces, unless another hint
    names it too (the same pictures read from another path). Nothing here fails the read.

    The entry is renamed to a temporary folder first, so a reader finds it whole or not at
    all, then deleted. A process that has it memory-mapped reads on (Linux frees the files
    when the map is closed); one that finds it gone reads the folder again. What cannot be
    renamed stays; what cannot be deleted is tried again by the next read of the folder
    (a temporary folder of a reader that did not finish)."""
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{64}", key):
        return  # no entry before, or a hint this code did not write
    for other in hint.parent.glob("*.json"):
        if other != hint and _read_hint(other).get("key") == key:
            return
    removed = root / f".tmp-{hint.stem[:16]}-replaced-{key[:16]}"
    try:
        os.rename(root / key, removed)
    except OSError:
        return  # gone already, or it cannot be moved
    shutil.rmtree(removed, ignore_errors=True)


# ----------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class ImageFile:
    """One picture of the folder (made from the :class:`Listing` when it is read)."""

    path: Path
    relative: str
    label: int
    stat: tuple[int, int]  # size, modification time (ns); (-1, -1): it could not be read


class Listing:
    """The pictures of a folder, in order, with the class names and what was skipped.

    A folder may hold millions of pictures, so the listing keeps arrays, not an object a
    file (an :class:`ImageFile` with its ``Path`` takes about 700 bytes): the relative
    paths as one block of UTF-8 bytes with the bounds of each, and each file's size,
    modification time and label, some 30 bytes a file besides its path.
    :meth:`file` makes the :class:`ImageFile` of one, :meth:`chunks` those of a chunk.
    """

    def __init__(
        self,
        folder: Path,
        relative: list[bytes],
        stats: np.ndarray,
        labels: np.ndarray,
        classes: tuple[str, ...] | None,
        skipped: list[tuple[str, str]],
    ):
        self.folder = folder
        self._paths = b"".join(relative)
        self._bounds = np.zeros(len(relative) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, relative), np.int64, len(relative)), out=self._bounds[1:])
        self._stats = stats  # (files, 2) int64: size, modification time (ns)
        self.labels = labels  # int32; -1 a file for a flat folder
        self.classes = classes
        self.skipped = skipped

    def __len__(self) -> int:
        return len(self.labels)

    def relative_bytes(self, number: int) -> bytes:
        """The relative path of file ``number``, as UTF-8 bytes (the order's and key's)."""
        return self._paths[self._bounds[number] : self._bounds[number + 1]]

    def relative(self, number: int) -> str:
        """The relative path of file ``number`` (``/`` between its parts)."""
        return self.relative_bytes(number).decode("utf-8", "surrogateescape")

    def median_bytes(self) -> float:
        """The median size of the files, in bytes (0 for no files)."""
        return float(np.median(self._stats[:, 0])) if len(self) else 0.0

    def stat(self, number: int) -> tuple[int, int]:
        """The size and modification time (ns) of file ``number`` when it was listed."""
        size, time = self._stats[number].tolist()
        return size, time

    def file(self, number: int) -> ImageFile:
        relative = self.relative(number)
        label = int(self.labels[number])
        return ImageFile(self.folder / relative, relative, label, self.stat(number))

    def chunks(
        self, numbers: np.ndarray | None = None, size: int = CHUNK_FILES
    ) -> Iterator[tuple[int, list[ImageFile]]]:
        """``(start, files)``, ``size`` files at a time: the files at ``numbers`` (default:
        all, in order); ``start`` is the position of the chunk's first file in ``numbers``."""
        count = len(self) if numbers is None else len(numbers)
        for start in range(0, count, size):
            stop = min(start + size, count)
            part = range(start, stop) if numbers is None else numbers[start:stop].tolist()
            yield start, [self.file(number) for number in part]


def list_files(folder: Path, skip_bad: bool = False) -> Listing:
    """The pictures under ``folder`` in the documented order, and their classes."""
    if not folder.is_dir():
        raise DataFormatError(f"{folder} is not a folder", "give a folder of pictures")
    found: list[bytes] = []  # relative paths, as UTF-8 bytes
    skipped: list[tuple[str, str]] = []
    others = 0
    visited: dict[tuple[int, int], str] = {}
    for top, dirs, names in _walk(folder):
        here = Path(top)
        relative_top = here.relative_to(folder).as_posix()
        key = _identity(here)
        if key in visited:
            message = (
                f"{here} links to a folder already read "
                f"({folder / visited[key]}): a symlink loop or a second path to the "
                "same pictures"
            )
            if not skip_bad:
                raise DataFormatError(message, f"remove the link, {SKIP_HINT}")
            skipped.append((relative_top, "a symlink loop or a second path to a folder"))
            dirs[:] = []
            continue
        visited[key] = relative_top
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        prefix = b"" if relative_top == "." else _bytes(relative_top) + b"/"
        for name in names:
            if name.startswith("."):
                continue
            if not name.lower().endswith(SUFFIXES):
                others += 1
                continue
            found.append(prefix + _bytes(name))
    if not found:
        if others == 0 and not skipped:
            raise DataFormatError(
                f"{folder} is an empty folder",
                "put pictures in it (PNG, JPEG, BMP, TIFF or WebP), one subfolder per class",
            )
        raise DataFormatError(
            f"{folder} holds no pictures: none of its {others:,} files ends in "
            + ", ".join(SUFFIXES),
            "put pictures in it (PNG, JPEG, BMP, TIFF or WebP), one subfolder per class",
        )
    found.sort()
    top_level = next((relative for relative in found if b"/" not in relative), None)
    nested = any(b"/" in relative for relative in found)
    if nested and top_level is not None:
        first = _text(top_level)
        raise DataFormatError(
            f"{folder} holds pictures both at its top ({first}) and in class subfolders",
            "move each picture into the subfolder of its class (or all to the top, for no labels)",
        )
    classes = sorted({relative.split(b"/", 1)[0] for relative in found}) if nested else []
    index = {name: i for i, name in enumerate(classes)}
    labels = np.full(len(found), -1, dtype=np.int32)
    stats = np.full((len(found), 2), -1, dtype=np.int64)  # (-1, -1): reading it says why
    base = f"{folder}/"
    for number, relative in enumerate(found):
        if nested:
            labels[number] = index[relative.split(b"/", 1)[0]]
        with contextlib.suppress(OSError):
            status = os.stat(base + _text(relative))  # the name os.walk gave
            stats[number] = status.st_size, status.st_mtime_ns
    names = tuple(_text(name) for name in classes) or None
    return Listing(folder, found, stats, labels, names, skipped)


def _walk(folder: Path):
    def fail(exc: OSError):
        raise DataFormatError(
            f"cannot read the folder {exc.filename} ({exc.strerror or exc})",
            "fix its permissions",
        )

    yield from os.walk(folder, onerror=fail, followlinks=True)


def _identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


# ----------------------------------------------------------------------------- reading


class BadFile(Exception):
    """One file that cannot become a row: the message and the fix."""

    def __init__(self, problem: str, fix: str):
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def _read_bytes(file: ImageFile) -> bytes:
    try:
        with open(file.path, "rb") as handle:
            before = os.fstat(handle.fileno())
            data = handle.read()
    except OSError as exc:
        raise BadFile(
            f"{file.path} cannot be read ({exc.strerror or exc})",
            f"fix its permissions or remove it, {SKIP_HINT}",
        ) from None
    try:
        after = file.path.stat()
    except OSError:
        after = None
    changed = (
        after is None
        or len(data) != before.st_size
        or (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)
        or (file.stat != (-1, -1) and file.stat != (before.st_size, before.st_mtime_ns))
    )
    if changed:
        raise BadFile(
            f"{file.path} changed while the folder was read",
            "read the folder again when nothing is writing to it, " + SKIP_HINT,
        )
    return data


def _open_picture(file: ImageFile, data: bytes):
    """Pillow's image of ``data``, its header checked (formats, pixel count)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        suffix = file.path.suffix
        raise BadFile(
            f"{file.path} is named {suffix} but holds no picture Pillow reads "
            "(PNG, JPEG, BMP, TIFF or WebP)",
            f"remove it, {SKIP_HINT}",
        ) from None
    except Exception as exc:  # a header Pillow refuses: a bomb, a corrupt file
        raise _unreadable(file, exc) from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS or width == 0 or height == 0:
        image.close()
        raise _bomb(file, width, height)
    return image


def _bomb(file: ImageFile, width: int, height: int) -> BadFile:
    return BadFile(
        f"{file.path} claims {width:,} x {height:,} = {width * height:,} pixels, "
        f"more than the {MAX_IMAGE_PIXELS:,} pcagmm decodes (a decompression bomb, or a "
        "picture far larger than needed)",
        f"scale it down first, {SKIP_HINT}",
    )


def _unreadable(file: ImageFile, exc: BaseException) -> BadFile:
    from PIL import Image

    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return BadFile(
            f"{file.path} is a decompression bomb ({_one_line(exc)})",
            f"scale it down first, {SKIP_HINT}",
        )
    return BadFile(
        f"{file.path} is a truncated or corrupt picture ({type(exc).__name__}: {_one_line(exc)})",
        f"replace it, {SKIP_HINT}",
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or "no detail"


def _header(file: ImageFile) -> tuple[int, int]:
    """The size a picture's header declares (only its first bytes are read)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file.path, formats=FORMATS) as image:
            width, height = image.size
    except OSError as exc:
        if isinstance(exc, UnidentifiedImageError):
            return _open_picture(file, b"").size  # raises the message of a non-picture
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise BadFile(
                f"{file.path} cannot be read ({exc.strerror or exc})",
                f"fix its permissions or remove it, {SKIP_HINT}",
            ) from None
        raise _unreadable(file, exc) from None
    except Exception as exc:
        raise _unreadable(file, exc) from None
    if width * height > MAX_IMAGE_PIXELS or width == 0 or height == 0:
        raise _bomb(file, width, height)
    return width, height


def _decode(file: ImageFile, size: tuple[int, int], colour: str) -> tuple[np.ndarray, bytes]:
    """One file: its row and the SHA-256 of its bytes (one read of the file)."""
    data = _read_bytes(file)
    digest = hashlib.sha256(data).digest()
    with _open_picture(file, data) as image:
        try:
            image.load()
        except MemoryError:
            raise
        except Exception as exc:  # Pillow's decoders raise many kinds; all mean a bad file
            raise _unreadable(file, exc) from None
        return picture_row(image, size, colour), digest


def _workers(listing: Listing) -> int:
    """Threads to read ``listing``'s files on: one for small files (see
    :data:`SMALL_FILE_BYTES`), else :data:`WORKERS`."""
    return 1 if listing.median_bytes() < SMALL_FILE_BYTES else WORKERS


def _threaded(function, chunks: Iterator, workers: int = WORKERS) -> Iterator:
    """``function(chunk)`` for each chunk on threads, in order, at most ``2 * workers``
    chunks in flight (so memory stays flat in the number of files)."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pcagmm-images") as pool:
        pending: collections.deque = collections.deque()
        for chunk in chunks:
            pending.append(pool.submit(function, chunk))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _hash_files(
    listing: Listing, progress: Progress, numbers: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Every file's SHA-256 (its bytes read, nothing decoded), or those of the files at
    ``numbers``: the digests (32 bytes a row), and whether each file could be read."""

    def hash_chunk(chunk):
        start, files = chunk
        out = []
        for file in files:
            try:
                out.append(hashlib.sha256(_read_bytes(file)).digest())
            except BadFile:
                out.append(None)  # a bad file: the key cannot match, the full read says why
        return start, out

    count = len(listing) if numbers is None else len(numbers)
    digests = np.zeros((count, 32), dtype=np.uint8)
    readable = np.zeros(count, dtype=bool)
    with progress.task("hash pictures", total=count, unit="files") as task:
        for start, out in _threaded(hash_chunk, listing.chunks(numbers), _workers(listing)):
            for number, digest in enumerate(out, start=start):
                if digest is not None:
                    digests[number] = np.frombuffer(digest, dtype=np.uint8)
                    readable[number] = True
            task.advance(len(out))
    return digests, readable


def _folder_key(
    options: ImageOptions, listing: Listing, digests: np.ndarray, readable: np.ndarray
) -> str:
    """The cache key: the options, then every file's path, class and content hash (no
    hash for a file that could not be read)."""
    key = hashlib.sha256(f"pcagmm image folder {IMAGE_FORMAT}\n".encode())
    key.update(json.dumps(options.record(), sort_keys=True).encode() + b"\n")
    key.update(json.dumps(listing.classes).encode() + b"\n")
    key.update(json.dumps(listing.skipped).encode() + b"\n")
    for number in range(len(listing)):
        digest = digests[number].tobytes() if readable[number] else b""
        label = str(int(listing.labels[number])).encode()
        key.update(listing.relative_bytes(number) + b"\0" + label + b"\0" + digest)
    return key.hexdigest()


def _target_size(
    listing: Listing, options: ImageOptions, skipped: list, progress: Progress
) -> tuple[tuple[int, int], np.ndarray]:
    """The pictures' size, and the numbers of the files to read (their positions in the
    listing): a header pass over the files when the size is the most common one, or when
    other sizes are refused."""
    if options.size is not None and options.resize:
        return options.size, np.arange(len(listing))

    def headers(chunk):
        start, files = chunk
        out = []
        for file in files:
            try:
                out.append(_header(file))
            except BadFile as bad:
                if not options.skip_bad:
                    raise DataFormatError(bad.problem, bad.fix) from None
                out.append(bad)
        return start, out

    sizes = np.zeros((len(listing), 2), dtype=np.int64)  # width, height
    good = np.ones(len(listing), dtype=bool)
    with progress.task("read picture sizes", total=len(listing), unit="files") as task:
        for start, out in _threaded(headers, listing.chunks(), _workers(listing)):
            for number, got in enumerate(out, start=start):
                if isinstance(got, BadFile):
                    good[number] = False
                    skipped.append((listing.relative(number), got.problem))
                else:
                    sizes[number] = got
            task.advance(len(out))
    numbers = np.flatnonzero(good)
    if len(numbers) == 0:
        raise _all_bad(listing, skipped)
    if options.size is not None:
        size = options.size
        reference = None
    else:  # the most common size; a tie goes to the size met first
        found, first, counts = np.unique(
            sizes[numbers], axis=0, return_index=True, return_counts=True
        )
        best = max(range(len(found)), key=lambda i: (counts[i], -first[i]))
        size = (int(found[best][0]), int(found[best][1]))
        reference = listing.file(int(numbers[first[best]]))
    if options.resize:
        return size, numbers
    other = (sizes[numbers] != size).any(axis=1)
    for number in numbers[other].tolist():
        file = listing.file(number)
        width, height = sizes[number].tolist()
        like = f"as {reference.path} is" if reference else "as asked"
        problem = (
            f"{file.path} is {width} x {height} pixels, not {size[0]} x {size[1]} "
            f"{like}, and resizing is off (--no-resize)"
        )
        if not options.skip_bad:
            raise DataFormatError(
                problem,
                "resize it, or leave out --no-resize to resize it with Lanczos, " + SKIP_HINT,
            )
        skipped.append((file.relative, problem))
    return size, numbers[~other]


def _all_bad(listing: Listing, skipped: list) -> DataFormatError:
    return DataFormatError(
        f"every picture in the folder is bad ({len(skipped):,} skipped; the first: "
        f"{skipped[0][1]})",
        "replace the bad files",
    )


def _build(
    folder: Path, listing: Listing, options: ImageOptions, root: Path, prefix: str, progress
) -> str:
    """Read the folder into a new cache entry; return its key.

    The rows are written to ``X.npy`` with plain writes, a chunk at a time, and hashed as
    they are written: the pages of a written memory map would count in this process's
    resident size until it ended, a gigabyte for a million pictures of 28 x 28. Only the
    kept rows are written (with ``skip_bad``); the header's row count is then rewritten
    in place."""
    skipped = list(listing.skipped)
    with pillow_limits():
        size, numbers = _target_size(listing, options, skipped, progress)
        width, height = size
        features = width * height * (3 if options.colour == "rgb" else 1)
        build = None
        try:
            with interrupts_deferred():  # a Ctrl-C lands once the folder is known, to go
                build = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
            kept = np.ones(len(numbers), dtype=bool)
            # every listed file's SHA-256, as the hashing pass of a later read makes them
            digests = np.zeros((len(listing), 32), dtype=np.uint8)
            hashed = np.zeros(len(listing), dtype=bool)
            content = hashlib.sha256()  # content_sha256: the rows' bytes, then the labels'

            def decode_chunk(chunk):
                start, part = chunk
                rows = np.zeros((len(part), features), dtype=np.uint8)
                out = []
                for i, file in enumerate(part):
                    try:
                        rows[i], digest = _decode(file, size, options.colour)
                        out.append(digest)
                    except BadFile as bad:
                        if not options.skip_bad:
                            raise DataFormatError(bad.problem, bad.fix) from None
                        out.append(bad)
                return start, rows, out

            header = _npy_header(len(numbers), features)
            with (build / "X.npy").open("wb") as written:
                written.write(header)
                with progress.task("read pictures", total=len(numbers), unit="files") as task:
                    for start, rows, out in _threaded(
                        decode_chunk, listing.chunks(numbers), _workers(listing)
                    ):
                        for offset, got in enumerate(out, start=start):
                            number = int(numbers[offset])
                            if isinstance(got, BadFile):
                                kept[offset] = False
                                skipped.append((listing.relative(number), got.problem))
                            else:
                                digests[number] = np.frombuffer(got, dtype=np.uint8)
                                hashed[number] = True
                        good = kept[start : start + len(rows)]
                        block = memoryview(rows if good.all() else rows[good]).cast("B")
                        written.write(block)
                        content.update(block)
                        task.advance(len(rows))
                if not kept.any():
                    raise _all_bad(listing, skipped)
                if not kept.all():  # fewer rows than the header said: the same length
                    final = _npy_header(int(kept.sum()), features)
                    assert len(final) == len(header)
                    written.seek(0)
                    written.write(final)
                written.flush()
                os.fsync(written.fileno())
            y = None
            if listing.classes is not None:
                labels = listing.labels[numbers][kept]
                y = labels.astype(np.uint8 if len(listing.classes) <= 256 else np.int32)
                np.save(build / "y.npy", y, allow_pickle=False)
                content.update(memoryview(np.ascontiguousarray(y)).cast("B"))
            missing = np.flatnonzero(~hashed)
            if len(missing):  # the skipped files: hashed as a later read's hashing pass does
                digests[missing], hashed[missing] = _hash_files(listing, Progress(), missing)
            key = _folder_key(options, listing, digests, hashed)
            skipped.sort(key=lambda item: _bytes(item[0]))
            meta = {
                "cache_format": IMAGE_FORMAT,
                "folder": str(folder),
                "options": options.record(),
                "image_size": [width, height],
                "classes": list(listing.classes) if listing.classes else None,
                "skipped": [{"file": f, "problem": p} for f, p in skipped],
                "sha256": content.hexdigest(),
                "read": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            }
            with (build / cache.META_FILE).open("w") as handle:
                json.dump(meta, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            entry = root / key
            try:
                os.rename(build, entry)
            except OSError:
                if not cache.is_complete(entry):  # not another process's same entry
                    raise
        finally:
            if build is not None:
                shutil.rmtree(build, ignore_errors=True)
    return key


def _npy_header(rows: int, features: int) -> bytes:
    """The ``.npy`` header (version 1.0) of ``rows`` x ``features`` uint8 values. numpy
    pads the row count to the most digits it can have, so the header of a smaller count
    has the same length (and can be written over the first)."""
    header = io.BytesIO()
    layout = {"descr": "|u1", "fortran_order": False, "shape": (rows, features)}
    np.lib.format.write_array_header_1_0(header, layout)
    return header.getvalue()


def _open(entry: Path, folder: Path, progress: Progress) -> Dataset:
    X, y, meta = cache.read_entry(entry)
    width, height = meta["image_size"]
    classes = meta.get("classes")
    skipped = meta.get("skipped") or []
    source = f"image folder {folder}"
    if skipped:
        first = skipped[0]
        progress.note(
            f"{folder}: {len(skipped):,} bad files skipped (the first: {first['problem']})"
        )
        source += f" ({len(skipped):,} bad files skipped)"
    grey = meta["options"]["colour"] == "grey"
    dataset = Dataset(
        X,
        y,
        name=folder.name,
        source=source,
        sha256=meta["sha256"],
        image_shape=(height, width) if grey else None,
        target_names=tuple(classes) if classes else None,
        title=f"{X.shape[0]:,} pictures of {width} x {height} ({meta['options']['colour']})",
        location=folder,
        pixel_max=255.0,  # 8-bit levels, however dark the pictures are
        rgb_shape=None if grey else (height, width, 3),
    )
    dataset.skipped = len(skipped)
    return dataset


# ----------------------------------------------------------------------------- the hint


def _hint_path(root: Path, folder: Path, options: ImageOptions) -> Path:
    name = hashlib.sha256(
        json.dumps([str(folder), options.record()], sort_keys=True).encode()
    ).hexdigest()
    return root / "index" / f"{name}.json"


def _stats_digest(listing: Listing) -> str:
    digest = hashlib.sha256()
    for number in range(len(listing)):
        stat = repr(listing.stat(number)).encode()
        digest.update(listing.relative_bytes(number) + b"\0" + stat + b"\n")
    return digest.hexdigest()


def _read_hint(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_hint(path: Path, value: dict) -> bool:
    """Write the hint (atomically); whether it was written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(value))
        os.replace(temporary, path)
    except OSError:
        return False
    return True
