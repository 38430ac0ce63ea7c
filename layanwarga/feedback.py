"""Closing the loop: the citizen confirms a resolved complaint (or reopens it) and rates it.

When a complaint turns ``selesai`` the citizen gets "is it really resolved?" with the buttons
*Sudah selesai* / *Belum selesai* (composed in ``notifications``), then a 1–5 rating. "Belum
selesai" reopens the ticket (``selesai`` → ``diproses``) with the citizen's note in the history.
Ratings land in ``tickets.rating`` and feed the statistics.

A citizen only ever acts on their own tickets and those they follow (``supporters``): someone
else's number reads as unknown. A supporter's confirmation and rating are kept on their supporter
row (the ticket's rating stays the reporter's); their "belum selesai" reopens the ticket too.

Citizens answer by typing too ("udh nyala pak, makasih bnyk", "lampunya masih mati", "lima"):
``read_reply`` and ``read_rating`` read such answers, and ``awaiting_confirmation`` says whether
a message can be one (the question waits, and the citizen has written nothing else since).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import List, Optional, Union

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from nlu_components.text_normalizer import NEGATION_WORDS

from . import citizens, states, tickets
from .conversation_log import DIRECTION_IN
from .db import session_scope
from .first_message import FUNCTION_WORDS, tokens
from .models import KIND_COMPLAINT, Citizen, ConversationMessage, Supporter, Ticket, TicketFeedback, utcnow
from .models.tickets import (
    FEEDBACK_CONFIRMED as CONFIRMED,
    FEEDBACK_REOPENED as REOPENED,
    FEEDBACK_WAITING as WAITING,
)
from .redaction import mask_identifiers
from .text import content_words

logger = logging.getLogger(__name__)

# What a typed answer to "is it really resolved?" says.
RESOLVED, NOT_RESOLVED = "selesai", "belum_selesai"


@dataclass(frozen=True)
class Outcome:
    """What happened, for the assistant to answer: ``ok`` or why not (``not_found``,
    ``not_resolved``, ``bad_rating``)."""

    status: str
    number: Optional[str] = None
    rating: Optional[int] = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def ask_confirmation(session: Session, ticket: Ticket) -> None:
    """Record that the citizen is being asked (a resolved complaint; again after a reopen)."""
    row = (
        session.execute(select(TicketFeedback).where(TicketFeedback.ticket_id == ticket.id)).scalars().first()
    )
    now = utcnow()
    if row is None:
        session.add(TicketFeedback(ticket_id=ticket.id, confirmation=WAITING, asked_at=now))
    else:
        row.confirmation = WAITING
        row.asked_at = now
        row.confirmed_at = None
    session.flush()


def _own_ticket(session: Session, sender: str, number: Optional[str]) -> Optional[Ticket]:
    """The sender's complaint with this number; without a number, the one most recently waiting
    for confirmation (a citizen answering the question by typing)."""
    owner = or_(
        Ticket.citizen.has(citizens.of_sender(sender)),
        Ticket.id.in_(
            select(Supporter.ticket_id)
            .join(Citizen, Citizen.id == Supporter.citizen_id)
            .where(citizens.of_sender(sender))
        ),
    )
    if number:
        return (
            session.execute(
                select(Ticket).where(Ticket.number == number, owner, Ticket.kind == KIND_COMPLAINT)
            )
            .scalars()
            .first()
        )
    return (
        session.execute(
            select(Ticket)
            .join(TicketFeedback, TicketFeedback.ticket_id == Ticket.id)
            .where(owner, Ticket.state == states.SELESAI)
            .order_by(
                (TicketFeedback.confirmation == WAITING).desc(),
                TicketFeedback.asked_at.desc(),
            )
            .limit(1)
        )
        .scalars()
        .first()
    )


def _supporter(session: Session, sender: str, ticket: Ticket) -> Optional[Supporter]:
    """The sender's supporter row of ``ticket``; None when they reported it themselves (a
    reporter never supports their own ticket: ``supporters.follow``)."""
    return (
        session.execute(
            select(Supporter)
            .join(Citizen, Citizen.id == Supporter.citizen_id)
            .where(Supporter.ticket_id == ticket.id, citizens.of_sender(sender))
        )
        .scalars()
        .first()
    )


def _row(session: Session, ticket: Ticket) -> TicketFeedback:
    row = (
        session.execute(select(TicketFeedback).where(TicketFeedback.ticket_id == ticket.id)).scalars().first()
    )
    if row is None:
        row = TicketFeedback(ticket_id=ticket.id, confirmation=WAITING, asked_at=utcnow())
        session.add(row)
    return row


def pending_number(sender: str, *, url: Optional[str] = None) -> Optional[str]:
    """The number of the sender's complaint waiting for "is it really resolved?"."""
    with session_scope(url) as session:
        ticket = _own_ticket(session, sender, None)
        return ticket.number if ticket is not None else None


