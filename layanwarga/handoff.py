"""Human handoff: a citizen talks to an officer instead of the assistant (plain Python, no Rasa).

``open_handoff`` pauses the assistant for one citizen (``minta_petugas``, or a citizen the
assistant failed to understand several times) and puts the conversation into the dashboard's live
inbox. While a handoff is open, the connector logs every message of that citizen
(``conversation_log``) and does not run the assistant's dialogue for it, so the officer is not
talked over. The citizen is never left without an answer meanwhile (``connectors``' handoff
step, with the texts below): an emergency gets the emergency numbers at once and is flagged for
staff (``flag_emergency``); *batal* leaves the queue (``leave``); *menu* or a greeting gets where
they stand with a way back to the assistant; their first other message, while nobody has
answered yet, is acknowledged once (``remind_once``). If no officer answers within the
institution's ``handoff.wait_minutes`` of office time, ``expire_unanswered`` (run by the
notifier) tells the citizen and hands them back. Staff answer through the notification outbox
(WhatsApp), then ``close_handoff`` hands the citizen back to the assistant and tells them so.

At most one open handoff per citizen: a partial unique index on ``sender`` where
``state = 'open'`` decides races between instances.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import and_, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from . import calendar, citizens, conversation_log, notifications
from .config import Institution, get_institution
from .db import session_scope
from .models import Citizen, ConversationMessage, Handoff, StaffUser, utcnow
from .models.handoffs import CLOSED, OPEN, open_for

logger = logging.getLogger(__name__)

REASON_REQUESTED = "minta_petugas"
REASON_NOT_UNDERSTOOD = "tidak_dipahami"
REASON_LABELS = {
    REASON_REQUESTED: "Warga meminta petugas",
    REASON_NOT_UNDERSTOOD: "Asisten berulang kali tidak memahami warga",
    "dibuka_petugas": "Dibuka oleh petugas",
}

# What the citizen reads while waiting (the connector sends these; buttons carry the payloads).
PAYLOAD_KEEP_WAITING = "/tetap_menunggu"
PAYLOAD_BACK_TO_ASSISTANT = "/kembali_ke_asisten"
WAITING_TEXT = (
    "Bapak/Ibu sedang menunggu petugas kami (sejak {since}). Pesan Bapak/Ibu tetap kami teruskan "
    "kepada petugas. Ingin tetap menunggu, atau kembali dilayani asisten virtual?"
)
WAITING_BUTTONS = (
    ("Tetap menunggu", PAYLOAD_KEEP_WAITING),
    ("Kembali ke asisten", PAYLOAD_BACK_TO_ASSISTANT),
)
FORWARDED_TEXT = (
    "Pesan Bapak/Ibu sudah kami teruskan kepada petugas; mohon tunggu balasannya di sini. "
    "Ketik *batal* bila ingin kembali dilayani asisten virtual."
)
KEPT_WAITING_TEXT = "Baik, Bapak/Ibu tetap dalam antrean petugas. Pesan Bapak/Ibu akan dibaca petugas kami."
LEFT_TEXT = (
    "Baik, permintaan untuk dihubungkan dengan petugas kami batalkan. Bapak/Ibu kembali dilayani "
    "asisten virtual {service_name}: ketik *menu* untuk melihat layanan kami."
)
EXPIRED_TEXT = (
    "Mohon maaf, Bapak/Ibu, petugas kami belum dapat membalas dalam {minutes} menit. Bapak/Ibu "
    "kembali dilayani asisten virtual {service_name}: ketik *menu* untuk melihat layanan, atau "
    "*petugas* untuk mengantre lagi.{phone}"
)
CLOSED_BY_CITIZEN = "warga"
CLOSED_UNANSWERED = "sistem: tidak ada petugas yang membalas"

RETURN_TEXT = (
    "Terima kasih, Bapak/Ibu 🙏 Percakapan dengan petugas kami telah selesai dan Bapak/Ibu kembali "
    "dilayani asisten virtual {service_name}. Ketik *menu* untuk melihat layanan kami, atau *petugas* "
    "bila ingin dihubungkan kembali dengan petugas."
)


@dataclass(frozen=True)
class Opened:
    """The result of ``open_handoff``: the handoff, whether it is new, and the office's state
    (so the assistant can tell the citizen when an officer will answer)."""

    id: int
    created: bool
    office_open: bool
    next_opening: Optional[dt.datetime]
    holiday: Optional[str]


def active_for(session: Session, sender: str) -> Optional[Handoff]:
    if not sender:
        return None
    return session.execute(select(Handoff).where(open_for(sender))).scalars().first()


def is_active(sender: str, *, url: Optional[str] = None) -> bool:
    """Whether the assistant is paused for ``sender`` (the connector asks for every message)."""
    with session_scope(url) as session:
        return session.execute(select(Handoff.id).where(open_for(sender))).first() is not None


def open_handoff(
    sender: str,
    reason: str = REASON_REQUESTED,
    *,
    note: Optional[str] = None,
    profile_name: Optional[str] = None,
    inst: Optional[Institution] = None,
    now: Optional[dt.datetime] = None,
    url: Optional[str] = None,
) -> Opened:
    """Pause the assistant for ``sender`` and queue the conversation for staff (idempotent: an
    already open handoff is returned as it is)."""
    if not sender:
        raise ValueError("a handoff needs the conversation's sender id")
    inst = inst or get_institution()
    moment = now or dt.datetime.now(dt.timezone.utc)
    try:
        office = calendar.office_status(inst, moment)
    except ValueError:
        # No holiday calendar for this year yet: never refuse a citizen an officer for that.
        logger.exception("Office hours unknown for %s; treating the office as open", moment.date())
        office = calendar.OfficeStatus(True, calendar.now_local(inst, moment), None, None, None)
    naive = moment.astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    created = True
    try:
        with session_scope(url, write=True) as session:
            existing = active_for(session, sender)
            if existing is not None:
                created = False
                handoff_id = int(existing.id)
            else:
                citizen = citizens.upsert_sender(session, sender, profile_name)
                row = Handoff(
                    citizen_id=citizen.id,
                    sender=sender[:128],
                    state=OPEN,
                    reason=(reason or REASON_REQUESTED)[:40],
                    note=note,
                    opened_at=naive,
                    opened_outside_hours=not office.is_open,
                    last_inbound_at=naive,
                )
                session.add(row)
                session.flush()
                handoff_id = int(row.id)
                # The citizen's messages of moments ago (the request itself) belong to this
                # handoff; what the assistant answered before it opened does not.
                line = ConversationMessage
                session.execute(
                    line.__table__.update()
                    .where(
                        and_(
                            line.sender == sender,
                            line.direction == conversation_log.DIRECTION_IN,
                            line.handoff_id.is_(None),
                            line.created_at >= naive - dt.timedelta(minutes=2),
                        )
                    )
                    .values(handoff_id=handoff_id)
                )
    except IntegrityError:
        # Another instance opened it at the same moment: use theirs.
        with session_scope(url) as session:
            existing = active_for(session, sender)
            if existing is None:
                raise
            created, handoff_id = False, int(existing.id)
    if created:
        logger.info(
            "Handoff %s opened (%s)%s", handoff_id, reason, "" if office.is_open else " outside office hours"
        )
    return Opened(handoff_id, created, office.is_open, office.next_opening, office.holiday)


def close_handoff(
    handoff_id: Optional[int] = None,
    *,
    sender: Optional[str] = None,
    actor: str = "sistem",
    notify: bool = True,
    inst: Optional[Institution] = None,
    url: Optional[str] = None,
) -> bool:
    """Hand the citizen back to the assistant (and tell them, through the outbox)."""
    inst = inst or get_institution()
    with session_scope(url, write=True) as session:
        if handoff_id is not None:
            row = session.get(Handoff, handoff_id)
        else:
            row = active_for(session, sender or "")
        if row is None or row.state != OPEN:
            return False
        row.state = CLOSED
        row.closed_at = utcnow()
        row.closed_by = actor[:120]
        citizen = (
            session.get(Citizen, row.citizen_id) if row.citizen_id else citizens.find(session, row.sender)
        )
        if notify and citizen is not None:
            notifications.enqueue(
                session,
                citizen=citizen,
                message=notifications.Outgoing(RETURN_TEXT.format(service_name=inst.service_name)),
                kind=notifications.KIND_HANDOFF,
                actor=actor,
                handoff_id=int(row.id),
                dedupe_key=f"handoff-close:{row.id}",
            )
        logger.info("Handoff %s closed by %s", row.id, actor)
        return True


def reply(session: Session, handoff_id: int, text_: str, user: StaffUser) -> int:
    """Queue a staff message to the citizen of an open handoff; returns the outbox row id."""
    row = session.get(Handoff, handoff_id)
    if row is None or row.state != OPEN:
        raise LookupError("Percakapan ini sudah ditutup.")
    citizen = session.get(Citizen, row.citizen_id) if row.citizen_id else citizens.find(session, row.sender)
    if citizen is None:
        raise LookupError("Warga tidak ditemukan.")
    now = utcnow()
    if row.first_response_at is None:
        row.first_response_at = now
    if row.assigned_to is None:
        row.assigned_to = user.id
    notification = notifications.enqueue(
        session,
        citizen=citizen,
        message=notifications.Outgoing(text_.strip()),
        kind=notifications.KIND_CHAT,
        actor=user.actor,
        handoff_id=int(row.id),
        now=now,
    )
    return int(notification.id)


def mark_read(session: Session, handoff_id: int, message_id: int) -> None:
    row = session.get(Handoff, handoff_id)
    if row is not None and message_id > (row.last_read_message_id or 0):
        row.last_read_message_id = message_id


def state_label(open_: bool, answered: bool) -> str:
    """What staff read about a handoff: a citizen waiting is not yet being served."""
    if not open_:
        return "Sudah dikembalikan ke asisten"
    return "Sedang dilayani petugas" if answered else "Menunggu petugas"


@dataclass(frozen=True)
class Summary:
    """One line of the live inbox."""

    id: int
    sender: str
    citizen_name: str
    reason: str
    opened_at: dt.datetime
    opened_outside_hours: bool
    last_inbound_at: Optional[dt.datetime]
    first_response_at: Optional[dt.datetime]
    assigned_to: Optional[str]
    unread: int
    last_text: str
    emergency_at: Optional[dt.datetime] = None


# A condition every row meets: the default of ``list_open``'s filters (SQL TRUE, one shared
# immutable expression).
EVERY_ROW: ColumnElement = true()


def list_open(
    session: Session,
    *,
    visible: ColumnElement = EVERY_ROW,
    readable: ColumnElement = EVERY_ROW,
    limit: int = 200,
) -> List[Summary]:
    """Open handoffs, those waiting longest for an answer first, with unread counts.

    ``visible`` limits the handoffs (a condition on ``Handoff``) and ``readable`` the lines
    counted and quoted (a condition on ``ConversationMessage``) to what the viewer may see; the
    dashboard's permissions decide both."""
    msg = ConversationMessage
    unread = (
        select(func.count(msg.id))
        .where(
            msg.handoff_id == Handoff.id,
            msg.direction == conversation_log.DIRECTION_IN,
            msg.id > Handoff.last_read_message_id,
            readable,
        )
        .correlate(Handoff)
        .scalar_subquery()
    )
    last_text = (
        select(msg.text)
        .where(msg.handoff_id == Handoff.id, readable)
        .order_by(msg.id.desc())
        .limit(1)
        .correlate(Handoff)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Handoff, Citizen.profile_name, StaffUser.full_name, unread, last_text)
        .outerjoin(Citizen, Citizen.id == Handoff.citizen_id)
        .outerjoin(StaffUser, StaffUser.id == Handoff.assigned_to)
        .where(Handoff.state == OPEN, visible)
        .order_by(Handoff.emergency_at.is_(None), Handoff.first_response_at.is_not(None), Handoff.opened_at)
        .limit(limit)
    ).all()
    return [
        Summary(
            id=int(h.id),
            sender=h.sender,
            citizen_name=name or "",
            reason=REASON_LABELS.get(h.reason, h.reason),
            opened_at=h.opened_at,
            opened_outside_hours=bool(h.opened_outside_hours),
            last_inbound_at=h.last_inbound_at,
            first_response_at=h.first_response_at,
            assigned_to=staff_name,
            unread=int(count or 0),
            last_text=(last or "")[:120],
            emergency_at=h.emergency_at,
        )
        for h, name, staff_name, count, last in rows
    ]


