"""Closing the loop: the citizen confirms a resolved complaint (or reopens it) and rates it.

When a complaint turns ``selesai`` the citizen gets "is it really resolved?" with the buttons
*Sudah selesai* / *Belum selesai* (composed in ``notifications``), then a 1–5 rating. "Belum
selesai" reopens the ticket (``selesai`` → ``diproses``) with the citizen's note in the history.
Ratings land in ``tickets.rating`` and feed the statistics.

A citizen only ever acts on their own tickets: someone else's number reads as unknown.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Session

from . import citizens, states, tickets
from .db import session_scope
from .models import KIND_COMPLAINT, Base, Ticket, utcnow
from .redaction import mask_identifiers

logger = logging.getLogger(__name__)

WAITING, CONFIRMED, REOPENED = "menunggu", "sudah", "belum"


class TicketFeedback(Base):
    __tablename__ = "ticket_feedback"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True)
    confirmation = Column(String(10), nullable=False, default=WAITING)
    asked_at = Column(DateTime, nullable=False, default=utcnow)
    confirmed_at = Column(DateTime, nullable=True)
    rating = Column(Integer, nullable=True)
    rated_at = Column(DateTime, nullable=True)
    citizen_note = Column(Text, nullable=True)
    reopen_count = Column(Integer, nullable=False, default=0)


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
    row = session.execute(select(TicketFeedback).where(TicketFeedback.ticket_id == ticket.id)).scalars().first()
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
    owner = Ticket.citizen.has(citizens.of_sender(sender))
    if number:
        return session.execute(
            select(Ticket).where(Ticket.number == number, owner, Ticket.kind == KIND_COMPLAINT)
        ).scalars().first()
    return session.execute(
        select(Ticket)
        .join(TicketFeedback, TicketFeedback.ticket_id == Ticket.id)
        .where(owner, Ticket.state == states.SELESAI)
        .order_by(
            (TicketFeedback.confirmation == WAITING).desc(),
            TicketFeedback.asked_at.desc(),
        )
        .limit(1)
    ).scalars().first()


def _row(session: Session, ticket: Ticket) -> TicketFeedback:
    row = session.execute(select(TicketFeedback).where(TicketFeedback.ticket_id == ticket.id)).scalars().first()
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
        row = _row(session, ticket)
        row.confirmation = CONFIRMED
        row.confirmed_at = utcnow()
        return Outcome("ok", ticket.number)


def reopen(sender: str, number: Optional[str], note: str, *, url: Optional[str] = None) -> Outcome:
    """"Belum selesai": reopen the complaint with the citizen's note in its history."""
    with session_scope(url, write=True) as session:
        ticket = _own_ticket(session, sender, number)
        if ticket is None:
            return Outcome("not_found", number)
        if ticket.state != states.SELESAI:
            return Outcome("not_resolved", ticket.number)
        # Shown to staff in the ticket's history and feedback: NIKs masked like all ticket text.
        text = mask_identifiers(" ".join((note or "").split())[:1000]) or "(tanpa keterangan)"
        tickets.change_state(
            ticket.id, states.DIPROSES, tickets.CITIZEN_ACTOR, f"Warga: belum selesai. {text}", session=session
        )
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
        ticket.rating = rating
        row = _row(session, ticket)
        row.rating = rating
        row.rated_at = utcnow()
        if row.confirmation == WAITING:
            row.confirmation = CONFIRMED
            row.confirmed_at = row.rated_at
        return Outcome("ok", ticket.number, rating)


def for_ticket(session: Session, ticket_id: int) -> Optional[TicketFeedback]:
    return session.execute(select(TicketFeedback).where(TicketFeedback.ticket_id == ticket_id)).scalars().first()
