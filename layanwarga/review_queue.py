"""The review queue of content staff (issue 27): the citizens' messages the assistant probably
misunderstood, grouped by similar text, with counts and the conversation around each.

A message enters the queue for one of four reasons (``REASONS``):

1. **fell back**: the assistant did not understand it (its NLU answered ``nlu_fallback``, below
   the FallbackClassifier's threshold, or the turn ran ``action_default_fallback``);
2. **low confidence**: it was answered, but its top intent's confidence was under
   ``LOW_CONFIDENCE``;
3. **rephrased**: the citizen wrote again within ``REPHRASE_WINDOW`` with much the same words
   (``REPHRASE_OVERLAP`` of their normalised words shared) and the assistant read the second
   message as another intent: the first answer was probably wrong. The second reading is offered
   as a guess for the first;
4. **flagged**: staff flagged the line from a ticket's conversation or a live chat.

A message a form took as an answer (an address, a name) is never queued: its intent does not
matter there. The readings come from ``nlu_readings``, which the conversation store writes once
per turn (``record_reading``); flags from ``review_flags``.

"Similar text" is the same group key: the message's words through the project's Indonesian
normaliser (``nlu_components.text_normalizer``: colloquial spellings, repeated letters and affixes
reduced to the same lemma), so ``jalan rusakkk parah`` and ``jln rusak parah`` are one group. A
group content staff decided on (``review_annotations``) leaves the queue for good, whatever its
decision, so an ignored phrase does not come back (Botpress' users report that it did there).

Personal data: the text is stored with NIK-like numbers masked (as the message log); pages show
it with phone numbers masked too (``display_text``) and the sender shortened.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from nlu_components.text_normalizer import EMOJI_PLACEHOLDER, get_normalizer

from .db import session_scope
from .inbound import mask
from .models import ConversationMessage, NluReading, ReviewAnnotation, ReviewFlag, utcnow
from .redaction import mask_identifiers, mask_phone_numbers

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"
# config.yml's FallbackClassifier falls back under 0.3; between that and this the assistant
# answered, but was unsure enough for a person to look.
LOW_CONFIDENCE = 0.5
REPHRASE_WINDOW = dt.timedelta(minutes=2)
REPHRASE_OVERLAP = 0.3
# Botpress' review shows 6 messages before and 3 after; so does ours.
CONTEXT_BEFORE, CONTEXT_AFTER = 6, 3
GUESSES_KEPT = 3
DEFAULT_WINDOW = dt.timedelta(days=30)
KEY_LIMIT = 255

FELL_BACK, LOW, REPHRASED, FLAGGED = "fallback", "rendah", "diulang", "ditandai"
REASONS = {
    FELL_BACK: "Tidak dipahami",
    LOW: "Keyakinan rendah",
    REPHRASED: "Diulang dengan kata lain",
    FLAGGED: "Ditandai staf",
}

_WORD = re.compile(r"\w+", re.UNICODE)


def lemmas(text: str) -> List[str]:
    """The message's words as the normaliser reads them (emoji and punctuation left out)."""
    normalizer = get_normalizer()
    found: List[str] = []
    for token in _WORD.findall(text or ""):
        lemma = normalizer.lemma(token)
        if lemma and lemma != EMOJI_PLACEHOLDER:
            found.extend(lemma.split())
    return found


def group_key(text: str) -> str:
    """What groups similar messages: their normalised words in order, numbers left out (a NIK,
    a phone number, an RT differ from citizen to citizen) and a word repeated at once counted
    once (``kedip2`` and ``kedip kedip``); the text itself, lower case, when that leaves
    nothing (a lone emoji, a bare number) — with NIKs and phone numbers masked first, since a
    message that is only a NIK would otherwise be stored as its own key."""
    text = mask_phone_numbers(mask_identifiers(text or ""))
    words: List[str] = []
    for word in lemmas(text):
        if not word.isdigit() and (not words or words[-1] != word):
            words.append(word)
    key = " ".join(words) or " ".join((text or "").lower().split())
    return key[:KEY_LIMIT]


def display_text(text: str) -> str:
    """A citizen's text as staff see it here: NIK-like numbers and phone numbers masked."""
    return mask_phone_numbers(mask_identifiers(text or ""))


# -- writing ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """How the assistant read one message (what the conversation store hands over)."""

    text: str
    intent: Optional[str]
    confidence: Optional[float]
    guesses: Sequence[Tuple[str, float]] = ()
    fell_back: bool = False
    in_form: bool = False
    message_id: Optional[str] = None


