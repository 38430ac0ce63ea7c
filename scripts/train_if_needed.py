"""Train the assistant only when what it is trained from changed: ``scripts/train_if_needed.py``.

Rasa decides "nothing changed" from its training cache (``.rasa/cache``): without that folder (a
fresh clone, a cleaned machine, a model copied from elsewhere) it trains again for minutes and
overwrites a model of the very same data. Here the model itself says what it was trained from:
after training, a fingerprint of every input (training data, domain, config, the project's NLU
components and lexicon, Rasa's version) is stored inside the model archive
(``layanwarga-fingerprint.json``), and the next run compares it with the project's files.

    .venv/bin/python scripts/train_if_needed.py            # train when needed, log in var/log/train.log
    .venv/bin/python scripts/train_if_needed.py --check    # exit 0 when the model is current, 1 if not

Training output (progress bars, Rasa's "not used in any story or rule" list) goes to the log; the
terminal gets one line, or the log's end when training fails.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, Iterable, Optional

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "layanwarga.tar.gz"
STAMP = "layanwarga-fingerprint.json"
LOG = ROOT / "var" / "log" / "train.log"
# What a model is trained from: change any of these and the model is stale. Rasa's own cache
# reuses what a change to the training files leaves valid; it cannot see a change to the code of
# the project's components, so a change there retrains everything (``--force``).
TRAINING = ("config.yml", "data", "domain")
# The graph components config.yml names from rasa_extensions (policy subclasses and the shared
# spaCy loader) and the modules they build on; the package's other modules are not in the model.
CODE = (
    "nlu_components",
    "lexicon",
    "rasa_extensions/policies.py",
    "rasa_extensions/certain_predictions.py",
    "rasa_extensions/prediction_states.py",
    "rasa_extensions/spacy_model.py",
)
SUFFIXES = {".yml", ".yaml", ".py", ".json", ".txt", ".tsv", ".csv"}


def _files(root: Path, names: Iterable[str]) -> Iterable[Path]:
    for name in names:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
            )


def _hash(root: Path, names: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for path in _files(root, names):
        digest.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint(root: Path = ROOT) -> Dict[str, str]:
    """Hashes of the training files and of the components' code, and the Rasa version."""
    from rasa import __version__ as rasa_version

    return {"training": _hash(root, TRAINING), "code": _hash(root, CODE), "rasa": rasa_version}


def stored_fingerprint(model: Path) -> Optional[Dict[str, str]]:
    """The fingerprint inside ``model``, or None (no model, no stamp, unreadable archive)."""
    try:
        with tarfile.open(model, "r:gz") as archive:
            member = archive.extractfile(STAMP)
            return json.load(member) if member is not None else None
    except (OSError, KeyError, tarfile.TarError, ValueError):
        return None


def stamp(model: Path, value: Dict[str, str]) -> None:
    """Write ``value`` into ``model`` (the archive is rewritten next to it, then moved in place)."""
    data = json.dumps(value, sort_keys=True).encode("utf-8")
    with tempfile.NamedTemporaryFile(dir=model.parent, suffix=".tar.gz", delete=False) as handle:
        temporary = Path(handle.name)
    try:
        with tarfile.open(model, "r:gz") as source, tarfile.open(temporary, "w:gz") as target:
            for member in source.getmembers():
                if member.name.lstrip("/") == STAMP:
                    continue
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
            info = tarfile.TarInfo(STAMP)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
        os.replace(temporary, model)
    finally:
        temporary.unlink(missing_ok=True)


def train(model: Path, *, force: bool) -> int:
    LOG.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(ROOT / ".venv" / "bin" / "rasa"),
        "train",
        "--domain",
        "domain",
        "--data",
        "data",
        "--config",
        "config.yml",
        "--out",
        str(model.parent),
        "--fixed-model-name",
        model.name.split(".")[0],
    ]
    if force:
        command.append("--force")
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    with LOG.open("w") as log:
        return subprocess.call(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="only say whether the model is current (exit 0/1)"
    )
    parser.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args()

    wanted = fingerprint()
    stored = stored_fingerprint(args.model)
    current = stored == wanted
    if args.check:
        print(f"{args.model}: {'current' if current else 'stale or missing'}")
        return 0 if current else 1
    if current:
        print(
            f"Model is current ({args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model}); not training."
        )
        return 0
    print(f"Training the assistant (a few minutes; details in {LOG.relative_to(ROOT)}) ...", flush=True)
    code_changed = stored is None or {k: stored.get(k) for k in ("code", "rasa")} != {
        k: wanted[k] for k in ("code", "rasa")
    }
    if train(args.model, force=code_changed) != 0 or not args.model.exists():
        tail = LOG.read_text(errors="replace").splitlines()[-40:]
        print("Training failed; the end of the log:\n" + "\n".join(tail), file=sys.stderr)
        return 1
    stamp(args.model, wanted)
    print("Trained.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
