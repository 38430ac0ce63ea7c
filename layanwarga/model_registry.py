"""Candidate and published assistant models, and the gate between them (issue 27, item 3).

Rolling out rides on Rasa's own model pulling: every ``rasa run`` instance with
``models: {url: <dashboard>/model/layanwarga.tar.gz, token: ..., wait_time_between_pulls: 60}``
in its endpoints.yml asks the dashboard (``dashboard/views/models.py``) for the published model,
sending the fingerprint of the one it runs as ``If-None-Match``; the dashboard answers 304 while
it is the same, or 200 with the model and its ``ETag`` (a SHA-256 of the archive). Rasa loads a
new model while it keeps answering with the old one, and keeps the old one when the new one
fails to load: no restart, no downtime.

What the dashboard serves (``served``): the published candidate; while none is published, the
deployment's baseline model (``LAYANWARGA_BASELINE_MODEL``, default ``models/layanwarga.tar.gz``,
the model ``rasa run --model`` loads), with the SHA-256 of its file as ``ETag``. A ``rasa run``
with a ``models:`` endpoint loads *only* what the model server gives it (Rasa 3.6 ignores
``--model`` then), so a fresh deployment needs the baseline to answer at all. A published
candidate whose file has gone missing is logged as an error and the baseline is served instead:
an assistant that answers with the older model beats new instances that start with none.

The store (``LAYANWARGA_MODEL_STORE``, default ``var/model-store``) is a folder:
``candidates/<id>/model.tar.gz`` with ``evaluation.json`` (the held-out scores, the verdict, who
and when) and ``state.json`` (which candidate is published, and the history of publications and
rollbacks). Plain files, written whole and moved in place, so a reader never sees half of one.

The gate (``verdict``): a candidate is publishable only when it meets the project's NLU targets on
the held-out set (``scripts/evaluate_nlu.py``: macro-F1 >= 0.95, every intent's F1 >= 0.85,
``darurat`` recall 1.0) and its macro-F1 is not below the published model's. Intents whose F1 fell
compared with the published model are listed either way, with both scores, so staff see which
intents got worse and by how much, and why:

- the held-out messages behind the drop (``Flip``): those the published model read right and the
  candidate reads wrong, labelled with the worse intent (recall) or read as it (precision), each
  with what the candidate read instead and how sure it was. The evaluation record therefore keeps
  every held-out message's prediction (``Scores.predictions``, from ``rasa test nlu
  --successes``);
- the likely cause: the taught examples (``data/nlu/diajarkan.yml``) of the intent the candidate
  read a flipped message as, that the candidate was trained with and the published model was not.
  The record keeps the taught examples each model was trained with (``TaughtExample``); when the
  published model's record has none (evaluated before they were kept), every taught example of
  that intent is listed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .config import PROJECT_ROOT
from .nlu_report import (
    MIN_DARURAT_RECALL,
    MIN_INTENT_F1,
    MIN_MACRO_F1,
    Prediction,
    per_intent_scores,
    predictions,
    read_report,
)

logger = logging.getLogger(__name__)

STORE_ENV_VAR = "LAYANWARGA_MODEL_STORE"
BASELINE_ENV_VAR = "LAYANWARGA_BASELINE_MODEL"
DEFAULT_BASELINE = Path("models") / "layanwarga.tar.gz"
MODEL_FILE = "model.tar.gz"
EVALUATION_FILE = "evaluation.json"
STATE_FILE = "state.json"
EMERGENCY_INTENT = "darurat"
_ID = re.compile(r"^[0-9]{8}-[0-9]{6}(-[0-9]+)?$")


class RegistryError(ValueError):
    """A candidate that does not exist or may not be published; the message says why."""


def store_dir() -> Path:
    return Path(os.environ.get(STORE_ENV_VAR) or PROJECT_ROOT / "var" / "model-store")


def baseline_path() -> Path:
    """The deployment's own model (module docstring); a relative path is the project's."""
    return PROJECT_ROOT / Path(os.environ.get(BASELINE_ENV_VAR) or DEFAULT_BASELINE)


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


# -- the gate -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    """A model's held-out evaluation: macro-F1 and, per intent, precision, recall, F1, support;
    and every held-out message's prediction (empty in records from before they were kept)."""

    macro_f1: float
    intents: Dict[str, Dict[str, float]]
    predictions: Tuple[Prediction, ...] = ()

    @classmethod
    def from_intent_report(cls, report: Dict[str, Any], found: Sequence[Prediction] = ()) -> "Scores":
        """From Rasa's ``intent_report.json`` (``rasa test nlu``), read as scripts/evaluate_nlu.py
        reads it (``nlu_report``): the intents with held-out examples, macro-F1 over them."""
        rows = {
            name: {key: float(row.get(key, 0.0)) for key in ("precision", "recall", "f1-score", "support")}
            for name, row in per_intent_scores(report).items()
        }
        macro = sum(row["f1-score"] for row in rows.values()) / len(rows) if rows else 0.0
        return cls(macro, rows, tuple(found))

    @classmethod
    def from_results(cls, out_dir: Path) -> "Scores":
        """From the folder ``rasa test nlu --successes --out <out_dir>`` wrote."""
        return cls.from_intent_report(read_report(out_dir), predictions(out_dir))

    def as_dict(self) -> Dict[str, Any]:
        return {
            "macro_f1": self.macro_f1,
            "intents": self.intents,
            "predictions": [p.as_dict() for p in self.predictions],
        }

    @classmethod
    def from_dict(cls, value: Dict[str, Any]) -> "Scores":
        return cls(
            float(value["macro_f1"]),
            {k: dict(v) for k, v in value["intents"].items()},
            tuple(Prediction.from_dict(p) for p in value.get("predictions") or []),
        )


