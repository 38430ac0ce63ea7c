"""Citizens' data requests (UU 27/2022 PDP): access and erasure, as staff see them
(``layanwarga.privacy``)."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Text

from .base import Base, utcnow
from .types import EncryptedText


class DataRequest(Base):
    """A citizen's access or erasure request, as staff see it (no phone number kept)."""

    __tablename__ = "data_requests"
    __table_args__ = (Index("ix_data_requests_status_created", "status", "created_at"),)

    id = Column(Integer, primary_key=True)
    kind = Column(String(10), nullable=False)
    requester = Column(String(64), nullable=False)  # requester_code(sender), ERASED_REQUESTER after erasure
    status = Column(String(20), nullable=False)
    summary = Column(Text, nullable=True)
    # The identities still to erase from the conversation store, encrypted; None once done.
    sender_pending = Column(EncryptedText, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    completed_at = Column(DateTime, nullable=True)
    # Why the request is not finished ("gagal"), in Indonesian for staff; the attempts made.
    failure_reason = Column(Text, nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    last_attempt_at = Column(DateTime, nullable=True)
    # Keyed tags (spool.group_tags) of the citizen's identities, for spools in other processes
    # to find their entries; cleared when no spooled entry can be that old any more.
    spool_tags = Column(Text, nullable=True)
