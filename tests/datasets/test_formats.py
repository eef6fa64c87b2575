"""File formats: IDX, CSV, .npy, .npz, each against an independent reference and its bad inputs."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcagmm.datasets import load_path
from pcagmm.datasets.formats import (
    content_sha256,
    idx_sha256,
    parse_csv_lines,
    read_csv,
    read_idx,
    read_npy,
    read_npz,
)
from pcagmm.errors import DataFormatError

FIXTURE_REUSE = HealthCheck.function_scoped_fixture  # each example overwrites its own file


def idx_file_bytes(array: np.ndarray, code: int) -> bytes:
    """IDX bytes written by hand from the format's definition (the reference)."""
    big = array.astype(array.dtype.newbyteorder(">"))
    return (
        struct.pack(">BBBB", 0, 0, code, array.ndim)
        + b"".join(struct.pack(">I", s) for s in array.shape)
        + big.tobytes()
    )


IDX_CASES = [
    (np.uint8, 0x08),
    (np.int8, 0x09),
    (np.int16, 0x0B),
    (np.int32, 0x0C),
    (np.float32, 0x0D),
    (np.float64, 0x0E),
]


@pytest.mark.parametrize(("dtype", "code"), IDX_CASES)
@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_round_trip_every_type(tmp_path, dtype, code, gzipped):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(5, 3, 2)) * 50).astype(dtype)
    raw = idx_file_bytes(array, code)
    path = tmp_path / ("a.idx.gz" if gzipped else "a.idx")
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    read = read_idx(path)
    assert read.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(read, array)
    # the hash of the array equals the hash of the uncompressed file
    assert idx_sha256(read) == hashlib.sha256(raw).hexdigest()


def test_raw_uint8_idx_is_memory_mapped(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(4, 6)
    path = tmp_path / "x-ubyte"
    path.write_bytes(idx_file_bytes(array, 0x08))
    read = read_idx(path)
    assert isinstance(read, np.memmap)
    np.testing.assert_array_equal(read, array)


def test_idx_hash_of_the_shared_mnist_file_equals_its_published_hash(shared_mnist):
    published = dict(
        reversed(line.split())
        for line in (shared_mnist / "SHA256SUMS.raw").read_text().splitlines()
    )
    labels = read_idx(shared_mnist / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10_000,)
    assert idx_sha256(labels) == published["t10k-labels-idx1-ubyte"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00", "too short to be an IDX file"),
        (b"\x12\x34\x08\x01" + b"\x00" * 8, "not an IDX file: magic number 0x12340801"),
        (b"\x00\x00\x07\x01" + b"\x00" * 8, "not an IDX file"),
        (b"\x00\x00\x08\x00", "not an IDX file"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated: its IDX header declares 3 dimensions"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "truncated: its header declares 5 values"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x02abcd", "has 2 bytes after the 2 its IDX header"),
    ],
)
@pytest.mark.parametrize("gzipped", [False, True])
def test_bad_idx_files_name_the_problem(tmp_path, content, message, gzipped):
    path = tmp_path / ("bad-ubyte.gz" if gzipped else "bad-ubyte")
    path.write_bytes(gzip.compress(content) if gzipped else content)
    with pytest.raises(DataFormatError, match=message.replace("(", r"\(")) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_gzip(tmp_path):
    good = gzip.compress(idx_file_bytes(np.zeros((50, 50), np.uint8), 0x08))
    path = tmp_path / "x-ubyte.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataFormatError, match="truncated or corrupt gzip file.*download it again"):
        read_idx(path)


def test_corrupt_gzip_payload(tmp_path):
    good = bytearray(gzip.compress(idx_file_bytes(np.arange(200, dtype=np.uint8), 0x08)))
    good[-8] ^= 0xFF  # break the CRC
    path = tmp_path / "x-ubyte.gz"
    path.write_bytes(bytes(good))
    with pytest.raises(DataFormatError, match="truncated or corrupt gzip"):
        read_idx(path)