def flag_emergency(
    sender: str, *, now: Optional[dt.datetime] = None, url: Optional[str] = None
) -> Optional[int]:
    """Mark ``sender``'s open handoff as an emergency (the first time counts); its id, or None."""
    with session_scope(url, write=True) as session:
        row = active_for(session, sender)
        if row is None:
            return None
        if row.emergency_at is None:
            row.emergency_at = now or utcnow()
            logger.warning("Handoff %s: the citizen reported an emergency while waiting", row.id)
        return int(row.id)


def remind_once(sender: str, *, now: Optional[dt.datetime] = None, url: Optional[str] = None) -> bool:
    """True the first time the waiting citizen should hear that their messages are forwarded:
    never once an officer has answered, never twice for one handoff (one UPDATE decides races)."""
    with session_scope(url, write=True) as session:
        result = session.execute(
            Handoff.__table__.update()
            .where(open_for(sender), Handoff.first_response_at.is_(None), Handoff.reminded_at.is_(None))
            .values(reminded_at=now or utcnow())
        )
        return bool(result.rowcount)


def leave(sender: str, *, url: Optional[str] = None) -> bool:
    """The citizen leaves the queue (*batal*, or "Kembali ke asisten"); True when one was open.
    The connector answers them itself, so nothing is queued in the outbox."""
    return close_handoff(sender=sender, actor=CLOSED_BY_CITIZEN, notify=False, url=url)


