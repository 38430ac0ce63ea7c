"""The staff-facing log of every WhatsApp message to and from citizens (``layanwarga.conversation_log``)."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text, text as sql_text

from .base import Base, utcnow


class ConversationFlow(Base):
    """One form a citizen started (complaint or letter request): its first line in the
    conversation, and the ticket it became (if it did)."""

    __tablename__ = "conversation_flows"

    id = Column(Integer, primary_key=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False)
    flow_key = Column(String(64), nullable=False)
    first_line_id = Column(Integer, nullable=False)
    started_at = Column(DateTime, nullable=False, default=utcnow)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True)

    __table_args__ = (Index("ix_conversation_flows_citizen_key", "citizen_id", "flow_key"),)


class ConversationMessage(Base):
    """One message in or out, with what it belongs to (handoff, outbox row, ticket)."""

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
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_conversation_messages_sender_id", "sender", "id"),
        Index("ix_conversation_messages_citizen_id", "citizen_id", "id"),
        # Partial: most lines carry neither, and the connector writes a line for every message.
        Index(
            "ix_conversation_messages_ticket_id",
            "ticket_id",
            "id",
            sqlite_where=sql_text("ticket_id IS NOT NULL"),
            postgresql_where=sql_text("ticket_id IS NOT NULL"),
        ),
        Index(
            "ix_conversation_messages_media_id",
            "media_id",
            sqlite_where=sql_text("media_id IS NOT NULL"),
            postgresql_where=sql_text("media_id IS NOT NULL"),
        ),
    )
