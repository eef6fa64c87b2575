"""Fetch, cache, verify and load data sets: built-in names and files given by path."""

from __future__ import annotations

import datetime
import gzip
import os
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import (
    CacheError,
    DataFormatError,
    DiskFullError,
    FetchError,
    HashMismatchError,
    PcagmmError,
)
from ..progress import Progress
from ..resources import require_memory
from . import cache
from .dataset import Dataset
from .formats import (
    GZIP_MAGIC,
    IDX_DTYPES,
    content_sha256,
    read_csv,
    read_idx,
    read_npy,
    read_npy_header,
    read_npz,
    sniff_format,
)
from .registry import BUILTIN, DatasetSpec, get_spec
from .sources import Source, SourceFailure, sources_for

#: version of the cache entry layout; bump when it changes
CACHE_FORMAT = 1


def load(
    name_or_path: str | os.PathLike,
    *,
    folder: str | os.PathLike | None = None,
    mirrors: list[str] | None = None,
    label_column: int | str | None = None,
    progress: Progress | None = None,
    image_size=None,
    resize: bool = True,
    colour: str = "grey",
    skip_bad_images: bool = False,
) -> Dataset:
    """Load a built-in data set (fetched into the cache first), a file or a folder of pictures.

    Parameters
    ----------
    name_or_path : str or path-like
        ``"mnist"``, ``"fashion-mnist"``, ``"digits"``, the path of a
        ``.npy``, ``.npz``, ``.csv`` or IDX file (raw or gzipped), or of a folder of
        pictures (PNG, JPEG, BMP, TIFF, WebP; one subfolder per class, or flat), read as
        the user guide's page "Your own pictures" says (``pcagmm.datasets.images``).
    folder : path-like, optional
        A local folder holding a built-in data set's files, tried first.
    mirrors : list of str, optional
        Base URLs to download a built-in data set from instead of the
        registry's public mirrors.
    label_column : int or str, optional
        For CSV files: the column holding the labels.
    progress : Progress, optional
        Where to report download and conversion progress (default: nowhere).
    image_size : str or (int, int), optional
        A folder of pictures: their size, ``"WxH"`` (default: the most common size).
    resize : bool, default=True
        A folder of pictures: resize pictures of another size (Lanczos); False refuses them.
    colour : {"grey", "rgb"}, default="grey"
        A folder of pictures: one grey level per pixel, or red, green and blue.
    skip_bad_images : bool, default=False
        A folder of pictures: skip (and count) bad files instead of stopping at the first.

    Returns
    -------
    Dataset
        The data, memory-mapped from the cache or from a large ``.npy`` file.

    Raises
    ------
    UnknownDatasetError
        For a name that is neither built in nor an existing file.
    FetchError
        When no source could supply a built-in data set.
    DataFormatError
        For a file that cannot be read as its format.
    """
    from .images import ImageOptions, read_folder

    images = ImageOptions.make(image_size, resize, colour, skip_bad_images)
    spec = _builtin_or_none(name_or_path)
    if spec is None and _is_picture_folder(Path(name_or_path).expanduser()):
        if label_column is not None:
            raise PcagmmError(
                f"a label column only applies to CSV files, and {Path(name_or_path).name} is "
                "a folder of pictures (its subfolders are the classes)",
                "leave out the label column",
            )
        return read_folder(name_or_path, images, progress)
    if images != ImageOptions():
        raise PcagmmError(
            f"the options of pictures (image size, resizing, colour, bad images) apply to a "
            f"folder of pictures, and {name_or_path} is not one",
            "leave them out, or give a folder of pictures",
        )
    if spec is None:
        return load_path(name_or_path, label_column=label_column)
    entry = fetch(spec.name, folder=folder, mirrors=mirrors, progress=progress)
    waiting = f"waiting for another pcagmm process that is replacing {spec.name} in the cache"
    return _open_entry(spec, entry, on_wait=lambda: (progress or Progress()).note(waiting))


