"""A folder of a million small pictures: time and peak memory of reading it, pcagmm against
the loop people write.

Usage: python benchmarks/image_folder.py [--sizes 10000,100000,1000000] [--folder DIR]
                                         [--workers 2]

For each size N, a folder of N grey 28 x 28 PNG files in 10 class subfolders
(``<digit>/<number>.png``: scikit-learn's 8 x 8 digits scaled to 20 x 20 and put at a random
place of a black 28 x 28 field, as MNIST's are) is made once with a process pool and kept in
--folder (``n<N>/``, reused while its ``.complete`` file is there). Each reader then runs in
a fresh Python process, one after another:

* ``pcagmm.datasets.load(folder)`` with the command line's progress (``RichProgress``, drawn
  because ``TTY_COMPATIBLE=1``), an empty ``PCAGMM_CACHE`` of its own: the first read
  (decode every file into the cache) and the second (hash every file, memory-map the entry);
* the loop people write, torchvision's ``ImageFolder`` order with a list of arrays:
  the classes are the sorted subfolders, the files of each sorted, then
  ``np.stack([np.asarray(Image.open(p).convert("L")) for p in paths])`` and the labels
  from the folders' names (one thread).

Each process reports its own peak resident size (``ru_maxrss``); beside it this process
reads ``/proc/PID/status`` every 50 ms and keeps the largest VmRSS, RssAnon (the heap and
arrays), RssFile (mapped files: the cache's pages) and RssShmem. The three readers must give
the same rows and labels (their SHA-256 is compared). Then the slope between sizes, in bytes
a file (flat memory: a slope near zero, or the few bytes a file a listing costs), and the
loop's time and memory against pcagmm's, measured in this run. The files stay in the page
cache between the readers (the machine's memory holds them), so the reads measure decoding
and hashing, not the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

CLASSES = 10
SIDE = 28  # the pictures are SIDE x SIDE grey levels
DIGIT = 20  # the digit's size inside the picture, as MNIST's
FILES_A_TASK = 5_000

PCAGMM = """
import json, resource, sys, time
started = time.perf_counter()
import pcagmm.datasets
from pcagmm.progress import RichProgress
imported = time.perf_counter()
dataset = pcagmm.datasets.load(sys.argv[1], progress=RichProgress())
loaded = time.perf_counter()
print(json.dumps({"import": imported - started, "load": loaded - imported,
                  "rows": dataset.shape[0], "sha256": dataset.sha256,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

NAIVE = """
import hashlib, json, os, resource, sys, time
started = time.perf_counter()
import numpy as np
from PIL import Image
imported = time.perf_counter()
root = sys.argv[1]
classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
paths, labels = [], []
for label, name in enumerate(classes):
    for top, _, names in sorted(os.walk(os.path.join(root, name))):
        for file in sorted(names):
            paths.append(os.path.join(top, file))
            labels.append(label)
X = np.stack([np.asarray(Image.open(p).convert("L")) for p in paths])
y = np.array(labels, dtype=np.uint8)
loaded = time.perf_counter()
digest = hashlib.sha256(memoryview(X).cast("B"))  # as pcagmm's content_sha256: X, then y
digest.update(memoryview(y).cast("B"))
print(json.dumps({"import": imported - started, "load": loaded - imported,
                  "rows": len(X), "sha256": digest.hexdigest(),
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem")


# ----------------------------------------------------------------------------- the folder

_digits = None


def _write_pictures(job: tuple[str, int, int]) -> int:
    """Write pictures ``start`` to ``stop - 1`` of the folder (one task of the pool)."""
    global _digits
    import numpy as np
    from PIL import Image

    folder, start, stop = job
    if _digits is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        _digits = (np.round(digits.data * 255 / 16).astype(np.uint8), digits.target)
    rows, targets = _digits
    for number in range(start, stop):
        rng = np.random.default_rng(number)
        source = int(rng.integers(len(rows)))
        small = Image.fromarray(rows[source].reshape(8, 8), "L")
        picture = Image.new("L", (SIDE, SIDE), 0)
        x, y = (int(v) for v in rng.integers(0, SIDE - DIGIT + 1, 2))
        picture.paste(small.resize((DIGIT, DIGIT), Image.Resampling.BILINEAR), (x, y))
        picture.save(Path(folder) / str(targets[source]) / f"{number:07d}.png")
    return stop - start


def make_folder(base: Path, files: int, workers: int) -> Path:
    """The folder of ``files`` pictures, made (in parallel) unless it is complete."""
    folder = base / f"n{files}"
    done = folder / ".complete"  # hidden: neither reader lists it
    if done.is_file() and done.read_text() == str(files):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for label in range(CLASSES):
        (folder / str(label)).mkdir(parents=True)
    jobs = [(str(folder), start, min(start + FILES_A_TASK, files))
            for start in range(0, files, FILES_A_TASK)]  # fmt: skip
    started = time.perf_counter()
    written = 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for count in pool.map(_write_pictures, jobs):
            written += count
            print(f"\r  making {folder}: {written:,} / {files:,} files", end="", flush=True)
    print(f" in {time.perf_counter() - started:.0f} s")
    done.write_text(str(files))
    return folder


# ----------------------------------------------------------------------------- measuring


def _status(pid: int) -> dict[str, int]:
    """The resident sizes of ``/proc/PID/status``, in bytes."""
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in FIELDS:
                values[name] = int(rest.split()[0]) * 1024  # kB
    return values


def measured(code: str, folder: Path, env: dict, log: Path) -> dict:
    """Run ``code`` on ``folder`` in a fresh process: its JSON line, the wall seconds, and
    the peaks of its resident sizes sampled every 50 ms (bytes)."""
    started = time.perf_counter()
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-c", code, str(folder)], env=env,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)  # fmt: skip
        peaks = dict.fromkeys(FIELDS, 0)
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    for name, value in _status(process.pid).items():
                        peaks[name] = max(peaks[name], value)
                except (OSError, ValueError):
                    pass  # the process is ending
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, _ = process.communicate()
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"the reader failed:\n{log.read_text()[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall=wall, peaks=peaks, maxrss=result.pop("maxrss_kib") * 1024)
    return result


def progress_seen(log: Path, words: str) -> int:
    """How many times the bar ``words`` was drawn on the reader's standard error."""
    return log.read_text(errors="replace").count(words)


# ----------------------------------------------------------------------------- the run


def mib(value: float) -> str:
    return f"{value / 2**20:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="numbers of files, comma-separated")  # fmt: skip
    parser.add_argument("--folder", default="/tmp/pcagmm-image-folder",
                        help="where the folders (and the readers' caches) are kept")  # fmt: skip
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes that make the pictures")  # fmt: skip
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    base = Path(args.folder)
    base.mkdir(parents=True, exist_ok=True)

    readers = ("pcagmm, first read", "pcagmm, second read", "the loop")
    results: dict[int, dict[str, dict]] = {}
    header = (f"{'files':>10}  {'reader':<20} {'wall s':>7} {'load s':>7} {'maxrss':>8} "
              + " ".join(f"{f:>8}" for f in FIELDS) + "   (peaks, MiB)")  # fmt: skip
    lines = []
    for files in sizes:
        folder = make_folder(base, files, args.workers)
        cache = base / f"cache-{files}"
        shutil.rmtree(cache, ignore_errors=True)
        env = {**os.environ, "PCAGMM_CACHE": str(cache), "TTY_COMPATIBLE": "1"}
        logs = [base / f"stderr-{files}-{i}.txt" for i in range(3)]
        runs = {
            readers[0]: measured(PCAGMM, folder, env, logs[0]),
            readers[1]: measured(PCAGMM, folder, env, logs[1]),
            readers[2]: measured(NAIVE, folder, env, logs[2]),
        }
        digests = {run["sha256"] for run in runs.values()}
        assert len(digests) == 1, f"the readers read different rows: {runs}"
        assert all(run["rows"] == files for run in runs.values())
        bars = (progress_seen(logs[0], "read pictures"), progress_seen(logs[1], "hash pictures"))
        assert min(bars) > 0, f"no progress bar drawn on the readers' stderr ({logs[:2]})"
        results[files] = runs
        for number, (name, run) in enumerate(runs.items()):
            p = run["peaks"]
            count = f"{files:,}" if number == 0 else ""
            lines.append(f"{count:>10}  {name:<20} {run['wall']:7.1f} "
                         f"{run['load']:7.1f} {mib(run['maxrss'])} "
                         + " ".join(mib(p[f]) for f in FIELDS))  # fmt: skip
        print(
            f"  {files:,} files: the same rows from the three readers; progress bars drawn "
            f"{bars[0]:,} times (read pictures), {bars[1]:,} (hash pictures)",
            flush=True,
        )

    print()
    print(header)
    print("\n".join(lines))

    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(
            f"\nmemory a file, from {small:,} to {large:,} files (peak difference / "
            f"{large - small:,} files; flat memory: near 0):"
        )
        print(f"  {'reader':<20} {'maxrss':>8} " + " ".join(f"{f:>8}" for f in FIELDS)
              + "   (bytes a file)")  # fmt: skip
        for name in readers:
            a, b = results[small][name], results[large][name]
            slopes = [(b["maxrss"] - a["maxrss"]) / (large - small)]
            slopes += [(b["peaks"][f] - a["peaks"][f]) / (large - small) for f in FIELDS]
            print(f"  {name:<20} " + " ".join(f"{s:8.0f}" for s in slopes))

    print("\nthe loop against pcagmm (load time; peak resident size, ru_maxrss):")
    for files in sizes:
        runs = results[files]
        loop = runs[readers[2]]
        first, second = runs[readers[0]], runs[readers[1]]
        print(f"  {files:>10,} files: time {loop['load'] / first['load']:5.2f}x the first read,"
              f" {loop['load'] / second['load']:5.2f}x the second;"
              f" memory {loop['maxrss'] / first['maxrss']:5.2f}x the first,"
              f" {loop['maxrss'] / second['maxrss']:5.2f}x the second")  # fmt: skip


if __name__ == "__main__":
    main()