def lookup(sender: str, number: Optional[str], *, url: Optional[str] = None) -> Outcome:
    """Whether the sender has this resolved complaint (or, without a number, one waiting for
    confirmation), without changing anything."""
    with session_scope(url) as session:
        ticket = _own_ticket(session, sender, number)
        if ticket is None:
            return Outcome("not_found", number)
        if ticket.state != states.SELESAI:
            return Outcome("not_resolved", ticket.number)
        return Outcome("ok", ticket.number, ticket.rating)


def confirm(sender: str, number: Optional[str], *, url: Optional[str] = None) -> Outcome:
    """The citizen says the complaint really is resolved."""
    with session_scope(url, write=True) as session:
        ticket = _own_ticket(session, sender, number)
        if ticket is None:
            return Outcome("not_found", number)
        if ticket.state != states.SELESAI:
            return Outcome("not_resolved", ticket.number)
        row: Union[TicketFeedback, Supporter, None] = _supporter(session, sender, ticket)
        if row is None:
            row = _row(session, ticket)
        row.confirmation = CONFIRMED
        row.confirmed_at = utcnow()
        return Outcome("ok", ticket.number)


def reopen(sender: str, number: Optional[str], note: str, *, url: Optional[str] = None) -> Outcome:
    """ "Belum selesai": reopen the complaint with the citizen's note in its history."""
    with session_scope(url, write=True) as session:
        ticket = _own_ticket(session, sender, number)
        if ticket is None:
            return Outcome("not_found", number)
        if ticket.state != states.SELESAI:
            return Outcome("not_resolved", ticket.number)
        # Shown to staff in the ticket's history and feedback: NIKs masked like all ticket text.
        text = mask_identifiers(" ".join((note or "").split())[:1000]) or "(tanpa keterangan)"
        tickets.change_state(
            ticket.id,
            states.DIPROSES,
            tickets.CITIZEN_ACTOR,
            f"Warga: belum selesai. {text}",
            session=session,
        )
        supporter = _supporter(session, sender, ticket)
        if supporter is not None:
            supporter.confirmation = REOPENED
            supporter.confirmed_at = utcnow()
        row = _row(session, ticket)
        row.confirmation = REOPENED
        row.confirmed_at = utcnow()
        row.citizen_note = text
        row.reopen_count = (row.reopen_count or 0) + 1
        logger.info("Complaint %s reopened by its reporter", ticket.number)
        return Outcome("ok", ticket.number)


def rate(sender: str, number: Optional[str], value: object, *, url: Optional[str] = None) -> Outcome:
    """Store the citizen's 1–5 rating of a resolved complaint (the latest rating counts)."""
    try:
        rating = int(str(value).strip())
    except (TypeError, ValueError):
        return Outcome("bad_rating", number)
    if not 1 <= rating <= 5:
        return Outcome("bad_rating", number)
    with session_scope(url, write=True) as session:
        ticket = _own_ticket(session, sender, number)
        if ticket is None:
            return Outcome("not_found", number)
        if ticket.state != states.SELESAI:
            return Outcome("not_resolved", ticket.number)
        supporter = _supporter(session, sender, ticket)
        if supporter is not None:
            supporter.rating = rating
            supporter.rated_at = utcnow()
            if supporter.confirmation in (None, WAITING):
                supporter.confirmation = CONFIRMED
                supporter.confirmed_at = supporter.rated_at
            return Outcome("ok", ticket.number, rating)
        ticket.rating = rating
        row = _row(session, ticket)
        row.rating = rating
        row.rated_at = utcnow()
        if row.confirmation == WAITING:
            row.confirmation = CONFIRMED
            row.confirmed_at = row.rated_at
        return Outcome("ok", ticket.number, rating)


def for_ticket(session: Session, ticket_id: int) -> Optional[TicketFeedback]:
    return (
        session.execute(select(TicketFeedback).where(TicketFeedback.ticket_id == ticket_id)).scalars().first()
    )


