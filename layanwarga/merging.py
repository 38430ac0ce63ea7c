"""Merging a duplicate complaint into the one that stays (the survivor), and splitting it out
again when that was a mistake.

Merging moves the duplicate's citizens (its reporter and its supporters) to the survivor as
supporters (``source`` = gabung, ``merged_from_id`` = the duplicate), each with the anonymity
and confidentiality they chose, and closes the duplicate as ``ditolak`` with a note naming the
survivor; every moved citizen is told the new number through the outbox. Both histories record
it. ``details["merged_into"]`` on the duplicate says where it went.

Splitting undoes exactly that: the moved supporters leave the survivor, the duplicate returns
to the state it had before the merge (a move out of ``ditolak`` the ordinary workflow does not
allow, so it is written here, with its own history entry), and its citizens are told. Within
``UNDO_WINDOW`` after the merge it is an undo; later it needs a reason (``SplitNeedsReason``).

Who may do it is the caller's rule (the dashboard's ``permissions.may_merge``), passed as
``allowed`` and checked on both tickets under their row locks.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from . import notifications, numbering, states, supporters, tickets
from .config import Institution
from .models import KIND_COMPLAINT, Citizen, StateChange, Supporter, Ticket, utcnow
from .models.supporters import SOURCE_MERGED

logger = logging.getLogger(__name__)

UNDO_WINDOW = dt.timedelta(days=1)
KIND_MERGE = "gabung"
MERGED_INTO = "merged_into"  # the key of ``Ticket.details`` naming the survivor

# Which tickets the caller may act on (the dashboard's permission rule); None: every ticket.
Allowed = Optional[Callable[[Ticket], bool]]


class MergeError(Exception):
    """Why a merge or split cannot be done, in words for the clerk."""


class SplitNeedsReason(MergeError):
    pass


@dataclass(frozen=True)
class MergeResult:
    duplicate: str
    survivor: str
    moved: int  # citizens who became supporters of the survivor
    notified: int


def _complaint(session: Session, number: str, allowed: Allowed = None) -> Ticket:
    """The complaint ``number`` names, locked; one the caller may not act on reads as unknown,
    so the answer never says that it exists."""
    canonical = numbering.normalise(number, [numbering.COMPLAINT_PREFIX])
    ticket = (
        session.execute(
            select(Ticket)
            .where(Ticket.number == (canonical or ""), Ticket.kind == KIND_COMPLAINT)
            .with_for_update()
        )
        .scalars()
        .first()
    )
    if ticket is None or (allowed is not None and not allowed(ticket)):
        raise MergeError(f"Aduan {number} tidak ditemukan.")
    return ticket


def _tell(
    session: Session,
    citizens: List[Citizen],
    text: str,
    ticket_id: int,
    key: str,
    actor: str,
    moment: dt.datetime,
) -> None:
    """Queue ``text`` to each citizen a merge or split moved, once per change (``key``)."""
    for citizen in citizens:
        notifications.enqueue(
            session,
            citizen=citizen,
            message=notifications.Outgoing(text),
            kind=KIND_MERGE,
            actor=actor,
            ticket_id=ticket_id,
            dedupe_key=f"{key}:{citizen.id}",
            now=moment,
        )


def _moving(
    session: Session, duplicate: Ticket, survivor: Ticket
) -> List[Tuple[Citizen, bool, bool, Optional[str]]]:
    """The duplicate's citizens not already on the survivor: (citizen, anonymous, confidential, note)."""
    already = {survivor.citizen_id} | set(
        session.execute(select(Supporter.citizen_id).where(Supporter.ticket_id == survivor.id)).scalars()
    )
    moving = []
    if duplicate.citizen is not None and duplicate.citizen_id not in already:
        moving.append(
            (
                duplicate.citizen,
                bool(duplicate.is_anonymous),
                bool(duplicate.is_confidential),
                duplicate.description,
            )
        )
        already.add(duplicate.citizen_id)
    rows = session.execute(
        select(Supporter, Citizen)
        .join(Citizen, Citizen.id == Supporter.citizen_id)
        .where(Supporter.ticket_id == duplicate.id)
        .order_by(Supporter.id)
    ).all()
    for supporter, citizen in rows:
        if citizen.id not in already:
            moving.append(
                (citizen, bool(supporter.is_anonymous), bool(supporter.is_confidential), supporter.note)
            )
            already.add(citizen.id)
    return moving


