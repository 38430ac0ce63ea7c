"""Content staff's annotations become training data the project's way (issue 27, item 2).

A decision on a group of the review queue (``layanwarga.review_queue``) is one of:

- ``intent``: "this meant intent X": the message as the citizen wrote it becomes an example of X;
- ``example``: "add as a new example": staff's own wording (e.g. the message without a typo that
  would teach the wrong thing) becomes an example of X;
- ``out_of_scope``: the message becomes an example of the contract's ``out_of_scope`` intent;
- ``ignore``: nothing is written; the group leaves the queue for good.

An example may mark entities in Rasa's own annotation syntax, ``[teks](entitas)`` (also
``[teks](entitas:nilai)`` and ``[teks]{"entity": "entitas", "value": "nilai"}`` for a synonym, as
the project's data writes them): the dashboard's script writes it when staff select words and
press "Tandai sebagai <entitas>", staff without JavaScript type it (``parse_annotated``).

An example is refused, with the reason in Bahasa Indonesia, when its intent is not in the domain
(``domain/*.yml``), when it is empty, only emoji or symbols, longer than WhatsApp lets a citizen
write (4,096 UTF-16 units, ``whatsapp.messages.TEXT_LIMIT``), or holds HTML; when an annotation
names an entity the domain does not declare, is empty, nested, cuts a word in two (Rasa would
drop it from training as misaligned with the tokens) or is not well-formed (a ``[`` or ``]``
without its pair, ``[teks]`` without ``(entitas)``); when the training data already has it (the
same normalised words of its plain text, ``review_queue.group_key``: in the same intent a
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
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

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
def _declared(project: Project, key: str) -> List[str]:
    """The names the domain (``domain/*.yml``) lists under ``key``, in file order, once each
    (an entry is a name, or a one-key mapping of a name to its options)."""
    found: List[str] = []
    for path in sorted((project.root / "domain").glob("*.yml")):
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(key) or []:
            name = next(iter(entry)) if isinstance(entry, dict) else str(entry)
            if name not in found:
                found.append(name)
    return found


def domain_intents(project: Project) -> List[str]:
    """The intents the domain declares (``domain/*.yml``), those a citizen's text may mean."""
    return [name for name in _declared(project, "intents") if name not in NOT_TEACHABLE]


def domain_entities(project: Project) -> List[str]:
    """The entities the domain declares (``domain/*.yml``), those an example may mark."""
    return _declared(project, "entities")


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


class Taught(NamedTuple):
    intent: str
    text: str  # as written, with its entity annotations
    added_by: str
    added_at: str


def taught_examples(path: Path) -> List[Taught]:
    """Every example of the taught file ``path`` (``render``'s layout), with who added it and
    when (empty for an example someone added by hand without them)."""
    found: List[Taught] = []
    for intent, entries in _taught(path).items():
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("text"), str):
                metadata = entry.get("metadata") or {}
                found.append(
                    Taught(
                        intent,
                        entry["text"],
                        str(metadata.get("ditambahkan_oleh") or ""),
                        str(metadata.get("ditambahkan_pada") or ""),
                    )
                )
    return found


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
@dataclass(frozen=True)
class Span:
    """An entity an example marks: its words, and where they are in the plain text."""

    text: str
    entity: str
    start: int
    end: int
    value: Optional[str] = None  # a synonym's value, when the annotation gives one


_HOW = "Tandai entitas dengan [teks](nama_entitas), misalnya [sktm](layanan)."
_DICT_KEYS = frozenset({"entity", "value"})


def _label(raw: str, entities: Collection[str], words: str) -> Tuple[str, Optional[str]]:
    """The entity and value of an annotation's label: ``entitas`` or ``entitas:nilai`` between
    round brackets, or Rasa's JSON form between curly ones (``raw`` with its brackets)."""
    value: Optional[str] = None
    if raw.startswith("("):
        name, colon, given = raw[1:-1].partition(":")
        name = name.strip()
        if colon:
            value = given.strip()
            if not value:
                raise AnnotationRefused(
                    f"Nilai untuk [{words}]({name}:…) kosong. Tulis nilainya setelah titik dua."
                )
    else:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if (
            not isinstance(parsed, dict)
            or not set(parsed) <= _DICT_KEYS
            or not all(isinstance(v, str) for v in parsed.values())
            or "entity" not in parsed
        ):
            raise AnnotationRefused(
                f"Tanda entitas [{words}]{raw} tidak dikenali. Tulis [teks](nama_entitas) atau "
                '[teks]{"entity": "nama_entitas", "value": "nilai"}.'
            )
        name = parsed["entity"].strip()
        if "value" in parsed:
            value = parsed["value"].strip()
            if not value:
                raise AnnotationRefused(f'Nilai untuk [{words}] kosong. Isi "value" atau hapus saja.')
    if name not in entities:
        known = ", ".join(entities) or "(tidak ada)"
        raise AnnotationRefused(
            f"Entitas '{name}' pada [{words}] tidak ada di domain asisten. Pilih salah satu: {known}."
        )
    return name, value


def parse_annotated(text: str, entities: Collection[str]) -> Tuple[str, str, List[Span]]:
    """(the example written the canonical way, its plain text, its spans), or
    ``AnnotationRefused`` saying which annotation is wrong and how to write it (module
    docstring). Spaces just inside the brackets move outside them (``[ sktm ]`` marks ``sktm``)."""
    written: List[str] = []
    plain: List[str] = []
    spans: List[Span] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char == "]":
            raise AnnotationRefused(f"Ada tanda ']' tanpa pasangan '['. {_HOW}")
        if char != "[":
            written.append(char)
            plain.append(char)
            at += 1
            continue
        close = text.find("]", at + 1)
        if close < 0:
            raise AnnotationRefused(f"Ada tanda '[' tanpa pasangan ']'. {_HOW}")
        inner = text[at + 1 : close]
        if "[" in inner:
            raise AnnotationRefused(
                f"Tanda entitas tidak boleh bertumpuk: [{inner}]. Satu kata hanya untuk satu entitas."
            )
        words = inner.strip()
        opener = text[close + 1 : close + 2]
        closer = {"(": ")", "{": "}"}.get(opener)
        end = text.find(closer, close + 2) if closer else -1
        if closer and end < 0:
            raise AnnotationRefused(f"Kurung setelah [{inner}] belum ditutup dengan '{closer}'. {_HOW}")
        if end < 0:
            raise AnnotationRefused(
                f"Setelah [{inner}] harus ada nama entitas dalam kurung, misalnya [{words or 'teks'}](layanan). "
                "Hapus kurung sikunya bila bagian itu bukan entitas."
            )
        if not words:
            raise AnnotationRefused("Ada tanda entitas yang kosong: [](…). Tandai sedikitnya satu kata.")
        entity, value = _label(text[close + 1 : end + 1], entities, words)
        # Spaces just inside the brackets go outside them, unless a space is already there.
        lead = inner[: len(inner) - len(inner.lstrip())]
        trail = inner[len(inner.rstrip()) :]
        previous = plain[-1][-1:] if plain else ""
        following = text[end + 1 : end + 2]
        if (not lead and previous.isalnum() and words[0].isalnum()) or (
            not trail and following.isalnum() and words[-1].isalnum()
        ):
            raise AnnotationRefused(
                f"Tanda [{words}] memotong sebuah kata. Tandai kata yang utuh, termasuk huruf di sebelahnya."
            )
        lead = lead if previous and not previous.isspace() else ""
        trail = trail if following and not following.isspace() else ""
        if value is None:
            label = f"({entity})"
        elif opener == "(":
            label = f"({entity}:{value})"
        else:
            label = json.dumps({"entity": entity, "value": value}, ensure_ascii=False)
        start = sum(len(part) for part in plain) + len(lead)
        written.append(f"{lead}[{words}]{label}{trail}")
        plain.append(f"{lead}{words}{trail}")
        spans.append(Span(words, entity, start, start + len(words), value))
        at = end + 1
    return "".join(written), "".join(plain), spans


def check_text(text: str, entities: Collection[str] = ()) -> str:
    """``text`` as an example (its entity annotations written the canonical way), or
    ``AnnotationRefused`` saying what is wrong with it; ``entities``: those it may mark."""
    text = " ".join((text or "").split())
    if not text:
        raise AnnotationRefused("Contoh kosong. Tulis kalimat seperti yang diketik warga.")
    if _HTML.search(text) or html.unescape(text) != text:
        raise AnnotationRefused("Contoh berisi kode HTML. Tulis teks biasa seperti pesan WhatsApp warga.")
    text, plain, _ = parse_annotated(text, entities)
    if not any(ch.isalnum() for ch in plain):
        raise AnnotationRefused("Contoh hanya berisi emoji atau simbol. Tulis dengan kata-kata.")
    if units(plain) > TEXT_LIMIT:
        raise AnnotationRefused(f"Contoh lebih panjang dari batas pesan WhatsApp ({TEXT_LIMIT} karakter).")
    if plain.startswith("/"):
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
    text = check_text(text, domain_entities(project))
    key = group_key(_plain(text))
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
        examples = item.get("examples") or []
        if isinstance(examples, str):  # a block someone wrote by hand: one "- text" a line
            examples = [
                {"text": line.strip()[2:]} for line in examples.splitlines() if line.strip().startswith("- ")
            ]
        by_intent.setdefault(item["intent"], []).extend(examples)
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
