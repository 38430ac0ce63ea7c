"""The unit a citizen lives in, remembered once known and changeable ("saya sudah pindah ke
kelurahan X"): read and written for the conversation, which knows the sender, not the row."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import select

from . import citizens
from .db import session_scope
from .models import Citizen


def remembered_unit(sender: str) -> Optional[str]:
    """The Kemendagri code remembered for ``sender``, None when never known."""
    if not sender:
        return None
    with session_scope() as session:
        return session.execute(select(Citizen.unit_code).where(citizens.of_sender(sender))).scalars().first()


def set_unit(sender: str, code: str, source: str) -> None:
    """Remember ``code`` for ``sender`` (``layanwarga.unit_routing`` ``SOURCE_*`` says how)."""
    with session_scope(write=True) as session:
        citizens.remember_unit(citizens.upsert_sender(session, sender), code, source)
