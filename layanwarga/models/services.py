"""The service catalogue: what each office (OPD or unit) offers citizens, kept by the offices
themselves (``layanwarga.services``; searched by ``layanwarga.service_search``).

A service belongs to an office (``services.agency_code``) and, optionally, to a unit of a city's
tree (``services.unit_code``: a kelurahan's own service, a kecamatan's PATEN service).

A service's content is never overwritten: each edit is a new ``service_revisions`` row with its
editor and date, so the rows of one service are its history. A revision starts as a draft;
publishing marks it ``published`` (what citizens see on WhatsApp and the public page) and the
previous one superseded. Withdrawing marks the published revision ``withdrawn`` with who, when
and why: the service then has nothing published until a revision is published again.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from .base import Base, utcnow

SERVICE_CODE_MAX = 60
AGENCY_CODE_MAX = 40

REVISION_DRAFT = "draft"
REVISION_PUBLISHED = "published"
REVISION_SUPERSEDED = "superseded"
REVISION_WITHDRAWN = "withdrawn"
REVISION_STATUSES = (REVISION_DRAFT, REVISION_PUBLISHED, REVISION_SUPERSEDED, REVISION_WITHDRAWN)
# A Kemendagri code as the units tree writes it (``62.71.01.1003``), as ``staff_users.unit_code``.
UNIT_CODE_MAX = 20


class ServiceAgency(Base):
    """An office that offers services: an OPD of the city, a kelurahan, or a vertical office
    (Polres) whose services citizens ask about; not necessarily one of ``instansi.yml``'s
    routing agencies."""

    __tablename__ = "service_agencies"

    code = Column(String(AGENCY_CODE_MAX), primary_key=True)
    name = Column(String(200), nullable=False)
    short_name = Column(String(60), nullable=False)
    address = Column(Text, nullable=False, default="")
    contact = Column(Text, nullable=False, default="")
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Service(Base):
    __tablename__ = "services"

    id = Column(Integer, primary_key=True)
    code = Column(String(SERVICE_CODE_MAX), nullable=False, unique=True)
    agency_code = Column(
        String(AGENCY_CODE_MAX), ForeignKey("service_agencies.code"), nullable=False, index=True
    )
    # The unit of the city's tree that offers it (``instansi.yml`` ``units``); NULL: the office
    # serves the whole deployment (every service of a single-unit deployment).
    unit_code = Column(String(UNIT_CODE_MAX), nullable=True, index=True)
    # A configured letter type the assistant takes over WhatsApp (``instansi.yml`` ``letters``).
    letter_code = Column(String(40), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    # Incremented on every change to the service or its revisions: search caches in every process
    # compare the catalogue's count and sum of versions with the ones they were built from.
    version = Column(Integer, nullable=False, default=1)


class ServiceRevision(Base):
    """One version of a service's content, as an editor wrote it."""

    __tablename__ = "service_revisions"

    id = Column(Integer, primary_key=True)
    service_id = Column(Integer, ForeignKey("services.id", ondelete="CASCADE"), nullable=False)
    number = Column(Integer, nullable=False)
    status = Column(String(20), nullable=False, default=REVISION_DRAFT)
    name = Column(String(200), nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    purpose = Column(Text, nullable=False)
    requirements = Column(JSON, nullable=False, default=list)
    steps = Column(JSON, nullable=False, default=list)
    # Rupiah; 0 is free; NULL only with ``fee_note`` saying how it is computed (a tax rate).
    fee_amount = Column(Integer, nullable=True)
    fee_note = Column(Text, nullable=False, default="")
    legal_basis = Column(Text, nullable=False, default="")
    processing_time = Column(String(200), nullable=False)
    place = Column(Text, nullable=False)
    hours = Column(String(200), nullable=False, default="")
    online_url = Column(String(500), nullable=False, default="")
    contact = Column(Text, nullable=False, default="")
    edited_by = Column(String(100), nullable=False)
    edited_at = Column(DateTime, nullable=False, default=utcnow)
    change_note = Column(Text, nullable=False, default="")
    published_by = Column(String(100), nullable=True)
    published_at = Column(DateTime, nullable=True)
    # Set when the office withdrew this published revision (status ``withdrawn``).
    withdrawn_by = Column(String(100), nullable=True)
    withdrawn_at = Column(DateTime, nullable=True)
    withdrawal_reason = Column(Text, nullable=True)

    __table_args__ = (
        UniqueConstraint("service_id", "number", name="uq_service_revisions_service_number"),
        CheckConstraint("status IN ('draft', 'published', 'superseded', 'withdrawn')", name="status"),
        CheckConstraint("fee_amount IS NULL OR fee_amount >= 0", name="fee_not_negative"),
        Index("ix_service_revisions_service_status", "service_id", "status"),
    )


QUESTION_TEXT_MAX = 200


class ServiceQuestion(Base):
    """One question answered from the catalogue, for the offices' statistics: which service was
    asked about, or the question's text (NIKs masked, no sender) when the catalogue had no answer."""

    __tablename__ = "service_questions"

    id = Column(Integer, primary_key=True)
    asked_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    outcome = Column(String(10), nullable=False)
    service_code = Column(String(SERVICE_CODE_MAX), nullable=True, index=True)
    text = Column(String(QUESTION_TEXT_MAX), nullable=True)

    __table_args__ = (CheckConstraint("outcome IN ('one', 'several', 'none')", name="outcome"),)
