"""Concurrent use: two real processes at once on one output folder or one cache entry.

Processes that must overlap are started behind a barrier (each touches a "ready" file,
then waits for a "go" file), and every wait is bounded. After each case the test checks
the exit codes, the one-line messages and every file involved: the output folder holds
the run that reported success, no temporary folder is left, the cache entry is whole.
RELIABILITY.md ("Concurrent use") lists the cases.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pcagmm
from commandline import one_line_error
from conftest import DEBIAN_FASHION
from pcagmm import _locks, datasets
from pcagmm._files import leftovers
from pcagmm.datasets import cache
from pcagmm.datasets.formats import content_sha256
from pcagmm.errors import ParameterError, PcagmmError
from pcagmm.workflow import artifacts

#: a process that imports pcagmm, says it is ready, waits for the go file, runs the CLI
BARRIER_LAUNCHER = """
import sys, time, pathlib
import pcagmm.workflow  # the imports before the barrier, so the runs start together
from pcagmm.cli import main
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ready.touch()
deadline = time.monotonic() + 120
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("the barrier was never opened")
    time.sleep(0.001)
sys.exit(main(sys.argv[3:]))
"""

TIMEOUT = 240


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def at_once(tmp_path: Path, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    """Run the CLI commands in separate processes released together; their results."""
    barrier = tmp_path / "barrier"
    barrier.mkdir(exist_ok=True)
    go = barrier / "go"
    go.unlink(missing_ok=True)
    processes, ready = [], []
    for number, args in enumerate(commands):
        ready.append(barrier / f"ready-{number}")
        ready[-1].unlink(missing_ok=True)
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", BARRIER_LAUNCHER, ready[-1], go, *map(str, args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        )
    try:
        wait_for(lambda: all(r.exists() for r in ready), "the processes to be ready")
        go.touch()
        outputs = [p.communicate(timeout=TIMEOUT) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [
        subprocess.CompletedProcess(p.args, p.returncode, out, err)
        for p, (out, err) in zip(processes, outputs, strict=True)
    ]


def beside(out: Path) -> list[str]:
    """Names in the output folder's parent (the folder itself and anything left beside)."""
    return sorted(p.name for p in out.parent.iterdir())


