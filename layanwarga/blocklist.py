"""Senders staff have blocked for abuse: their messages are logged, never answered.

Blocked numbers are stored as WhatsApp's own sender id (``6281234567890``: the webhook's ``from``,
which the connector looks up with ``blocked``), however staff typed them (``0812 3456 7890``,
``+62 812-3456-7890``); what is no phone number is refused with a message staff can act on.
"""

from __future__ import annotations

from typing import List, Optional, Union

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import phones
from .db import session_scope
from .models import BlockedSender, utcnow

REASON_MAX = 300


class BlockError(ValueError):
    """A block was refused; the message is Indonesian, for staff."""


def block(session: Session, number: str, reason: str, actor: str) -> BlockedSender:
    """Block the WhatsApp sender behind ``number`` as typed; raises ``BlockError`` when the number
    or the reason is missing, or the number is no valid phone number."""
    typed = (number or "").strip()
    if not typed:
        raise BlockError("Nomor WhatsApp wajib diisi.")
    sender = phones.whatsapp_id(typed)
    if sender is None:
        raise BlockError(
            f"“{typed[:40]}” bukan nomor telepon yang valid. Tulis nomornya seperti 0812 3456 7890 atau +62 812-3456-7890."
        )
    reason = (reason or "").strip()[:REASON_MAX]
    if not reason:
        raise BlockError("Alasan pemblokiran wajib diisi.")
    row = session.get(BlockedSender, sender)
    if row is None:
        row = BlockedSender(sender=sender, reason=reason, blocked_by=actor, created_at=utcnow())
        session.add(row)
    else:
        row.reason, row.blocked_by = reason, actor
    session.flush()
    return row


def unblock(session: Session, sender: str) -> bool:
    """Unblock a stored sender id (or a number as typed)."""
    row = session.get(BlockedSender, sender) or session.get(
        BlockedSender, phones.whatsapp_id(sender) or sender
    )
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


_LOOKUP = select(BlockedSender.sender).where(BlockedSender.sender == bindparam("sender"))


def blocked(unit: Union[Session, Connection], sender: str) -> bool:
    """Whether ``sender`` (a webhook's ``from``) is blocked, inside the caller's unit of work (an
    ORM session or, in the WhatsApp connector, a Core connection)."""
    return unit.execute(_LOOKUP, {"sender": sender}).first() is not None


def is_blocked(sender: str, *, url: Optional[str] = None) -> bool:
    with session_scope(url) as session:
        return blocked(session, sender)


def all_blocked(session: Session) -> List[BlockedSender]:
    return list(session.execute(select(BlockedSender).order_by(BlockedSender.created_at.desc())).scalars())
