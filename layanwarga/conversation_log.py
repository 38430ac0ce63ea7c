"""Every WhatsApp message to and from a citizen, in order: the history staff read in the live
inbox (plain Python, no Rasa import).

Who writes here:

- the WhatsApp connector logs each inbound message (``log_inbound_checking_handoff``) once it has
  claimed its id, and each message the assistant sends (``whatsapp.statuses.record_outbound``,
  which adds the line with ``actor="asisten"`` in the same unit of work as the message's
  ``accepted`` status);
- the notification outbox logs what staff and state changes send (``actor="staf:<user>"`` /
  ``"sistem"``), linked to its outbox row, so the conversation shows its delivery state.

Personal data: the table holds what citizens wrote (UU 27/2022), with NIK-like numbers masked;
only staff with the chat permission read it, and log lines never quote it.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple, Union

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text, bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import citizens
from .db import connection_scope, session_scope
from .models import Base, Citizen, utcnow
from .redaction import mask_identifiers

logger = logging.getLogger(__name__)

DIRECTION_IN = "in"
DIRECTION_OUT = "out"
ACTOR_CITIZEN = "warga"
ACTOR_ASSISTANT = "asisten"
ACTOR_SYSTEM = "sistem"
TEXT_LIMIT = 8000


class ConversationMessage(Base):
    __tablename__ = "conversation_messages"

    id = Column(Integer, primary_key=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id"), nullable=True)
    sender = Column(String(128), nullable=False)
    direction = Column(String(3), nullable=False)
    kind = Column(String(20), nullable=False, default="text")
    text = Column(Text, nullable=True)
    media_id = Column(Integer, ForeignKey("media.id", ondelete="SET NULL"), nullable=True)
    wamid = Column(String(255), nullable=True, index=True)
    actor = Column(String(120), nullable=False)
    notification_id = Column(Integer, nullable=True, index=True)
    handoff_id = Column(Integer, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_conversation_messages_sender_id", "sender", "id"),
        Index("ix_conversation_messages_citizen_id", "citizen_id", "id"),
    )


@dataclass(frozen=True)
class LoggedMessage:
    id: int
    direction: str
    kind: str
    text: str
    media_id: Optional[int]
    actor: str
    created_at: dt.datetime
    notification_id: Optional[int]


def _clip(text: Optional[str]) -> Optional[str]:
    """Stored text: NIK-like numbers masked (as everywhere else), at most TEXT_LIMIT characters."""
    if text is None:
        return None
    text = mask_identifiers(text)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


@functools.lru_cache(maxsize=1)
def _statements() -> Tuple[Any, Any, Any]:
    """``add``'s statements, built once (SQLAlchemy then reuses their compiled form without
    working out their cache key again): the sender's citizen and open handoff in one query,
    the line's insert, the handoff's latest inbound."""
    from .handoff import Handoff, open_for  # late import: handoff uses this module

    sender = bindparam("sender")
    lookup = select(
        select(Citizen.id).where(citizens.of_sender(sender)).limit(1).scalar_subquery(),
        select(Handoff.id).where(open_for(sender)).limit(1).scalar_subquery(),
    )
    handoffs = Handoff.__table__
    touch = update(handoffs).where(handoffs.c.id == bindparam("handoff_id")).values(last_inbound_at=bindparam("at"))
    return lookup, insert(ConversationMessage.__table__), touch


@dataclass(frozen=True)
class LoggedLine:
    """A line ``add`` wrote: its id, and the open handoff it was linked to (if any)."""

    id: int
    handoff_id: Optional[int]


def add(
    unit: Union[Session, Connection],
    *,
    sender: str,
    direction: str,
    text: Optional[str],
    actor: str,
    kind: str = "text",
    wamid: Optional[str] = None,
    media_id: Optional[int] = None,
    citizen_id: Optional[int] = None,
    notification_id: Optional[int] = None,
    created_at: Optional[dt.datetime] = None,
) -> LoggedLine:
    """Log one message inside the caller's unit of work (an ORM session, or a Core connection
    in the WhatsApp connector).

    The line is linked to the sender's citizen record (unless ``citizen_id`` is given) and to
    their open handoff, if any; a citizen's message also becomes the handoff's latest inbound.
    Core statements, not ORM objects: the WhatsApp connector writes a line for every message
    in and out, on a thread that shares the interpreter lock with Rasa.
    """
    lookup, insert_line, touch_handoff = _statements()
    found_citizen, handoff_id = unit.execute(lookup, {"sender": sender}).one()
    created_at = created_at or utcnow()
    result = unit.execute(
        insert_line,
        {
            "citizen_id": citizen_id if citizen_id is not None else found_citizen,
            "sender": sender[:128],
            "direction": direction,
            "kind": (kind or "text")[:20],
            "text": _clip(text),
            "media_id": media_id,
            "wamid": (wamid or None) and wamid[:255],
            "actor": actor[:120],
            "notification_id": notification_id,
            "handoff_id": handoff_id,
            "created_at": created_at,
        },
    )
    if handoff_id is not None and direction == DIRECTION_IN:
        unit.execute(touch_handoff, {"handoff_id": handoff_id, "at": created_at})
    return LoggedLine(id=int(result.inserted_primary_key[0]), handoff_id=handoff_id)


@dataclass(frozen=True)
class LoggedInbound:
    """A logged citizen's message: its row id, and whether an officer has the conversation."""

    id: int
    in_handoff: bool


