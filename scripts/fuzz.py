"""Random exploration of the fuzz tests, for a fixed time: ``.venv/bin/python scripts/fuzz.py``.

The test command runs tests/fuzz with Hypothesis's ``ci`` profile: the same examples every run, so
CI never fails or slows down by chance. This command is the other half: rounds of new random
examples (the ``fuzz`` profile, 20,000 per test and round, shrinking on) until the time is up.
A round that fails stops the exploration and prints the seed that reproduces it:

    .venv/bin/python -m pytest tests/fuzz --hypothesis-profile=fuzz --hypothesis-seed=<seed>

Failures are also kept in ``var/hypothesis`` and replayed first by the next exploration. Turn each
into a deterministic test before fixing it. A failing round can take up to five more minutes while
Hypothesis shrinks the example, so the time limit is when the last round starts, plus that.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="explore this long (default 10)")
    parser.add_argument("tests", nargs="*", default=["tests/fuzz"], help="test paths (default tests/fuzz)")
    args = parser.parse_args()

    deadline = time.monotonic() + args.minutes * 60
    rounds = 0
    while time.monotonic() < deadline:
        seed = random.SystemRandom().randrange(2**32)
        rounds += 1
        print(f"[fuzz] round {rounds}, seed {seed}", flush=True)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *args.tests,
            "--hypothesis-profile=fuzz",
            f"--hypothesis-seed={seed}",
        ]
        if subprocess.call(command, cwd=ROOT) != 0:
            print(f"[fuzz] round {rounds} failed; reproduce with: {' '.join(command[1:])}", flush=True)
            return 1
    print(f"[fuzz] {rounds} rounds in {args.minutes:g} minutes, no failure", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