@dataclass(frozen=True)
class TaughtExample:
    """An example content staff taught (``layanwarga.teaching``), as written in the taught file
    (with its entity annotations), with who added it and when."""

    intent: str
    text: str
    added_by: str = ""
    added_at: str = ""

    def as_dict(self) -> Dict[str, str]:
        return {
            "intent": self.intent,
            "text": self.text,
            "added_by": self.added_by,
            "added_at": self.added_at,
        }

    @classmethod
    def from_dict(cls, value: Dict[str, Any]) -> "TaughtExample":
        return cls(
            str(value["intent"]),
            str(value["text"]),
            str(value.get("added_by") or ""),
            str(value.get("added_at") or ""),
        )


@dataclass(frozen=True)
class Flip:
    """A held-out message the published model read right and the candidate reads wrong."""

    text: str
    intent: str  # its label in the held-out set
    predicted: str  # what the candidate reads instead
    confidence: Optional[float]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "text": self.text,
            "intent": self.intent,
            "predicted": self.predicted,
            "confidence": self.confidence,
        }

    @classmethod
    def from_dict(cls, value: Dict[str, Any]) -> "Flip":
        confidence = value.get("confidence")
        return cls(
            str(value["text"]),
            str(value["intent"]),
            str(value["predicted"]),
            None if confidence is None else float(confidence),
        )


@dataclass(frozen=True)
class Worse:
    """An intent whose F1 fell, and why (module docstring): the flipped held-out messages, and
    per intent the candidate read one of them as, the taught examples likely to blame."""

    intent: str
    before: float
    after: float
    flips: List[Flip] = field(default_factory=list)
    suspects: Dict[str, List[TaughtExample]] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    publishable: bool
    reasons: List[str] = field(default_factory=list)  # why not, in Bahasa Indonesia
    worse: List[Worse] = field(default_factory=list)
    # Whether both evaluations kept every held-out message's prediction, so ``Worse.flips`` is
    # the whole story (False for a comparison with a model evaluated before they were kept).
    explained: bool = False


def _flips(intent: str, candidate: Scores, published: Scores) -> List[Flip]:
    """The held-out messages behind ``intent``'s drop: read right by the published model, read
    wrong by the candidate, and labelled ``intent`` or read as ``intent`` by the candidate."""
    right_before = {(p.intent, p.text) for p in published.predictions if p.correct}
    return [
        Flip(p.text, p.intent, p.predicted, p.confidence)
        for p in candidate.predictions
        if not p.correct and intent in (p.intent, p.predicted) and (p.intent, p.text) in right_before
    ]


def _suspects(
    flips: Sequence[Flip],
    taught: Optional[Sequence[TaughtExample]],
    published_taught: Optional[Sequence[TaughtExample]],
) -> Dict[str, List[TaughtExample]]:
    """Per intent a flipped message is now read as, the taught examples of that intent the
    candidate learnt and the published model did not (all of them when that is unknown)."""
    before = {(t.intent, t.text) for t in published_taught or ()}
    found: Dict[str, List[TaughtExample]] = {}
    for flip in flips:
        if flip.predicted in found:
            continue
        new = [t for t in taught or () if t.intent == flip.predicted and (t.intent, t.text) not in before]
        if new:
            found[flip.predicted] = new
    return found