def record_reading(
    sender: str, reading: Reading, *, at: Optional[dt.datetime] = None, url: Optional[str] = None
) -> bool:
    """Store ``reading`` of ``sender``'s message; False (logged) when it cannot be stored: the
    citizen's turn is never held up for the review queue. Messages without text (a tapped button
    sends ``/payload``) are not readings of anything a citizen wrote and are skipped."""
    text = (reading.text or "").strip()
    if not text or text.startswith("/"):
        return False
    try:
        with session_scope(url, write=True) as session:
            session.add(
                NluReading(
                    sender=sender[:128],
                    message_id=(reading.message_id or None) and reading.message_id[:255],
                    text=mask_identifiers(text)[:4096],
                    group_key=group_key(text),
                    intent=(reading.intent or None) and reading.intent[:80],
                    confidence=reading.confidence,
                    guesses=json.dumps(
                        [[name, round(float(score), 4)] for name, score in reading.guesses[:GUESSES_KEPT]]
                    ),
                    fell_back=bool(reading.fell_back),
                    in_form=bool(reading.in_form),
                    created_at=at or utcnow(),
                )
            )
    except SQLAlchemyError:
        logger.exception("Could not record the assistant's reading of a message from %s", mask(sender))
        return False
    return True


class FlagRefused(ValueError):
    """The line cannot be flagged (not a citizen's text line)."""


def flag_line(session: Session, line_id: int, actor: str) -> bool:
    """Put a citizen's line of a ticket's conversation or a live chat in the queue; False when
    it already is. The caller checks the user may read the line."""
    line = session.get(ConversationMessage, line_id)
    if (
        line is None
        or line.direction != "in"
        or not (line.text or "").strip()
        or (line.text or "").startswith("/")
    ):
        raise FlagRefused("Hanya pesan teks dari warga yang dapat ditandai.")
    if session.execute(select(ReviewFlag.id).where(ReviewFlag.line_id == line_id)).first() is not None:
        return False
    session.add(
        ReviewFlag(
            line_id=line_id,
            sender=line.sender,
            text=line.text or "",
            group_key=group_key(line.text or ""),
            flagged_by=actor[:120],
            created_at=utcnow(),
        )
    )
    return True


# -- reading the queue ---------------------------------------------------------------------------
@dataclass
class Item:
    """One queued message."""

    sender: str
    text: str
    at: dt.datetime
    reason: str
    intent: Optional[str]
    confidence: Optional[float]
    guesses: List[Tuple[str, float]]
    message_id: Optional[str] = None
    line_id: Optional[int] = None
    group_key: str = ""


@dataclass
class Group:
    """Similar queued messages: how many, why, and the assistant's guesses for them."""

    key: str
    items: List[Item] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def senders(self) -> int:
        return len({item.sender for item in self.items})

    @property
    def latest(self) -> Item:
        return max(self.items, key=lambda item: item.at)

    @property
    def text(self) -> str:
        return display_text(self.latest.text)

    @property
    def reasons(self) -> Dict[str, int]:
        counts = Counter(item.reason for item in self.items)
        return {REASONS[reason]: counts[reason] for reason in REASONS if counts[reason]}

    @property
    def guesses(self) -> List[Tuple[str, float]]:
        """The intents the assistant considered, by their best confidence in the group."""
        best: Dict[str, float] = {}
        for item in self.items:
            for name, score in item.guesses:
                if name != FALLBACK_INTENT:
                    best[name] = max(best.get(name, 0.0), score)
        return sorted(best.items(), key=lambda pair: -pair[1])[: GUESSES_KEPT + 1]


def _overlap(first: str, second: str) -> float:
    a, b = set(lemmas(first)), set(lemmas(second))
    return len(a & b) / len(a | b) if a and b else 0.0


def _guesses(raw: Optional[str]) -> List[Tuple[str, float]]:
    try:
        return [(str(name), float(score)) for name, score in json.loads(raw or "[]")]
    except (TypeError, ValueError):
        return []


@dataclass(frozen=True)
class _Row:
    """A reading as the queue needs it (a row of ``nlu_readings``, without the ORM)."""

    sender: str
    message_id: Optional[str]
    text: str
    group_key: str
    intent: Optional[str]
    confidence: Optional[float]
    guesses: Optional[str]
    fell_back: bool
    in_form: bool
    created_at: dt.datetime

    @property
    def misread(self) -> bool:
        return bool(self.fell_back) or self.intent == FALLBACK_INTENT

    def item(self, reason: str, guesses: List[Tuple[str, float]]) -> Item:
        return Item(
            self.sender,
            self.text,
            self.created_at,
            reason,
            self.intent,
            self.confidence,
            guesses,
            self.message_id,
            group_key=self.group_key,
        )


_CHUNK = 500  # ids per IN (...) when the candidates' texts are read
_COLUMNS = (
    "sender",
    "message_id",
    "text",
    "group_key",
    "intent",
    "confidence",
    "guesses",
    "fell_back",
    "in_form",
    "created_at",
)


