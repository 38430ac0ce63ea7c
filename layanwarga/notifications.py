"""The notification outbox: every message staff or a state change sends to a citizen.

One row per message (table ``notifications``), written in the same transaction as the change
that causes it, so a message is never lost when the Graph API is down or the process stops: the
worker (``python -m layanwarga.notifier``) sends pending rows, retries with backoff, and marks a
row ``failed`` with the error, visible on the ticket page and retryable from the dashboard.

Delivery rules (WhatsApp Cloud API): free text or an interactive message inside the citizen's
24-hour service window, else the approved template (``WHATSAPP_TEMPLATE_NAME`` /
``WHATSAPP_TEMPLATE_LANGUAGE``, default ``layanwarga_notifikasi`` / ``id``) with the text as its
body parameter. Message bodies are built, within WhatsApp's limits, by ``whatsapp.messages``.

A row is sent at most once: the worker claims it with ``UPDATE … SET status='sending' WHERE
status='pending'`` in its own transaction (one winner across processes, SQLite and PostgreSQL).
A row left in ``sending`` by a worker that died mid-send is not retried automatically (it may
have gone out): it turns ``failed`` with an explanation, and staff decide.

The citizen-facing texts for state changes are composed here, once, in polite Indonesian.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from whatsapp import messages

from . import calendar, citizens, conversation_log, feedback, states, supporters, tickets
from .config import Institution
from .db import session_scope
from .formatting import format_date, format_datetime, office_hours_lines
from .models import KIND_COMPLAINT, Citizen, MessageStatus, Notification, StateChange, Ticket, utcnow
from .models.notifications import FAILED, PENDING, SENDING, SENT
from .unit_views import institution_for

logger = logging.getLogger(__name__)

STATUS_LABELS = {
    PENDING: "Menunggu dikirim",
    SENDING: "Sedang dikirim",
    SENT: "Terkirim",
    FAILED: "Gagal dikirim",
}

KIND_STATE = "status"  # a state change
KIND_REPLY = "balasan"  # staff reply about a ticket
KIND_CHAT = "obrolan"  # live inbox (handoff) message
KIND_HANDOFF = "pengalihan"  # handoff opened/closed notices
KIND_OTHER = "lainnya"

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=1)
# A row claimed this long ago and still "sending" belonged to a worker that stopped mid-send.
SENDING_TIMEOUT = dt.timedelta(minutes=5)


# -- composing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    """A message to send: its text (always, also the template parameter and the log) and,
    optionally, an interactive part (reply buttons)."""

    text: str
    buttons: Tuple[Tuple[str, str], ...] = ()  # (id / payload, title)


def payload(intent: str, **entities: str) -> str:
    """A Rasa payload such as ``/konfirmasi_selesai{"nomor_tiket": "ADU-2026-00001"}``."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def _category_label(inst: Institution, ticket: Ticket) -> str:
    if ticket.kind == KIND_COMPLAINT:
        category = inst.complaint_categories.get(ticket.category)
        return category.label if category else ticket.category
    letter = inst.letters.get(ticket.category)
    return letter.name if letter else ticket.category


def _agency_name(inst: Institution, code: Optional[str], names: Optional[Dict[str, str]] = None) -> str:
    if not code:
        return "instansi terkait"
    if names and code in names:
        return names[code]
    agency = inst.agencies.get(code)
    return agency.name if agency else code


def _office_when(inst: Institution, now: Optional[dt.datetime] = None) -> str:
    status = calendar.office_status(inst, now)
    hours = "; ".join(office_hours_lines(inst))
    if status.is_open:
        return f"Jam layanan: {hours}. Saat ini kantor sedang buka."
    text = f"Jam layanan: {hours}."
    if status.next_opening is not None:
        text += f" Kantor buka kembali {format_datetime(status.next_opening)}."
    return text


def _note_line(note: Optional[str], label: str = "Catatan petugas") -> str:
    return f"\n{label}: {note.strip()}" if note and note.strip() else ""


