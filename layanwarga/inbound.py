"""The connector's citizen bookkeeping, on the domain's tables (plain Python, no Rasa import).

- Citizen identity from inbound messages (phone and/or BSUID, last inbound time for the 24-h
  window), via ``layanwarga.citizens``, with the blocklist check in the same unit of work
  (``admit_inbound``): a blocked sender is never recorded.
- What staff see of the connector's journal (``unfinished_messages``).
- ``mask``: a phone number or BSUID shortened for log lines.

The connector's own storage is elsewhere: its journal of inbound messages in
``connectors.journal``, delivery statuses in ``whatsapp.statuses``. All functions are
synchronous; the connector calls them in a thread executor. Its database thread competes with
Rasa's event loop for the GIL, so the units it runs for every message are Core statements on a
connection (``db.connection_scope``): no ORM session, no flush.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import blocklist, citizens
from .db import connection_scope, retry_on_conflict, session_scope
from .models import ProcessedMessage, utcnow


def mask(identifier: Optional[str]) -> str:
    """A phone number or BSUID shortened for log lines (personal data under UU 27/2022)."""
    if not identifier:
        return "-"
    text = str(identifier)
    return text if len(text) <= 6 else f"{text[:4]}…{text[-3:]}"


@dataclass(frozen=True)
class UnfinishedMessages:
    """Citizens' messages taken in whose turn has not completed (the connector's journal)."""

    count: int
    oldest_at: Optional[dt.datetime]


def unfinished_messages(
    session: Session, *, older_than: dt.timedelta = dt.timedelta(minutes=1), now: Optional[dt.datetime] = None
) -> UnfinishedMessages:
    """Messages waiting longer than ``older_than`` (a turn in progress is not waiting): for staff,
    who should know when citizens wait for an assistant that cannot answer."""
    cutoff = (now or utcnow()) - older_than
    count, oldest = session.execute(
        select(func.count(), func.min(ProcessedMessage.received_at)).where(
            ProcessedMessage.state.in_(("received", "held")), ProcessedMessage.received_at < cutoff
        )
    ).one()
    return UnfinishedMessages(int(count), oldest)


# Another instance may create the same citizen at the same moment: the second attempt reads it.
_CITIZEN_ATTEMPTS = 2


def record_inbound(
    *,
    wa_id: Optional[str],
    user_id: Optional[str],
    profile_name: Optional[str],
    inbound_at: Optional[dt.datetime],
    url: Optional[str] = None,
) -> int:
    """Upsert the citizen behind an inbound message and open the 24-h window; returns its id."""

    def unit() -> int:
        with connection_scope(url, write=True) as connection:
            return citizens.record_inbound(
                connection, wa_id=wa_id, user_id=user_id, profile_name=profile_name, inbound_at=inbound_at
            )

    return retry_on_conflict(unit, _CITIZEN_ATTEMPTS)


@dataclass(frozen=True)
class Admission:
    """What ``admit_inbound`` decided: a blocked sender has no citizen id (not recorded)."""

    blocked: bool
    citizen_id: Optional[int] = None


def admit_inbound(
    sender: str,
    *,
    wa_id: Optional[str],
    user_id: Optional[str],
    profile_name: Optional[str],
    inbound_at: Optional[dt.datetime],
    url: Optional[str] = None,
) -> Admission:
    """The blocklist check and, for a sender not blocked, ``record_inbound``, in one unit of work.

    A blocked sender is neither recorded as a citizen nor given a 24-h window.
    """

    def unit() -> Admission:
        with connection_scope(url, write=True) as connection:
            if blocklist.blocked(connection, sender):
                return Admission(blocked=True)
            citizen_id = citizens.record_inbound(
                connection, wa_id=wa_id, user_id=user_id, profile_name=profile_name, inbound_at=inbound_at
            )
            return Admission(blocked=False, citizen_id=citizen_id)

    return retry_on_conflict(unit, _CITIZEN_ATTEMPTS)


def change_number(old_wa_id: str, new_wa_id: str, *, url: Optional[str] = None) -> Optional[int]:
    """Apply a ``user_changed_number`` system message; returns the citizen's id if known."""
    with session_scope(url, write=True) as session:
        citizen = citizens.change_number(session, old_wa_id, new_wa_id)
        if citizen is None:
            # Never seen before: remember the new number so the next message finds the citizen.
            citizen = citizens.upsert(session, wa_id=new_wa_id)
        return int(citizen.id)


def find_citizen_id(sender: str, *, url: Optional[str] = None) -> Optional[int]:
    with session_scope(url) as session:
        citizen = citizens.find(session, sender)
        return int(citizen.id) if citizen else None


def in_service_window(
    sender: str, *, now: Optional[dt.datetime] = None, url: Optional[str] = None
) -> Optional[bool]:
    """Whether free-form messages may be sent to ``sender``; None when the citizen is unknown."""
    with session_scope(url) as session:
        citizen = citizens.find(session, sender)
        if citizen is None:
            return None
        return citizens.in_service_window(citizen, now)


def parse_timestamp(value: Optional[str]) -> Optional[dt.datetime]:
    """WhatsApp's epoch-seconds string -> naive UTC datetime (None when absent or odd)."""
    try:
        seconds = int(str(value))
    except (TypeError, ValueError):
        return None
    try:
        return dt.datetime.utcfromtimestamp(seconds).replace(microsecond=0)
    except (OverflowError, OSError, ValueError):
        return None
