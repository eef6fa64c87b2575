"""Readers for the file formats a data set can come in: IDX, CSV, .npy and .npz.

Each reader returns plain numpy arrays or raises :class:`~pcagmm.errors.DataFormatError`
with a one-line message naming the file, the problem and the fix. Nothing here
touches the cache or the network.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ..errors import DataFormatError

GZIP_MAGIC = b"\x1f\x8b"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"

#: IDX type codes (third byte of the magic number) and the dtypes they denote.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder(">"): code for code, dtype in IDX_DTYPES.items()}

#: Rows per block when parsing CSV text.
CSV_BLOCK_ROWS = 10_000


# ----------------------------------------------------------------------------- gzip


def read_bytes(path: Path) -> bytes:
    """Return the content of ``path``, decompressed if it is gzip data.

    Gzip is recognised by its magic bytes, not by the file name; a file named
    ``*.gz`` that is not gzip data is an error.
    """
    path = Path(path)
    raw = _read_file(path)
    if raw[:2] == GZIP_MAGIC:
        return gunzip(raw, path)
    if path.suffix == ".gz":
        raise DataFormatError(
            f"{path} is named .gz but is not gzip data",
            "download it again, or remove the .gz suffix if it is an uncompressed file",
        )
    return raw


def gunzip(raw: bytes, path: Path | str) -> bytes:
    """Decompress gzip data, turning truncation and corruption into a clear error."""
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataFormatError(
            f"{path} is a truncated or corrupt gzip file ({exc})",
            "delete it and download it again",
        ) from None


def _read_file(path: Path) -> bytes:
    with _open_for_reading(path) as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise DataFormatError(
                f"cannot read {path} ({exc.strerror or exc})", "check the file and the disk"
            ) from None


# ----------------------------------------------------------------------------- IDX


def parse_idx(data: bytes, name: str | os.PathLike = "IDX data") -> np.ndarray:
    """Parse the bytes of an uncompressed IDX file into an array.

    The IDX format is a big-endian header (two zero bytes, a type code, the
    number of dimensions, then one 4-byte size per dimension) followed by the
    values in row-major order. The payload must be exactly as long as the
    header declares.

    Parameters
    ----------
    data : bytes
        The whole file, decompressed.
    name : str or path-like
        Shown in error messages.

    Returns
    -------
    ndarray
        A read-only array in native byte order, of the declared shape.
    """
    ndim, dtype, header_size = _idx_header_info(data[:4], name)
    if len(data) < header_size:
        raise DataFormatError(
            f"{name} is truncated: its IDX header declares {ndim} dimensions "
            f"but the file has only {len(data)} bytes",
            "download it again",
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    _check_idx_payload(name, shape, dtype, len(data) - header_size)
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzipped or not.

    An uncompressed file of single-byte values is memory-mapped rather than
    read, so a large file costs no memory up front.
    """
    path = Path(path)
    with _open_for_reading(path) as handle:
        head = handle.read(4)
    if head[:2] == GZIP_MAGIC or path.suffix == ".gz":
        return parse_idx(read_bytes(path), path)
    ndim, dtype, header_size = _idx_header_info(head, path)
    if dtype.itemsize != 1:
        return parse_idx(read_bytes(path), path)
    with path.open("rb") as handle:
        header = handle.read(header_size)
    if len(header) < header_size:
        raise DataFormatError(
            f"{path} is truncated: its IDX header declares {ndim} dimensions "
            f"but the file has only {len(header)} bytes",
            "download it again",
        )
    shape = struct.unpack(f">{ndim}I", header[4:])
    _check_idx_payload(path, shape, dtype, path.stat().st_size - header_size)
    if 0 in shape:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=header_size, shape=shape)


def idx_header(array: np.ndarray) -> bytes:
    """The IDX header that a file holding ``array`` would start with."""
    code = _IDX_CODES.get(array.dtype.newbyteorder(">"))
    if code is None:
        raise DataFormatError(
            f"an array of dtype {array.dtype} cannot be stored as IDX",
            "convert it to uint8, int8, int16, int32, float32 or float64",
        )
    return struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)