def _seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    """SQL for the seconds from ``earlier`` to ``later`` (each database has its own arithmetic)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _pairs(
    session: Session, since: dt.datetime, low_confidence: float, key: Optional[str] = None
) -> Iterator[Tuple[_Row, Optional[_Row]]]:
    """Each reading since ``since`` that can be queued, with the same sender's reading just
    before it (SQL's ``LAG``, on SQLite and PostgreSQL alike). Only candidates leave the
    database: a reading that fell back or was unsure outside a form, and a reading whose
    predecessor could have been misread (the rephrasing rule's conditions but the shared words,
    checked here). With ``key``, only what belongs to that group. The window runs over the
    small columns; the texts are read for the candidates only."""
    window = {"partition_by": NluReading.sender, "order_by": NluReading.id}
    light = ("id", "created_at", "intent", "confidence", "fell_back", "in_form", "group_key")
    # The column's type, so each database's values come back as Python's (SQLite's LAG drops it).
    readings = (
        select(
            *(getattr(NluReading, name).label(name) for name in light),
            *(
                func.lag(getattr(NluReading, name), type_=getattr(NluReading, name).type)
                .over(**window)
                .label(f"before_{name}")
                for name in light
            ),
        )
        .where(NluReading.created_at >= since)
        .subquery()
    )
    c = readings.c
    unsure = and_(
        c.in_form.is_(False),
        or_(c.fell_back.is_(True), c.intent == FALLBACK_INTENT, c.confidence < low_confidence),
    )
    rephrase = and_(
        c.before_id.is_not(None),
        _seconds_between(session, c.created_at, c.before_created_at) <= REPHRASE_WINDOW.total_seconds(),
        c.before_in_form.is_(False),
        c.before_fell_back.is_(False),
        or_(c.before_intent.is_(None), c.before_intent != FALLBACK_INTENT),
        or_(c.before_confidence.is_(None), c.before_confidence >= low_confidence),
        c.intent.is_not(None),
        c.intent != FALLBACK_INTENT,
        or_(c.before_intent.is_(None), c.intent != c.before_intent),
    )
    query = select(c.id, c.before_id).where(or_(unsure, rephrase)).order_by(c.id)
    if key is not None:
        query = query.where(or_(c.group_key == key, c.before_group_key == key))
    candidates = session.execute(query).all()
    wanted = sorted({i for pair in candidates for i in pair if i is not None})
    rows: Dict[int, _Row] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found = select(NluReading.id, *(getattr(NluReading, name) for name in _COLUMNS)).where(
            NluReading.id.in_(chunk)
        )
        for row in session.execute(found):
            rows[row[0]] = _Row(*row[1:])
    for reading_id, before_id in candidates:
        yield rows[reading_id], rows.get(before_id) if before_id is not None else None


def queued_items(
    pairs: Iterable[Tuple[_Row, Optional[_Row]]], *, low_confidence: float = LOW_CONFIDENCE
) -> List[Item]:
    """The queued messages (module docstring) from readings paired with their predecessors."""
    items: List[Item] = []
    for row, before in pairs:
        if not row.in_form:
            if row.misread:
                items.append(row.item(FELL_BACK, _guesses(row.guesses)))
            elif row.confidence is not None and row.confidence < low_confidence:
                items.append(row.item(LOW, _guesses(row.guesses)))
        if (
            before is not None
            and not before.in_form
            and not before.misread
            and (before.confidence is None or before.confidence >= low_confidence)
            and row.created_at - before.created_at <= REPHRASE_WINDOW
            and row.intent not in (None, FALLBACK_INTENT, before.intent)
            and _overlap(before.text, row.text) >= REPHRASE_OVERLAP
        ):
            offered = [(str(row.intent), float(row.confidence or 0.0))] + _guesses(before.guesses)
            items.append(before.item(REPHRASED, offered))
    return items


def queue(
    session: Session,
    *,
    since: Optional[dt.datetime] = None,
    low_confidence: float = LOW_CONFIDENCE,
    limit: int = 200,
    key: Optional[str] = None,
) -> List[Group]:
    """The open queue: groups no one decided on yet, the largest and most recent first (with
    ``key``, only that group). Each reading's group key was computed when it was recorded."""
    since = since or utcnow() - DEFAULT_WINDOW
    decided = set(session.execute(select(ReviewAnnotation.group_key).distinct()).scalars())
    items = queued_items(_pairs(session, since, low_confidence, key), low_confidence=low_confidence)
    for flag in session.execute(select(ReviewFlag).where(ReviewFlag.created_at >= since)).scalars():
        items.append(
            Item(
                flag.sender,
                flag.text,
                flag.created_at,
                FLAGGED,
                None,
                None,
                [],
                line_id=flag.line_id,
                group_key=group_key(flag.text),
            )
        )
    groups: Dict[str, Group] = {}
    for item in items:
        if item.group_key in decided or (key is not None and item.group_key != key):
            continue
        groups.setdefault(item.group_key, Group(item.group_key)).items.append(item)
    ordered = sorted(groups.values(), key=lambda g: (-g.count, -g.latest.at.timestamp()))
    return ordered[:limit]


def find_group(session: Session, key: str, **options: object) -> Optional[Group]:
    found = queue(session, key=key, **options)  # type: ignore[arg-type]
    return found[0] if found else None


@dataclass(frozen=True)
class ContextLine:
    direction: str
    actor: str
    text: str
    at: dt.datetime
    current: bool


def context(session: Session, item: Item) -> List[ContextLine]:
    """The conversation around a queued message: ``CONTEXT_BEFORE`` lines before it and
    ``CONTEXT_AFTER`` after, from the message log, masked (empty when the line is not found,
    e.g. a message that never went through the WhatsApp connector)."""
    line = ConversationMessage
    anchor: Optional[int] = item.line_id
    if anchor is None and item.message_id:
        anchor = session.execute(
            select(line.id)
            .where(line.sender == item.sender, line.wamid == item.message_id)
            .order_by(line.id)
            .limit(1)
        ).scalar()
    if anchor is None:
        return []
    before = list(
        session.execute(
            select(line)
            .where(line.sender == item.sender, line.id <= anchor)
            .order_by(line.id.desc())
            .limit(CONTEXT_BEFORE + 1)
        ).scalars()
    )
    after = list(
        session.execute(
            select(line)
            .where(line.sender == item.sender, line.id > anchor)
            .order_by(line.id)
            .limit(CONTEXT_AFTER)
        ).scalars()
    )
    return [
        ContextLine(row.direction, row.actor, display_text(row.text or ""), row.created_at, row.id == anchor)
        for row in [*reversed(before), *after]
    ]


# -- what changed ----------------------------------------------------------------------------
@dataclass(frozen=True)
class WeekRate:
    """One week's misunderstood rate: of the messages the assistant read outside a form
    (``total``), those it fell back on (``fell_back``). Form answers are left out: a form takes
    an address or a name whatever the NLU made of it. No standard definition exists; this is
    ours (docs: issue 27)."""

    week: dt.date  # its Monday
    total: int
    fell_back: int

    @property
    def rate(self) -> Optional[float]:
        return self.fell_back / self.total if self.total else None


def monday_of(moment: dt.datetime) -> dt.date:
    return moment.date() - dt.timedelta(days=moment.weekday())


def misunderstood_per_week(
    session: Session, *, weeks: int = 12, now: Optional[dt.datetime] = None
) -> List[WeekRate]:
    """The misunderstood rate of each of the last ``weeks`` weeks, oldest first (UTC weeks)."""
    now = now or utcnow()
    first = monday_of(now) - dt.timedelta(weeks=weeks - 1)
    since = dt.datetime.combine(first, dt.time())
    totals: Dict[dt.date, List[int]] = {first + dt.timedelta(weeks=i): [0, 0] for i in range(weeks)}
    rows = session.execute(
        select(NluReading.created_at, NluReading.fell_back, NluReading.intent).where(
            NluReading.created_at >= since, NluReading.in_form.is_(False)
        )
    )
    for created_at, fell_back, intent in rows:
        counts = totals.get(monday_of(created_at))
        if counts is not None:
            counts[0] += 1
            counts[1] += bool(fell_back or intent == FALLBACK_INTENT)
    return [WeekRate(week, total, fell) for week, (total, fell) in sorted(totals.items())]


def examples_added_per_week(
    session: Session, *, weeks: int = 12, now: Optional[dt.datetime] = None
) -> List[Tuple[dt.date, str, int]]:
    """(week's Monday, intent, examples content staff added), newest week first."""
    now = now or utcnow()
    since = dt.datetime.combine(monday_of(now) - dt.timedelta(weeks=weeks - 1), dt.time())
    counts: Counter = Counter()
    rows = session.execute(
        select(ReviewAnnotation.annotated_at, ReviewAnnotation.intent).where(
            ReviewAnnotation.example.is_not(None), ReviewAnnotation.annotated_at >= since
        )
    )
    for annotated_at, intent in rows:
        counts[(monday_of(annotated_at), intent)] += 1
    return sorted(
        ((week, intent, n) for (week, intent), n in counts.items()),
        key=lambda row: (-row[0].toordinal(), row[1]),
    )
