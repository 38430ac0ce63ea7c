"""Tables the WhatsApp connector owns: its journal of inbound messages and the delivery statuses
of what the service sent.

The connector's logic is not here: ``connectors.journal`` writes and reads the journal,
``whatsapp.statuses`` the statuses. The tables are declared with the rest of the schema so one
metadata holds every table of the ticket database (Alembic compares it with the migrations).
The domain core only reads them: staff see unfinished messages (``layanwarga.inbound``), and
outbox and announcement deliveries show what WhatsApp said (``MessageStatus``).
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Text

from .base import Base, utcnow


class ProcessedMessage(Base):
    """The connector's journal of inbound WhatsApp messages, shared by every instance.

    A row is written before the webhook answers 200 (``connectors.journal``): its key makes each
    message processed once (Meta redelivers), and until its turn is complete it holds the message
    itself, encrypted, so a message taken in by a process that then died is replayed, not lost.
    ``state``: ``received`` (taken in), ``held`` (logged for staff, waiting for its turn),
    ``done`` or ``failed`` (payload cleared; the key stays for the redelivery window).
    """

    __tablename__ = "processed_messages"

    message_id = Column(String(255), primary_key=True)
    sender = Column(String(128), nullable=True)
    received_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    state = Column(String(12), nullable=False, default="done", server_default="done")
    payload = Column(Text, nullable=True)
    owner = Column(String(120), nullable=True)
    lease_until = Column(DateTime, nullable=True)
    seq = Column(Float, nullable=True)
    attempts = Column(Integer, nullable=False, default=0, server_default="0")

    __table_args__ = (Index("ix_processed_messages_state_lease", "state", "lease_until"),)


class MessageStatus(Base):
    """Delivery state of a message the service sent (from the webhook's ``statuses``)."""

    __tablename__ = "message_statuses"

    message_id = Column(String(255), primary_key=True)
    recipient = Column(String(128), nullable=True, index=True)
    status = Column(String(20), nullable=False)
    error_code = Column(Integer, nullable=True)
    error_title = Column(Text, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
