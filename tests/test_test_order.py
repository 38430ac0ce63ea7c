"""The test command hands the longest work units out first (tests/conftest.py, from
tests/durations.json), so the long ones overlap instead of one of them ending the run alone; the
files that share a costly session fixture (the end-to-end WhatsApp stack) are one unit, so it
starts once per run and not once per worker.

Found 2026-12-07: pytest-xdist's default ``--loadscope-reorder`` sorts files by their number of
tests, so the one-test retraining and crash files, meant to start first, started last; the run
ended with one worker busy for two minutes and the others idle.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
DURATIONS = json.loads((ROOT / "tests" / "durations.json").read_text(encoding="utf-8"))


def run_pytest(*arguments: str) -> str:
    """What a real pytest run in the project prints; it must pass."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def collected_files(*arguments: str) -> List[str]:
    """The test files in the order a real pytest collection leaves them, first test of each."""
    files: List[str] = []
    for line in run_pytest("--collect-only", "-q", *arguments).splitlines():
        name = line.split("::", 1)[0]
        if "::" in line and name not in files:
            files.append(name)
    return files


def test_every_recorded_duration_names_a_test_file_that_exists() -> None:
    missing = [name for name in DURATIONS if not (ROOT / name).is_file()]
    assert not missing, f"remove from tests/durations.json or save it again: {missing}"


def test_the_test_command_keeps_the_collected_order() -> None:
    command = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert "--dist loadgroup --no-loadscope-reorder" in command


@pytest.mark.slow
def test_files_are_collected_longest_first_whatever_order_they_are_named_in() -> None:
    short, middle, long = sorted(
        [
            "tests/core/test_calendar.py",
            "tests/dashboard/test_dashboard_actions.py",
            "tests/e2e/test_crash.py",
        ],
        key=lambda name: DURATIONS[name],
    )
    assert DURATIONS[short] < DURATIONS[middle] < DURATIONS[long]
    assert collected_files(short, middle, long) == [long, middle, short]
    assert collected_files(middle, long, short) == [long, middle, short]


@pytest.mark.slow
def test_the_files_of_the_shared_whatsapp_stack_are_collected_together() -> None:
    """They are one work unit, handed to one worker: adjacent in the collected order, although
    a file of another unit lies between their own durations (test_complaints)."""
    shared = ["tests/e2e/test_first_conversation.py", "tests/e2e/test_outage.py"]
    own_stack = "tests/e2e/test_crash.py"
    order = collected_files(shared[0], own_stack, "tests/action_server/test_complaints.py", shared[1])
    assert sorted(order) == sorted([*shared, own_stack, "tests/action_server/test_complaints.py"])
    assert abs(order.index(shared[0]) - order.index(shared[1])) == 1, order


@pytest.mark.slow
def test_each_work_unit_runs_whole_on_one_worker() -> None:
    """With the test command's pytest-xdist options, as scripts/test.sh passes them. (The
    markers must be set before pytest-xdist's worker reads them: set after, every test was
    handed out on its own and a file's module fixtures started on every worker.)"""
    output = run_pytest(
        "-n",
        "2",
        "--dist",
        "loadgroup",
        "--no-loadscope-reorder",
        "-v",
        "tests/core/test_calendar.py",
        "tests/test_domain.py",
    )
    workers: Dict[str, Set[str]] = {}
    for line in output.splitlines():
        if line.startswith("[gw") and "PASSED" in line:
            worker, nodeid = line.split("]", 1)[0][1:], line.split("PASSED", 1)[1].strip()
            workers.setdefault(nodeid.split("::", 1)[0], set()).add(worker)
    assert set(workers) == {"tests/core/test_calendar.py", "tests/test_domain.py"}
    assert all(len(names) == 1 for names in workers.values()), workers
