"""Senders staff have blocked for abuse: their messages are logged, never answered."""
from __future__ import annotations

from typing import List, Optional, Union

from sqlalchemy import Column, DateTime, String, Text, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .db import session_scope
from .models import Base, utcnow


class BlockedSender(Base):
    __tablename__ = "blocked_senders"

    sender = Column(String(128), primary_key=True)
    reason = Column(Text, nullable=False)
    blocked_by = Column(String(120), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


def block(session: Session, sender: str, reason: str, actor: str) -> BlockedSender:
    if not sender.strip() or not reason.strip():
        raise ValueError("a block needs the sender and a reason")
    row = session.get(BlockedSender, sender.strip())
    if row is None:
        row = BlockedSender(sender=sender.strip(), reason=reason.strip(), blocked_by=actor, created_at=utcnow())
        session.add(row)
    else:
        row.reason, row.blocked_by = reason.strip(), actor
    session.flush()
    return row


def unblock(session: Session, sender: str) -> bool:
    row = session.get(BlockedSender, sender)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


_LOOKUP = select(BlockedSender.sender).where(BlockedSender.sender == bindparam("sender"))


def blocked(unit: Union[Session, Connection], sender: str) -> bool:
    """Whether ``sender`` is blocked, inside the caller's unit of work (an ORM session or, in the
    WhatsApp connector, a Core connection)."""
    return unit.execute(_LOOKUP, {"sender": sender}).first() is not None


def is_blocked(sender: str, *, url: Optional[str] = None) -> bool:
    with session_scope(url) as session:
        return blocked(session, sender)


def all_blocked(session: Session) -> List[BlockedSender]:
    return list(session.execute(select(BlockedSender).order_by(BlockedSender.created_at.desc())).scalars())
