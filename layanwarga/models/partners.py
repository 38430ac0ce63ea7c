"""Partners of the Open311 API (``layanwarga.api_keys``): their keys, stored hashed."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String

from .base import Base, utcnow


class ApiKey(Base):
    """One partner's Open311 key. Only the SHA-256 of the key is kept (keys are 256-bit random
    values, so a fast hash is enough); ``prefix`` is its first characters, shown to staff to tell
    keys apart. A revoked key stays listed, with when and by whom."""

    __tablename__ = "api_keys"

    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    prefix = Column(String(16), nullable=False)
    key_hash = Column(String(64), nullable=False, unique=True)
    created_by = Column(String(120), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_used_at = Column(DateTime, nullable=True)
    revoked_at = Column(DateTime, nullable=True)
    revoked_by = Column(String(120), nullable=True)
