"""Handoffs of a citizen's conversation to an officer (``layanwarga.handoff``)."""
from __future__ import annotations

from typing import Union

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, and_, text
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from .base import Base, utcnow

OPEN, CLOSED = "open", "closed"


class Handoff(Base):
    """A conversation an officer answers instead of the assistant. At most one open handoff per
    sender: the partial unique index decides races between instances."""

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id"), nullable=True)
    sender = Column(String(128), nullable=False)
    state = Column(String(10), nullable=False, default=OPEN)
    reason = Column(String(40), nullable=False)
    note = Column(Text, nullable=True)
    opened_at = Column(DateTime, nullable=False, default=utcnow)
    opened_outside_hours = Column(Boolean, nullable=False, default=False)
    assigned_to = Column(Integer, ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True)
    first_response_at = Column(DateTime, nullable=True)
    last_inbound_at = Column(DateTime, nullable=True)
    last_read_message_id = Column(Integer, nullable=False, default=0)
    # The citizen reported an emergency while waiting (flagged in the live inbox).
    emergency_at = Column(DateTime, nullable=True)
    # When the citizen was told their messages are forwarded (once, while nobody has answered).
    reminded_at = Column(DateTime, nullable=True)
    closed_at = Column(DateTime, nullable=True)
    closed_by = Column(String(120), nullable=True)

    __table_args__ = (
        Index(
            "uq_handoffs_open_sender",
            "sender",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_handoffs_state_opened", "state", "opened_at"),
    )


def open_for(sender: Union[str, BindParameter]) -> ColumnElement:
    """The condition for ``sender``'s open handoff (the rows the partial unique index covers)."""
    return and_(Handoff.sender == sender, Handoff.state == OPEN)