@pytest.fixture
def blobs_file(tmp_path) -> Path:
    """A data file whose run takes about a second: long enough for two runs to overlap."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=8, size=(4, 6))
    X = np.concatenate([c + rng.normal(size=(20_000, 6)) for c in centres])
    np.save(tmp_path / "blobs.npy", X)
    return tmp_path / "blobs.npy"


def run_args(data: Path, out: Path, *extra) -> list:
    return ["run", "--dataset", data, "--out", out, "--no-plots", "--quiet", *extra]


# ----------------------------------------------------------------------------- the lock


def test_lock_is_exclusive_names_its_holder_and_is_removed(tmp_path):
    path = tmp_path / ".out.tmp-lock"
    with _locks.exclusive(path):
        assert _locks.holder(path) == os.getpid()
        with pytest.raises(_locks.LockHeld) as held, _locks.exclusive(path):
            pass
        assert held.value.pid == os.getpid()
    assert not path.exists()


def test_lock_left_by_a_killed_holder_is_taken_over(tmp_path):
    path = tmp_path / ".out.tmp-lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pcagmm import _locks\n"
         "with _locks.exclusive(sys.argv[1]):\n    print('held', flush=True)\n"
         "    time.sleep(120)", path],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(_locks.LockHeld) as held, _locks.exclusive(path):
            pass
        assert held.value.pid == holder.pid
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert path.exists()  # SIGKILL: the file stays, the lock does not
    with _locks.exclusive(path):
        assert _locks.holder(path) == os.getpid()
    assert not path.exists()


# ----------------------------------------------------------------------------- runs


@pytest.mark.parametrize("settings", ["different", "same"])
def test_two_runs_on_one_folder_at_once(settings, blobs_file, tmp_path):
    out = tmp_path / "runs" / "out"
    second = ["--clusters", "3"] if settings == "different" else []
    results = at_once(tmp_path, run_args(blobs_file, out, "--json"),
                      run_args(blobs_file, out, "--json", *second))  # fmt: skip
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 2], [(r.returncode, r.stderr[-500:]) for r in results]
    winner = next(r for r in results if r.returncode == 0)
    loser = next(r for r in results if r.returncode == 2)
    one_line_error(loser, f"is writing {out}; wait for it to finish and run again, or choose")
    assert "another pcagmm run (process " in loser.stderr
    # the folder holds the run that reported success, whole
    reported = json.loads(winner.stdout)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"] == reported["config"]
    assert summary["mixture"]["weights"] == reported["mixture"]["weights"]
    assert reported["out"] == str(out)
    assert beside(out) == ["out"]  # no lock file, no temporary folder


def test_run_refused_while_a_live_run_holds_the_folder(blobs_file, tmp_path):
    """A live holder's temporary folder is never removed; the holder then finishes."""
    out = tmp_path / "runs" / "out"
    out.parent.mkdir()
    release = tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, pathlib\n"
         "from pcagmm._files import atomic_folder\nfrom pcagmm.workflow import artifacts\n"
         "out, release = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
         "with artifacts.claim_out(out, {'who': 'holder'}, False), atomic_folder(out) as b:\n"
         "    (b / 'summary.json').write_text('{\"config\": {\"who\": \"holder\"}}')\n"
         "    print('writing', b.name, flush=True)\n"
         "    deadline = time.monotonic() + 120\n"
         "    while not release.exists() and time.monotonic() < deadline:\n"
         "        time.sleep(0.01)\n", out, release],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        word, build = holder.stdout.readline().split()
        assert word == "writing"
        before = beside(out)
        assert before == sorted([".out.tmp-lock", build])
        result = subprocess.run(
            [sys.executable, "-m", "pcagmm", *map(str, run_args(blobs_file, out))],
            capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        one_line_error(result, f"another pcagmm run (process {holder.pid}) is writing {out}")
        assert beside(out) == before  # the live run's folder is untouched
        release.touch()
        assert holder.wait(timeout=60) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert beside(out) == ["out"]
    assert json.loads((out / "summary.json").read_text())["config"] == {"who": "holder"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_run_interrupted_while_writing_then_run_again(sig, tmp_path):
    """Interrupted while its folder is being built (not merely while it holds the lock):
    SIGINT cleans up everything; SIGKILL leaves only temporaries (the lock file and the
    folder being built), which the next run on that folder removes."""
    data = tmp_path / "blobs.npy"
    rng = np.random.default_rng(1)
    np.save(data, rng.normal(size=(60_000, 8)))
    out = tmp_path / "runs" / "out"
    command = [sys.executable, "-m", "pcagmm", "run", "--dataset", data, "--out", out]
    for _attempt in range(3):  # a run that finishes before the signal lands is tried again
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            # a background job (CI started with `&`) inherits SIGINT ignored: undo that
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        build = []

        def writing(process=process, build=build):
            build[:] = [p for p in leftovers(out) if p.is_dir() and ".tmp-" in p.name]
            return bool(build) or process.poll() is not None

        wait_for(writing, "the run to start writing")
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
        if process.returncode != 0 and build:
            break
        # finished first: start again from nothing
        for path in out.parent.iterdir():
            subprocess.run(["rm", "-rf", path], check=True)
    assert process.returncode != 0 and build, "three runs finished before the signal"
    left = beside(out)
    if sig == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert stderr.strip().splitlines()[-1].startswith("pcagmm: error: interrupted")
        assert left == []  # no folder, no temporary folder, no lock file
    else:
        assert process.returncode == -signal.SIGKILL
        assert ".out.tmp-lock" in left, left
        assert build[0].name in left, left
        assert all(name.startswith(".out.tmp-") for name in left), left
    result = subprocess.run([*command, "--no-plots"], capture_output=True, text=True,
                            timeout=TIMEOUT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert beside(out) == ["out"]
    assert (out / "summary.json").is_file()


def test_interrupted_replacement_is_put_back(blobs_file, tmp_path):
    """A run killed between moving the old folder aside and renaming its own into place
    leaves no folder; the next run puts the old one back, then judges it as usual."""
    out = tmp_path / "out"
    first = subprocess.run(
        [sys.executable, "-m", "pcagmm", *map(str, run_args(blobs_file, out))],
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    kept = (out / "summary.json").read_text()
    # what atomic_folder leaves when killed at that instant, and a lock file
    aside = tmp_path / ".out.old-k1ll3d_x"
    aside.mkdir()
    out.rename(aside / "out")
    (tmp_path / ".out.tmp-abcd1234").mkdir()
    (tmp_path / ".out.tmp-abcd1234" / "clusters.csv").write_text("half")
    (tmp_path / ".out.tmp-lock").write_text("999999\n")
    different = subprocess.run(
        [sys.executable, "-m", "pcagmm", *map(str, run_args(blobs_file, out, "--clusters", "3"))],
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    one_line_error(different, "already holds a different run; choose another --out, or pass")
    assert (out / "summary.json").read_text() == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blobs.npy", "out"]


def test_claim_in_python_names_the_out_parameter(tmp_path):
    out = tmp_path / "runs" / "out"
    refused = pytest.raises(ParameterError, match="or choose another out$")
    with artifacts.claim_out(out, {}, False), refused:
        pcagmm.run(np.eye(4), out=out, components=1, clusters=1)
    assert beside(out) == []


def test_unrelated_names_beside_are_kept(blobs_file, tmp_path):
    """Only this folder's own temporary names are removed: not a folder whose name
    merely starts the same, nor another run's temporaries."""
    out = tmp_path / "out"
    others = [".out.tmp-x.tmp-abcd1234", ".out.tmp-notrandom", ".out2.tmp-abcd1234", "out.old"]
    for name in others:
        (tmp_path / name).mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pcagmm", *map(str, run_args(blobs_file, out))],
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["blobs.npy", "out", *others])


# ----------------------------------------------------------------------------- the cache


def test_two_fetches_of_different_data_sets_at_once(shared_mnist, cache_dir, tmp_path):
    if not DEBIAN_FASHION.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is absent")
    results = at_once(
        tmp_path,
        ["data", "fetch", "mnist", "--from", shared_mnist],
        ["data", "fetch", "fashion-mnist"],
    )
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-500:] for r in results]
    for name in ("mnist", "fashion-mnist"):
        assert cache.is_complete(cache_dir / name)
        assert datasets.verify(name).verified is True
    assert not [p.name for p in cache_dir.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


#: a process that replaces the digits entry again and again until told to stop:
#: with an "older" entry (other rows, its own hash), then with `data fetch --force`
REPLACER = """
import contextlib, io, sys, json, time, pathlib
import numpy as np
from pcagmm import datasets
from pcagmm.cli import main
from pcagmm.datasets import cache
from pcagmm.datasets.formats import content_sha256
stop = pathlib.Path(sys.argv[1])
root = cache.cache_root()
entry = cache.entry_dir("digits", root)
new = datasets.load("digits")
old_X = (16 - np.asarray(new.X)).astype(new.X.dtype)
old_y = np.asarray(new.y)
old_meta = json.loads((entry / "meta.json").read_text())
old_meta["sha256"] = content_sha256(old_X, old_y)
rounds = 0
deadline = time.monotonic() + 120
while not stop.exists() and time.monotonic() < deadline:
    with cache.locked(root, "digits"):
        cache.write_entry(entry, old_X, old_y, old_meta)
    with contextlib.redirect_stdout(io.StringIO()):  # its result line is not for the test
        assert main(["data", "fetch", "digits", "--force", "--quiet"]) == 0
    rounds += 1
    if rounds == 1:
        print("replacing", flush=True)  # the test starts once one round is done
print(rounds, old_meta["sha256"], flush=True)
"""


@pytest.fixture
def replacer(tmp_path):
    """Start the replacer; yields a function that stops it and returns (rounds, old hash)."""
    datasets.fetch("digits")
    stop = tmp_path / "stop-replacing"
    process = subprocess.Popen(
        [sys.executable, "-c", REPLACER, stop], stdout=subprocess.PIPE, text=True
    )
    new = datasets.load("digits")
    # wait for its first round (its start-up alone can outlast a quick test), bounded
    ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
    assert ready and process.stdout.readline() == "replacing\n"

    def finish():
        stop.touch()
        out, _ = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0
        rounds, old_sha = out.split()
        return int(rounds), old_sha

    try:
        yield new, finish
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_loads_while_fetch_force_replaces_the_entry(replacer, cache_dir):
    """Every load sees one entry whole: the hash it reports is that of the rows it holds."""
    new, finish = replacer
    counts, failures = {}, []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        try:
            dataset = datasets.load("digits")
        except PcagmmError as exc:  # e.g. "damaged": read in the instant of a replacement
            failures.append(str(exc))
            continue
        content = content_sha256(dataset.X, dataset.y)
        if content != dataset.sha256:
            failures.append(f"meta.json says {dataset.sha256}, the rows are {content}")
        counts[dataset.sha256] = counts.get(dataset.sha256, 0) + 1
    rounds, old_sha = finish()
    assert failures == [], (len(failures), failures[:3], counts)
    assert set(counts) == {new.sha256, old_sha}, counts  # it saw both, each whole
    assert rounds > 0
    assert cache.is_complete(cache_dir / "digits")
    assert datasets.verify("digits").verified is True


def test_runs_while_fetch_force_replaces_the_entry(replacer, tmp_path):
    """A run's summary.json names the hash of the data it used, and its results are
    those of that data (the PCA mean of every row), old or new, never a mix."""
    new, finish = replacer
    old_X = (16 - np.asarray(new.X)).astype(np.float64)
    means = {new.sha256: np.asarray(new.X, np.float64).mean(axis=0)}
    used = []
    for number in range(12):
        out = tmp_path / "runs" / f"run-{number}"
        pcagmm.run("digits", out=out, plots=False, clusters=3)
        used.append(json.loads((out / "summary.json").read_text()))
    rounds, old_sha = finish()
    means[old_sha] = old_X.mean(axis=0)
    assert rounds > 0
    for summary in used:
        sha = summary["data"]["sha256"]
        assert sha in means, sha
        np.testing.assert_allclose(summary["pca"]["mean"], means[sha], atol=1e-9)
    assert not list((tmp_path / "runs").glob(".*"))