def compose_state_change(
    inst: Institution,
    ticket: Ticket,
    previous: Optional[str],
    note: Optional[str],
    *,
    agency_names: Optional[Dict[str, str]] = None,
    now: Optional[dt.datetime] = None,
) -> Optional[Outgoing]:
    """The citizen's message for the change of ``ticket`` (already in its new state) from
    ``previous``; None when the change needs no message."""
    number = ticket.number
    label = _category_label(inst, ticket)
    state = ticket.state
    agency = _agency_name(inst, ticket.agency_code, agency_names)
    if ticket.upt_name and ticket.agency_code:
        # A city: the agency's field unit for the place reported (layanwarga.unit_routing).
        agency = f"{agency} ({ticket.upt_name})"
    due = f"\nTarget penyelesaian: {format_date(ticket.due_date)}." if ticket.due_date else ""

    if ticket.kind == KIND_COMPLAINT:
        if state == states.DIVERIFIKASI:
            text = (
                f"Laporan Bapak/Ibu *{number}* ({label}) sudah kami verifikasi dan akan segera "
                f"ditindaklanjuti oleh instansi terkait. Terima kasih atas laporannya 🙏" + _note_line(note)
            )
        elif state == states.DITERUSKAN and previous in (states.DITERUSKAN, states.DIPROSES):
            text = (
                f"Laporan Bapak/Ibu *{number}* ({label}) kami alihkan ke *{agency}*, instansi yang "
                f"berwenang menanganinya.{due}" + _note_line(note)
            )
        elif state == states.DITERUSKAN:
            text = (
                f"Laporan Bapak/Ibu *{number}* ({label}) telah diteruskan ke *{agency}* untuk "
                f"ditindaklanjuti.{due}" + _note_line(note)
            )
        elif state == states.DIPROSES and previous == states.SELESAI:
            text = (
                f"Laporan Bapak/Ibu *{number}* dibuka kembali dan sedang ditindaklanjuti lagi oleh "
                f"*{agency}*." + _note_line(note)
            )
        elif state == states.DIPROSES:
            text = (
                f"Laporan Bapak/Ibu *{number}* ({label}) sedang ditindaklanjuti oleh *{agency}*."
                + _note_line(note)
            )
        elif state == states.SELESAI:
            text = (
                f"Laporan Bapak/Ibu *{number}* ({label}) telah ditandai *selesai* oleh {agency}."
                + _note_line(note, "Tindak lanjut")
                + "\n\nApakah masalahnya benar-benar sudah selesai? Silakan pilih tombol di bawah, "
                "atau balas *SUDAH SELESAI* atau *BELUM SELESAI*."
            )
            return Outgoing(
                text,
                (
                    (payload("konfirmasi_selesai", nomor_tiket=number), "Sudah selesai"),
                    (payload("belum_selesai", nomor_tiket=number), "Belum selesai"),
                ),
            )
        elif state == states.DITOLAK:
            text = (
                f"Mohon maaf, laporan Bapak/Ibu *{number}* ({label}) tidak dapat kami tindak lanjuti."
                f"\nAlasan: {(note or '-').strip()}"
                "\n\nBila Bapak/Ibu dapat melengkapi keterangannya (lokasi yang jelas, foto, waktu "
                "kejadian), silakan kirim laporan baru dengan mengetik *lapor*, atau ketik *petugas* "
                "untuk berbicara dengan petugas kami."
            )
        else:
            return None
    else:
        # The unit that handles the request speaks: its pick-up place, hours and name.
        office = institution_for(inst, ticket.unit_code)
        letter = office.letters.get(ticket.category)
        if state == states.DIVERIFIKASI:
            text = (
                f"Permohonan Bapak/Ibu *{number}* ({label}) sudah kami verifikasi dan sedang "
                f"diproses.{due.replace('Target penyelesaian', 'Perkiraan selesai')}" + _note_line(note)
            )
        elif state == states.SIAP_DIAMBIL:
            pickup = letter.pickup if letter else office.address
            text = (
                f"Kabar baik, Bapak/Ibu: surat *{number}* ({label}) sudah *siap diambil* ✅"
                f"\n📍 Tempat pengambilan: {pickup}"
                f"\n🕗 {_office_when(office, now)}"
                f"\nMohon menyebutkan nomor *{number}* kepada petugas." + _note_line(note)
            )
        elif state == states.SELESAI:
            text = (
                f"Permohonan *{number}* ({label}) telah selesai dan suratnya sudah diserahkan. "
                f"Terima kasih telah menggunakan layanan {inst.service_name} 🙏" + _note_line(note)
            )
        elif state == states.DITOLAK:
            requirements = "\n".join(f"- {item}" for item in letter.requirements) if letter else ""
            text = (
                f"Mohon maaf, permohonan Bapak/Ibu *{number}* ({label}) belum dapat kami proses."
                f"\nAlasan: {(note or '-').strip()}"
                "\n\nSilakan ajukan kembali setelah melengkapinya: ketik *ajukan "
                f"{letter.short_name if letter else 'surat'}* di WhatsApp ini, atau datang ke "
                f"{office.name} pada jam layanan."
                + (f"\nPersyaratannya:\n{requirements}" if requirements else "")
            )
        else:
            return None
    return Outgoing(text)


