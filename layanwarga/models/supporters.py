"""Citizens who follow a complaint someone else reported (``layanwarga.supporters``)."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from .base import Base, utcnow

# How a citizen came to support a ticket: they chose to follow it, or staff merged their own
# report into it (``merged_from_id`` is then that report).
SOURCE_FOLLOWED, SOURCE_MERGED = "ikuti", "gabung"


class Supporter(Base):
    """One citizen backing one complaint: they get its later notifications. Their own choice of
    anonymity (hidden from the agency) and confidentiality (never public) is kept per row, as on
    a ticket; ``note`` is what they wrote about the problem."""

    __tablename__ = "supporters"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    citizen_id = Column(Integer, ForeignKey("citizens.id"), nullable=False)
    source = Column(String(10), nullable=False, default=SOURCE_FOLLOWED)
    merged_from_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True)
    note = Column(Text, nullable=True)
    is_anonymous = Column(Boolean, nullable=False, default=False)
    is_confidential = Column(Boolean, nullable=False, default=False)
    idempotency_key = Column(String(128), nullable=True, unique=True)
    # Their answer to "is it really resolved?" and rating (``layanwarga.feedback``).
    confirmation = Column(String(10), nullable=True)
    confirmed_at = Column(DateTime, nullable=True)
    rating = Column(Integer, nullable=True)
    rated_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("ticket_id", "citizen_id", name="uq_supporters_ticket_citizen"),
        Index("ix_supporters_citizen", "citizen_id"),
        CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating"),
    )