def idx_sha256(array: np.ndarray) -> str:
    """SHA-256 of the uncompressed IDX file that holds ``array``.

    This equals ``sha256sum`` of the decompressed file the array was read from,
    so content read from any source (a mirror's gzip, a CSV) can be checked
    against the published hashes of the raw files.
    """
    digest = hashlib.sha256(idx_header(array))
    big_endian = array.dtype.newbyteorder(">")
    _update_with_rows(digest, array.astype(big_endian, copy=False))
    return digest.hexdigest()


def _idx_header_info(head: bytes, name) -> tuple[int, np.dtype, int]:
    if len(head) < 4:
        raise DataFormatError(
            f"{name} is too short to be an IDX file ({len(head)} bytes)",
            "check that it is the right file and download it again",
        )
    zero1, zero2, code, ndim = head
    if zero1 or zero2 or code not in IDX_DTYPES or ndim == 0:
        raise DataFormatError(
            f"{name} is not an IDX file: magic number 0x{head.hex()} "
            "(expected 0x0000TTNN: two zero bytes, a type code 08-0E, a dimension count)",
            "check that you gave the right file",
        )
    return ndim, IDX_DTYPES[code], 4 + 4 * ndim


def _check_idx_payload(name, shape, dtype: np.dtype, payload_bytes: int) -> None:
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    dims = "x".join(str(s) for s in shape)
    if payload_bytes < expected:
        raise DataFormatError(
            f"{name} is truncated: its header declares {dims} values ({expected:,} bytes) "
            f"but only {payload_bytes:,} bytes follow",
            "download it again",
        )
    if payload_bytes > expected:
        raise DataFormatError(
            f"{name} has {payload_bytes - expected:,} bytes after the {expected:,} "
            f"its IDX header ({dims}) declares",
            "the file is corrupt or not what it claims to be: download it again",
        )


def _open_for_reading(path: Path):
    if path.is_dir():
        raise DataFormatError(f"{path} is a folder, not a data file", "give the path of a file")
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise DataFormatError(f"{path} does not exist", "check the path") from None
    except PermissionError:
        raise DataFormatError(
            f"{path} is not readable (permission denied)", "fix its permissions"
        ) from None
    except OSError as exc:
        raise DataFormatError(
            f"cannot open {path} ({exc.strerror or exc})", "check the file"
        ) from None