def for_supporter(message: Outgoing) -> Outgoing:
    """A ticket's message as a supporter reads it: the report they follow, not theirs."""
    text = message.text.replace("aporan Bapak/Ibu *", "aporan yang Bapak/Ibu ikuti *", 1)
    return Outgoing(text, message.buttons)


def compose_reply(inst: Institution, ticket: Ticket, text: str, *, supporter: bool = False) -> Outgoing:
    """A staff reply about a ticket, as the citizen reads it; a supporter's copy says it is about
    the report they follow. Nothing but the number and staff's own text: never who reported it."""
    about = f"laporan yang Bapak/Ibu ikuti *{ticket.number}*" if supporter else f"*{ticket.number}*"
    return Outgoing(f"Pesan dari petugas {inst.name} terkait {about}:\n{text.strip()}")


# -- enqueueing --------------------------------------------------------------------------------------
def enqueue(
    session: Session,
    *,
    citizen: Citizen,
    message: Outgoing,
    kind: str,
    actor: str,
    ticket_id: Optional[int] = None,
    handoff_id: Optional[int] = None,
    dedupe_key: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> Notification:
    """Add one message to the outbox inside the caller's transaction (and to the citizen's
    conversation log, where staff see its delivery state)."""
    now = now or utcnow()
    if dedupe_key:
        existing = (
            session.execute(select(Notification).where(Notification.dedupe_key == dedupe_key))
            .scalars()
            .first()
        )
        if existing is not None:
            return existing
    # Within WhatsApp's limits as Meta counts them (UTF-16 units): the text is sent as it is
    # stored, or as the template's parameter; buttons go out as stored (``whatsapp.messages``).
    text = messages.clip(message.text.strip(), messages.TEXT_LIMIT)
    row = Notification(
        citizen_id=citizen.id,
        ticket_id=ticket_id,
        handoff_id=handoff_id,
        kind=kind,
        text=text,
        interactive=messages.reply_buttons(message.text, message.buttons),
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_by=actor[:120],
        created_at=now,
        updated_at=now,
        dedupe_key=dedupe_key,
    )
    session.add(row)
    session.flush()
    conversation_log.add(
        session,
        sender=citizen.sender_key,
        direction=conversation_log.DIRECTION_OUT,
        text=text,
        actor=actor,
        kind="interactive" if row.interactive else "text",
        citizen_id=citizen.id,
        notification_id=row.id,
        created_at=now,
    )
    return row


@dataclass(frozen=True)
class ChangeResult:
    ticket_id: int
    number: str
    state: str
    notification_id: Optional[int]


def change_state_and_notify(
    inst: Institution,
    ticket_id: int,
    target: str,
    actor: str,
    note: Optional[str] = None,
    agency_code: Optional[str] = None,
    *,
    agency_names: Optional[Dict[str, str]] = None,
    notify: bool = True,
    internal_note: Optional[str] = None,
    session: Optional[Session] = None,
) -> ChangeResult:
    """``tickets.change_state`` plus the citizen's message, in one transaction: either both are
    stored or neither. ``note`` goes to the citizen, ``internal_note`` never does. Raises
    ``states.TransitionError`` / ``LookupError`` like change_state."""
    if session is None:
        with session_scope(write=True) as own:
            return change_state_and_notify(
                inst,
                ticket_id,
                target,
                actor,
                note,
                agency_code,
                agency_names=agency_names,
                notify=notify,
                internal_note=internal_note,
                session=own,
            )
    before = session.get(Ticket, ticket_id)
    previous = before.state if before is not None else None
    ticket = tickets.change_state(
        ticket_id, target, actor, note, agency_code, session, internal_note=internal_note
    )
    notification_id = None
    if notify and ticket.citizen is not None:
        message = compose_state_change(inst, ticket, previous, note, agency_names=agency_names)
        if message is not None:
            change_id = ticket.history[-1].id
            row = enqueue(
                session,
                citizen=ticket.citizen,
                message=message,
                kind=KIND_STATE,
                actor=actor,
                ticket_id=ticket.id,
                dedupe_key=f"state:{change_id}",
            )
            notification_id = int(row.id)
            # Every supporter gets the same message, one outbox row each (layanwarga.supporters).
            for supporter in supporters.citizens_of(session, ticket.id):
                enqueue(
                    session,
                    citizen=supporter,
                    message=for_supporter(message),
                    kind=KIND_STATE,
                    actor=actor,
                    ticket_id=ticket.id,
                    dedupe_key=f"state:{change_id}:{supporter.id}",
                )
    if target == states.SELESAI and ticket.kind == KIND_COMPLAINT and ticket.citizen is not None:
        # A partner's (Open311) complaint has no citizen on WhatsApp to ask.
        feedback.ask_confirmation(session, ticket)
    return ChangeResult(int(ticket.id), ticket.number, ticket.state, notification_id)


# Whom a staff reply goes to (the reply form's choice): the reporter and every supporter, as a
# state change does, or the reporter only (a personal matter, e.g. asking them for a photo).
REPLY_EVERYONE, REPLY_REPORTER_ONLY = "semua", "pelapor"
REPLY_AUDIENCES = (REPLY_EVERYONE, REPLY_REPORTER_ONLY)


@dataclass(frozen=True)
class ReplyResult:
    change_id: int
    supporters: int  # copies queued to the ticket's supporters


def reply(
    inst: Institution,
    session: Session,
    ticket: Ticket,
    text: str,
    actor: str,
    *,
    audience: str = REPLY_EVERYONE,
    now: Optional[dt.datetime] = None,
) -> ReplyResult:
    """Staff's typed reply about ``ticket``, inside the caller's transaction: a history entry
    holding the text, the reporter's message (``reply:<change>``) and, for ``REPLY_EVERYONE``,
    each supporter's copy (``compose_reply(supporter=True)``, one row each:
    ``reply:<change>:<citizen>``). Raises ``ValueError`` for an unknown ``audience`` or a ticket
    without a citizen to reply to."""
    if audience not in REPLY_AUDIENCES:
        raise ValueError(f"unknown reply audience {audience!r}")
    if ticket.citizen is None:
        raise ValueError(f"ticket {ticket.number} has no citizen to reply to")
    now = now or utcnow()
    change = StateChange(
        from_state=ticket.state, to_state=ticket.state, actor=actor, note=text, created_at=now
    )
    ticket.history.append(change)
    ticket.updated_at = now
    session.flush()
    enqueue(
        session,
        citizen=ticket.citizen,
        message=compose_reply(inst, ticket, text),
        kind=KIND_REPLY,
        actor=actor,
        ticket_id=ticket.id,
        dedupe_key=f"reply:{change.id}",
        now=now,
    )
    followers = supporters.citizens_of(session, ticket.id) if audience == REPLY_EVERYONE else []
    for supporter in followers:
        enqueue(
            session,
            citizen=supporter,
            message=compose_reply(inst, ticket, text, supporter=True),
            kind=KIND_REPLY,
            actor=actor,
            ticket_id=ticket.id,
            dedupe_key=f"reply:{change.id}:{supporter.id}",
            now=now,
        )
    return ReplyResult(int(change.id), len(followers))


@dataclass(frozen=True)
class Recipients:
    """Whom one history entry's message went to: the reporter, and how many supporters."""

    reply: bool  # a staff reply (else a state change's message)
    reporter: bool
    supporters: int


def recipients_by_change(rows: Sequence[Notification]) -> Dict[int, Recipients]:
    """Per history entry id, whom its message was queued to, read from a ticket's outbox rows
    (``state:<change>`` / ``reply:<change>`` for the reporter, ``…:<citizen>`` for a supporter)."""
    found: Dict[int, Recipients] = {}
    for row in rows:
        parts = (row.dedupe_key or "").split(":")
        if parts[0] not in ("state", "reply") or len(parts) not in (2, 3) or not parts[1].isdigit():
            continue
        change_id = int(parts[1])
        seen = found.get(change_id, Recipients(parts[0] == "reply", False, 0))
        if len(parts) == 2:
            found[change_id] = Recipients(seen.reply, True, seen.supporters)
        else:
            found[change_id] = Recipients(seen.reply, seen.reporter, seen.supporters + 1)
    return found


# -- worker side: claiming and recording results -------------------------------------------------
def claim_due(limit: int = 20, now: Optional[dt.datetime] = None, *, url: Optional[str] = None) -> List[int]:
    """Claim up to ``limit`` due rows for this worker; returns their ids.

    Only the oldest unsent row of each citizen is eligible, so one citizen's messages go out in
    the order they were written even when an earlier one waits for a retry.
    """
    now = now or utcnow()
    earlier = aliased(Notification)
    with session_scope(url) as session:
        candidates = list(
            session.execute(
                select(Notification.id)
                .where(
                    Notification.status == PENDING,
                    Notification.next_attempt_at <= now,
                    ~exists().where(
                        and_(
                            earlier.citizen_id == Notification.citizen_id,
                            earlier.id < Notification.id,
                            earlier.status.in_((PENDING, SENDING)),
                        )
                    ),
                )
                .order_by(Notification.id)
                .limit(limit)
            ).scalars()
        )
    claimed = []
    for notification_id in candidates:
        token = str(uuid.uuid4())
        with session_scope(url) as session:
            result = session.execute(
                update(Notification)
                .where(Notification.id == notification_id, Notification.status == PENDING)
                .values(
                    status=SENDING,
                    claim_token=token,
                    claimed_at=now,
                    attempts=Notification.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(notification_id)
    return claimed


@dataclass(frozen=True)
class Delivery:
    """What the worker needs to send one claimed row."""

    id: int
    recipient: str
    is_phone: bool
    in_window: bool
    text: str
    interactive: Optional[Dict[str, Any]]
    attempts: int
    ticket_number: Optional[str]


def delivery(
    notification_id: int, now: Optional[dt.datetime] = None, *, url: Optional[str] = None
) -> Optional[Delivery]:

    with session_scope(url) as session:
        row = session.get(Notification, notification_id)
        if row is None or row.status != SENDING:
            return None
        citizen = session.get(Citizen, row.citizen_id)
        ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
        if citizen is None:
            return None
        return Delivery(
            id=int(row.id),
            recipient=citizen.wa_id or citizen.user_id or "",
            is_phone=bool(citizen.wa_id),
            in_window=citizens.in_service_window(citizen, now),
            text=row.text,
            interactive=row.interactive,
            attempts=int(row.attempts),
            ticket_number=ticket.number if ticket else None,
        )


def mark_sent(
    notification_id: int,
    graph_message_id: Optional[str],
    via: str,
    *,
    template: Optional[Tuple[str, str, List[str]]] = None,
    now: Optional[dt.datetime] = None,
    url: Optional[str] = None,
) -> None:
    now = now or utcnow()
    with session_scope(url, write=True) as session:
        row = session.get(Notification, notification_id)
        if row is None:
            return
        row.status = SENT
        row.sent_at = now
        row.updated_at = now
        row.sent_via = via
        row.graph_message_id = graph_message_id
        row.last_error = None
        if template is not None:
            row.template_name, row.template_language, row.template_params = template
        if graph_message_id:
            conversation_log.set_wamid(session, notification_id, graph_message_id)


def backoff(attempts: int, retry_after: Optional[float] = None) -> dt.timedelta:
    """Delay before attempt ``attempts + 1``: exponential from 30 s, at most an hour."""
    delay = BACKOFF_BASE * (2 ** max(0, attempts - 1))
    if retry_after:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    return min(delay, BACKOFF_MAX)


def mark_error(
    notification_id: int,
    error: str,
    *,
    retryable: bool,
    retry_after: Optional[float] = None,
    now: Optional[dt.datetime] = None,
    url: Optional[str] = None,
) -> str:
    """Record a failed attempt: back to ``pending`` after a backoff when the error is temporary
    and attempts remain, else ``failed``. Returns the new status."""
    now = now or utcnow()
    with session_scope(url, write=True) as session:
        row = session.get(Notification, notification_id)
        if row is None:
            return FAILED
        row.last_error = error[:2000]
        row.updated_at = now
        row.claim_token = None
        if retryable and row.attempts < MAX_ATTEMPTS:
            row.status = PENDING
            row.next_attempt_at = now + backoff(int(row.attempts), retry_after)
        else:
            row.status = FAILED
            if retryable:
                row.last_error = f"Gagal setelah {row.attempts} percobaan. Terakhir: {error}"[:2000]
        return row.status


def expire_stale(now: Optional[dt.datetime] = None, *, url: Optional[str] = None) -> int:
    """Rows stuck in ``sending`` (their worker stopped mid-send) become ``failed`` for staff to
    check and retry by hand: re-sending automatically could deliver the message twice."""
    now = now or utcnow()
    with session_scope(url) as session:
        result = session.execute(
            update(Notification)
            .where(Notification.status == SENDING, Notification.claimed_at < now - SENDING_TIMEOUT)
            .values(
                status=FAILED,
                updated_at=now,
                last_error=(
                    "Status pengiriman tidak diketahui: proses pengirim berhenti saat mengirim. "
                    "Periksa percakapan warga sebelum mengirim ulang."
                ),
            )
            .execution_options(synchronize_session=False)
        )
        count = int(result.rowcount or 0)
    if count:
        logger.warning("%d notifications were stuck in 'sending' and are now marked failed", count)
    return count


def sync_delivery_failures(now: Optional[dt.datetime] = None, *, url: Optional[str] = None) -> int:
    """Sent rows whose delivery WhatsApp later reported as failed (status webhook, e.g. 131026
    undeliverable) become ``failed`` with Meta's error, visible and retryable on the ticket."""

    now = now or utcnow()
    with session_scope(url, write=True) as session:
        rows = session.execute(
            select(Notification, MessageStatus)
            .join(MessageStatus, MessageStatus.message_id == Notification.graph_message_id)
            .where(Notification.status == SENT, MessageStatus.status == "failed")
            .limit(500)
        ).all()
        for row, status in rows:
            row.status = FAILED
            row.updated_at = now
            code = f"kode {status.error_code}, " if status.error_code is not None else ""
            row.last_error = (
                f"WhatsApp melaporkan pesan gagal sampai: {code}{status.error_title or 'tanpa keterangan'}"[
                    :2000
                ]
            )
    if rows:
        logger.warning("%d sent notifications were reported undelivered by WhatsApp", len(rows))
    return len(rows)


# -- dashboard side --------------------------------------------------------------------------------
def retry(session: Session, notification_id: int, actor: str) -> bool:
    """Put a failed row back in the queue (staff pressed "Kirim ulang"). True when it was failed."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == FAILED)
        .values(status=PENDING, next_attempt_at=utcnow(), attempts=0, claim_token=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        logger.info("Notification %s re-queued by %s", notification_id, actor)
    return bool(result.rowcount)


def for_ticket(session: Session, ticket_id: int) -> List[Notification]:
    return list(
        session.execute(
            select(Notification).where(Notification.ticket_id == ticket_id).order_by(Notification.id)
        ).scalars()
    )


def failed_ticket_ids(session: Session, ticket_ids: Sequence[int]) -> set:
    if not ticket_ids:
        return set()
    return set(
        session.execute(
            select(Notification.ticket_id)
            .where(Notification.ticket_id.in_(list(ticket_ids)), Notification.status == FAILED)
            .distinct()
        ).scalars()
    )


def counts_by_status(session: Session) -> Dict[str, int]:

    return {
        status: int(count)
        for status, count in session.execute(
            select(Notification.status, func.count(Notification.id)).group_by(Notification.status)
        )
    }