def waiting_since(sender: str, *, url: Optional[str] = None) -> Optional[dt.datetime]:
    """When ``sender``'s open handoff was opened (naive UTC), or None."""
    with session_scope(url) as session:
        row = active_for(session, sender)
        return row.opened_at if row is not None else None


def answer_due(inst: Institution, opened_at: dt.datetime, opened_outside_hours: bool) -> dt.datetime:
    """When an officer should have answered (naive UTC): ``handoff_wait_minutes`` after opening,
    or after the office opened when the citizen asked outside office hours."""
    start = opened_at.replace(tzinfo=dt.timezone.utc)
    if opened_outside_hours:
        opening = calendar.next_opening(inst, start)
        if opening is not None:
            start = opening.astimezone(dt.timezone.utc)
    due = start + dt.timedelta(minutes=inst.handoff_wait_minutes)
    return due.replace(tzinfo=None)


def expire_unanswered(
    inst: Optional[Institution] = None, *, now: Optional[dt.datetime] = None, url: Optional[str] = None
) -> List[int]:
    """Hand back every citizen no officer answered in time, telling them (through the outbox);
    returns the handoffs closed. Safe to run from several processes: each row is closed once."""
    inst = inst or get_institution()
    now = now or utcnow()
    closed: List[int] = []
    with session_scope(url, write=True) as session:
        waiting = (
            session.execute(select(Handoff).where(Handoff.state == OPEN, Handoff.first_response_at.is_(None)))
            .scalars()
            .all()
        )
        for row in waiting:
            if answer_due(inst, row.opened_at, bool(row.opened_outside_hours)) > now:
                continue
            taken = session.execute(
                Handoff.__table__.update()
                .where(Handoff.id == row.id, Handoff.state == OPEN, Handoff.first_response_at.is_(None))
                .values(state=CLOSED, closed_at=now, closed_by=CLOSED_UNANSWERED)
            ).rowcount
            if not taken:
                continue
            citizen = (
                session.get(Citizen, row.citizen_id) if row.citizen_id else citizens.find(session, row.sender)
            )
            if citizen is not None:
                phone = f" Untuk keperluan mendesak, hubungi {inst.phone}." if inst.phone else ""
                notifications.enqueue(
                    session,
                    citizen=citizen,
                    message=notifications.Outgoing(
                        EXPIRED_TEXT.format(
                            minutes=inst.handoff_wait_minutes,
                            service_name=inst.service_name,
                            phone=phone,
                        )
                    ),
                    kind=notifications.KIND_HANDOFF,
                    actor="sistem",
                    handoff_id=int(row.id),
                    dedupe_key=f"handoff-expired:{row.id}",
                )
            logger.warning(
                "Handoff %s closed: no officer answered within %d minutes", row.id, inst.handoff_wait_minutes
            )
            closed.append(int(row.id))
    return closed