def test_gz_name_without_gzip_content(tmp_path):
    path = tmp_path / "x-ubyte.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataFormatError, match="named .gz but is not gzip data"):
        read_idx(path)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=64), gzipped=st.booleans())
def test_idx_reader_fuzz_gives_an_array_or_our_error(tmp_path, content, gzipped):
    # Prefix half the cases with a plausible header so the fuzzer reaches the payload checks.
    path = tmp_path / ("fuzz-ubyte.gz" if gzipped else "fuzz-ubyte")
    path.write_bytes(gzip.compress(content) if gzipped else content)
    try:
        array = read_idx(path)
    except DataFormatError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(array, np.ndarray)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    dims=st.lists(st.integers(0, 4), min_size=1, max_size=3),
    code=st.sampled_from([c for _, c in IDX_CASES]),
    extra=st.integers(-3, 3),
)
def test_idx_reader_fuzz_on_headers(tmp_path, dims, code, extra):
    itemsize = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}[code]
    expected = int(np.prod(dims)) * itemsize
    payload = max(0, expected + extra)
    content = struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims) + b"\x01" * payload
    path = tmp_path / "fuzz-ubyte"
    path.write_bytes(content)
    if payload == expected:
        assert read_idx(path).shape == tuple(dims)
    else:
        with pytest.raises(DataFormatError, match="truncated|bytes after"):
            read_idx(path)


# ----------------------------------------------------------------------------- CSV


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header_and_label_column_by_name(tmp_path):
    path = write(tmp_path, "d.csv", "label,p1,p2\n3,0,255\n7,12,1\n")
    X, y = read_csv(path, label_column="label")
    assert X.dtype == np.uint8
    np.testing.assert_array_equal(X, [[0, 255], [12, 1]])
    np.testing.assert_array_equal(y, [3, 7])
    assert y.dtype == np.int64


def test_csv_without_header_label_by_index_and_float_features(tmp_path):
    path = write(tmp_path, "d.csv", "0.5,1,2\n1.5,3,4\n")
    X, y = read_csv(path, label_column=-1)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[0.5, 1], [1.5, 3]])
    np.testing.assert_array_equal(y, [2, 4])


def test_csv_without_labels_keeps_every_column(tmp_path):
    X, y = read_csv(write(tmp_path, "d.csv", "1,2\n3,400\n"))
    assert y is None
    assert X.dtype == np.float64  # 400 does not fit in uint8
    np.testing.assert_array_equal(X, [[1, 2], [3, 400]])


def test_csv_many_blocks_equal_numpy_reference(tmp_path, monkeypatch):
    monkeypatch.setattr("pcagmm.datasets.formats.CSV_BLOCK_ROWS", 7)
    rng = np.random.default_rng(1)
    table = rng.integers(0, 256, size=(50, 6))
    table[40, 2] = 300  # a late block that is not uint8 must widen the earlier ones
    path = tmp_path / "d.csv"
    np.savetxt(path, table, delimiter=",", fmt="%d", header="a,b,c,d,e,f", comments="")
    X, y = read_csv(path, label_column="a")
    np.testing.assert_array_equal(X, table[:, 1:])
    np.testing.assert_array_equal(y, table[:, 0])


@pytest.mark.parametrize(
    ("text", "label_column", "message"),
    [
        ("", None, "is empty: it holds no rows"),
        ("\n\n", None, "is empty"),
        ("a,b\n", None, "has a header but no data rows"),
        ("1,2,3\n4,5\n", None, "is ragged: line 2 has 2 fields, earlier lines have 3"),
        ("a,b,c\n1,2,3\n4,5\n", None, "line 3 has 2 fields but the header has 3"),
        ("a,b\n1,2\n3,x\n", None, "line 3, column 2 holds 'x', not a number"),
        ("1,2\n3,4\n", "label", "no header row, so there is no column named 'label'"),
        ("a,b\n1,2\n", "c", "has no column named 'c'"),
        ("1,2\n", 5, "label column 5 is out of range"),
        ("1\n2\n", 0, "no feature columns besides the label column"),
    ],
)
def test_bad_csv_names_the_problem(tmp_path, text, label_column, message):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataFormatError, match=message) as info:
        read_csv(path, label_column=label_column)
    assert "\n" not in str(info.value)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789,.-e \nxnaif", max_size=80))
