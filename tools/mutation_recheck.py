"""Run chosen test files against mutants that ``mutmut run`` left alive.

A mutant that survived the whole targeted suite survives any subset of it, so to see
which survivors new tests kill it is enough to run only the new tests against them.
Each mutant runs in a forked child (pcagmm, numpy, scikit-learn and matplotlib are
imported once) with mutmut's switch ``MUTANT_UNDER_TEST`` set; the code under test is
the mutated copy in ``mutants/src`` that ``mutmut run`` generated.

    PYTHONPATH=mutants/src python tools/mutation_recheck.py --out recheck.json \\
        tests/*/test_mutants_*.py

With no names on stdin it rechecks every mutant whose verdict in ``mutants/`` is
``survived`` (or ``no tests``); ``--names FILE`` reads the names from a file instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutation_tally import verdicts


def run_one(name: str, tests: list[str], timeout: float) -> str:
    """Run ``tests`` with mutant ``name`` switched on ("" for none); the verdict."""
    pid = os.fork()
    if pid == 0:  # the child: run the tests with this mutant switched on
        os.environ["MUTANT_UNDER_TEST"] = name
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        import pytest

        code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-m", "not slow", *tests])
        os._exit(int(code))
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    code = os.WEXITSTATUS(status)
    return {0: "survived", 1: "killed", 3: "killed"}.get(code, f"pytest exit {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tests", nargs="+", help="test files to run against each mutant")
    parser.add_argument("--names", type=Path, help="file of mutant names, one a line")
    parser.add_argument("--root", type=Path, default=Path("mutants"))
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    parser.add_argument("--out", type=Path, help="write {name: verdict} here (JSON)")
    parser.add_argument("--pytest-args", default="", help='more pytest options, e.g. "-k x"')
    args = parser.parse_args()
    tests = [*args.tests, *shlex.split(args.pytest_args)]
    if args.names:
        names = [line.split("\t")[-1].strip() for line in args.names.read_text().splitlines()]
        names = [n for n in names if n]
    else:
        names = [
            name
            for found in verdicts(args.root).values()
            for name, status in found.items()
            if status in ("survived", "no tests")
        ]
    import matplotlib  # noqa: F401  (imported once, before the forks)
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import sklearn.mixture  # noqa: F401

    import pcagmm  # noqa: F401

    baseline = run_one("", tests, args.timeout)
    if baseline != "survived":  # the tests must pass on the code as it is
        sys.exit(f"the tests do not pass without a mutant ({baseline}): nothing to learn")
    results = {}
    for i, name in enumerate(names, 1):
        results[name] = run_one(name, tests, args.timeout)
        print(f"{i}/{len(names)} {results[name]}\t{name}", flush=True)
    killed = sum(v in ("killed", "timeout") for v in results.values())
    print(f"{killed} of {len(results)} killed by {' '.join(tests)}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
