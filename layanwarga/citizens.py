"""Citizens and their WhatsApp identity.

A citizen is keyed by phone (``wa_id``) when WhatsApp gives one, else by the business-scoped user
id (BSUID, ``user_id``) that 2026's username users arrive with; both are stored when both are
known, so a conversation that starts with only a BSUID keeps its tickets when the phone appears.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from .models import Citizen, utcnow

logger = logging.getLogger(__name__)

# WhatsApp lets a business send free-form messages only within 24 h of the citizen's last message.
SERVICE_WINDOW = dt.timedelta(hours=24)
# What a citizen's message may change on their record.
_IDENTITY_FIELDS = ("wa_id", "user_id", "profile_name", "last_inbound_at")


def of_sender(sender: Union[str, BindParameter]) -> ColumnElement:
    """The condition for the citizen whose phone or BSUID is ``sender`` (the conversation's
    sender id)."""
    return or_(Citizen.wa_id == sender, Citizen.user_id == sender)


def find(session: Session, sender: str) -> Optional[Citizen]:
    """The citizen whose phone or BSUID is ``sender``."""
    if not sender:
        return None
    return session.execute(select(Citizen).where(of_sender(sender))).scalars().first()


def _changes(
    stored: Mapping[str, Any],
    *,
    wa_id: Optional[str],
    user_id: Optional[str],
    profile_name: Optional[str],
    inbound_at: Optional[dt.datetime],
) -> Dict[str, Any]:
    """What a message from the citizen changes on their ``stored`` record (its wa_id, user_id,
    profile_name and last_inbound_at): a missing phone or BSUID filled in, the profile name as
    WhatsApp shows it now, a later inbound time (never an earlier one)."""
    changes: Dict[str, Any] = {}
    if wa_id and not stored["wa_id"]:
        changes["wa_id"] = wa_id
    if user_id and not stored["user_id"]:
        changes["user_id"] = user_id
    if profile_name and profile_name[:200] != stored["profile_name"]:
        changes["profile_name"] = profile_name[:200]
    if inbound_at and (stored["last_inbound_at"] is None or inbound_at > stored["last_inbound_at"]):
        changes["last_inbound_at"] = inbound_at
    return changes


def _unclaimed(execute: Callable[..., Any], citizen_id: int, changes: Dict[str, Any]) -> Dict[str, Any]:
    """``changes`` without a phone or BSUID that another citizen already holds.

    A message can pair a phone with a BSUID stored on a different record (a recycled number, or
    a body that does not hold together); the message still counts for the citizen it was matched
    to, but an identity is never taken from another citizen: that would fail on the unique key,
    or worse, join two people's conversations.
    """
    for field in ("wa_id", "user_id"):
        if field in changes:
            column = getattr(Citizen, field)
            holder = execute(
                select(Citizen.id).where(column == changes[field], Citizen.id != citizen_id)
            ).first()
            if holder is not None:
                logger.warning(
                    "Citizen %s: %s already belongs to citizen %s; not copied", citizen_id, field, holder[0]
                )
                del changes[field]
    return changes


def _require_identity(wa_id: Optional[str], user_id: Optional[str]) -> None:
    if not wa_id and not user_id:
        raise ValueError("a citizen needs a wa_id or a user_id")


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
    _require_identity(wa_id, user_id)
    citizen = None
    if wa_id:
        citizen = session.execute(select(Citizen).where(Citizen.wa_id == wa_id)).scalars().first()
    if citizen is None and user_id:
        citizen = session.execute(select(Citizen).where(Citizen.user_id == user_id)).scalars().first()
    if citizen is None:
        citizen = Citizen(wa_id=wa_id, user_id=user_id)
        session.add(citizen)
    stored = {field: getattr(citizen, field) for field in _IDENTITY_FIELDS}
    changes = _changes(stored, wa_id=wa_id, user_id=user_id, profile_name=profile_name, inbound_at=inbound_at)
    if citizen.id is not None:
        changes = _unclaimed(session.execute, citizen.id, changes)
    for field, value in changes.items():
        setattr(citizen, field, value)
    session.flush()
    return citizen


@functools.lru_cache(maxsize=1)
def _lookups() -> Tuple[Any, Any]:
    """``record_inbound``'s lookups by phone and by BSUID, built once."""
    columns = (Citizen.id, *(getattr(Citizen, field) for field in _IDENTITY_FIELDS))
    return (
        select(*columns).where(Citizen.wa_id == bindparam("key")),
        select(*columns).where(Citizen.user_id == bindparam("key")),
    )


def record_inbound(
    connection: Connection,
    *,
    wa_id: Optional[str] = None,
    user_id: Optional[str] = None,
    profile_name: Optional[str] = None,
    inbound_at: Optional[dt.datetime] = None,
) -> int:
    """``upsert`` as Core statements on a connection; returns the citizen's id.

    For the WhatsApp connector, which records the citizen behind every inbound message on a
    thread that shares the interpreter lock with Rasa: one lookup and, only when something is
    new, one insert or update.
    """
    _require_identity(wa_id, user_id)
    by_phone, by_user_id = _lookups()
    stored = None
    if wa_id:
        stored = connection.execute(by_phone, {"key": wa_id}).mappings().first()
    if stored is None and user_id:
        stored = connection.execute(by_user_id, {"key": user_id}).mappings().first()
    table = Citizen.__table__
    if stored is None:
        empty = dict.fromkeys(_IDENTITY_FIELDS)
        values = {"wa_id": wa_id, "user_id": user_id}
        values.update(
            _changes(empty, wa_id=None, user_id=None, profile_name=profile_name, inbound_at=inbound_at)
        )
        return int(connection.execute(insert(table).values(values)).inserted_primary_key[0])
    changes = _changes(stored, wa_id=wa_id, user_id=user_id, profile_name=profile_name, inbound_at=inbound_at)
    changes = _unclaimed(connection.execute, stored["id"], changes)
    if changes:
        connection.execute(update(table).where(table.c.id == stored["id"]).values(changes))
    return int(stored["id"])


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


def remember_unit(
    citizen: Citizen, code: Optional[str], source: str, at: Optional[dt.datetime] = None
) -> None:
    """Remember the unit of the city's tree the citizen lives in (``layanwarga.unit_routing``
    says which ``source`` words there are); a newer answer replaces an older one."""
    if not code or citizen.unit_code == code:
        return
    logger.info("Citizen %s: unit %s -> %s (%s)", citizen.id, citizen.unit_code, code, source)
    citizen.unit_code = code
    citizen.unit_source = source
    citizen.unit_updated_at = at or utcnow()