def test_csv_parser_fuzz_gives_arrays_or_our_error(text):
    try:
        X, y = parse_csv_lines(text.splitlines(keepends=True), name="fuzz.csv")
    except DataFormatError as exc:
        assert "\n" not in str(exc)
    else:
        assert X.ndim == 2 and X.shape[0] >= 1
        assert y is None


# ----------------------------------------------------------------------------- .npy, .npz


def test_npy_is_memory_mapped(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(12, dtype=np.uint8).reshape(3, 4))
    X = read_npy(path)
    assert isinstance(X, np.memmap)
    assert X.shape == (3, 4)


def test_npy_object_array_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match="pickled object array.*never unpickles"):
        read_npy(path)


def test_npy_of_strings_is_refused(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.array([["a", "b"]]))
    with pytest.raises(DataFormatError, match="dtype <U1, not numbers"):
        read_npy(path)


def test_corrupt_npy(tmp_path):
    path = tmp_path / "c.npy"
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataFormatError, match="is not a valid .npy file"):
        read_npy(path)


def test_npz_with_named_arrays(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.ones((4, 2)), y=np.arange(4))
    X, y = read_npz(path)
    assert X.shape == (4, 2)
    np.testing.assert_array_equal(y, np.arange(4))


def test_npz_with_unknown_names(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, a=np.ones(3), b=np.ones(3))
    with pytest.raises(DataFormatError, match=r"holds arrays \['a', 'b'\].*save the features"):
        read_npz(path)


def test_npz_with_object_array_is_refused(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.array([None, 1], dtype=object))
    with pytest.raises(DataFormatError, match="never unpickles"):
        read_npz(path)


# ----------------------------------------------------------------------------- load_path


def test_load_path_reshapes_images_to_rows(tmp_path):
    path = tmp_path / "imgs.npy"
    np.save(path, np.zeros((5, 4, 3), np.uint8))
    dataset = load_path(path)
    assert dataset.shape == (5, 12)
    assert dataset.image_shape == (4, 3)
    assert dataset.verified is None


def test_load_path_finds_idx_labels_beside_images(shared_mnist):
    dataset = load_path(shared_mnist / "t10k-images-idx3-ubyte.gz")
    assert dataset.shape == (10_000, 784)
    assert dataset.class_counts()[0] == 980


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: np.save(p / "one.npy", np.arange(3)), "holds a 1-D array"),
        (lambda p: np.save(p / "one.npy", np.zeros((0, 3))), "holds no data"),
        (lambda p: (p / "one.npy").mkdir(), "is a folder, not a data file"),
        (lambda p: None, "does not exist"),
        (lambda p: (p / "one.npy").write_bytes(b""), "not a valid .npy file"),
    ],
)
def test_load_path_bad_files(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(DataFormatError, match=message):
        load_path(tmp_path / "one.npy")


def test_load_path_unknown_format(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(DataFormatError, match="cannot tell the format"):
        load_path(path)


def test_label_column_only_for_csv(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 2)))
    with pytest.raises(Exception, match="label column only applies to CSV"):
        load_path(path, label_column=0)


def test_content_hash_is_the_hash_of_the_bytes_even_for_strided_arrays():
    base = np.arange(600, dtype=np.uint8).reshape(20, 30)
    X = base[:, ::2]  # not contiguous
    y = np.arange(20, dtype=np.uint8)
    expected = hashlib.sha256(np.ascontiguousarray(X).tobytes() + y.tobytes()).hexdigest()
    assert content_sha256(X, y) == expected
