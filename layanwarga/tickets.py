"""Complaints and letter requests: submission, lookup by their owner, and state changes.

The rules live here once, for the action server, the dashboard and scripts alike:
- a submission carries an idempotency key, so the same form submitted twice (an action server
  retry, a redelivered webhook) returns the first ticket instead of creating a second;
- numbers come from ``numbering.allocate`` inside the same transaction as the ticket row;
- a citizen only ever sees their own tickets; someone else's number reads as unknown;
- every state change is kept in the history with who, when and a note.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import calendar, citizens, conversation_log, numbering, states, unit_routing
from .config import Institution, get_institution
from .db import session_scope
from .models import KIND_COMPLAINT, KIND_LETTER, Citizen, Media, StateChange, Ticket, utcnow
from .nik import mask
from .redaction import mask_identifiers, mask_value
from .unit_views import institution_for, letter_for

logger = logging.getLogger(__name__)

CITIZEN_ACTOR = "warga"
SYSTEM_ACTOR = "sistem"


@dataclass(frozen=True)
class ComplaintDraft:
    """What the complaint form collected."""

    category: str
    description: str
    sender: Optional[str]  # None: filed by a partner system (Open311), no WhatsApp citizen
    idempotency_key: str
    reporter_name: Optional[str] = None
    location_text: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    rt: Optional[str] = None
    rw: Optional[str] = None
    area: Optional[str] = None
    media_ids: Sequence[int] = ()
    anonymous: bool = False
    confidential: bool = False
    channel: str = "WhatsApp"
    details: Dict[str, str] = field(default_factory=dict)
    # The unit the citizen chose or confirmed in the conversation (a city's tree; see
    # layanwarga.unit_routing): the place's kelurahan for a complaint, theirs for an aspiration.
    unit_code: Optional[str] = None


@dataclass(frozen=True)
class LetterDraft:
    """What a letter request form collected."""

    letter_type: str
    sender: str
    idempotency_key: str
    applicant_name: str
    applicant_nik: str
    applicant_address: str
    applicant_phone: str
    purpose: str
    reporter_name: Optional[str] = None
    rt: Optional[str] = None
    rw: Optional[str] = None
    on_behalf: bool = False
    relationship: Optional[str] = None
    details: Dict[str, str] = field(default_factory=dict)
    media_ids: Sequence[int] = ()
    # The applicant's kelurahan as chosen or confirmed in the conversation (a city's tree).
    unit_code: Optional[str] = None


@dataclass(frozen=True)
class TicketView:
    """A ticket as its owner may see it (no one else's data, NIK masked)."""

    number: str
    kind: str
    category: str
    category_label: str
    state: str
    state_label: str
    created_at: dt.datetime
    due_date: Optional[dt.date]
    agency_name: Optional[str]
    description: str
    last_note: Optional[str]
    applicant_nik_masked: str = ""
    created: bool = True
    # A city's deployment: the unit handling it ("Kelurahan Langkai"), the agency's field unit,
    # and the letter's pick-up place at that unit; empty in a single-unit deployment.
    unit_name: str = ""
    upt_name: str = ""
    pickup: str = ""


def _category_label(inst: Institution, ticket: Ticket) -> str:
    if ticket.kind == KIND_COMPLAINT:
        category = inst.complaint_categories.get(ticket.category)
        return category.label if category else ticket.category
    letter = inst.letters.get(ticket.category)
    return letter.name if letter else ticket.category


def _unit_name(inst: Institution, ticket: Ticket) -> str:
    if inst.units.single or not ticket.unit_code:
        return ""
    unit = inst.units.get(ticket.unit_code)
    return unit.title if unit is not None else ""


def view(inst: Institution, ticket: Ticket, created: bool = True) -> TicketView:
    agency = inst.agencies.get(ticket.agency_code or "")
    notes = [h.note for h in ticket.history if h.note]
    letter = letter_for(inst, ticket.category, ticket.unit_code) if ticket.kind == KIND_LETTER else None
    return TicketView(
        number=ticket.number,
        kind=ticket.kind,
        category=ticket.category,
        category_label=_category_label(inst, ticket),
        state=ticket.state,
        state_label=states.LABELS.get(ticket.state, ticket.state),
        created_at=ticket.created_at,
        due_date=ticket.due_date,
        agency_name=agency.name if agency else None,
        description=ticket.description or ticket.purpose or "",
        last_note=notes[-1] if notes else None,
        applicant_nik_masked=mask(ticket.applicant_nik) if ticket.applicant_nik else "",
        created=created,
        unit_name=_unit_name(inst, ticket),
        upt_name=ticket.upt_name or "",
        pickup=letter.pickup if letter is not None else "",
    )


def _existing(session: Session, key: str) -> Optional[Ticket]:
    return session.execute(select(Ticket).where(Ticket.idempotency_key == key)).scalars().first()


def _attach_media(session: Session, ticket: Ticket, citizen: Citizen, media_ids: Sequence[int]) -> None:
    """Link the citizen's own uploaded media to the ticket (never another citizen's).

    Media already attached to one of the citizen's earlier tickets (documents reused when a
    rejected request is resubmitted) is copied, so the earlier ticket keeps its record.
    """
    if not media_ids:
        return
    rows = (
        session.execute(
            select(Media).where(
                Media.id.in_(list(media_ids)), or_(Media.citizen_id == citizen.id, Media.citizen_id.is_(None))
            )
        )
        .scalars()
        .all()
    )
    for media in rows:
        if media.ticket_id is None:
            media.ticket_id = ticket.id
            media.citizen_id = citizen.id
        elif media.ticket_id != ticket.id:
            session.add(
                Media(
                    whatsapp_media_id=media.whatsapp_media_id,
                    citizen_id=citizen.id,
                    ticket_id=ticket.id,
                    purpose=media.purpose,
                    mime_type=media.mime_type,
                    sha256=media.sha256,
                    size_bytes=media.size_bytes,
                    storage_path=media.storage_path,
                    caption=media.caption,
                )
            )
    session.flush()


def _store(
    session: Session, ticket: Ticket, citizen: Optional[Citizen], media_ids: Sequence[int], note: str
) -> None:
    ticket.history.append(
        StateChange(
            from_state=None,
            to_state=ticket.state,
            actor=CITIZEN_ACTOR,
            note=note,
            created_at=ticket.created_at,
        )
    )
    session.add(ticket)
    session.flush()
    if citizen is not None:
        _attach_media(session, ticket, citizen, media_ids)
        conversation_log.close_flow(session, ticket)


def _submit(inst: Institution, key: str, build) -> TicketView:  # type: ignore[no-untyped-def]
    """Run one idempotent submission; a concurrent duplicate loses the unique-key race and
    returns the ticket the winner created."""
    try:
        with session_scope(write=True) as session:
            existing = _existing(session, key)
            if existing is not None:
                logger.info("Submission %s already stored as %s; returning it", key, existing.number)
                return view(inst, existing, created=False)
            ticket = build(session)
            result = view(inst, ticket)
        logger.info("Stored %s (%s/%s)", result.number, result.kind, result.category)
        return result
    except IntegrityError:
        with session_scope() as session:
            existing = _existing(session, key)
            if existing is None:
                raise
            return view(inst, existing, created=False)


def submit_complaint(
    inst: Institution, draft: ComplaintDraft, now: Optional[dt.datetime] = None
) -> TicketView:
    """Store a complaint routed to its agency, with its SLA due date; idempotent per key."""
    if draft.category not in inst.complaint_categories:
        raise ValueError(f"unknown complaint category {draft.category!r}")
    if not draft.description.strip():
        raise ValueError("a complaint needs a description")
    category = inst.complaint_categories[draft.category]
    created = (
        (now or dt.datetime.now(dt.timezone.utc))
        .astimezone(dt.timezone.utc)
        .replace(tzinfo=None, microsecond=0)
    )
    local_day = calendar.now_local(inst, created.replace(tzinfo=dt.timezone.utc)).date()
    due = calendar.add_working_days(inst, local_day, inst.verification_days + category.sla_days)

    aspiration = draft.category == unit_routing.ASPIRATION_CATEGORY
    placement = (
        None
        if aspiration
        else unit_routing.place_complaint(
            inst.units,
            inst.agencies.get(category.agency),
            latitude=draft.latitude,
            longitude=draft.longitude,
            location_text=draft.location_text,
            chosen=draft.unit_code,
        )
    )

    def build(session: Session) -> Ticket:
        citizen = citizens.upsert_sender(session, draft.sender, draft.reporter_name) if draft.sender else None
        placed = placement
        if placed is None:
            remembered = citizen.unit_code if citizen is not None else None
            placed = unit_routing.place_aspiration(inst.units, chosen=draft.unit_code, remembered=remembered)
            if citizen is not None and placed.source == unit_routing.SOURCE_CHOSEN:
                citizens.remember_unit(
                    citizen, placed.kelurahan_code or placed.unit.code, placed.source, created
                )
        ticket = Ticket(
            number=numbering.allocate(session, numbering.COMPLAINT_PREFIX, local_day.year),
            kind=KIND_COMPLAINT,
            category=draft.category,
            state=states.INITIAL_STATE[KIND_COMPLAINT],
            citizen_id=citizen.id if citizen is not None else None,
            reporter_name=draft.reporter_name,
            # What citizens type is stored and shown to staff with identity numbers masked.
            description=mask_identifiers(draft.description.strip()),
            location_text=mask_identifiers(draft.location_text)
            if draft.location_text
            else draft.location_text,
            latitude=draft.latitude,
            longitude=draft.longitude,
            rt=draft.rt,
            rw=draft.rw,
            area=draft.area,
            is_anonymous=draft.anonymous,
            is_confidential=draft.confidential,
            agency_code=category.agency,
            **placed.columns(),
            due_date=due,
            details=mask_value(dict(draft.details)),
            idempotency_key=draft.idempotency_key,
            created_at=created,
            updated_at=created,
        )
        _store(session, ticket, citizen, draft.media_ids, f"Laporan diterima melalui {draft.channel}.")
        return ticket

    return _submit(inst, draft.idempotency_key, build)


def submit_letter_request(
    inst: Institution, draft: LetterDraft, now: Optional[dt.datetime] = None
) -> TicketView:
    """Store a letter request in state ``diajukan`` with its expected date; idempotent per key."""
    if draft.letter_type not in inst.letters:
        raise ValueError(f"unknown letter type {draft.letter_type!r}")
    created = (
        (now or dt.datetime.now(dt.timezone.utc))
        .astimezone(dt.timezone.utc)
        .replace(tzinfo=None, microsecond=0)
    )

    def build(session: Session) -> Ticket:
        citizen = citizens.upsert_sender(session, draft.sender, draft.reporter_name)
        placed = unit_routing.place_letter(
            inst.units,
            draft.letter_type,
            address=draft.applicant_address,
            chosen=draft.unit_code,
            remembered=citizen.unit_code,
            on_behalf=draft.on_behalf,
        )
        if not draft.on_behalf and placed.source in (unit_routing.SOURCE_CHOSEN, unit_routing.SOURCE_ADDRESS):
            citizens.remember_unit(citizen, placed.kelurahan_code or placed.unit.code, placed.source, created)
        # The handling unit's processing time on its own calendar (its local closures).
        office = institution_for(inst, placed.unit.code)
        letter = office.letters.get(draft.letter_type) or inst.letters[draft.letter_type]
        local_day = calendar.now_local(office, created.replace(tzinfo=dt.timezone.utc)).date()
        due = calendar.add_working_days(office, local_day, max(letter.processing_days, 1))
        ticket = Ticket(
            number=numbering.allocate(session, letter.prefix, local_day.year),
            kind=KIND_LETTER,
            category=draft.letter_type,
            state=states.INITIAL_STATE[KIND_LETTER],
            citizen_id=citizen.id,
            reporter_name=draft.reporter_name,
            applicant_name=draft.applicant_name,
            applicant_nik=draft.applicant_nik,
            applicant_address=mask_identifiers(draft.applicant_address)
            if draft.applicant_address
            else draft.applicant_address,
            applicant_phone=draft.applicant_phone,
            rt=draft.rt,
            rw=draft.rw,
            on_behalf=draft.on_behalf,
            relationship_to_sender=draft.relationship,
            purpose=mask_identifiers(draft.purpose) if draft.purpose else draft.purpose,
            details=mask_value(dict(draft.details)),
            agency_code=None,
            **placed.columns(),
            due_date=due,
            idempotency_key=draft.idempotency_key,
            created_at=created,
            updated_at=created,
        )
        _store(session, ticket, citizen, draft.media_ids, "Permohonan diajukan melalui WhatsApp.")
        return ticket

    return _submit(inst, draft.idempotency_key, build)


def _owned_by(sender: str):  # type: ignore[no-untyped-def]
    return Ticket.citizen.has(citizens.of_sender(sender))


def find_for_citizen(inst: Institution, sender: str, number: str) -> Optional[TicketView]:
    """The ticket with this number if it belongs to ``sender``; otherwise None, exactly as for
    a number that does not exist, so nobody can probe other citizens' tickets."""
    if not sender or not number:
        return None
    with session_scope() as session:
        ticket = (
            session.execute(select(Ticket).where(Ticket.number == number, _owned_by(sender)))
            .scalars()
            .first()
        )
        return view(inst, ticket) if ticket else None


def recent_for_citizen(
    inst: Institution, sender: str, limit: int = 10, category: Optional[str] = None
) -> List[TicketView]:
    """The citizen's tickets and requests, newest first; only one category (a letter code such
    as ``sktm``) when given."""
    if not sender:
        return []
    query = select(Ticket).where(_owned_by(sender))
    if category:
        query = query.where(Ticket.category == category)
    with session_scope() as session:
        tickets = (
            session.execute(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))
            .scalars()
            .unique()
            .all()
        )
        return [view(inst, t) for t in tickets]


