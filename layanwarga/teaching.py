"""Content staff's annotations become training data the project's way (issue 27, item 2).

A decision on a group of the review queue (``layanwarga.review_queue``) is one of:

- ``intent``: "this meant intent X": the message as the citizen wrote it becomes an example of X;
- ``example``: "add as a new example": staff's own wording (e.g. the message without a typo that
  would teach the wrong thing) becomes an example of X;
- ``out_of_scope``: the message becomes an example of the contract's ``out_of_scope`` intent;
- ``ignore``: nothing is written; the group leaves the queue for good.

An example is refused, with the reason in Bahasa Indonesia, when its intent is not in the domain
(``domain/*.yml``), when it is empty, only emoji or symbols, longer than WhatsApp lets a citizen
write (4,096 UTF-16 units, ``whatsapp.messages.TEXT_LIMIT``), or holds HTML; when the training
data already has it (the same normalised words, ``review_queue.group_key``: in the same intent a
duplicate, in another a contradiction, which ``rasa data validate`` also refuses); and when it is
a message of the held-out set (``tests/nlu/holdout.yml``, never used for training: docs/
nlu-training-data.md), compared the same way so a near copy is refused too.

Where it goes: ``data/nlu/diajarkan.yml``, the one training file the dashboard writes (the other
files stay as people edit them), each example with who added it and when as Rasa's per-example
``metadata``. Before the file is replaced, the project's data validation (``rasa data validate``
with the project's domain and config, as ``scripts/test.sh`` runs it) runs on a copy of the
training data with the new file; an error leaves the data untouched and says why. A deployment
whose data folder is not writable keeps the decision in the database only, and staff download
the reviewed examples as that same YAML file (``export_yaml``) to commit.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from whatsapp.messages import TEXT_LIMIT, units

from .config import PROJECT_ROOT
from .models import ReviewAnnotation, utcnow
from .review_queue import group_key

logger = logging.getLogger(__name__)

DECIDE_INTENT, DECIDE_EXAMPLE, DECIDE_OUT_OF_SCOPE, DECIDE_IGNORE = (
    "intent",
    "example",
    "out_of_scope",
    "ignore",
)
DECISIONS = {
    DECIDE_INTENT: "Maksudnya intent ini",
    DECIDE_EXAMPLE: "Tambah sebagai contoh baru",
    DECIDE_OUT_OF_SCOPE: "Di luar layanan",
    DECIDE_IGNORE: "Abaikan",
}
OUT_OF_SCOPE_INTENT = "out_of_scope"
TAUGHT_FILE = "diajarkan.yml"
NLU_VERSION = "3.1"
# Intents a citizen's text can never mean: Rasa's own, and payload-only ones a button sends.
NOT_TEACHABLE = frozenset({"nlu_fallback"})
VALIDATION_TIMEOUT = 300

_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")
_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


class AnnotationRefused(ValueError):
    """The annotation cannot be saved; the message says why, for staff."""


WRITES_ENV_VAR = "LAYANWARGA_TEACH_WRITES_DATA"
ROOT_ENV_VAR = "LAYANWARGA_TEACH_ROOT"


def _root_by_default() -> Path:
    """The project whose data staff teach: this checkout, or ``LAYANWARGA_TEACH_ROOT`` (a
    working copy the deployment trains from)."""
    return Path(os.environ.get(ROOT_ENV_VAR) or PROJECT_ROOT)


def _writes_by_default() -> bool:
    return os.environ.get(WRITES_ENV_VAR, "1").strip().lower() not in ("0", "false", "no", "tidak")


@dataclass(frozen=True)
class Project:
    """Where the training data, domain, config and held-out set are (the repository root), and
    whether this deployment writes its training data (``LAYANWARGA_TEACH_WRITES_DATA=0``: a
    deployment whose data is a read-only image or belongs to git only; staff then export)."""

    root: Path = field(default_factory=_root_by_default)
    writes: bool = field(default_factory=_writes_by_default)

    @property
    def nlu_dir(self) -> Path:
        return self.root / "data" / "nlu"

    @property
    def taught_file(self) -> Path:
        return self.nlu_dir / TAUGHT_FILE

    @property
    def holdout(self) -> Path:
        return self.root / "tests" / "nlu" / "holdout.yml"

    def writable(self) -> bool:
        return self.writes and self.nlu_dir.is_dir() and os.access(self.nlu_dir, os.W_OK)


# -- reading the project's data without Rasa --------------------------------------------------
def domain_intents(project: Project) -> List[str]:
    """The intents the domain declares (``domain/*.yml``), those a citizen's text may mean."""
    found: List[str] = []
    for path in sorted((project.root / "domain").glob("*.yml")):
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intents") or []:
            name = next(iter(entry)) if isinstance(entry, dict) else str(entry)
            if name not in found and name not in NOT_TEACHABLE:
                found.append(name)
    return found


def _plain(example: str) -> str:
    """An example's text without entity annotations (``[sktm](layanan)`` -> ``sktm``)."""
    return _ENTITY.sub(r"\1", example).strip()


def examples_of(path: Path) -> Iterable[Tuple[str, str]]:
    """(intent, text) of every example in an NLU YAML file (block or list-of-text form)."""
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for item in content.get("nlu") or []:
        intent = item.get("intent") if isinstance(item, dict) else None
        if not intent:
            continue
        examples = item.get("examples")
        if isinstance(examples, str):
            for line in examples.splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield intent, _plain(line[2:])
        elif isinstance(examples, list):
            for entry in examples:
                text = entry.get("text") if isinstance(entry, dict) else entry
                if isinstance(text, str):
                    yield intent, _plain(text)


def training_keys(project: Project) -> Dict[str, str]:
    """Normalised example -> its intent, over every file of ``data/nlu``."""
    keys: Dict[str, str] = {}
    for path in sorted(project.nlu_dir.glob("*.yml")):
        for intent, text in examples_of(path):
            keys.setdefault(group_key(text), intent)
    return keys


def holdout_keys(project: Project) -> set:
    if not project.holdout.is_file():
        return set()
    return {group_key(text) for _, text in examples_of(project.holdout)}


# -- checking --------------------------------------------------------------------------------
def check_text(text: str) -> str:
    """``text`` as an example, or ``AnnotationRefused`` saying what is wrong with it."""
    text = " ".join((text or "").split())
    if not text:
        raise AnnotationRefused("Contoh kosong. Tulis kalimat seperti yang diketik warga.")
    if not any(ch.isalnum() for ch in text):
        raise AnnotationRefused("Contoh hanya berisi emoji atau simbol. Tulis dengan kata-kata.")
    if units(text) > TEXT_LIMIT:
        raise AnnotationRefused(f"Contoh lebih panjang dari batas pesan WhatsApp ({TEXT_LIMIT} karakter).")
    if _HTML.search(text) or html.unescape(text) != text:
        raise AnnotationRefused("Contoh berisi kode HTML. Tulis teks biasa seperti pesan WhatsApp warga.")
    if text.startswith("/"):
        raise AnnotationRefused(
            "Contoh tidak boleh diawali garis miring (itu perintah tombol, bukan ketikan warga)."
        )
    return text


def check_example(project: Project, intent: str, text: str) -> str:
    """The example to write for ``intent``, after every check of the module docstring."""
    intents = domain_intents(project)
    if intent not in intents:
        raise AnnotationRefused(
            f"Intent '{intent}' tidak ada di domain asisten. Pilih salah satu yang tersedia."
        )
    text = check_text(text)
    key = group_key(text)
    if key in holdout_keys(project):
        raise AnnotationRefused(
            "Kalimat ini (atau yang hampir sama) ada di set uji tersisih (tests/nlu/holdout.yml), "
            "yang tidak boleh dipakai untuk pelatihan."
        )
    existing = training_keys(project).get(key)
    if existing == intent:
        raise AnnotationRefused(
            f"Contoh ini (atau yang hampir sama) sudah ada di data pelatihan intent '{intent}'."
        )
    if existing is not None:
        raise AnnotationRefused(
            f"Contoh ini (atau yang hampir sama) sudah menjadi contoh intent '{existing}'. "
            "Satu contoh tidak boleh ada di dua intent."
        )
    return text


# -- writing ---------------------------------------------------------------------------------
def _taught(path: Path) -> Dict[str, List[Dict[str, Any]]]:
    """The taught file's examples by intent, as written (text and metadata)."""
    by_intent: Dict[str, List[Dict[str, Any]]] = {}
    if not path.is_file():
        return by_intent
    for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
        by_intent.setdefault(item["intent"], []).extend(item.get("examples") or [])
    return by_intent


def render(by_intent: Dict[str, List[Dict[str, Any]]]) -> str:
    """The taught file: Rasa 3 NLU YAML, one block per intent, each example with its metadata."""
    header = (
        "# Examples content staff taught the assistant from the dashboard's review queue (issue 27).\n"
        "# Written by layanwarga/teaching.py: who added each example and when is in its metadata.\n"
    )
    body = {
        "version": NLU_VERSION,
        "nlu": [{"intent": intent, "examples": by_intent[intent]} for intent in sorted(by_intent)],
    }
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=1000)


def _entry(text: str, actor: str, at: dt.datetime) -> Dict[str, Any]:
    return {
        "text": text,
        "metadata": {"ditambahkan_oleh": actor, "ditambahkan_pada": at.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def validate_data(project: Project, new_taught: str) -> None:
    """``rasa data validate`` (the project's command, as scripts/test.sh runs it) on a copy of
    the training data holding ``new_taught`` as the taught file; ``AnnotationRefused`` with the
    validator's errors when it fails."""
    with tempfile.TemporaryDirectory(prefix="lw-validate-") as scratch:
        data = Path(scratch) / "data"
        shutil.copytree(project.root / "data", data)
        (data / "nlu" / TAUGHT_FILE).write_text(new_taught, encoding="utf-8")
        rasa = Path(sys.executable).parent / "rasa"
        command = [
            str(rasa) if rasa.exists() else "rasa",
            "data",
            "validate",
            "--domain",
            str(project.root / "domain"),
            "--data",
            str(data),
            "--config",
            str(project.root / "config.yml"),
        ]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
        try:
            result = subprocess.run(
                command, cwd=project.root, env=env, capture_output=True, text=True, timeout=VALIDATION_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            logger.error("rasa data validate could not run: %s", error)
            raise AnnotationRefused(
                "Validasi data pelatihan tidak dapat dijalankan; contoh belum disimpan."
            ) from error
    if result.returncode != 0:
        errors = [
            line.strip()
            for line in (result.stdout + result.stderr).splitlines()
            if "ERROR" in line or "error" in line.lower()
        ]
        logger.warning("rasa data validate refused a taught example: %s", " | ".join(errors[-5:]))
        raise AnnotationRefused(
            "Validasi data pelatihan gagal: " + ("; ".join(errors[-3:]) or "lihat log dasbor.")
        )


@dataclass(frozen=True)
class Saved:
    annotation_id: int
    written_to: Optional[str]  # the file, or None when only the database holds it (export)


def annotate(
    session: Session,
    project: Project,
    *,
    key: str,
    decision: str,
    actor: str,
    intent: Optional[str] = None,
    text: Optional[str] = None,
    at: Optional[dt.datetime] = None,
    validate: bool = True,
) -> Saved:
    """Record staff's decision on the group ``key`` and, for a decision that teaches, write the
    example (module docstring). Nothing is recorded when the example is refused."""
    if decision not in DECISIONS:
        raise AnnotationRefused("Keputusan tidak dikenal.")
    if not key:
        raise AnnotationRefused("Kelompok pesan tidak dikenal.")
    at = at or utcnow()
    example: Optional[str] = None
    if decision == DECIDE_OUT_OF_SCOPE:
        intent = OUT_OF_SCOPE_INTENT
    if decision != DECIDE_IGNORE:
        example = check_example(project, intent or "", text or "")
    written: Optional[str] = None
    if example is not None and project.writable():
        by_intent = _taught(project.taught_file)
        by_intent.setdefault(intent or "", []).append(_entry(example, actor, at))
        content = render(by_intent)
        if validate:
            validate_data(project, content)
        temporary = project.taught_file.with_suffix(".yml.tmp")
        temporary.write_text(content, encoding="utf-8")
        os.replace(temporary, project.taught_file)
        written = str(project.taught_file.relative_to(project.root))
    row = ReviewAnnotation(
        group_key=key[:255],
        decision=decision,
        intent=intent if example is not None else None,
        example=example,
        annotated_by=actor[:120],
        annotated_at=at,
        written_to=written,
    )
    session.add(row)
    session.flush()
    logger.info("Review group annotated %s%s by %s", decision, f" -> {intent}" if example else "", actor)
    return Saved(int(row.id), written)


def export_yaml(session: Session, *, only_unwritten: bool = True) -> str:
    """The reviewed examples as the taught file, for a deployment that cannot write its data:
    staff download it and commit it as ``data/nlu/diajarkan.yml`` (merged with what is there)."""
    query = (
        select(ReviewAnnotation).where(ReviewAnnotation.example.is_not(None)).order_by(ReviewAnnotation.id)
    )
    if only_unwritten:
        query = query.where(ReviewAnnotation.written_to.is_(None))
    by_intent: Dict[str, List[Dict[str, Any]]] = {}
    for row in session.execute(query).scalars():
        by_intent.setdefault(row.intent, []).append(_entry(row.example, row.annotated_by, row.annotated_at))
    return render(by_intent)


def added_per_intent(session: Session) -> List[Tuple[str, int]]:
    """How many examples staff taught each intent (the "what changed" page)."""
    counts: Dict[str, int] = {}
    for intent in session.execute(
        select(ReviewAnnotation.intent).where(ReviewAnnotation.example.is_not(None))
    ).scalars():
        counts[intent] = counts.get(intent, 0) + 1
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def top_intents(intents: Sequence[str], guesses: Sequence[Tuple[str, float]]) -> List[str]:
    """The choice of intents for a group: the assistant's guesses first, then every other."""
    first = [name for name, _ in guesses if name in intents]
    return first + [name for name in intents if name not in first]
