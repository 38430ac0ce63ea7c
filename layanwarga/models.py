"""SQLAlchemy models of the ticket database (schema changes go through Alembic migrations)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import registry, relationship
from sqlalchemy.orm.decl_api import DeclarativeMeta

from .crypto import EncryptedText

# Stable constraint names, so migrations behave the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Base(metaclass=DeclarativeMeta):
    """Base of every table. What ``declarative_base()`` builds, written as a class so a type
    checker knows it is one (SQLAlchemy 1.4's documented form for an explicitly named base)."""

    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata
    __init__ = _registry.constructor
    __table__: Table  # set by the metaclass on every mapped subclass


def utcnow() -> dt.datetime:
    """Naive UTC timestamps everywhere in the database; converted for display only."""
    return dt.datetime.utcnow().replace(microsecond=0)


KIND_COMPLAINT = "aduan"
KIND_LETTER = "surat"


class Citizen(Base):
    """A WhatsApp user, keyed by phone (``wa_id``) when known, else by business-scoped user id."""

    __tablename__ = "citizens"

    id = Column(Integer, primary_key=True)
    wa_id = Column(String(32), unique=True, nullable=True)
    user_id = Column(String(128), unique=True, nullable=True)
    profile_name = Column(String(200), nullable=True)
    last_inbound_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint("wa_id IS NOT NULL OR user_id IS NOT NULL", name="has_identity"),)

    @property
    def sender_key(self) -> str:
        """The id the conversation is keyed by: phone when known, else the BSUID."""
        return self.wa_id or self.user_id or ""


class NumberCounter(Base):
    """Last number handed out per prefix and year (gap-tolerant, never duplicated)."""

    __tablename__ = "number_counters"

    prefix = Column(String(8), primary_key=True)
    year = Column(Integer, primary_key=True)
    last_value = Column(Integer, nullable=False, default=0)


class Ticket(Base):
    """A complaint (``aduan``) or a letter request (``surat``): one numbered case a citizen follows."""

    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)
    kind = Column(String(10), nullable=False)
    category = Column(String(40), nullable=False)
    state = Column(String(20), nullable=False)
    citizen_id = Column(Integer, ForeignKey("citizens.id"), nullable=True)
    reporter_name = Column(String(200), nullable=True)
    description = Column(Text, nullable=True)
    location_text = Column(Text, nullable=True)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    rt = Column(String(8), nullable=True)
    rw = Column(String(8), nullable=True)
    area = Column(String(200), nullable=True)
    is_anonymous = Column(Boolean, nullable=False, default=False)
    is_confidential = Column(Boolean, nullable=False, default=False)
    agency_code = Column(String(40), nullable=True)
    due_date = Column(Date, nullable=True)
    # Letter requests: the applicant (who may differ from the WhatsApp sender).
    applicant_name = Column(String(200), nullable=True)
    applicant_nik = Column(EncryptedText, nullable=True)
    applicant_address = Column(Text, nullable=True)
    applicant_phone = Column(EncryptedText, nullable=True)
    on_behalf = Column(Boolean, nullable=False, default=False)
    relationship_to_sender = Column(String(100), nullable=True)
    purpose = Column(Text, nullable=True)
    details = Column(JSON, nullable=False, default=dict)
    resolution_note = Column(Text, nullable=True)
    rejection_reason = Column(Text, nullable=True)
    rating = Column(Integer, nullable=True)
    idempotency_key = Column(String(128), nullable=True, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    closed_at = Column(DateTime, nullable=True)

    citizen = relationship("Citizen")
    history = relationship(
        "StateChange", order_by="StateChange.id", back_populates="ticket", cascade="all, delete-orphan"
    )
    media = relationship("Media", order_by="Media.id", back_populates="ticket")

    __table_args__ = (
        CheckConstraint("kind IN ('aduan', 'surat')", name="kind"),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating"),
        Index("ix_tickets_citizen_created", "citizen_id", "created_at"),
        Index("ix_tickets_state_created", "state", "created_at"),
        Index("ix_tickets_agency_state", "agency_code", "state"),
        Index("ix_tickets_kind_created", "kind", "created_at"),
        Index("ix_tickets_due_date", "due_date"),
    )

    def detail(self, key: str, default: Any = None) -> Any:
        return (self.details or {}).get(key, default)


class StateChange(Base):
    """One entry of a ticket's history: who changed what, when, and why.

    ``note`` is what the citizen was told with the change (a reason, what was done), never an
    internal remark: that is ``internal_note``, for staff only. A change of agency keeps the old
    and the new one (``from_agency``, ``to_agency``)."""

    __tablename__ = "state_changes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    from_state = Column(String(20), nullable=True)
    to_state = Column(String(20), nullable=False)
    actor = Column(String(120), nullable=False)
    note = Column(Text, nullable=True)
    internal_note = Column(Text, nullable=True)
    from_agency = Column(String(40), nullable=True)
    to_agency = Column(String(40), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="history")


class Media(Base):
    """A photo or document a citizen sent on WhatsApp (downloaded to local storage)."""

    __tablename__ = "media"

    id = Column(Integer, primary_key=True)
    whatsapp_media_id = Column(String(128), nullable=True, index=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id"), nullable=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True)
    purpose = Column(String(40), nullable=True)
    mime_type = Column(String(100), nullable=True)
    sha256 = Column(String(128), nullable=True)
    size_bytes = Column(Integer, nullable=True)
    storage_path = Column(String(500), nullable=True)
    caption = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="media")


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


class SpoolReport(Base):
    """What waits in one process's local spool (``layanwarga.spool_reports``), as last reported:
    spools sit on each instance's own disk, the dashboard reads this."""

    __tablename__ = "spool_reports"

    owner = Column(String(255), primary_key=True)  # host and spool folder
    kind = Column(String(20), nullable=False)
    waiting = Column(Integer, nullable=False, default=0)
    set_aside = Column(Integer, nullable=False, default=0)
    other_database = Column(Integer, nullable=False, default=0)
    unreadable = Column(Integer, nullable=False, default=0)
    oldest_at = Column(DateTime, nullable=True)
    reported_at = Column(DateTime, nullable=False, default=utcnow)


def as_dict(row: Base) -> Dict[str, Optional[Any]]:
    """Column values of a row (tests, exports)."""
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}
