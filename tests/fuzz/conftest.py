"""Hypothesis profiles for the fuzz tests: fixed in the test command, random in ``scripts/fuzz.py``.

``ci`` (the default, what ``bash scripts/test.sh`` and CI run): the same examples on every run
(derandomised from each test's own code), no example database carried between runs, and no
shrinking, so a failure is reported at once with the example that failed instead of after
minutes of search. Its outcome and its duration do not depend on a seed or on an earlier run.

``fuzz`` (``scripts/fuzz.py``, a separate command with a time limit): new random examples on
every round, many more of them, shrinking on, and failures kept in ``var/hypothesis`` so the next
exploration replays them first. A failure found there becomes a deterministic test before it is
fixed (see tests/connector/test_hostile_fields.py for the webhook parser's class).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=600,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=_QUIET,
    print_blob=False,
)
settings.register_profile(
    "fuzz",
    derandomize=False,
    database=DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parents[2] / "var" / "hypothesis")),
    max_examples=20_000,
    deadline=None,
    suppress_health_check=_QUIET,
    print_blob=True,
)
settings.load_profile("ci")
