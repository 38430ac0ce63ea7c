"""Train a candidate model, evaluate it on the held-out set and register it (issue 27, item 3):
``python -m layanwarga.retrain`` (the dashboard's "Latih ulang" button starts it in the
background; one run at a time: the run holds an advisory lock on ``LOCK_FILE``, which the kernel
lets go of however the run ends, killed or out of memory included, so a dead run never leaves
the dashboard saying a training is still under way).

Steps, each a command the project already uses:

1. ``rasa train`` of the project's domain, data and config into a scratch folder (Rasa runs in
   its own process: the domain core never imports it);
2. ``rasa test nlu --successes`` of that model on the held-out set (``tests/nlu/holdout.yml``),
   as ``scripts/evaluate_nlu.py`` does, read with the same reader (``layanwarga.nlu_report``);
3. the scores, every held-out message's prediction, the taught examples it was trained with
   (``data/nlu/diajarkan.yml``) and the verdict against the published model go to the model
   store (``layanwarga.model_registry.register``): the predictions and taught examples are what
   explains a later candidate's drops. Nothing is published here: staff publish a candidate whose
   verdict allows it, from the dashboard.

A run that fails (training or evaluation) is registered with the end of its log as the reason and
leaves the published model untouched.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator, List, Optional, Sequence

from . import model_registry, teaching
from .config import PROJECT_ROOT
from .nlu_report import REPORT_FILE

logger = logging.getLogger(__name__)

LOCK_FILE = "retrain.lock"
TRAIN_TIMEOUT = 60 * 60
LOG_TAIL = 15


class AlreadyRunning(RuntimeError):
    """Another retraining holds the lock."""


def _lock_path() -> Path:
    return model_registry.store_dir() / LOCK_FILE


def _try_lock(handle: IO[str], mode: int) -> bool:
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def hold_lock() -> Iterator[None]:
    """One retraining at a time (module docstring); AlreadyRunning when another holds it."""
    model_registry.store_dir().mkdir(parents=True, exist_ok=True)
    with _lock_path().open("a+", encoding="utf-8") as handle:
        if not _try_lock(handle, fcntl.LOCK_EX):
            raise AlreadyRunning(f"Pelatihan lain sedang berjalan ({_lock_path()}).")
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def running() -> bool:
    """Whether a retraining is under way now (it holds the lock)."""
    if not _lock_path().exists():
        return False
    with _lock_path().open("a+", encoding="utf-8") as handle:
        if not _try_lock(handle, fcntl.LOCK_SH):
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _rasa() -> str:
    candidate = Path(sys.executable).parent / "rasa"
    return str(candidate) if candidate.exists() else "rasa"


def _run(command: List[str], cwd: Path, log: Path) -> Optional[str]:
    """Run ``command``; None when it succeeds, else the end of its output."""
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    with log.open("w", encoding="utf-8") as handle:
        try:
            code = subprocess.call(
                command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=TRAIN_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return str(error)
    if code == 0:
        return None
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL:])


def taught_snapshot(root: Path, data: str) -> List[model_registry.TaughtExample]:
    """The taught examples a training of ``root``'s ``data`` folder learns from: the taught
    file's (``layanwarga.teaching``), none when that file is not in the data trained on."""
    taught_file = teaching.Project(root=root, writes=False).taught_file
    if not taught_file.resolve().is_relative_to((root / data).resolve()):
        return []
    return [
        model_registry.TaughtExample(entry.intent, entry.text, entry.added_by, entry.added_at)
        for entry in teaching.taught_examples(taught_file)
    ]


def train_candidate(
    *,
    root: Path = PROJECT_ROOT,
    actor: str = "sistem",
    config: str = "config.yml",
    data: str = "data",
    domain: str = "domain",
    holdout: str = "tests/nlu/holdout.yml",
    nlu_only: bool = False,
) -> model_registry.Candidate:
    """Steps 1-3 of the module docstring; returns the registered candidate (with its error when
    the run failed)."""
    candidate_id = model_registry.new_id()
    with tempfile.TemporaryDirectory(prefix="lw-retrain-") as scratch:
        work = Path(scratch)
        command = [
            _rasa(),
            "train",
            *(["nlu"] if nlu_only else []),
            "--config",
            config,
            "--out",
            str(work),
            "--fixed-model-name",
            "candidate",
        ]
        command += ["--nlu", data] if nlu_only else ["--domain", domain, "--data", data]
        taught = taught_snapshot(root, data)  # read before training: what this model learns
        failure = _run(command, root, work / "train.log")
        model = work / "candidate.tar.gz"
        if failure is None and not model.is_file():
            failure = "rasa train tidak menghasilkan model."
        if failure is not None:
            logger.error("Training candidate %s failed:\n%s", candidate_id, failure)
            return model_registry.register(
                candidate_id, None, None, actor, error=f"Pelatihan gagal:\n{failure}"
            )
        results = work / "results"
        failure = _run(
            [
                _rasa(),
                "test",
                "nlu",
                "--nlu",
                holdout,
                "--model",
                str(model),
                "--out",
                str(results),
                "--successes",
            ],
            root,
            work / "test.log",
        )
        if failure is None and not (results / REPORT_FILE).is_file():
            failure = "rasa test nlu tidak menghasilkan laporan."
        if failure is not None:
            logger.error("Evaluating candidate %s failed:\n%s", candidate_id, failure)
            return model_registry.register(
                candidate_id, None, None, actor, error=f"Evaluasi gagal:\n{failure}"
            )
        scores = model_registry.Scores.from_results(results)
        return model_registry.register(candidate_id, model, scores, actor, taught=taught)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actor", default="sistem", help="who asked (shown with the candidate)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--config", default="config.yml")
    parser.add_argument("--data", default="data")
    parser.add_argument("--domain", default="domain")
    parser.add_argument("--holdout", default="tests/nlu/holdout.yml")
    parser.add_argument("--nlu-only", action="store_true", help="an NLU model only (tests)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        with hold_lock():
            candidate = train_candidate(
                root=args.root,
                actor=args.actor,
                config=args.config,
                data=args.data,
                domain=args.domain,
                holdout=args.holdout,
                nlu_only=args.nlu_only,
            )
    except AlreadyRunning as busy:
        print(busy, file=sys.stderr)
        return 2
    if candidate.error:
        print(candidate.error, file=sys.stderr)
        return 1
    assert candidate.verdict is not None and candidate.scores is not None
    print(
        f"Kandidat {candidate.id}: macro-F1 {candidate.scores.macro_f1:.4f}; "
        + (
            "layak diterbitkan"
            if candidate.verdict.publishable
            else "tidak layak: " + "; ".join(candidate.verdict.reasons)
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
