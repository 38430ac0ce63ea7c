"""Tickets (complaints and letter requests), their numbering, history, files and the citizen's
confirmation and rating of a resolved complaint."""
from __future__ import annotations

from typing import Any

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
    String,
    Table,
    Text,
)
from sqlalchemy.orm import relationship

from .base import Base, utcnow
from .types import EncryptedText

KIND_COMPLAINT = "aduan"
KIND_LETTER = "surat"

# A resolved complaint's confirmation (``layanwarga.feedback``): asked, confirmed, reopened.
FEEDBACK_WAITING, FEEDBACK_CONFIRMED, FEEDBACK_REOPENED = "menunggu", "sudah", "belum"


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
    # Where the ticket belongs in the city's tree (layanwarga.unit_routing), Kemendagri codes:
    # ``unit_code`` the unit that handles it (a letter's or an aspiration's kelurahan, a
    # complaint's located kelurahan; the root unit, the city's triage, when unknown);
    # ``kelurahan_code``/``kecamatan_code`` the place reported (complaints) or the applicant's
    # home (letters, aspirations); ``upt_name`` the agency's field unit a complaint went to;
    # ``unit_source`` how the place was known (``pin``, ``alamat``, ``warga``, ``triase``).
    unit_code = Column(String(20), nullable=True)
    kelurahan_code = Column(String(20), nullable=True)
    kecamatan_code = Column(String(20), nullable=True)
    upt_name = Column(String(200), nullable=True)
    unit_source = Column(String(10), nullable=True)
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
    # Citizens following it besides the reporter (``supporters``), kept here for the inbox's
    # sort and Open311 at 100,000 tickets.
    supporter_count = Column(Integer, nullable=False, default=0, server_default="0")
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
        # The dashboard's ticket lists at 100,000+ tickets (keyset pagination on (column, id))
        # and the statistics' closed-in-a-period (migration dashboard_0002).
        Index("ix_tickets_created_id", "created_at", "id"),
        Index("ix_tickets_updated_id", "updated_at", "id"),
        Index("ix_tickets_agency_created", "agency_code", "created_at"),
        Index("ix_tickets_closed_at", "closed_at"),
        # A unit's inbox and statistics (migration 0018_city_units).
        Index("ix_tickets_unit_created", "unit_code", "created_at"),
        Index("ix_tickets_kelurahan_created", "kelurahan_code", "created_at"),
        Index("ix_tickets_kecamatan_created", "kecamatan_code", "created_at"),
        # The nearby search's bounding box (layanwarga.nearby, migration 0017_supporters).
        Index("ix_tickets_category_latitude", "category", "latitude", "longitude"),
        Index("ix_tickets_category_rw_rt", "category", "rw", "rt"),
        Index("ix_tickets_supporters_id", "supporter_count", "id"),
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

    # The statistics' first staff response per ticket, without reading the table
    # (migration dashboard_0002).
    __table_args__ = (Index("ix_state_changes_ticket_actor_created", "ticket_id", "actor", "created_at"),)


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


class TicketFeedback(Base):
    """The citizen's answer to "is it really resolved?" and their rating (``layanwarga.feedback``)."""

    __tablename__ = "ticket_feedback"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True)
    confirmation = Column(String(10), nullable=False, default=FEEDBACK_WAITING)
    asked_at = Column(DateTime, nullable=False, default=utcnow)
    confirmed_at = Column(DateTime, nullable=True)
    rating = Column(Integer, nullable=True)
    rated_at = Column(DateTime, nullable=True)
    citizen_note = Column(Text, nullable=True)
    reopen_count = Column(Integer, nullable=False, default=0)
