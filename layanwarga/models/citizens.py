"""Who writes in: citizens (keyed by phone or business-scoped user id) and the senders staff
blocked."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, Integer, String, Text

from .base import Base, utcnow


class Citizen(Base):
    """A WhatsApp user, keyed by phone (``wa_id``) when known, else by business-scoped user id."""

    __tablename__ = "citizens"

    id = Column(Integer, primary_key=True)
    wa_id = Column(String(32), unique=True, nullable=True)
    user_id = Column(String(128), unique=True, nullable=True)
    profile_name = Column(String(200), nullable=True)
    last_inbound_at = Column(DateTime, nullable=True)
    # The unit of the city's tree the citizen lives in, remembered once known (layanwarga.unit_routing):
    # its Kemendagri code, how it was learnt (``pin``, ``alamat``, ``pilih``) and when.
    unit_code = Column(String(20), nullable=True)
    unit_source = Column(String(10), nullable=True)
    unit_updated_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint("wa_id IS NOT NULL OR user_id IS NOT NULL", name="has_identity"),)

    @property
    def sender_key(self) -> str:
        """The id the conversation is keyed by: phone when known, else the BSUID."""
        return self.wa_id or self.user_id or ""


class BlockedSender(Base):
    """A sender staff blocked for abuse (``layanwarga.blocklist``), by WhatsApp's sender id."""

    __tablename__ = "blocked_senders"

    sender = Column(String(128), primary_key=True)
    reason = Column(Text, nullable=False)
    blocked_by = Column(String(120), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
