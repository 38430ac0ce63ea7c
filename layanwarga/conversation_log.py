"""Every WhatsApp message to and from a citizen, in order: the history staff read in the live
inbox and on a ticket's page (plain Python, no Rasa import).

Who writes here:

- the WhatsApp connector logs each inbound message (``log_inbound_checking_handoff``) once it has
  claimed its id, and each message the assistant sends (``whatsapp.statuses.record_outbound``,
  which adds the line with ``actor="asisten"`` in the same unit of work as the message's
  ``accepted`` status);
- the notification outbox logs what staff and state changes send (``actor="staf:<user>"`` /
  ``"sistem"``), linked to its outbox row, so the conversation shows its delivery state.

What a line belongs to, so each reader sees only what is theirs to see:

- ``handoff_id``: the open handoff to an officer at the time (the live inbox shows these);
- ``ticket_id``: the ticket a line is about. A form (complaint or letter request) is recorded
  when it starts (``start_flow``: its first line, the message that started it); when it becomes
  a ticket (``close_flow``, in the ticket's own transaction) its lines, from that first line to
  the submission, are linked to the ticket: not the handoff's, not the outbox's, not those of a
  form started after it. So a ticket's page shows the conversation of its own form, never the
  citizen's other chats (a letter request's income and health details on a complaint page).
  Later lines about the ticket are linked as they are written: a message the outbox sent about
  it, and a citizen's reply to one of those (WhatsApp's reply context, also set by a tapped
  button of that message). On the connector's path this costs one index lookup, only for a
  citizen's message that replies to another.

Personal data: the table holds what citizens wrote (UU 27/2022), with NIK-like numbers masked;
staff read it only as ``dashboard.permissions`` allows, and log lines never quote it.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Union

from sqlalchemy import bindparam, func, insert, null, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from . import citizens
from .db import connection_scope, session_scope
from .models import Citizen, ConversationFlow, ConversationMessage, Handoff, Notification, Ticket, utcnow
from .models.handoffs import open_for
from .redaction import mask_identifiers

logger = logging.getLogger(__name__)

DIRECTION_IN = "in"
DIRECTION_OUT = "out"
ACTOR_CITIZEN = "warga"
ACTOR_ASSISTANT = "asisten"
ACTOR_SYSTEM = "sistem"
TEXT_LIMIT = 8000


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


@dataclass(frozen=True)
class _Statements:
    """``add``'s statements, built once (SQLAlchemy then reuses their compiled form without
    working out their cache key again). Each lookup is one query returning the line's citizen,
    handoff and ticket (see the module docstring); which one runs depends on the line."""

    line: Any
    reply: Any
    outbox_line: Any
    insert_line: Any
    touch_handoff: Any


@functools.lru_cache(maxsize=1)
def _statements() -> _Statements:
    sender = bindparam("sender")
    line = ConversationMessage
    citizen = select(Citizen.id).where(citizens.of_sender(sender)).limit(1).scalar_subquery()
    handoff = select(Handoff.id).where(open_for(sender)).limit(1).scalar_subquery()
    replied_to = select(line.ticket_id).where(line.wamid == bindparam("reply_to")).limit(1).scalar_subquery()
    note = bindparam("notification_id")
    noted_handoff = select(Notification.handoff_id).where(Notification.id == note).scalar_subquery()
    noted_ticket = select(Notification.ticket_id).where(Notification.id == note).scalar_subquery()
    handoffs = Handoff.__table__
    return _Statements(
        line=select(citizen, handoff, null()),
        reply=select(citizen, handoff, replied_to),
        outbox_line=select(citizen, func.coalesce(noted_handoff, handoff), noted_ticket),
        insert_line=insert(ConversationMessage.__table__),
        touch_handoff=update(handoffs)
        .where(handoffs.c.id == bindparam("handoff_id"))
        .values(last_inbound_at=bindparam("at")),
    )


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
    reply_to: Optional[str] = None,
    created_at: Optional[dt.datetime] = None,
) -> LoggedLine:
    """Log one message inside the caller's unit of work (an ORM session, or a Core connection
    in the WhatsApp connector).

    The line is linked to the sender's citizen record (unless ``citizen_id`` is given), to their
    open handoff, if any, and to the ticket it is about (module docstring): a citizen's line
    replying to ``reply_to`` (the WhatsApp message id it answers) to that message's ticket, an
    outbox line to its outbox row's ticket and handoff. A citizen's message also becomes the
    handoff's latest inbound.
    Core statements, not ORM objects: the WhatsApp connector writes a line for every message
    in and out, on a thread that shares the interpreter lock with Rasa.
    """
    statements = _statements()
    if notification_id is not None:
        lookup, params = statements.outbox_line, {"sender": sender, "notification_id": notification_id}
    elif direction == DIRECTION_IN and reply_to:
        lookup, params = statements.reply, {"sender": sender, "reply_to": reply_to}
    else:
        lookup, params = statements.line, {"sender": sender}
    found_citizen, handoff_id, ticket_id = unit.execute(lookup, params).one()
    created_at = created_at or utcnow()
    result = unit.execute(
        statements.insert_line,
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
            "ticket_id": ticket_id,
            "created_at": created_at,
        },
    )
    if handoff_id is not None and direction == DIRECTION_IN:
        unit.execute(statements.touch_handoff, {"handoff_id": handoff_id, "at": created_at})
    return LoggedLine(id=int(result.inserted_primary_key[0]), handoff_id=handoff_id)


def flow_key_of(idempotency_key: Optional[str]) -> str:
    """The form's flow id in a submission's idempotency key (the actions build it as
    ``<sender>:<flow id>``; a BSUID sender may itself contain colons, the flow id never does)."""
    return (idempotency_key or "").rpartition(":")[2]


def start_flow(sender: str, flow_key: str, first_wamid: Optional[str], *, url: Optional[str] = None) -> bool:
    """Record that ``sender`` started a form whose submission will carry ``flow_key`` (the
    form's ``flow_id``) with their message ``first_wamid``, which the connector logged moments
    before: the form's conversation begins at that line (at the next line when it is not
    found).

    Returns False, after logging why, when it cannot be recorded: the citizen's form goes on
    (the ticket's page then shows no conversation), never stopped for bookkeeping.
    """
    line = ConversationMessage
    try:
        with session_scope(url, write=True) as session:
            citizen = citizens.upsert_sender(session, sender)
            first: Optional[int] = None
            if first_wamid:
                first = session.execute(
                    select(func.min(line.id)).where(line.sender == sender, line.wamid == first_wamid)
                ).scalar_one()
            if first is None:
                latest = session.execute(select(func.max(line.id)).where(line.sender == sender)).scalar_one()
                first = (latest or 0) + 1
            session.add(
                ConversationFlow(
                    citizen_id=citizen.id, flow_key=flow_key[:64], first_line_id=first, started_at=utcnow()
                )
            )
    except SQLAlchemyError:
        logger.exception(
            "Could not record the start of form %s; its ticket will show no conversation", flow_key
        )
        return False
    return True


def close_flow(session: Session, ticket: Ticket) -> int:
    """Link the lines of the form that created ``ticket`` to it, inside the ticket's own unit of
    work: the citizen's and the assistant's lines from the form's first line on, up to the first
    line of a form the citizen started after it (a submission stored late, after an outage);
    returns how many (0 when the form's start was never recorded)."""
    key = flow_key_of(ticket.idempotency_key)
    citizen = session.get(Citizen, ticket.citizen_id) if ticket.citizen_id is not None else None
    if not key or citizen is None:
        return 0
    flow = (
        session.execute(
            select(ConversationFlow).where(
                ConversationFlow.citizen_id == ticket.citizen_id, ConversationFlow.flow_key == key
            )
        )
        .scalars()
        .first()
    )
    if flow is None:
        logger.info(
            "Ticket %s: the start of its form was not recorded; no conversation linked", ticket.number
        )
        return 0
    flow.ticket_id = ticket.id
    next_start = session.execute(
        select(func.min(ConversationFlow.first_line_id)).where(
            ConversationFlow.citizen_id == ticket.citizen_id, ConversationFlow.id > flow.id
        )
    ).scalar_one()
    line = ConversationMessage
    conditions = [
        line.sender == citizen.sender_key,
        line.id >= flow.first_line_id,
        line.handoff_id.is_(None),
        line.notification_id.is_(None),
        line.ticket_id.is_(None),
    ]
    if next_start is not None:
        conditions.append(line.id < next_start)
    result = session.execute(
        update(line)
        .where(*conditions)
        .values(ticket_id=ticket.id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


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
    reply_to: Optional[str] = None,
    at: Optional[dt.datetime] = None,
    url: Optional[str] = None,
    also: Optional[Callable[[Connection], None]] = None,
) -> LoggedInbound:
    """Log a citizen's message and tell whether a handoff is open for them, in one unit of work.

    ``text`` is what the citizen wrote or chose (a button's title, a caption, a short
    description such as "[lokasi] -2.2,113.9" for pins); ``media_id`` the stored file;
    ``reply_to`` the id of the message it answers (WhatsApp's ``context.id``).
    ``add`` looks the open handoff up anyway (to link the line to it), so the connector learns
    whether the assistant must stay silent without a second unit of work (``handoff.is_active``).
    ``also`` runs in the same unit of work (the connector marks the message held in its journal).
    """
    with connection_scope(url, write=True) as connection:
        row = add(
            connection,
            sender=sender,
            direction=DIRECTION_IN,
            text=text,
            actor=ACTOR_CITIZEN,
            kind=kind,
            wamid=wamid,
            media_id=media_id,
            reply_to=reply_to,
            created_at=at,
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
    reply_to: Optional[str] = None,
    at: Optional[dt.datetime] = None,
    url: Optional[str] = None,
) -> int:
    """Log a citizen's message; returns the row id (see ``log_inbound_checking_handoff``)."""
    return log_inbound_checking_handoff(
        sender, text, wamid=wamid, kind=kind, media_id=media_id, reply_to=reply_to, at=at, url=url
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
        row = add(
            session, sender=sender, direction=DIRECTION_OUT, text=text, actor=actor, kind=kind, wamid=wamid
        )
        return int(row.id)


def set_wamid(session: Session, notification_id: int, wamid: str) -> None:
    session.execute(
        update(ConversationMessage)
        .where(ConversationMessage.notification_id == notification_id)
        .values(wamid=wamid[:255])
    )


def history(session: Session, sender: str, *, after_id: int = 0, limit: int = 100) -> List[LoggedMessage]:
    """The conversation with ``sender`` in order: the last ``limit`` messages, or those after
    ``after_id`` (live polling)."""
    return lines(session, ConversationMessage.sender == sender, after_id=after_id, limit=limit)


def lines(
    session: Session, *conditions: ColumnElement, after_id: int = 0, limit: int = 100
) -> List[LoggedMessage]:
    """The lines matching ``conditions`` in order: the last ``limit``, or those after
    ``after_id`` (live polling)."""
    query = select(ConversationMessage).where(*conditions)
    if after_id:
        rows = list(
            session.execute(
                query.where(ConversationMessage.id > after_id).order_by(ConversationMessage.id).limit(limit)
            ).scalars()
        )
    else:
        rows = list(session.execute(query.order_by(ConversationMessage.id.desc()).limit(limit)).scalars())
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