# -- typed answers ---------------------------------------------------------------------------------------
# Still wrong: "masih mati", "rusak lagi", "tetap sama" (not after a negation: "sudah tidak mati lagi").
_STILL = frozenset({"masih", "tetap", "lagi", "kembali"})
_STILL_WRONG = frozenset(
    """mati padam gelap redup kedip rusak lubang bolong hancur retak banjir genang luap sumbat mampet
    tumpuk numpuk bau kotor bocor sama begitu gitu parah ada""".split()
)
_NO_PROBLEM = ("tidak ada masalah", "sudah aman", "sudah tidak", "aman sekarang")
_RESOLVED_WORDS = frozenset(
    """sudah selesai beres tuntas kelar ya iya betul benar nyala menyala hidup terang bersih lancar baik
    diperbaiki perbaiki angkut diangkut tambal ditambal mantap sip oke ok alhamdulillah terima kasih
    makasih aman""".split()
)
_RATING_WORDS = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5}
# Longest phrase first: "tidak puas" before "puas".
_RATING_PHRASES = (
    ("sangat puas", 5),
    ("puas sekali", 5),
    ("puas banget", 5),
    ("sangat memuaskan", 5),
    ("memuaskan", 5),
    ("mantap", 5),
    ("tidak puas", 1),
    ("kurang puas", 2),
    ("belum puas", 2),
    ("kecewa", 1),
    ("buruk", 1),
    ("jelek", 1),
    ("puas", 4),
    ("bagus", 4),
    ("cukup", 3),
    ("lumayan", 3),
    ("biasa", 3),
    ("kurang", 2),
)
_DIGIT = re.compile(r"(?<![\d.,/])([1-5])(?![\d.,/]?\d)")


def _words(text: str, stems: bool = False) -> List[str]:
    """The normalised words of a message (``udh`` -> sudah), or their stems (``numpuk`` -> tumpuk)."""
    found: List[str] = []
    for token in tokens(text):
        if token.is_word:
            found += (token.lemma if stems else token.norm).split()
        elif token.is_number:
            found.append(token.raw)
    return found


def read_reply(text: str) -> Optional[str]:
    """``NOT_RESOLVED`` ("belum", "lampunya masih mati pak", "tidak, masih sama"), ``RESOLVED``
    ("udh nyala pak, makasih bnyk", "iya sudah", "ya") or None for anything else."""
    words, stems = _words(text), _words(text, stems=True)
    if not words:
        return None
    if "belum" in words:
        return NOT_RESOLVED
    for index, stem in enumerate(stems):
        negated = index > 0 and stems[index - 1] in NEGATION_WORDS
        if stem in _STILL_WRONG and not negated:
            before, after = stems[max(0, index - 2) : index], stems[index + 1 : index + 3]
            if _STILL & set(before) or "lagi" in after:
                return NOT_RESOLVED
    joined = f" {' '.join(words)} "
    if any(f" {phrase} " in joined for phrase in _NO_PROBLEM):
        return RESOLVED
    if words[0] in NEGATION_WORDS and (len(words) == 1 or words[1] not in ("ada", "apa")):
        return NOT_RESOLVED
    if _RESOLVED_WORDS & set(words) or " terima kasih " in joined:
        return RESOLVED
    return None


def has_details(text: str) -> bool:
    """Whether a "not resolved" answer says more than no ("belum pak masih gelap" does; "blm pak"
    and "belum selesai juga" do not): then it is the note, and nothing needs to be asked."""
    plain = FUNCTION_WORDS | _STILL | _RESOLVED_WORDS  # FUNCTION_WORDS has the negations
    said = [w for w in content_words(" ".join(_words(text))) if w not in plain and not w.isdigit()]
    return bool(said)


def read_rating(text: str) -> Optional[int]:
    """A 1–5 rating typed in digits, number words or words of satisfaction ("puas banget" is 5,
    "cukup" 3, "kurang puas" 2), or None."""
    match = _DIGIT.search(text or "")
    if match:
        return int(match.group(1))
    words = _words(text)
    for word in words:
        if word in _RATING_WORDS:
            return _RATING_WORDS[word]
    joined = f" {' '.join(words)} "
    for phrase, value in _RATING_PHRASES:
        if f" {phrase} " in joined:
            return value
    return None


@dataclass(frozen=True)
class Question:
    """A resolved complaint waiting for the citizen's "is it really resolved?" answer."""

    number: str
    category: str


def awaiting_confirmation(sender: str, *, url: Optional[str] = None) -> Optional[Question]:
    """The complaint whose question the citizen's current message may answer by typing: the one
    most recently asked, and only when the citizen has written nothing since it was asked but
    this message (the conversation log holds what they wrote). Someone who asked about office
    hours in between is no longer answering it; the buttons still work."""
    with session_scope(url) as session:
        ticket = _own_ticket(session, sender, None)
        if ticket is None:
            return None
        row = for_ticket(session, ticket.id)
        if row is None or row.confirmation != WAITING:
            return None
        written_since = session.execute(
            select(func.count(ConversationMessage.id)).where(
                ConversationMessage.sender == sender,
                ConversationMessage.direction == DIRECTION_IN,
                # Stored to the second: a message of the same second as the question came before it.
                ConversationMessage.created_at > row.asked_at,
            )
        ).scalar_one()
        if written_since > 1:
            return None
        return Question(ticket.number, ticket.category)
