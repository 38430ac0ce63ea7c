"""Citizens and their WhatsApp identity.

A citizen is keyed by phone (``wa_id``) when WhatsApp gives one, else by the business-scoped user
id (BSUID, ``user_id``) that 2026's username users arrive with; both are stored when both are
known, so a conversation that starts with only a BSUID keeps its tickets when the phone appears.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional, Union

from sqlalchemy import or_, select
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.orm import Session

from .models import Citizen, utcnow

# WhatsApp lets a business send free-form messages only within 24 h of the citizen's last message.
SERVICE_WINDOW = dt.timedelta(hours=24)


def of_sender(sender: Union[str, BindParameter]) -> ColumnElement:
    """The condition for the citizen whose phone or BSUID is ``sender`` (the conversation's
    sender id)."""
    return or_(Citizen.wa_id == sender, Citizen.user_id == sender)


def find(session: Session, sender: str) -> Optional[Citizen]:
    """The citizen whose phone or BSUID is ``sender``."""
    if not sender:
        return None
    return session.execute(select(Citizen).where(of_sender(sender))).scalars().first()


def upsert(
    session: Session,
    *,
    wa_id: Optional[str] = None,
    user_id: Optional[str] = None,
    profile_name: Optional[str] = None,
    inbound_at: Optional[dt.datetime] = None,
) -> Citizen:
    """Find or create the citizen with this phone and/or BSUID, recording what is new.

    ``inbound_at`` (naive UTC) marks a message from the citizen, which opens WhatsApp's 24-hour
    service window.
    """
    if not wa_id and not user_id:
        raise ValueError("a citizen needs a wa_id or a user_id")
    citizen = None
    if wa_id:
        citizen = session.execute(select(Citizen).where(Citizen.wa_id == wa_id)).scalars().first()
    if citizen is None and user_id:
        citizen = session.execute(select(Citizen).where(Citizen.user_id == user_id)).scalars().first()
    if citizen is None:
        citizen = Citizen(wa_id=wa_id, user_id=user_id)
        session.add(citizen)
    else:
        if wa_id and not citizen.wa_id:
            citizen.wa_id = wa_id
        if user_id and not citizen.user_id:
            citizen.user_id = user_id
    if profile_name:
        citizen.profile_name = profile_name[:200]
    if inbound_at and (citizen.last_inbound_at is None or inbound_at > citizen.last_inbound_at):
        citizen.last_inbound_at = inbound_at
    session.flush()
    return citizen


def change_number(session: Session, old_wa_id: str, new_wa_id: str) -> Optional[Citizen]:
    """Apply WhatsApp's ``user_changed_number`` system message: the same citizen, a new phone."""
    citizen = session.execute(select(Citizen).where(Citizen.wa_id == old_wa_id)).scalars().first()
    if citizen is None:
        return None
    clash = session.execute(select(Citizen).where(Citizen.wa_id == new_wa_id)).scalars().first()
    if clash is not None and clash.id != citizen.id:
        # The new number already wrote to us: keep that record and move nothing silently.
        return clash
    citizen.wa_id = new_wa_id
    session.flush()
    return citizen


def in_service_window(citizen: Citizen, now: Optional[dt.datetime] = None) -> bool:
    """Whether free-form messages may be sent (inside 24 h of the citizen's last message)."""
    if citizen.last_inbound_at is None:
        return False
    return (now or utcnow()) - citizen.last_inbound_at < SERVICE_WINDOW


def upsert_sender(session: Session, sender: str, profile_name: Optional[str] = None) -> Citizen:
    """The citizen behind a conversation's sender id: a phone number (digits) or a BSUID."""
    if sender.isdigit():
        return upsert(session, wa_id=sender, profile_name=profile_name)
    return upsert(session, user_id=sender, profile_name=profile_name)