def merge(
    inst: Institution,
    session: Session,
    duplicate_number: str,
    survivor_number: str,
    actor: str,
    now: Optional[dt.datetime] = None,
    *,
    allowed: Allowed = None,
) -> MergeResult:
    """Merge ``duplicate_number`` into ``survivor_number`` (both open complaints of the same
    category, both ``allowed``) inside the caller's transaction. Raises ``MergeError``."""
    moment = now or utcnow()
    duplicate = _complaint(session, duplicate_number, allowed)
    survivor = _complaint(session, survivor_number, allowed)
    if duplicate.id == survivor.id:
        raise MergeError("Aduan tidak dapat digabung dengan dirinya sendiri.")
    for ticket in (duplicate, survivor):
        if not states.is_open(KIND_COMPLAINT, ticket.state):
            raise MergeError(f"Aduan {ticket.number} sudah ditutup; hanya aduan terbuka yang dapat digabung.")
    if duplicate.category != survivor.category:
        raise MergeError("Hanya aduan dengan jenis yang sama yang dapat digabung.")
    moving = _moving(session, duplicate, survivor)
    for citizen, anonymous, confidential, note in moving:
        session.add(
            Supporter(
                ticket_id=survivor.id,
                citizen_id=citizen.id,
                source=SOURCE_MERGED,
                merged_from_id=duplicate.id,
                note=note,
                is_anonymous=anonymous,
                is_confidential=confidential,
                created_at=moment,
            )
        )
    session.flush()
    survivor.supporter_count = supporters.count(session, survivor.id)
    survivor.updated_at = moment
    survivor.history.append(
        StateChange(
            from_state=survivor.state,
            to_state=survivor.state,
            actor=actor,
            created_at=moment,
            internal_note=f"Aduan {duplicate.number} digabung ke tiket ini ({len(moving)} warga menjadi pendukung).",
        )
    )
    tickets.change_state(
        duplicate.id,
        states.DITOLAK,
        actor,
        f"Digabung dengan laporan {survivor.number} tentang masalah yang sama.",
        session=session,
        internal_note=f"Duplikat dari {survivor.number}.",
    )
    duplicate.details = {
        **(duplicate.details or {}),
        MERGED_INTO: survivor.number,
        "merged_at": moment.isoformat(),
    }
    change_id = duplicate.history[-1].id
    text = (
        f"Laporan Bapak/Ibu *{duplicate.number}* kami gabungkan dengan laporan *{survivor.number}* karena "
        f"membahas masalah yang sama di lokasi yang sama. Laporan Bapak/Ibu tetap tercatat dan ikut "
        f"menjadi perhatian petugas; perkembangan selanjutnya kami kabarkan dengan nomor *{survivor.number}* "
        f"(cek kapan saja dengan mengetik *cek {survivor.number}*)."
    )
    _tell(
        session, [citizen for citizen, *_ in moving], text, survivor.id, f"merge:{change_id}", actor, moment
    )
    logger.info(
        "Complaint %s merged into %s by %s (%d citizens moved)",
        duplicate.number,
        survivor.number,
        actor,
        len(moving),
    )
    return MergeResult(duplicate.number, survivor.number, len(moving), len(moving))


def merged_into(ticket: Ticket) -> Optional[str]:
    return (ticket.details or {}).get(MERGED_INTO)


