"""Tally mutmut's verdicts per module, and list the mutants that were not killed.

Reads the ``mutants/**/*.py.meta`` files that ``mutmut run`` writes (see tools/mutation.md).

    python tools/mutation_tally.py                 # the table (markdown)
    python tools/mutation_tally.py --survivors     # the survivors, one per line
    python tools/mutation_tally.py --json out.json # the verdicts, for comparing two runs
    python tools/mutation_tally.py --sample --names --unchecked   # names to give `mutmut run`
    python tools/mutation_tally.py --sample        # the table of the sample only
    python tools/mutation_tally.py --sample --after recheck.json   # with new tests' kills

The sample (``--sample``) is the list of mutant names in tools/mutation_sample.txt.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

#: mutmut's exit-code meanings (mutmut.stats.status_by_exit_code, mutmut 3.8)
STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
    None: "not checked",
}


#: the mutants run for tools/mutation.md (a 1-in-8 sample of the numerical core and the
#: figures, 1-in-16 of the rest of mixture/; see there)
SAMPLE = Path(__file__).with_name("mutation_sample.txt")


def restrict(by_module: dict[str, dict[str, str]], names_file: Path) -> dict[str, dict[str, str]]:
    """Only the mutants named in ``names_file`` (one a line)."""
    wanted = set(names_file.read_text().split())
    return {m: {n: s for n, s in found.items() if n in wanted} for m, found in by_module.items()}


def verdicts(root: Path) -> dict[str, dict[str, str]]:
    """``{module path: {mutant name: status}}`` from the meta files under ``root``.

    A mutant recorded as "no tests" although mutmut's stats name tests for its function
    was marked so by a run whose stats were incomplete: "not checked".
    """
    stats_file = root / "mutmut-stats.json"
    covered = (
        {
            f
            for f, tests in json.loads(stats_file.read_text())[
                "tests_by_mangled_function_name"
            ].items()
            if tests
        }
        if stats_file.exists()
        else set()
    )
    out: dict[str, dict[str, str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        module = str(meta.relative_to(root)).removesuffix(".meta")
        out[module] = {}
        for name, code in data.get("exit_code_by_key", {}).items():
            status = STATUS.get(code, "suspicious")
            if status == "no tests" and name.partition("__mutmut_")[0] in covered:
                status = "not checked"
            out[module][name] = status
    return out


def table(by_module: dict[str, dict[str, str]]) -> str:
    columns = ("mutants", "killed", "timeout", "survived", "no tests", "not run")
    lines = [
        "| module | " + " | ".join(columns) + " | score | score without timeouts |",
        "|---" * (len(columns) + 3) + "|",
    ]
    total: Counter = Counter()
    for module, found in by_module.items():
        if not found:
            continue
        counts = Counter(found.values())
        row = Counter({"mutants": len(found)})
        for column in columns[1:5]:
            row[column] = counts[column]
        row["not run"] = row["mutants"] - sum(row[c] for c in columns[1:5])
        total.update(row)
        lines.append(_row(module, row, columns))
    lines.append(_row("**total**", total, columns))
    return "\n".join(lines)


def _row(name: str, row: Counter, columns) -> str:
    """Scores over the mutants run: killed (timeouts counted as killed, as mutmut counts
    them; and not) over killed, timeouts, survivors and mutants no test reaches."""
    run = row["mutants"] - row["not run"]
    score = 100.0 * (row["killed"] + row["timeout"]) / run if run else 0.0
    strict = 100.0 * row["killed"] / run if run else 0.0
    cells = " | ".join(str(row[c]) for c in columns)
    return f"| {name} | {cells} | {score:.1f}% | {strict:.1f}% |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("mutants"))
    parser.add_argument("--survivors", action="store_true", help="list the mutants not killed")
    parser.add_argument("--json", type=Path, help="write every verdict to this file")
    parser.add_argument("--sample", action="store_true", help=f"only the mutants in {SAMPLE.name}")
    parser.add_argument("--names", action="store_true", help="print the mutants' names")
    parser.add_argument("--unchecked", action="store_true", help="with --names: not yet run")
    parser.add_argument(
        "--after", type=Path, help="mutation_recheck.py's output: the mutants it killed count"
    )
    args = parser.parse_args()
    by_module = verdicts(args.root)
    if args.sample:
        by_module = restrict(by_module, SAMPLE)
    if args.after:
        rechecked = json.loads(args.after.read_text())
        for found in by_module.values():
            for name in found:
                if rechecked.get(name) in ("killed", "timeout"):
                    found[name] = "killed"
    if args.names:
        for found in by_module.values():
            for name, status in found.items():
                if not args.unchecked or status == "not checked":
                    print(name)
        return
    if args.json:
        args.json.write_text(json.dumps(by_module, indent=1, sort_keys=True))
    if args.survivors:
        for found in by_module.values():
            for name, status in found.items():
                if status not in ("killed", "timeout"):
                    print(f"{status}\t{name}")
    else:
        print(table(by_module))


if __name__ == "__main__":
    main()