def verdict(
    candidate: Scores,
    published: Optional[Scores],
    *,
    taught: Optional[Sequence[TaughtExample]] = None,
    published_taught: Optional[Sequence[TaughtExample]] = None,
) -> Verdict:
    """Whether ``candidate`` may replace ``published`` (module docstring); ``taught`` and
    ``published_taught`` are the taught examples each was trained with (None: not known)."""
    reasons: List[str] = []
    if candidate.macro_f1 < MIN_MACRO_F1:
        reasons.append(f"macro-F1 {candidate.macro_f1:.4f} di bawah target {MIN_MACRO_F1}")
    low = sorted(name for name, row in candidate.intents.items() if row["f1-score"] < MIN_INTENT_F1)
    if low:
        reasons.append(f"F1 di bawah {MIN_INTENT_F1}: " + ", ".join(low))
    emergency = candidate.intents.get(EMERGENCY_INTENT)
    if emergency is None:
        reasons.append("set uji tidak berisi contoh darurat")
    elif emergency["recall"] < MIN_DARURAT_RECALL:
        reasons.append(
            f"recall darurat {emergency['recall']:.3f} di bawah {MIN_DARURAT_RECALL} (ada keadaan darurat yang terlewat)"
        )
    worse: List[Worse] = []
    explained = False
    if published is not None:
        explained = bool(candidate.predictions) and bool(published.predictions)
        if candidate.macro_f1 < published.macro_f1:
            reasons.append(f"macro-F1 turun dari {published.macro_f1:.4f} ke {candidate.macro_f1:.4f}")
        for name, row in sorted(published.intents.items()):
            after = candidate.intents.get(name, {}).get("f1-score", 0.0)
            if after < row["f1-score"]:
                flips = _flips(name, candidate, published)
                worse.append(
                    Worse(name, row["f1-score"], after, flips, _suspects(flips, taught, published_taught))
                )
    return Verdict(not reasons, reasons, worse, explained)


# -- the store ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    id: str
    created_at: str
    created_by: str
    etag: str
    scores: Optional[Scores]
    verdict: Optional[Verdict]
    error: Optional[str]  # a training or evaluation that failed, and why
    taught: Optional[List[TaughtExample]] = None  # what staff had taught when it was trained

    @property
    def path(self) -> Path:
        return store_dir() / "candidates" / self.id / MODEL_FILE