def is_merged() -> ColumnElement:
    """SQL: the ticket is closed as a duplicate merged into another (``merged_into`` in SQL),
    not rejected, though its state is ``ditolak``."""
    return and_(Ticket.state == states.DITOLAK, Ticket.details[MERGED_INTO].as_string().is_not(None))


def undo_open(ticket: Ticket, now: Optional[dt.datetime] = None) -> bool:
    """Whether the merge of ``ticket`` can still be undone without a reason."""
    at = (ticket.details or {}).get("merged_at")
    if not isinstance(at, str):
        return False
    return (now or utcnow()) - dt.datetime.fromisoformat(at) <= UNDO_WINDOW


def split(
    inst: Institution,
    session: Session,
    duplicate_number: str,
    actor: str,
    reason: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    *,
    allowed: Allowed = None,
) -> MergeResult:
    """Take the merged ``duplicate_number`` out of its survivor again (both ``allowed``).
    Raises ``MergeError`` (``SplitNeedsReason`` after ``UNDO_WINDOW`` without ``reason``)."""
    moment = now or utcnow()
    duplicate = _complaint(session, duplicate_number, allowed)
    survivor_number = merged_into(duplicate)
    if not survivor_number:
        raise MergeError(f"Aduan {duplicate.number} tidak sedang digabung dengan aduan lain.")
    if not undo_open(duplicate, moment) and not (reason or "").strip():
        raise SplitNeedsReason("Penggabungan sudah lebih dari sehari: tuliskan alasan pemisahan.")
    survivor = _complaint(session, survivor_number)
    if allowed is not None and not allowed(survivor):
        raise MergeError(
            f"Aduan ini digabung ke {survivor.number}, yang tidak ditangani oleh Bapak/Ibu; "
            "silakan minta admin untuk memisahkannya."
        )
    moved = session.execute(
        select(Supporter, Citizen)
        .join(Citizen, Citizen.id == Supporter.citizen_id)
        .where(Supporter.ticket_id == survivor.id, Supporter.merged_from_id == duplicate.id)
    ).all()
    for supporter, _ in moved:
        session.delete(supporter)
    session.flush()
    survivor.supporter_count = supporters.count(session, survivor.id)
    survivor.updated_at = moment
    why = f" Alasan: {reason.strip()}" if reason and reason.strip() else ""
    survivor.history.append(
        StateChange(
            from_state=survivor.state,
            to_state=survivor.state,
            actor=actor,
            created_at=moment,
            internal_note=f"Aduan {duplicate.number} dipisahkan kembali dari tiket ini.{why}",
        )
    )
    merge_entry = next(h for h in reversed(duplicate.history) if h.to_state == states.DITOLAK)
    previous = merge_entry.from_state or states.BARU
    duplicate.history.append(
        StateChange(
            from_state=duplicate.state,
            to_state=previous,
            actor=actor,
            created_at=moment,
            note=f"Laporan ini dipisahkan kembali dari {survivor.number} dan ditangani tersendiri.",
            internal_note=f"Penggabungan ke {survivor.number} dibatalkan.{why}",
        )
    )
    duplicate.state = previous
    duplicate.closed_at = None
    duplicate.rejection_reason = None
    duplicate.updated_at = moment
    details = dict(duplicate.details or {})
    details.pop(MERGED_INTO, None)
    details.pop("merged_at", None)
    duplicate.details = details
    session.flush()
    change_id = duplicate.history[-1].id
    text = (
        f"Mohon maaf, laporan Bapak/Ibu *{duplicate.number}* ternyata berbeda dari laporan {survivor.number}, "
        f"sehingga kami tangani kembali secara tersendiri dengan nomor *{duplicate.number}*."
    )
    citizens = [c for _, c in moved]
    _tell(session, citizens, text, duplicate.id, f"split:{change_id}", actor, moment)
    logger.info("Complaint %s split from %s by %s", duplicate.number, survivor.number, actor)
    return MergeResult(duplicate.number, survivor.number, len(moved), len(citizens))