def fetch(
    name: str,
    *,
    folder: str | os.PathLike | None = None,
    mirrors: list[str] | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> Path:
    """Make sure a built-in data set is in the cache; return its cache folder.

    Sources are tried in order until one supplies content whose hashes verify.
    The entry is built in a temporary folder and renamed into place, under a
    lock, so concurrent or interrupted fetches never leave a damaged entry.

    Parameters
    ----------
    name : str
        A built-in data set's name.
    folder : path-like, optional
        A local folder holding the data set's files, tried first.
    mirrors : list of str, optional
        Base URLs to download from instead of the registry's public mirrors.
    progress : Progress, optional
        Where to report download and conversion progress (default: nowhere).
    force : bool, default=False
        Fetch again even if the cache already holds the data set.

    Returns
    -------
    Path
        The data set's folder in the cache.

    Raises
    ------
    FetchError
        When no source could supply the data set.
    CacheError
        When the cache cannot be written.
    """
    spec = get_spec(name)
    progress = progress or Progress()
    root = cache.cache_root()
    entry = cache.entry_dir(spec.name, root)
    if cache.is_complete(entry) and not force:
        return entry
    cache.ensure_writable(root)
    waiting = f"waiting for another pcagmm process that is fetching {spec.name}"
    with cache.locked(root, spec.name, on_wait=lambda: progress.note(waiting)):
        if cache.is_complete(entry) and not force:
            return entry  # another process fetched it while we waited
        cache.remove_stale_builds(root, spec.name)
        build = cache.new_build_dir(root, spec.name)
        try:
            sources = sources_for(spec, folder=folder, mirrors=mirrors)
            try:
                X, y, source = _first_verified(spec, sources, build, progress)
            except DiskFullError as exc:  # a download filled the cache's device
                raise _cannot_write(spec, root, exc) from None
            meta = {
                "cache_format": CACHE_FORMAT,
                "name": spec.name,
                "sha256": spec.content_sha256,
                "source": source.description,
                "fetched": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "idx_sha256": {f.filename: f.sha256 for f in spec.idx_files},
            }
            try:
                cache.write_entry(entry, X, y, meta)
            except OSError as exc:
                raise _cannot_write(spec, root, exc) from None
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return entry


def verify(name: str) -> Dataset:
    """Recompute the SHA-256 of a cached built-in data set and compare it with the registry.

    A cached entry that does not verify (or cannot be read) is removed, so the
    next fetch starts clean, and :class:`~pcagmm.errors.HashMismatchError` says so.

    Parameters
    ----------
    name : str
        A built-in data set's name.

    Returns
    -------
    Dataset
        The cached data, ``verified`` True.

    Raises
    ------
    HashMismatchError
        When the content's hash is not the registry's (the entry is removed).
    CacheError
        When the data set is not cached, or its entry cannot be read.
    """
    spec = get_spec(name)
    entry = cached_path(spec.name)
    try:
        dataset = _open_entry(spec, entry, trust_meta=False)
    except CacheError as exc:
        cache.remove_entry(entry)
        raise CacheError(
            f"{exc.problem} (cache entry removed)", f"fetch it again: pcagmm data fetch {name}"
        ) from None
    if dataset.sha256 != spec.content_sha256:
        cache.remove_entry(entry)
        raise HashMismatchError(
            f"cached {spec.name} has SHA-256 {dataset.sha256}, expected {spec.content_sha256} "
            "(cache entry removed)",
            f"fetch it again: pcagmm data fetch {spec.name}",
        )
    dataset.verified = True
    return dataset


def cached_path(name: str) -> Path:
    """Find the cache folder of a built-in data set that has been fetched.

    Parameters
    ----------
    name : str
        A built-in data set's name.

    Returns
    -------
    Path
        Its folder in the cache.

    Raises
    ------
    CacheError
        When the data set is not in the cache.
    """
    spec = get_spec(name)
    entry = cache.entry_dir(spec.name)
    if not cache.is_complete(entry):
        raise CacheError(
            f"{spec.name} is not in the cache ({entry.parent})",
            f"fetch it first: pcagmm data fetch {spec.name}",
        )
    return entry


def list_datasets() -> list[dict]:
    """List the built-in data sets, with whether and where each is cached.

    Returns
    -------
    list of dict
        One per data set: ``name``, ``title``, ``shape``, ``classes``, ``cached``,
        ``location`` (None when not cached) and ``bytes`` (in the cache).
    """
    rows = []
    for spec in BUILTIN.values():
        entry = cache.entry_dir(spec.name)
        cached = cache.is_complete(entry)
        rows.append(
            {
                "name": spec.name,
                "title": spec.title,
                "shape": [spec.n_samples, spec.n_features],
                "classes": len(spec.target_names),
                "cached": cached,
                "location": str(entry) if cached else None,
                "bytes": sum(p.stat().st_size for p in entry.iterdir()) if cached else 0,
            }
        )
    return rows


def load_path(path: str | os.PathLike, *, label_column: int | str | None = None) -> Dataset:
    """Load a data file: ``.npy`` (memory-mapped), ``.npz``, ``.csv`` or IDX (raw or gzipped).

    An IDX image file picks up the labels file beside it
    (``*-images-idx3-ubyte`` -> ``*-labels-idx1-ubyte``) when there is one, and a
    ``.npy`` file its ``.labels.npy``. Arrays of grey pictures (n x h x w) become rows of
    h*w features (``image_shape`` (h, w)), of colour pictures (n x h x w x 3) rows of
    h*w*3 in the order (row, column, channel) (``rgb_shape`` (h, w, 3)).

    Parameters
    ----------
    path : str or path-like
        The file.
    label_column : int or str, optional
        For CSV files: the column holding the labels (name or number).

    Returns
    -------
    Dataset
        The data, without ``verified`` hash.

    Raises
    ------
    DataFormatError
        For a file that cannot be read as its format.
    ResourceError
        For a file that would not fit in memory (an uint8 ``.npy`` is streamed instead).
    """
    path = Path(path).expanduser()
    kind = sniff_format(path)
    if label_column is not None and kind != "csv":
        raise PcagmmError(
            f"a label column only applies to CSV files, and {path.name} is {kind}",
            "leave out the label column",
        )
    _check_memory(path, kind)
    y = None
    if kind == "npy":
        X = read_npy(path)
        labels = path.with_name(path.name.removesuffix(".npy") + ".labels.npy")
        if labels.is_file():  # as `pcagmm data make-big` writes them
            y = read_npy(labels)
    elif kind == "npz":
        X, y = read_npz(path)
    elif kind == "csv":
        X, y = read_csv(path, label_column=label_column)
    else:
        X = read_idx(path)
        labels = _idx_labels_beside(path)
        if labels is not None and labels.exists():
            y = read_idx(labels)
    return _dataset_from_arrays(X, y, path, kind)


#: what to do instead of loading a file that does not fit in memory
STREAMING_HINT = (
    "convert it to a .npy file (uint8 for images), which pcagmm memory-maps and reads in "
    "chunks, e.g. numpy.save('data.npy', rows)"
)


def _check_memory(path: Path, kind: str) -> None:
    """Refuse up front a file whose reading would not fit in memory."""
    needed = _memory_to_read(path, kind)
    if needed:
        require_memory(needed, f"reading {path.name} into memory", STREAMING_HINT)


def _memory_to_read(path: Path, kind: str) -> int:
    """Bytes that reading ``path`` needs at its peak; 0 when it is streamed or unknown."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return 0  # the reader says what is wrong
    gzipped = head[:2] == GZIP_MAGIC
    if kind == "npy":
        return 0  # memory-mapped
    if kind == "idx":
        if not gzipped:
            return 0 if head[2:3] == b"\x08" else 2 * size  # uint8 is memory-mapped
        try:
            with gzip.open(path) as stream:
                header = stream.read(4)
                dims = struct.unpack(f">{header[3]}I", stream.read(4 * header[3]))
        except (OSError, EOFError, IndexError, struct.error):
            return 0
        dtype = IDX_DTYPES.get(header[2])
        item = dtype.itemsize if dtype is not None else 8
        return size + 2 * int(np.prod(dims, dtype=np.int64)) * item
    if kind == "npz":
        try:
            with zipfile.ZipFile(path) as archive:
                total = 0
                for info in archive.infolist():
                    with archive.open(info) as member:
                        shape, _, dtype = read_npy_header(member)
                        total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            return 0
        return 2 * total
    # CSV: the text, then float64 values while parsing
    if gzipped:
        return 12 * size  # the text is ~4x the gzip, then 8 bytes a value
    lines = max(1, head.count(b"\n"))
    fields = head.split(b"\n", 1)[0].count(b",") + 1
    bytes_per_value = max(1.0, len(head) / lines / fields)
    return size + int(size / bytes_per_value) * 8 * 2


def _dataset_from_arrays(X, y, path: Path, kind: str) -> Dataset:
    """Rows from a file's array: 2-D rows of features, 3-D grey pictures (n, height,
    width), 4-D colour pictures (n, height, width, 3), each picture a row in the order
    (row, column, channel)."""
    if X.ndim < 2:
        raise DataFormatError(
            f"{path} holds a {X.ndim}-D array; pcagmm needs rows of features (2-D), "
            "of grey pictures (3-D) or of colour pictures (4-D, 3 channels last)",
            "reshape it to (n_samples, n_features) and save it again",
        )
    if X.ndim == 4 and X.shape[3] != 3:
        raise _not_colour_pictures(path, X.shape)
    if X.shape[0] == 0 or X.size == 0:
        raise DataFormatError(f"{path} holds no data (shape {X.shape})", "give a file with data")
    image_shape = tuple(X.shape[1:]) if X.ndim == 3 else None
    rgb_shape = tuple(X.shape[1:]) if X.ndim == 4 else None
    if X.ndim > 2:
        X = X.reshape(X.shape[0], -1)  # a memory map stays one (C order: row, column, channel)
    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise DataFormatError(
                f"{path}: the labels have shape {y.shape} but there are {len(X)} rows",
                "give one label per row",
            )
    return Dataset(
        X,
        y,
        name=path.name,
        source=f"{kind} file {path}",
        image_shape=image_shape,
        location=path,
        rgb_shape=rgb_shape,
    )


def _not_colour_pictures(path: Path, shape: tuple[int, ...]) -> DataFormatError:
    """The error for a 4-D array that is not (n, height, width, 3), with the likely fix."""
    if shape[1] == 3:
        fix = "move the channels last, numpy.moveaxis(X, 1, -1), and save it again"
    elif shape[3] == 1:
        fix = "save grey pictures without their channel axis, X[..., 0], as (n, height, width)"
    elif shape[3] == 4:
        fix = "save red, green and blue without the alpha channel, X[..., :3]"
    else:
        fix = (
            "save colour pictures as (n, height, width, 3), grey ones as (n, height, width), "
            "or rows as (n, features)"
        )
    return DataFormatError(
        f"{path} holds a 4-D array of shape {tuple(int(v) for v in shape)}, and pcagmm reads "
        "a 4-D array as colour pictures, (n, height, width, 3)",
        fix,
    )


def _idx_labels_beside(path: Path) -> Path | None:
    if "images-idx3" not in path.name:
        return None
    base = path.name.replace("images-idx3", "labels-idx1")
    for name in (base, base.removesuffix(".gz"), base.removesuffix(".gz") + ".gz"):
        if (path.parent / name).exists():
            return path.parent / name
    return None


def _is_picture_folder(path: Path) -> bool:
    """A folder, read as a folder of pictures; but one named like a data file
    (``dir.npy``) is a mistaken path, which :func:`load_path` refuses as before."""
    if not path.is_dir():
        return False
    name = path.name.lower().removesuffix(".gz")
    return not (name.endswith((".npy", ".npz", ".csv", ".idx")) or "-ubyte" in name)


def _builtin_or_none(name_or_path) -> DatasetSpec | None:
    """The spec when the argument names a built-in data set; None when it is a path."""
    if isinstance(name_or_path, os.PathLike):
        return None
    text = str(name_or_path)
    looks_like_path = (
        os.sep in text or "." in Path(text).name or text.startswith("~") or Path(text).exists()
    )
    if looks_like_path and text.lower().replace("_", "-") not in BUILTIN:
        return None
    return get_spec(text)


def _cannot_write(spec: DatasetSpec, root: Path, exc: OSError) -> CacheError:
    return CacheError(
        f"cannot write {spec.name} into the cache {root} ({exc.strerror or exc})",
        f"free some space or set {cache.CACHE_ENV} to another folder",
    )


def _first_verified(
    spec: DatasetSpec, sources: list[Source], build: Path, progress: Progress
) -> tuple[np.ndarray, np.ndarray, Source]:
    failures = []
    for number, source in enumerate(sources, start=1):
        progress.note(f"{spec.name}: trying {source.description}")
        workdir = build / f"source-{number}"
        workdir.mkdir()
        try:
            X, y = source.arrays(spec, workdir, progress)
            digest = content_sha256(X, y)
            if digest != spec.content_sha256:
                raise HashMismatchError(
                    f"the assembled arrays have SHA-256 {digest}, expected {spec.content_sha256}"
                )
            return X, y, source
        except DiskFullError:
            raise  # every other source would need the same space
        except (SourceFailure, PcagmmError) as exc:
            reason = exc.problem if isinstance(exc, PcagmmError) else str(exc)
            progress.note(f"  failed: {reason}")
            failures.append(f"{source.description}: {reason}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    files = ", ".join(f"{f.filename}.gz" for f in spec.idx_files)
    raise FetchError(
        f"could not fetch {spec.name}: "
        + "; ".join(f"({n}) {text}" for n, text in enumerate(failures, start=1)),
        f"download {files} by hand into a folder and run "
        f"pcagmm data fetch {spec.name} --from FOLDER"
        + (f" (or set {spec.folder_env})" if spec.folder_env else ""),
    )


def _open_entry(
    spec: DatasetSpec,
    entry: Path,
    *,
    trust_meta: bool = True,
    on_wait: Callable[[], None] | None = None,
) -> Dataset:
    """The Dataset of a cache entry. Its files are read from one entry even while a
    fetch replaces it (:func:`cache.read_entry`), so the recorded SHA-256 it trusts
    describes the rows it holds."""
    X, y, meta = cache.read_entry(entry, on_wait=on_wait)
    if X.shape != (spec.n_samples, spec.n_features):
        raise CacheError(
            f"the cached {spec.name} in {entry} has shape {X.shape}, "
            f"expected {(spec.n_samples, spec.n_features)}",
            f"fetch it again: pcagmm data fetch {spec.name} --force",
        )
    return Dataset(
        X,
        y,
        name=spec.name,
        source=meta.get("source", "cache"),
        split=spec.split,
        sha256=meta.get("sha256") if trust_meta else None,
        verified=True if trust_meta else None,
        image_shape=spec.image_shape,
        target_names=spec.target_names,
        title=spec.title,
        location=entry,
    )