def change_state(
    ticket_id: int,
    target: str,
    actor: str,
    note: Optional[str] = None,
    agency_code: Optional[str] = None,
    session: Optional[Session] = None,
    *,
    internal_note: Optional[str] = None,
) -> Ticket:
    """Move a ticket to ``target`` if the workflow allows it, recording the change.

    ``note`` is what the citizen reads with the change; ``internal_note`` stays with staff.
    ``agency_code`` routes (or re-routes) a complaint when moving it to ``diteruskan``; the
    history keeps the agency before and after. Pass ``session`` to make the change part of a
    larger unit of work.
    """
    if session is None:
        with session_scope(write=True) as own:
            return change_state(ticket_id, target, actor, note, agency_code, own, internal_note=internal_note)
    ticket = session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None:
        raise LookupError(f"ticket {ticket_id} does not exist")
    states.check_transition(ticket.kind, ticket.state, target, note)
    previous = ticket.state
    previous_agency = ticket.agency_code
    ticket.state = target
    now = utcnow()
    ticket.updated_at = now
    if agency_code and agency_code != previous_agency:
        ticket.agency_code = agency_code
        if ticket.upt_name or ticket.kelurahan_code:
            # Another agency: its own field unit for the place, if it has one there.
            inst = get_institution()
            ticket.upt_name = unit_routing.upt_name_for(
                inst.units, inst.agencies.get(agency_code), ticket.kelurahan_code
            )
    if target == states.DITOLAK:
        ticket.rejection_reason = note
    if target == states.SELESAI and ticket.kind == KIND_COMPLAINT:
        ticket.resolution_note = note
    ticket.closed_at = None if states.is_open(ticket.kind, target) else now
    ticket.history.append(
        StateChange(
            from_state=previous,
            to_state=target,
            actor=actor,
            note=note,
            internal_note=internal_note,
            from_agency=previous_agency if agency_code else None,
            to_agency=agency_code or None,
            created_at=now,
        )
    )
    session.flush()
    return ticket


