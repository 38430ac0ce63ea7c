"""Where a pytest run's time went, per test file, from its JUnit XML report.

    bash scripts/test.sh --junitxml=results/junit.xml
    .venv/bin/python scripts/junit_files.py results/junit.xml [--top 30] [--save tests/durations.json]

Prints each file's summed test time (set-up, call and tear-down, as pytest reports them), its
number of tests and its share of the whole, longest first. With pytest-xdist a file runs whole on
one worker (its work unit, or the unit of the shared fixture it uses: ``tests/conftest.py``), so
a file's sum is how long it holds that worker: the files at the top are the ones to split or make
cheaper. ``--save`` writes every file's seconds to ``tests/durations.json``, from which
``tests/conftest.py`` hands the longest units out first: save after a full run when files were
added or got much longer or shorter.
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple


def file_durations(report: Path) -> List[Tuple[str, float, int]]:
    """(file, seconds, tests) for every test file in the report, longest first."""
    seconds: Dict[str, float] = defaultdict(float)
    tests: Dict[str, int] = defaultdict(int)
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        # classname is the module path with dots, then the class if any: tests.core.test_x.TestY
        parts = case.get("classname", "").split(".")
        module = [part for part in parts if not part[:1].isupper()]
        name = "/".join(module) + ".py"
        seconds[name] += float(case.get("time") or 0)
        tests[name] += 1
    return sorted(((name, seconds[name], tests[name]) for name in seconds), key=lambda row: -row[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="pytest's --junitxml file")
    parser.add_argument("--top", type=int, default=30, help="how many files to print (default 30)")
    parser.add_argument("--save", type=Path, help="write {file: seconds} here (tests/durations.json)")
    args = parser.parse_args()
    rows = file_durations(args.report)
    if args.save:
        durations = {name: round(seconds, 1) for name, seconds, _ in sorted(rows)}
        args.save.write_text(json.dumps(durations, indent=1) + "\n", encoding="utf-8")
    total = sum(row[1] for row in rows) or 1.0
    print(f"{'seconds':>8} {'tests':>6} {'share':>6}  file")
    for name, seconds, count in rows[: args.top]:
        print(f"{seconds:8.1f} {count:6d} {seconds / total:6.1%}  {name}")
    print(f"{total:8.1f} {sum(row[2] for row in rows):6d} {'100%':>6}  all {len(rows)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
