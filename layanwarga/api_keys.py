"""Open311 partners' API keys: issued and revoked by admins on the dashboard, checked on every
POST.

A key is shown once, when it is issued; the database keeps only its SHA-256 (a key is 32 random
bytes, so nothing short of the key itself finds it) and its first characters for staff to tell
keys apart. A revoked key stops working at once and stays listed. The last use is recorded at
most once a minute per key, so a busy partner does not turn every read into a write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiKey, utcnow

logger = logging.getLogger(__name__)

KEY_PREFIX = "lw311_"
PREFIX_SHOWN = 12  # "lw311_" and six characters of the random part
MAX_NAME_LENGTH = 120
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Partner:
    """Who a request's key belongs to (read from the key's row, usable after its session)."""

    id: int
    name: str
    prefix: str


@dataclass(frozen=True)
class IssuedKey:
    id: int
    name: str
    key: str  # shown once, never stored


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue(session: Session, name: str, actor: str) -> IssuedKey:
    """A new key for partner ``name``; the plain key is in the result and nowhere else."""
    name = " ".join((name or "").split())
    if not name:
        raise ValueError("Nama mitra wajib diisi.")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"Nama mitra paling banyak {MAX_NAME_LENGTH} karakter.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name, prefix=key[:PREFIX_SHOWN], key_hash=_digest(key), created_by=actor, created_at=utcnow()
    )
    session.add(row)
    session.flush()
    logger.info("API key %s issued to %r by %s", row.prefix, name, actor)
    return IssuedKey(int(row.id), name, key)


def revoke(session: Session, key_id: int, actor: str) -> Optional[ApiKey]:
    """Revoke a key (no-op when already revoked); None when there is no such key."""
    row = session.get(ApiKey, key_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_by = actor
        logger.info("API key %s (%r) revoked by %s", row.prefix, row.name, actor)
    return row


def authenticate(
    session: Session, key: Optional[str], now: Optional[dt.datetime] = None
) -> Optional[Partner]:
    """The active key matching ``key``, its last use recorded; None for a missing, unknown or
    revoked key."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    row = session.execute(select(ApiKey).where(ApiKey.key_hash == _digest(key))).scalars().first()
    if row is None or row.revoked_at is not None:
        return None
    moment = now or utcnow()
    if row.last_used_at is None or moment - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = moment
    return Partner(int(row.id), row.name, row.prefix)


def listed(session: Session) -> List[ApiKey]:
    """Every key, active first, newest first."""
    return list(
        session.execute(
            select(ApiKey).order_by(
                ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc()
            )
        ).scalars()
    )