def file_etag(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _candidate_dir(candidate_id: str) -> Path:
    if not _ID.match(candidate_id or ""):
        raise RegistryError("Model tidak dikenal.")
    return store_dir() / "candidates" / candidate_id


def new_id(now: Optional[dt.datetime] = None) -> str:
    base = (now or dt.datetime.utcnow()).strftime("%Y%m%d-%H%M%S")
    candidate, n = base, 1
    while (store_dir() / "candidates" / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _verdict_dict(value: Verdict) -> Dict[str, Any]:
    return {
        "publishable": value.publishable,
        "reasons": value.reasons,
        "explained": value.explained,
        "worse": [
            {
                "intent": w.intent,
                "before": w.before,
                "after": w.after,
                "flips": [flip.as_dict() for flip in w.flips],
                "suspects": {name: [t.as_dict() for t in found] for name, found in w.suspects.items()},
            }
            for w in value.worse
        ],
    }


def _verdict_from_dict(raw: Dict[str, Any]) -> Verdict:
    return Verdict(
        raw["publishable"],
        list(raw["reasons"]),
        [
            Worse(
                w["intent"],
                w["before"],
                w["after"],
                [Flip.from_dict(flip) for flip in w.get("flips") or []],
                {
                    name: [TaughtExample.from_dict(t) for t in found]
                    for name, found in (w.get("suspects") or {}).items()
                },
            )
            for w in raw["worse"]
        ],
        bool(raw.get("explained")),
    )


def register(
    candidate_id: str,
    model: Optional[Path],
    scores: Optional[Scores],
    actor: str,
    *,
    error: Optional[str] = None,
    taught: Optional[Sequence[TaughtExample]] = None,
) -> Candidate:
    """Store a trained model with its evaluation and verdict against the published model (or a
    failed run with its reason, which publishes nothing); ``taught``: the taught examples it was
    trained with, kept to explain a later candidate's drops."""
    folder = _candidate_dir(candidate_id)
    folder.mkdir(parents=True, exist_ok=True)
    etag = ""
    if model is not None and error is None:
        target = folder / MODEL_FILE
        if model.resolve() != target.resolve():
            shutil.copyfile(model, target)
        etag = file_etag(target)
    current = published()
    judged = None
    if scores is not None and error is None:
        judged = verdict(
            scores,
            current.scores if current else None,
            taught=taught,
            published_taught=current.taught if current else None,
        )
    _write_json(
        folder / EVALUATION_FILE,
        {
            "created_at": dt.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_by": actor,
            "etag": etag,
            "scores": scores.as_dict() if scores else None,
            "verdict": _verdict_dict(judged) if judged else None,
            "error": error,
            "taught": None if taught is None else [t.as_dict() for t in taught],
        },
    )
    return get(candidate_id)


def get(candidate_id: str) -> Candidate:
    folder = _candidate_dir(candidate_id)
    value = _read_json(folder / EVALUATION_FILE, None)
    if value is None:
        raise RegistryError("Model tidak dikenal.")
    raw = value.get("verdict")
    taught = value.get("taught")
    return Candidate(
        candidate_id,
        value["created_at"],
        value["created_by"],
        value.get("etag") or "",
        Scores.from_dict(value["scores"]) if value.get("scores") else None,
        _verdict_from_dict(raw) if raw is not None else None,
        value.get("error"),
        None if taught is None else [TaughtExample.from_dict(t) for t in taught],
    )


def candidates() -> List[Candidate]:
    folder = store_dir() / "candidates"
    if not folder.is_dir():
        return []
    found = []
    for child in sorted(folder.iterdir(), reverse=True):
        if (child / EVALUATION_FILE).is_file():
            found.append(get(child.name))
    return found


def state() -> Dict[str, Any]:
    return _read_json(store_dir() / STATE_FILE, {"published": None, "history": []})


def published() -> Optional[Candidate]:
    current = state().get("published")
    return get(current) if current else None


def publish(candidate_id: str, actor: str) -> Candidate:
    """Make a publishable candidate the model every ``rasa run`` pulls next."""
    candidate = get(candidate_id)
    if candidate.error or candidate.verdict is None:
        raise RegistryError("Model ini gagal dilatih atau dievaluasi; tidak dapat diterbitkan.")
    if not candidate.verdict.publishable:
        raise RegistryError("Model ini tidak memenuhi target: " + "; ".join(candidate.verdict.reasons))
    _set_published(candidate_id, actor, "terbit")
    return candidate


def rollback(actor: str) -> Candidate:
    """Publish again the model published before the current one."""
    history = [entry for entry in state()["history"] if entry["action"] in ("terbit", "kembali")]
    current = state().get("published")
    earlier = [entry["id"] for entry in history if entry["id"] != current]
    if not earlier:
        raise RegistryError("Belum ada model sebelumnya untuk dikembalikan.")
    _set_published(earlier[-1], actor, "kembali")
    return get(earlier[-1])


def _set_published(candidate_id: str, actor: str, action: str) -> None:
    store_dir().mkdir(parents=True, exist_ok=True)
    value = state()
    value["published"] = candidate_id
    value["history"].append(
        {
            "id": candidate_id,
            "action": action,
            "by": actor,
            "at": dt.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    _write_json(store_dir() / STATE_FILE, value)


# -- what the model server serves -------------------------------------------------------------
@dataclass(frozen=True)
class Served:
    """The model ``rasa run`` pulls: a published candidate, or the baseline (``candidate`` None)."""

    path: Path
    etag: str
    candidate: Optional[Candidate]

    @property
    def filename(self) -> str:
        """The name Rasa saves the archive under (and shows as its ``model_file``)."""
        return f"layanwarga-{self.candidate.id}.tar.gz" if self.candidate else "layanwarga-bawaan.tar.gz"


# (path, inode, size, mtime) -> SHA-256 of the baseline, so a pull every minute per instance
# reads the archive once, not every time.
_baseline_etag: Dict[Tuple[str, int, int, int], str] = {}


def _etag_of_baseline(path: Path) -> str:
    status = path.stat()
    key = (str(path), status.st_ino, status.st_size, status.st_mtime_ns)
    if key not in _baseline_etag:
        _baseline_etag.clear()
        _baseline_etag[key] = file_etag(path)
    return _baseline_etag[key]


def served() -> Optional[Served]:
    """What the model server gives ``rasa run`` (module docstring); None: no model at all."""
    current = published()
    if current is not None:
        if current.path.is_file():
            return Served(current.path, current.etag, current)
        logger.error(
            "Published model %s has no file at %s: serving the baseline model %s instead",
            current.id,
            current.path,
            baseline_path(),
        )
    baseline = baseline_path()
    if not baseline.is_file():
        return None
    return Served(baseline, _etag_of_baseline(baseline), None)