def log_inbound_checking_handoff(
    sender: str,
    text: Optional[str],
    *,
    wamid: Optional[str] = None,
    kind: str = "text",
    media_id: Optional[int] = None,
    at: Optional[dt.datetime] = None,
    url: Optional[str] = None,
    also: Optional[Callable[[Connection], None]] = None,
) -> LoggedInbound:
    """Log a citizen's message and tell whether a handoff is open for them, in one unit of work.

    ``text`` is what the citizen wrote or chose (a button's title, a caption, a short
    description such as "[lokasi] -2.2,113.9" for pins); ``media_id`` the stored file.
    ``add`` looks the open handoff up anyway (to link the line to it), so the connector learns
    whether the assistant must stay silent without a second unit of work (``handoff.is_active``).
    ``also`` runs in the same unit of work (the connector marks the message held in its journal).
    """
    with connection_scope(url, write=True) as connection:
        row = add(
            connection, sender=sender, direction=DIRECTION_IN, text=text, actor=ACTOR_CITIZEN,
            kind=kind, wamid=wamid, media_id=media_id, created_at=at,
        )
        if also is not None:
            also(connection)
        return LoggedInbound(id=int(row.id), in_handoff=row.handoff_id is not None)


def log_inbound(
    sender: str,
    text: Optional[str],
    *,
    wamid: Optional[str] = None,
    kind: str = "text",
    media_id: Optional[int] = None,
    at: Optional[dt.datetime] = None,
    url: Optional[str] = None,
) -> int:
    """Log a citizen's message; returns the row id (see ``log_inbound_checking_handoff``)."""
    return log_inbound_checking_handoff(
        sender, text, wamid=wamid, kind=kind, media_id=media_id, at=at, url=url
    ).id


def log_outbound(
    sender: str,
    text: Optional[str],
    *,
    actor: str = ACTOR_ASSISTANT,
    wamid: Optional[str] = None,
    kind: str = "text",
    url: Optional[str] = None,
) -> int:
    """Log a message the service sent to ``sender`` (the assistant's replies); returns the id."""
    with session_scope(url, write=True) as session:
        row = add(session, sender=sender, direction=DIRECTION_OUT, text=text, actor=actor, kind=kind, wamid=wamid)
        return int(row.id)


def set_wamid(session: Session, notification_id: int, wamid: str) -> None:
    session.execute(
        update(ConversationMessage)
        .where(ConversationMessage.notification_id == notification_id)
        .values(wamid=wamid[:255])
    )


def history(
    session: Session, sender: str, *, after_id: int = 0, limit: int = 100
) -> List[LoggedMessage]:
    """The conversation with ``sender`` in order: the last ``limit`` messages, or those after
    ``after_id`` (live polling)."""
    query = select(ConversationMessage).where(ConversationMessage.sender == sender)
    if after_id:
        rows = list(
            session.execute(
                query.where(ConversationMessage.id > after_id).order_by(ConversationMessage.id).limit(limit)
            ).scalars()
        )
    else:
        rows = list(
            session.execute(query.order_by(ConversationMessage.id.desc()).limit(limit)).scalars()
        )
        rows.reverse()
    return [
        LoggedMessage(
            id=int(r.id),
            direction=r.direction,
            kind=r.kind,
            text=r.text or "",
            media_id=r.media_id,
            actor=r.actor,
            created_at=r.created_at,
            notification_id=r.notification_id,
        )
        for r in rows
    ]
