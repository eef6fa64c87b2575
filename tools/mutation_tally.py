"""Tally mutmut's verdicts per module, and list the mutants that were not killed.

Reads the ``mutants/**/*.py.meta`` files that ``mutmut run`` writes (see tools/mutation.md).

    python tools/mutation_tally.py                 # the table (markdown)
    python tools/mutation_tally.py --survivors     # the survivors, one per line
    python tools/mutation_tally.py --json out.json # the verdicts, for comparing two runs
    python tools/mutation_tally.py --sample --names --unchecked   # names to give `mutmut run`
    python tools/mutation_tally.py --sample        # the table of the sample only

The sample (``--sample``) is deterministic: in each file, the mutants in mutmut's order
of generation (the order of the ``.meta`` file) whose position is a multiple of the
file's stride (:data:`STRIDES`, else :data:`DEFAULT_STRIDE`): the numerical core and
the figures one in 8, the rest of mixture/ (orchestration of fits) one in 16.
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


#: one mutant in STRIDE is in the sample (the numerical core and the figures)
STRIDES = {
    "src/pcagmm/mixture/covariance.py": 8,
    "src/pcagmm/mixture/kernels.py": 8,
    "src/pcagmm/mixture/em_pass.py": 8,
    "src/pcagmm/mixture/convergence.py": 8,
    "src/pcagmm/decomposition/pca.py": 8,
    "src/pcagmm/decomposition/scatter.py": 8,
    "src/pcagmm/report/plots.py": 8,
}
#: the rest of mixture/ (the estimator's orchestration, initialisation, selection, ...)
DEFAULT_STRIDE = 16


def sample(by_module: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The deterministic sample (see the module doc) of ``by_module``."""
    return {
        module: {
            name: status
            for i, (name, status) in enumerate(found.items())
            if i % STRIDES.get(module, DEFAULT_STRIDE) == 0
        }
        for module, found in by_module.items()
    }


def verdicts(root: Path) -> dict[str, dict[str, str]]:
    """``{module path: {mutant name: status}}`` from the meta files under ``root``."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        module = str(meta.relative_to(root)).removesuffix(".meta")
        out[module] = {
            name: STATUS.get(code, "suspicious")
            for name, code in data.get("exit_code_by_key", {}).items()
        }
    return out


def table(by_module: dict[str, dict[str, str]]) -> str:
    columns = ("mutants", "killed", "timeout", "survived", "no tests", "other")
    lines = [
        "| module | " + " | ".join(columns) + " | score |",
        "|---" * (len(columns) + 2) + "|",
    ]
    total: Counter = Counter()
    for module, found in by_module.items():
        if not found:
            continue
        counts = Counter(found.values())
        row = Counter(
            {
                "mutants": len(found),
                "killed": counts["killed"],
                "timeout": counts["timeout"],
                "survived": counts["survived"],
                "no tests": counts["no tests"],
            }
        )
        row["other"] = row["mutants"] - sum(row[c] for c in columns[1:5])
        total.update(row)
        lines.append(_row(module, row, columns))
    lines.append(_row("**total**", total, columns))
    return "\n".join(lines)


def _row(name: str, row: Counter, columns) -> str:
    # score: killed (timeouts count as killed, as mutmut counts them) over all mutants
    score = 100.0 * (row["killed"] + row["timeout"]) / row["mutants"] if row["mutants"] else 0.0
    return f"| {name} | " + " | ".join(str(row[c]) for c in columns) + f" | {score:.1f}% |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("mutants"))
    parser.add_argument("--survivors", action="store_true", help="list the mutants not killed")
    parser.add_argument("--json", type=Path, help="write every verdict to this file")
    parser.add_argument("--sample", action="store_true", help="only the deterministic sample")
    parser.add_argument("--names", action="store_true", help="print the mutants' names")
    parser.add_argument("--unchecked", action="store_true", help="with --names: not yet run")
    args = parser.parse_args()
    by_module = verdicts(args.root)
    if args.sample:
        by_module = sample(by_module)
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
