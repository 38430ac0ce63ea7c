"""One retraining at a time, and a retraining that dies never blocks the next
(``layanwarga.retrain.hold_lock``): the lock is the kernel's, held by a real process here and
released when that process is killed with SIGKILL, as an out-of-memory kill would end it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from layanwarga import model_registry, retrain

ROOT = Path(__file__).resolve().parents[2]
HOLDER = (
    "import sys, time\n"
    "from layanwarga import retrain\n"
    "with retrain.hold_lock():\n"
    "    print('held', flush=True)\n"
    "    time.sleep(120)\n"
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(model_registry.STORE_ENV_VAR, str(tmp_path / "store"))
    return tmp_path / "store"


def test_a_killed_retraining_leaves_no_training_under_way(store: Path) -> None:
    assert not retrain.running()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        cwd=ROOT,
        env={**os.environ, model_registry.STORE_ENV_VAR: str(store)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert retrain.running()
        with pytest.raises(retrain.AlreadyRunning):
            with retrain.hold_lock():
                pass  # pragma: no cover - never reached
        assert retrain.main(["--root", str(store)]) == 2  # the command line says so and stops
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    assert (store / retrain.LOCK_FILE).exists()  # the file stays; the lock went with the process
    assert not retrain.running()
    with retrain.hold_lock():
        assert retrain.running()
    assert not retrain.running()
