"""Complaint tickets as the public sees them: the Open311 API and the public map read them only
through here, so the privacy rules are written once.

1. Only complaints (``aduan``) are public; letter requests never are.
2. The reporter is never shown: no name, phone number, WhatsApp id or NIK, for any ticket; the
   history's notes (staff write them to the citizen, often by name) are replaced by the state's
   label.
3. An anonymous (*anonim*) or confidential (*rahasia*) complaint shows only that a report of its
   category and state exists near a place: no description, no address text, and its pin snapped
   to a grid of about 100 m (``PRIVATE_GRID_DEGREES``).
4. Other complaints show what the citizen wrote about the problem and the place, with anything
   that reads as a phone number or a NIK replaced (``public_text``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import numbering, states
from .config import Institution
from .merging import MERGED_INTO
from .models import KIND_COMPLAINT, Ticket

# 0.001 degree of latitude is 111 m; of longitude 111 m at the equator (Indonesia spans 6°N-11°S,
# where it is at least 109 m).
PRIVATE_GRID_DEGREES = 0.001
HIDDEN_NUMBER = "[nomor disembunyikan]"

# Indonesian phone numbers (08…, 628…, +62 8…, landlines 0xx-…) and any 16-digit run (a NIK),
# with the spaces, dots and dashes people type between digits.
_PHONE_RE = re.compile(r"(?<![\d+])\(?(?:\+\s?62|62|0)(?:[\s.\-()]{0,2}\d){7,13}(?!\d)")
_NIK_RE = re.compile(r"(?<!\d)\d(?:[\s.\-]?\d){15}(?!\d)|\d{2,6}\*{2,}\d{2,6}")  # whole, or as stored masked

OPEN, CLOSED = "open", "closed"


def public_text(text: Optional[str]) -> Optional[str]:
    """``text`` with phone numbers and NIKs replaced; None stays None."""
    if text is None:
        return None
    return _PHONE_RE.sub(HIDDEN_NUMBER, _NIK_RE.sub(HIDDEN_NUMBER, text))


def snap(value: float) -> float:
    """A coordinate moved to the centre of its ~100 m grid cell."""
    cell = int(value // PRIVATE_GRID_DEGREES)
    return round((cell + 0.5) * PRIVATE_GRID_DEGREES, 4)


@dataclass(frozen=True)
class PublicTicket:
    number: str
    service_code: str
    service_name: str
    state: str
    state_label: str
    status: str  # Open311's open / closed
    private: bool  # anonymous or confidential: text hidden, pin snapped
    description: Optional[str]
    address: Optional[str]
    latitude: Optional[float]
    longitude: Optional[float]
    agency_name: Optional[str]
    created_at: dt.datetime  # naive UTC, as stored
    updated_at: dt.datetime
    due_date: Optional[dt.date]
    supporters: int = 0  # citizens who follow it besides the reporter (a count, never who)


# The columns the rules above read: lists select only these, not whole rows (the public map
# reads thousands at once).
COLUMNS = (
    Ticket.number,
    Ticket.category,
    Ticket.state,
    Ticket.is_anonymous,
    Ticket.is_confidential,
    Ticket.agency_code,
    Ticket.description,
    Ticket.location_text,
    Ticket.rt,
    Ticket.rw,
    Ticket.area,
    Ticket.latitude,
    Ticket.longitude,
    Ticket.created_at,
    Ticket.updated_at,
    Ticket.closed_at,
    Ticket.due_date,
    Ticket.supporter_count,
    Ticket.details[MERGED_INTO].as_string().label(MERGED_INTO),
)


def public_view(inst: Institution, ticket: Any) -> PublicTicket:
    """What anyone may know of ``ticket`` (a complaint: a ``Ticket`` or a row of ``COLUMNS``),
    by the rules above."""
    private = bool(ticket.is_anonymous or ticket.is_confidential)
    category = inst.complaint_categories.get(ticket.category)
    agency = inst.agencies.get(ticket.agency_code or "")
    latitude, longitude = ticket.latitude, ticket.longitude
    if private and latitude is not None and longitude is not None:
        latitude, longitude = snap(latitude), snap(longitude)
    text = ticket.location_text or ""
    place = ", ".join(
        part
        for part in (
            text,
            f"RT {ticket.rt}" if ticket.rt and "RT" not in text.upper() else None,
            f"RW {ticket.rw}" if ticket.rw and "RW" not in text.upper() else None,
            ticket.area,
        )
        if part
    )
    # A duplicate merged into another report is closed as ``ditolak``; the public reads where it went.
    merged_into = (
        (ticket.details or {}).get(MERGED_INTO)
        if isinstance(ticket, Ticket)
        else getattr(ticket, MERGED_INTO, None)
    )
    return PublicTicket(
        number=ticket.number,
        service_code=ticket.category,
        service_name=category.label if category else ticket.category,
        state=ticket.state,
        state_label=f"Digabung ke {merged_into}"
        if merged_into
        else states.LABELS.get(ticket.state, ticket.state),
        status=OPEN if states.is_open(KIND_COMPLAINT, ticket.state) else CLOSED,
        private=private,
        description=None if private else public_text(ticket.description),
        address=None if private else (public_text(place) or None),
        latitude=latitude,
        longitude=longitude,
        agency_name=agency.name if agency else None,
        created_at=ticket.created_at,
        updated_at=ticket.closed_at or ticket.updated_at,
        due_date=ticket.due_date,
        supporters=int(ticket.supporter_count or 0),
    )


def find(session: Session, inst: Institution, number: str) -> Optional[PublicTicket]:
    """The complaint with this number (typed loosely), or None (also for a letter request)."""
    canonical = numbering.normalise(number, [numbering.COMPLAINT_PREFIX])
    if canonical is None:
        return None
    row = session.execute(
        select(*COLUMNS).where(Ticket.number == canonical, Ticket.kind == KIND_COMPLAINT)
    ).first()
    return public_view(inst, row) if row else None


def search(
    session: Session,
    inst: Institution,
    *,
    numbers: Sequence[str] = (),
    categories: Sequence[str] = (),
    statuses: Sequence[str] = (),
    created_from: Optional[dt.datetime] = None,
    created_until: Optional[dt.datetime] = None,
    limit: int = 1000,
) -> List[PublicTicket]:
    """Complaints, newest first. ``numbers`` (canonical or loose) overrides every other filter,
    as Open311's ``service_request_id`` does; datetimes are naive UTC."""
    query = select(*COLUMNS).where(Ticket.kind == KIND_COMPLAINT)
    if numbers:
        canonical = [n for n in (numbering.normalise(x, [numbering.COMPLAINT_PREFIX]) for x in numbers) if n]
        query = query.where(Ticket.number.in_(canonical))
    else:
        if categories:
            query = query.where(Ticket.category.in_(list(categories)))
        wanted = set(statuses)
        if wanted == {OPEN}:
            query = query.where(Ticket.state.in_(sorted(states.OPEN_STATES[KIND_COMPLAINT])))
        elif wanted == {CLOSED}:
            query = query.where(Ticket.state.not_in(sorted(states.OPEN_STATES[KIND_COMPLAINT])))
        if created_from is not None:
            query = query.where(Ticket.created_at >= created_from)
        if created_until is not None:
            query = query.where(Ticket.created_at <= created_until)
    rows = session.execute(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)).all()
    return [public_view(inst, t) for t in rows]


def on_the_map(
    session: Session, inst: Institution, now: Optional[dt.datetime] = None, limit: int = 5000
) -> List[PublicTicket]:
    """Complaints with a pin for the public map: every open one, and those resolved (``selesai``)
    in the last ``publik.recently_fixed_days`` days; newest first, at most ``limit``."""
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None)
    since = moment - dt.timedelta(days=inst.public.recently_fixed_days)
    rows = session.execute(
        select(*COLUMNS)
        .where(
            Ticket.kind == KIND_COMPLAINT,
            Ticket.latitude.is_not(None),
            Ticket.longitude.is_not(None),
            or_(
                Ticket.state.in_(sorted(states.OPEN_STATES[KIND_COMPLAINT])),
                (Ticket.state == states.SELESAI) & (Ticket.closed_at >= since),
            ),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    ).all()
    return [public_view(inst, t) for t in rows]
