"""Citizens' data rights (UU 27/2022 PDP): see what the service holds, and have it erased.

Erasure removes or anonymises a citizen's personal data everywhere it lives, while the tickets
remain as anonymous records (category, agency, states and dates, rating) so statistics and the
agencies' archives stay whole:
- tickets: reporter name, description, place and coordinates, RT/RW, applicant data, details,
  notes in the history and the resolution, the link to the citizen;
- photos and documents: the files (unless another citizen's ticket holds the same file) and rows;
- the staff-facing message log, handoffs, notifications, delivery statuses, processed message
  ids, and the citizen's record itself;
- submissions and messages still waiting in a local spool (``layanwarga.spool``): this
  process's submissions spool at once; every spool, in any process, through the keyed tags the
  request records (``spool_tags``) and ``erase_spooled``, run periodically by each spool's owner;
  the tags are forgotten once every spooled entry has expired (``forget_spool_tags``);
- the assistant's conversation store (tracker events): removed a few minutes later by
  ``erase_conversations``, because Rasa stores the erasing turn itself only after the action ran.
  A request is "selesai" only once the store named by ``TRACKER_STORE_URL`` really answered;
  when it cannot be reached (not configured, not there, not the assistant's) the request turns
  "gagal" with the reason on the dashboard and is tried again every ``RETRY_INTERVAL``.
Every request is recorded in ``data_requests`` for staff to see, without the phone number: the
requester is a keyed pseudonym (``requester_code``: HMAC under a key derived from the data keys,
so it cannot be reversed by trying every mobile number), the identities an erasure still has to
erase are encrypted, and once the erasure is done both are gone: every request of that citizen
keeps only what shows it was handled (kind, state, dates, what was done) and the requester
``ERASED_REQUESTER``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from . import citizens, conversation_store, crypto, media as media_storage, pending, spool as spooling
from .db import session_scope
from .models import (
    KIND_COMPLAINT,
    ConversationMessage,
    DataRequest,
    Handoff,
    Media,
    MessageStatus,
    NluReading,
    Notification,
    ProcessedMessage,
    ReviewFlag,
    StateChange,
    Ticket,
    TicketFeedback,
    utcnow,
)

logger = logging.getLogger(__name__)

ERASED_TEXT = "[dihapus atas permintaan warga]"
KIND_ACCESS, KIND_ERASURE = "lihat", "hapus"
# A request's states, as staff see them on the dashboard.
STATUS_IN_PROGRESS, STATUS_WAITING, STATUS_FAILED, STATUS_DONE = (
    "diproses",
    "menunggu_percakapan",
    "gagal",
    "selesai",
)
# Rasa stores a turn after its actions ran: the conversation is erased once the erasing turn is
# surely stored.
CONVERSATION_ERASE_DELAY = dt.timedelta(minutes=2)
# A request whose conversation store could not be reached is tried again this often (the
# background thread runs every few seconds; the store being down must not flood the log).
RETRY_INTERVAL = dt.timedelta(minutes=5)
IDENTITY_SEPARATOR = "\n"
REQUESTER_PURPOSE = "data-request-requester"
# What is left of the requester once the erasure is done.
ERASED_REQUESTER = "dihapus"


def _unkeyed_digest(sender: str) -> str:
    """The first version's requester (a plain hash): the input of the keyed code, so that rows
    migrated from it (``0008`` keys them without knowing the number) and new rows agree."""
    return hashlib.sha256(f"layanwarga:{sender}".encode()).hexdigest()[:32]


def requester_code(sender: str) -> str:
    """The requester as staff see it: a keyed pseudonym of the sender id (current data key)."""
    return crypto.keyed_digest(REQUESTER_PURPOSE, _unkeyed_digest(sender))[:32]


def _requester_codes(identities: List[str]) -> List[str]:
    """Every code these identities may carry: each identity under each configured key."""
    return [
        code[:32] for i in identities for code in crypto.keyed_digests(REQUESTER_PURPOSE, _unkeyed_digest(i))
    ]


@dataclass(frozen=True)
class DataSummary:
    """What the service holds about one citizen."""

    known: bool
    profile_name: Optional[str]
    phone_masked: str
    complaints: List[str]
    letter_requests: List[str]
    files: int
    messages: int


def _mask_phone(value: Optional[str]) -> str:
    if not value:
        return "-"
    return f"{value[:4]}{'*' * max(len(value) - 8, 0)}{value[-4:]}" if len(value) > 8 else "*" * len(value)


def summary(sender: str, *, url: Optional[str] = None) -> DataSummary:
    with session_scope(url, write=True) as session:
        citizen = citizens.find(session, sender)
        session.add(
            DataRequest(
                kind=KIND_ACCESS, requester=requester_code(sender), status=STATUS_DONE, completed_at=utcnow()
            )
        )
        if citizen is None:
            return DataSummary(False, None, _mask_phone(sender if sender.isdigit() else None), [], [], 0, 0)
        own = (
            session.execute(select(Ticket).where(Ticket.citizen_id == citizen.id).order_by(Ticket.id))
            .scalars()
            .all()
        )
        files = session.execute(select(Media.id).where(Media.citizen_id == citizen.id)).all()
        messages = session.execute(
            select(ConversationMessage.id).where(
                or_(ConversationMessage.citizen_id == citizen.id, ConversationMessage.sender == sender)
            )
        ).all()
        return DataSummary(
            known=True,
            profile_name=citizen.profile_name,
            phone_masked=_mask_phone(citizen.wa_id),
            complaints=[t.number for t in own if t.kind == KIND_COMPLAINT],
            letter_requests=[t.number for t in own if t.kind != KIND_COMPLAINT],
            files=len(files),
            messages=len(messages),
        )


@dataclass(frozen=True)
class ErasureReport:
    tickets_anonymised: int
    files_deleted: int
    request_id: int


def _delete_files(session: Session, rows: List[Media]) -> int:
    deleted = 0
    ids = [m.id for m in rows]
    for row in rows:
        if not row.storage_path:
            continue
        shared = session.execute(
            select(Media.id).where(Media.storage_path == row.storage_path, Media.id.notin_(ids))
        ).first()
        if shared is None:
            try:
                media_storage.resolve(row.storage_path).unlink()
                deleted += 1
            except FileNotFoundError:
                pass
    return deleted


def erase(sender: str, *, url: Optional[str] = None) -> ErasureReport:
    """Erase the citizen's personal data from the ticket database now (see module docstring)."""
    with session_scope(url, write=True) as session:
        request = DataRequest(
            kind=KIND_ERASURE,
            requester=requester_code(sender),
            status=STATUS_IN_PROGRESS,
            sender_pending=sender,
        )
        session.add(request)
        session.flush()
        citizen = citizens.find(session, sender)
        anonymised = files = 0
        if citizen is not None:
            ticket_ids = [
                t for (t,) in session.execute(select(Ticket.id).where(Ticket.citizen_id == citizen.id))
            ]
            if ticket_ids:
                session.execute(
                    update(Ticket)
                    .where(Ticket.id.in_(ticket_ids))
                    .values(
                        citizen_id=None,
                        reporter_name=None,
                        description=ERASED_TEXT,
                        location_text=None,
                        latitude=None,
                        longitude=None,
                        rt=None,
                        rw=None,
                        applicant_name=None,
                        applicant_nik=None,
                        applicant_address=None,
                        applicant_phone=None,
                        relationship_to_sender=None,
                        purpose=None,
                        details={},
                        resolution_note=None,
                        rejection_reason=None,
                        idempotency_key=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                session.execute(
                    update(StateChange)
                    .where(StateChange.ticket_id.in_(ticket_ids))
                    .values(note=None)
                    .execution_options(synchronize_session=False)
                )
                session.execute(
                    update(TicketFeedback)
                    .where(TicketFeedback.ticket_id.in_(ticket_ids))
                    .values(citizen_note=None)
                    .execution_options(synchronize_session=False)
                )
            own_media = (
                session.execute(
                    select(Media).where(
                        or_(Media.citizen_id == citizen.id, Media.ticket_id.in_(ticket_ids or [-1]))
                    )
                )
                .scalars()
                .all()
            )
            files = _delete_files(session, own_media)
            media_ids = [m.id for m in own_media] or [-1]
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.media_id.in_(media_ids))
                .values(media_id=None)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                delete(Media).where(Media.id.in_(media_ids)).execution_options(synchronize_session=False)
            )
            session.execute(delete(Notification).where(Notification.citizen_id == citizen.id))
            anonymised = len(ticket_ids)
        identities = list(
            dict.fromkeys(
                i
                for i in (sender, citizen.wa_id if citizen else None, citizen.user_id if citizen else None)
                if i
            )
        )
        # Rasa keys a conversation by the sender id it was given: a citizen who wrote under a
        # BSUID and later with a phone number has a conversation under each.
        request.sender_pending = IDENTITY_SEPARATOR.join(identities)
        request.spool_tags = ",".join(t for identity in identities for t in spooling.group_tags(identity))
        erased_lines = select(ConversationMessage.id).where(
            or_(
                ConversationMessage.sender.in_(identities),
                ConversationMessage.citizen_id == (citizen.id if citizen else -1),
            )
        )
        # The review queue quotes the citizen too (layanwarga.review_queue).
        session.execute(
            delete(ReviewFlag)
            .where(or_(ReviewFlag.sender.in_(identities), ReviewFlag.line_id.in_(erased_lines)))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(NluReading)
            .where(NluReading.sender.in_(identities))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(ConversationMessage)
            .where(ConversationMessage.id.in_(erased_lines))
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(Handoff).where(Handoff.sender.in_(identities)))
        session.execute(delete(ProcessedMessage).where(ProcessedMessage.sender.in_(identities)))
        session.execute(delete(MessageStatus).where(MessageStatus.recipient.in_(identities)))
        if citizen is not None:
            session.delete(citizen)
        request.summary = f"{anonymised} tiket dianonimkan, {files} berkas dihapus"
        request.status = STATUS_WAITING
        report = ErasureReport(anonymised, files, request.id)
    logger.info(
        "Erasure request %d: %s", report.request_id, f"{anonymised} tickets anonymised, {files} files deleted"
    )
    try:
        spooled = pending.spool().remove_groups(identities)
    except OSError:
        # The background thread applies the request's spool tags again (erase_spooled).
        logger.exception(
            "Erasure request %d: the local submissions spool could not be searched now", report.request_id
        )
    else:
        if spooled:
            logger.info(
                "Erasure request %d: %d waiting submissions removed from the local spool",
                report.request_id,
                spooled,
            )
    return report