@dataclass(frozen=True)
class RejectedRequest:
    """What a citizen entered in a rejected letter request, to resubmit it corrected."""

    number: str
    letter_type: str
    reason: str
    applicant_name: Optional[str]
    applicant_nik: Optional[str]
    applicant_address: Optional[str]
    applicant_phone: Optional[str]
    purpose: Optional[str]
    on_behalf: bool
    relationship: Optional[str]
    details: Dict[str, object]
    media_ids: List[int]
    # A city: the applicant's kelurahan the request went to (kept unless the address is corrected).
    kelurahan_code: Optional[str] = None


def rejected_request(sender: str, number: str) -> Optional[RejectedRequest]:
    """The sender's own rejected letter request with this number, or None."""
    if not sender or not number:
        return None
    with session_scope() as session:
        ticket = (
            session.execute(
                select(Ticket).where(
                    Ticket.number == number,
                    Ticket.kind == KIND_LETTER,
                    Ticket.state == states.DITOLAK,
                    _owned_by(sender),
                )
            )
            .scalars()
            .first()
        )
        return None if ticket is None else _rejected(ticket)


def latest_rejected_request(sender: str, letter_type: str) -> Optional[RejectedRequest]:
    """The sender's newest request for this letter type when it was rejected (nothing asked for
    since), or None."""
    if not sender:
        return None
    with session_scope() as session:
        ticket = (
            session.execute(
                select(Ticket)
                .where(Ticket.kind == KIND_LETTER, Ticket.category == letter_type, _owned_by(sender))
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            .scalars()
            .first()
        )
        return _rejected(ticket) if ticket is not None and ticket.state == states.DITOLAK else None


def _rejected(ticket: Ticket) -> RejectedRequest:
    return RejectedRequest(
        number=ticket.number,
        letter_type=ticket.category,
        reason=ticket.rejection_reason or "",
        applicant_name=ticket.applicant_name,
        applicant_nik=ticket.applicant_nik,
        applicant_address=ticket.applicant_address,
        applicant_phone=ticket.applicant_phone,
        purpose=ticket.purpose,
        on_behalf=ticket.on_behalf,
        relationship=ticket.relationship_to_sender,
        details=dict(ticket.details or {}),
        media_ids=[m.id for m in ticket.media],
        kelurahan_code=ticket.kelurahan_code,
    )
