"""Following a complaint another citizen reported: the follower becomes a supporter of it.

A supporter gets every later state message of the ticket through the outbox, one row per
citizen (``notifications.change_state_and_notify``), and staff's replies unless staff send one to
the reporter only (``notifications.reply``); their photos are attached to the ticket and
their note kept on their supporter row; their own anonymity (hidden from the agency) and
confidentiality (never public) choices are kept there too, so the dashboard shows an anonymous
supporter without a name as it does an anonymous reporter.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from . import citizens, numbering, states
from .config import Institution
from .db import session_scope
from .models import KIND_COMPLAINT, Citizen, Supporter, Ticket
from .models.supporters import SOURCE_FOLLOWED
from .redaction import mask_identifiers
from .tickets import _attach_media

logger = logging.getLogger(__name__)


class NotFollowable(Exception):
    """The ticket is unknown, not a complaint, or no longer open."""


@dataclass(frozen=True)
class FollowDraft:
    """What the complaint form collected from a citizen who chose to follow ``number``."""

    number: str
    sender: str
    idempotency_key: str
    note: Optional[str] = None
    reporter_name: Optional[str] = None
    media_ids: Sequence[int] = ()
    anonymous: bool = False
    confidential: bool = False


@dataclass(frozen=True)
class FollowView:
    number: str
    category_label: str
    state_label: str
    agency_name: Optional[str]
    supporters: int
    created: bool  # False: this citizen already followed (or reported) it


def count(session: Session, ticket_id: int) -> int:
    return int(session.execute(select(func.count()).where(Supporter.ticket_id == ticket_id)).scalar_one())


def counts(session: Session, ticket_ids: Sequence[int]) -> Dict[int, int]:
    """Supporters per ticket, for a page of tickets (absent: none)."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(Supporter.ticket_id, func.count())
        .where(Supporter.ticket_id.in_(list(ticket_ids)))
        .group_by(Supporter.ticket_id)
    )
    return {int(ticket_id): int(n) for ticket_id, n in rows}


@dataclass(frozen=True)
class SupporterRow:
    """A supporter as the ticket page lists it (``permissions.hides_identity`` reads
    ``is_anonymous``)."""

    is_anonymous: bool
    note: Optional[str]
    created_at: dt.datetime
    merged_from_number: Optional[str]
    rating: Optional[int]


def rows(session: Session, ticket_id: int) -> List[Tuple[SupporterRow, Citizen]]:
    """The ticket's supporters with their citizens, in the order they joined."""
    merged = aliased(Ticket)
    found = session.execute(
        select(Supporter, Citizen, merged.number)
        .join(Citizen, Citizen.id == Supporter.citizen_id)
        .outerjoin(merged, merged.id == Supporter.merged_from_id)
        .where(Supporter.ticket_id == ticket_id)
        .order_by(Supporter.id)
    ).all()
    return [
        (SupporterRow(bool(s.is_anonymous), s.note, s.created_at, number, s.rating), c)
        for s, c, number in found
    ]


def citizens_of(session: Session, ticket_id: int) -> List[Citizen]:
    """The supporters' citizens, in the order they joined."""
    return list(
        session.execute(
            select(Citizen)
            .join(Supporter, Supporter.citizen_id == Citizen.id)
            .where(Supporter.ticket_id == ticket_id)
            .order_by(Supporter.id)
        ).scalars()
    )


def follow(inst: Institution, draft: FollowDraft, now: Optional[dt.datetime] = None) -> FollowView:
    """Make the sender a supporter of the open complaint ``draft.number``; idempotent per key and
    per (ticket, citizen). Raises ``NotFollowable``."""
    canonical = numbering.normalise(draft.number, [numbering.COMPLAINT_PREFIX])
    moment = (
        (now or dt.datetime.now(dt.timezone.utc))
        .astimezone(dt.timezone.utc)
        .replace(tzinfo=None, microsecond=0)
    )
    try:
        with session_scope(write=True) as session:
            ticket = (
                session.execute(
                    select(Ticket).where(Ticket.number == (canonical or ""), Ticket.kind == KIND_COMPLAINT)
                )
                .scalars()
                .first()
            )
            if ticket is None or not states.is_open(KIND_COMPLAINT, ticket.state):
                raise NotFollowable(draft.number)
            citizen = citizens.upsert_sender(session, draft.sender, draft.reporter_name)
            existing = (
                session.execute(
                    select(Supporter).where(
                        Supporter.ticket_id == ticket.id, Supporter.citizen_id == citizen.id
                    )
                )
                .scalars()
                .first()
            )
            created = existing is None and ticket.citizen_id != citizen.id
            if created:
                session.add(
                    Supporter(
                        ticket_id=ticket.id,
                        citizen_id=citizen.id,
                        source=SOURCE_FOLLOWED,
                        note=mask_identifiers(draft.note.strip())
                        if draft.note and draft.note.strip()
                        else None,
                        is_anonymous=draft.anonymous,
                        is_confidential=draft.confidential,
                        idempotency_key=draft.idempotency_key,
                        created_at=moment,
                    )
                )
                session.flush()
                ticket.supporter_count = count(session, ticket.id)
                _attach_media(session, ticket, citizen, draft.media_ids)
                logger.info("Citizen %s now supports %s", citizen.id, ticket.number)
            return _view(inst, session, ticket, created)
    except IntegrityError:
        # The same submission twice at once: the other one stored it.
        with session_scope() as session:
            ticket = session.execute(select(Ticket).where(Ticket.number == (canonical or ""))).scalars().one()
            return _view(inst, session, ticket, False)


def _view(inst: Institution, session: Session, ticket: Ticket, created: bool) -> FollowView:
    category = inst.complaint_categories.get(ticket.category)
    agency = inst.agencies.get(ticket.agency_code or "")
    return FollowView(
        number=ticket.number,
        category_label=category.label if category else ticket.category,
        state_label=states.LABELS.get(ticket.state, ticket.state),
        agency_name=agency.name if agency else None,
        supporters=count(session, ticket.id),
        created=created,
    )
