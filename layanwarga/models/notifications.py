"""The notification outbox: every message staff or a state change sends to a citizen
(``layanwarga.notifications``, sent by ``layanwarga.notifier``)."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text

from .base import Base, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class Notification(Base):
    """One message to one citizen, written in the transaction of the change that causes it."""

    __tablename__ = "notifications"

    id = Column(Integer, primary_key=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id"), nullable=False)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True)
    handoff_id = Column(Integer, nullable=True)
    kind = Column(String(20), nullable=False)
    text = Column(Text, nullable=False)
    interactive = Column(JSON, nullable=True)
    template_name = Column(String(120), nullable=True)
    template_language = Column(String(20), nullable=True)
    template_params = Column(JSON, nullable=True)
    status = Column(String(10), nullable=False, default=PENDING)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    claim_token = Column(String(36), nullable=True)
    claimed_at = Column(DateTime, nullable=True)
    last_error = Column(Text, nullable=True)
    graph_message_id = Column(String(255), nullable=True, index=True)
    sent_via = Column(String(12), nullable=True)
    dedupe_key = Column(String(120), nullable=True, unique=True)
    created_by = Column(String(120), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_notifications_status_next", "status", "next_attempt_at"),
        Index("ix_notifications_citizen_id", "citizen_id", "id"),
        Index("ix_notifications_ticket_id", "ticket_id"),
    )