def _update_with_rows(digest, array: np.ndarray, block_bytes: int = 1 << 24) -> None:
    """Feed the C-order bytes of ``array`` to ``digest`` a block of rows at a time."""
    if array.ndim == 0 or array.shape[0] == 0:
        digest.update(np.ascontiguousarray(array).tobytes())
        return
    row_bytes = max(1, array.itemsize * int(np.prod(array.shape[1:], dtype=np.int64)))
    from ..rows.chunks import iter_stored_rows

    for _, block in iter_stored_rows(array, max(1, block_bytes // row_bytes)):
        digest.update(memoryview(np.ascontiguousarray(block)).cast("B"))


def content_sha256(X: np.ndarray, y: np.ndarray | None = None) -> str:
    """SHA-256 identifying a data set's content.

    The hash of the bytes of ``X`` in row-major order followed by those of
    ``y`` (when there are labels), each in its stored dtype. Two data sets with
    equal arrays of equal dtypes have equal hashes, whatever file they came from.
    """
    digest = hashlib.sha256()
    _update_with_rows(digest, X)
    if y is not None:
        _update_with_rows(digest, y)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- CSV


def read_csv(
    path: str | os.PathLike,
    *,
    label_column: int | str | None = None,
    on_rows=None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a CSV file of numbers into features and (optionally) labels.

    Parameters
    ----------
    path : path-like
        A comma-separated text file, optionally gzipped. A first row with any
        non-numeric field is taken as a header.
    label_column : int or str, optional
        The column holding the labels: an index (negative counts from the end)
        or a header name. Without it every column is a feature.
    on_rows : callable, optional
        Called with the number of rows parsed after each block, for progress.

    Returns
    -------
    X : ndarray
        uint8 if every feature value is a whole number from 0 to 255 (image
        data), float64 otherwise.
    y : ndarray or None
        int64 labels if they are whole numbers, float64 otherwise.
    """
    path = Path(path)
    text = read_bytes(path)
    return parse_csv_lines(
        io.TextIOWrapper(io.BytesIO(text), encoding="utf-8", errors="replace"),
        name=str(path),
        label_column=label_column,
        on_rows=on_rows,
    )


def parse_csv_lines(
    lines: Iterable[str],
    *,
    name: str,
    label_column: int | str | None = None,
    on_rows=None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Parse CSV text lines; see :func:`read_csv`."""
    numbered = (
        (number, line)
        for number, line in enumerate(lines, start=1)
        if line.strip()  # blank lines carry no row
    )
    first = next(numbered, None)
    if first is None:
        raise DataFormatError(f"{name} is empty: it holds no rows", "give a file with data")
    first_line = first[1]
    first_fields = [field.strip() for field in first_line.split(",")]
    header = None if all(_is_number(f) for f in first_fields) else first_fields
    n_columns = len(first_fields)
    label_index = _label_index(label_column, header, n_columns, name)

    rows: Iterator[tuple[int, str]] = numbered
    if header is None:
        rows = itertools.chain([first], numbered)
    blocks: list[np.ndarray] = []
    n_rows = 0
    while True:
        block = list(itertools.islice(rows, CSV_BLOCK_ROWS))
        if not block:
            break
        values = _parse_csv_block(block, n_columns, header, name)
        blocks.append(_narrow(values))
        n_rows += values.shape[0]
        if on_rows is not None:
            on_rows(values.shape[0])
    if n_rows == 0:
        raise DataFormatError(
            f"{name} has a header but no data rows", "give a file with at least one row of data"
        )
    common = np.result_type(*blocks)
    table = np.concatenate([b.astype(common, copy=False) for b in blocks])
    if label_index is None:
        return _narrow(table), None
    labels = table[:, label_index]
    features = np.delete(table, label_index, axis=1)
    if features.shape[1] == 0:
        raise DataFormatError(
            f"{name} has no feature columns besides the label column",
            "give a file with at least one feature column",
        )
    labels = labels.astype(np.int64) if _is_whole(labels) else labels.astype(np.float64)
    return _narrow(features), labels


def _parse_csv_block(block, n_columns: int, header, name: str) -> np.ndarray:
    try:
        values = np.loadtxt(
            [line for _, line in block], delimiter=",", dtype=np.float64, ndmin=2, comments=None
        )
    except ValueError:
        values = None
    if values is not None and values.shape[1] == n_columns:
        return values
    raise _diagnose_csv(block, n_columns, header, name)


def _diagnose_csv(block, n_columns: int, header, name: str) -> DataFormatError:
    """Find the first bad row of a block that numpy refused and say what is wrong."""
    for number, line in block:
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != n_columns:
            if header is not None:
                return DataFormatError(
                    f"{name}: line {number} has {len(fields)} fields but the header has "
                    f"{n_columns}",
                    "every row must have one value per header column",
                )
            return DataFormatError(
                f"{name} is ragged: line {number} has {len(fields)} fields, "
                f"earlier lines have {n_columns}",
                "every row must have the same number of values",
            )
        for column, field in enumerate(fields, start=1):
            if not _is_number(field):
                return DataFormatError(
                    f"{name}: line {number}, column {column} holds {field[:40]!r}, not a number",
                    "every value after the header row must be numeric",
                )
    return DataFormatError(f"{name} could not be parsed as CSV", "check the file's format")


def _label_index(label_column, header, n_columns: int, name: str) -> int | None:
    if label_column is None:
        return None
    if isinstance(label_column, str) and label_column.lstrip("-").isdigit():
        label_column = int(label_column)
    if isinstance(label_column, int):
        if not -n_columns <= label_column < n_columns:
            raise DataFormatError(
                f"label column {label_column} is out of range for {name}, "
                f"which has {n_columns} columns",
                f"give an index from 0 to {n_columns - 1} (or a negative one from the end)",
            )
        return label_column % n_columns
    if header is None:
        raise DataFormatError(
            f"{name} has no header row, so there is no column named {label_column!r}",
            "give the label column as a number (0 is the first column)",
        )
    if label_column not in header:
        raise DataFormatError(
            f"{name} has no column named {label_column!r} (its columns: "
            f"{', '.join(header[:5])}{', ...' if len(header) > 5 else ''})",
            "give one of the header names or a column number",
        )
    return header.index(label_column)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _is_whole(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _narrow(values: np.ndarray) -> np.ndarray:
    """uint8 if every value is a whole number in 0-255 (image data), else unchanged."""
    if values.dtype == np.uint8 or values.size == 0:
        return values
    if _is_whole(values) and values.min() >= 0 and values.max() <= 255:
        return values.astype(np.uint8)
    return values


# ----------------------------------------------------------------------------- .npy, .npz

#: Names under which an .npz file may hold the features and the labels.
NPZ_FEATURE_KEYS = ("X", "x", "data", "images")
NPZ_LABEL_KEYS = ("y", "labels", "target", "targets")


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """Memory-map a .npy file (never unpickling objects)."""
    path = Path(path)
    _open_for_reading(path).close()
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if _is_pickle_refusal(exc):
            raise _pickled(path) from None
        raise DataFormatError(f"{path} is not a valid .npy file ({exc})", "save it again") from None
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"{path} is not a valid .npy file ({exc})", "save it again") from None
    return _numeric(array, path)


def read_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read features and labels from an .npz archive.

    The features are the array named one of ``X, x, data, images`` (or the only
    array); the labels the one named ``y, labels, target, targets``, if any.
    """
    path = Path(path)
    _open_for_reading(path).close()
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFormatError(f"{path} is not a valid .npz file ({exc})", "save it again") from None
    with archive:
        keys = list(archive.keys())
        x_key = next((k for k in NPZ_FEATURE_KEYS if k in keys), None)
        if x_key is None and len(keys) == 1:
            x_key = keys[0]
        if x_key is None:
            raise DataFormatError(
                f"{path} holds arrays {keys} and none is named {', '.join(NPZ_FEATURE_KEYS)}",
                "save the features under the name X (and labels under y)",
            )
        y_key = next((k for k in NPZ_LABEL_KEYS if k in keys), None)
        try:
            X = archive[x_key]
            y = archive[y_key] if y_key else None
        except ValueError as exc:
            if _is_pickle_refusal(exc):
                raise _pickled(path) from None
            raise DataFormatError(f"{path} is corrupt ({exc})", "save it again") from None
        except (OSError, EOFError, zlib.error) as exc:
            raise DataFormatError(f"{path} is corrupt ({exc})", "save it again") from None
    return _numeric(X, path), None if y is None else _numeric(y, path)


def _is_pickle_refusal(exc: Exception) -> bool:
    text = str(exc)
    return "allow_pickle" in text or "Object arrays" in text or "Python objects" in text


def _pickled(path) -> DataFormatError:
    return DataFormatError(
        f"{path} holds Python objects (a pickled object array), which pcagmm never unpickles",
        "save a numeric array instead",
    )


def _numeric(array: np.ndarray, path) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise DataFormatError(
            f"{path} holds an array of dtype {array.dtype}, not numbers",
            "save a numeric (integer or float) array",
        )
    return array


def sniff_format(path: Path) -> str:
    """Name the format of a file: ``npy``, ``npz``, ``csv`` or ``idx``.

    The suffix decides where it is clear; otherwise the first bytes do.
    """
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".npy"):
        return "npy"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".idx") or "-ubyte" in name or "idx1" in name or "idx3" in name:
        return "idx"
    with _open_for_reading(path) as handle:
        head = handle.read(8)
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(ZIP_MAGIC):
        return "npz"
    if head.startswith(GZIP_MAGIC) or (len(head) >= 4 and head[:2] == b"\0\0"):
        return "idx"
    raise DataFormatError(
        f"cannot tell the format of {path}",
        "give a file ending in .npy, .npz, .csv or .idx (gzipped IDX may end in .gz)",
    )


def read_npy_header(handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The shape, Fortran order and dtype in the header of the ``.npy`` data open as
    ``handle`` (a binary file object), which is left at the first value.

    Raises
    ------
    ValueError
        For a header of a version numpy's readers do not know (1.0 and 2.0 are read).
    """
    version = np.lib.format.read_magic(handle)
    read_header = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }.get(version)
    if read_header is None:
        raise ValueError(
            f"the .npy data is in format version {version}, which pcagmm does not read"
        )
    return read_header(handle)