def erase_spooled(queue: spooling.Spool, *, url: Optional[str] = None) -> int:
    """Remove from ``queue`` every entry of a citizen who asked for erasure (the tags recorded
    by ``erase``); returns how many files went. Each process that owns a spool runs this
    periodically, before replaying anything from it."""
    with session_scope(url) as session:
        recorded = (
            session.execute(select(DataRequest.spool_tags).where(DataRequest.spool_tags.isnot(None)))
            .scalars()
            .all()
        )
    tags = {tag for value in recorded for tag in value.split(",") if tag}
    removed = queue.remove_groups(tags, tags=True) if tags else 0
    if removed:
        logger.info(
            "Erasure: %d spooled entries of erased citizens removed from %s", removed, queue.directory
        )
    return removed


def forget_spool_tags(before: dt.datetime, *, url: Optional[str] = None) -> int:
    """Clear the spool tags of requests made before ``before`` (no spooled entry is older than
    the retention period, so nothing is left for them to find); returns how many."""
    with session_scope(url, write=True) as session:
        return session.execute(
            update(DataRequest)
            .where(DataRequest.spool_tags.isnot(None), DataRequest.created_at < before)
            .values(spool_tags=None)
            .execution_options(synchronize_session=False)
        ).rowcount


def _forget_requester(session: Session, identities: List[str]) -> None:
    """The erasure is done: no request of this citizen keeps anything that points to them."""
    codes = _requester_codes([i for i in identities if i])
    if codes:
        session.execute(
            update(DataRequest)
            .where(DataRequest.requester.in_(codes))
            .values(requester=ERASED_REQUESTER)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class ConversationErasure:
    """What one run of ``erase_conversations`` did: requests completed, requests that failed."""

    completed: int
    failed: int


def erase_conversations(
    now: Optional[dt.datetime] = None, *, url: Optional[str] = None, tracker_url: Optional[str] = None
) -> ConversationErasure:
    """Remove the conversation store's events of the erasure requests that are due: waiting
    ones old enough, failed ones not tried for ``RETRY_INTERVAL``.

    A request is completed only when the store answered and held Rasa's events table; otherwise
    it is marked failed with the reason (``conversation_store``) and keeps the identity needed
    to try again. The ticket database is not held in a transaction while the store is contacted.
    """
    now = now or utcnow()
    with session_scope(url) as session:
        due = session.execute(
            select(DataRequest.id, DataRequest.sender_pending)
            .where(
                or_(
                    (DataRequest.status == STATUS_WAITING)
                    & (DataRequest.created_at <= now - CONVERSATION_ERASE_DELAY),
                    (DataRequest.status == STATUS_FAILED)
                    & or_(
                        DataRequest.last_attempt_at.is_(None),
                        DataRequest.last_attempt_at <= now - RETRY_INTERVAL,
                    ),
                )
            )
            .order_by(DataRequest.id)
        ).all()
    completed = failed = 0
    for request_id, identities in due:
        failure: Optional[conversation_store.ConversationStoreUnavailable] = None
        try:
            conversation_store.delete_conversations(
                (identities or "").split(IDENTITY_SEPARATOR), store_url=tracker_url
            )
        except conversation_store.ConversationStoreUnavailable as error:
            failure = error
        with session_scope(url, write=True) as session:
            request = session.get(DataRequest, request_id)
            if request is None or request.status not in (STATUS_WAITING, STATUS_FAILED):
                continue
            request.attempts = (request.attempts or 0) + 1
            request.last_attempt_at = now
            if failure is None:
                _forget_requester(session, (identities or "").split(IDENTITY_SEPARATOR))
                request.sender_pending = None
                request.status, request.completed_at, request.failure_reason = STATUS_DONE, now, None
            else:
                request.status, request.failure_reason = STATUS_FAILED, failure.staff_reason
            attempts = request.attempts
        if failure is None:
            completed += 1
            logger.info("Erasure request %d: conversation store erased", request_id)
        else:
            failed += 1
            logger.error(
                "Erasure request %d NOT completed (attempt %d, retried every %s): %s",
                request_id,
                attempts,
                RETRY_INTERVAL,
                failure,
            )
    return ConversationErasure(completed, failed)
