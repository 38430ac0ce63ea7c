"""Citizens' data rights (UU 27/2022 PDP): see what the service holds, and have it erased.

Erasure removes or anonymises a citizen's personal data everywhere it lives, while the tickets
remain as anonymous records (category, agency, states and dates, rating) so statistics and the
agencies' archives stay whole:
- tickets: reporter name, description, place and coordinates, RT/RW, applicant data, details,
  notes in the history and the resolution, the link to the citizen;
- photos and documents: the files (unless another citizen's ticket holds the same file) and rows;
- the staff-facing message log, handoffs, notifications, delivery statuses, processed message
  ids, and the citizen's record itself;
- the assistant's conversation store (tracker events): removed a few minutes later by
  ``erase_conversations``, because Rasa stores the erasing turn itself only after the action ran.
Every request is recorded in ``data_requests`` (without the phone number) for staff to see.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import Column, DateTime, Integer, String, Text, delete, or_, select, text, update
from sqlalchemy.future import create_engine
from sqlalchemy.orm import Session

from . import citizens, media as media_storage
from .config import PROJECT_ROOT
from .conversation_log import ConversationMessage
from .db import session_scope
from .feedback import TicketFeedback
from .handoff import Handoff
from .models import (
    KIND_COMPLAINT,
    Base,
    Media,
    MessageStatus,
    ProcessedMessage,
    StateChange,
    Ticket,
    utcnow,
)
from .notifications import Notification

logger = logging.getLogger(__name__)

ERASED_TEXT = "[dihapus atas permintaan warga]"
KIND_ACCESS, KIND_ERASURE = "lihat", "hapus"
# Rasa stores a turn after its actions ran: the conversation is erased once the erasing turn is
# surely stored.
CONVERSATION_ERASE_DELAY = dt.timedelta(minutes=2)
DEFAULT_TRACKER_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"


class DataRequest(Base):
    """A citizen's access or erasure request, as staff see it (no phone number kept)."""

    __tablename__ = "data_requests"

    id = Column(Integer, primary_key=True)
    kind = Column(String(10), nullable=False)
    requester = Column(String(64), nullable=False)  # a one-way hash of the sender id
    status = Column(String(20), nullable=False)
    summary = Column(Text, nullable=True)
    sender_pending = Column(String(128), nullable=True)  # kept only until the conversation is erased
    created_at = Column(DateTime, nullable=False, default=utcnow)
    completed_at = Column(DateTime, nullable=True)


def _requester(sender: str) -> str:
    return hashlib.sha256(f"layanwarga:{sender}".encode("utf-8")).hexdigest()[:32]


def tracker_store_url() -> str:
    return os.environ.get("TRACKER_STORE_URL") or DEFAULT_TRACKER_URL


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
        session.add(DataRequest(kind=KIND_ACCESS, requester=_requester(sender), status="selesai", completed_at=utcnow()))
        if citizen is None:
            return DataSummary(False, None, _mask_phone(sender if sender.isdigit() else None), [], [], 0, 0)
        own = session.execute(select(Ticket).where(Ticket.citizen_id == citizen.id).order_by(Ticket.id)).scalars().all()
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
        request = DataRequest(kind=KIND_ERASURE, requester=_requester(sender), status="diproses", sender_pending=sender)
        session.add(request)
        session.flush()
        citizen = citizens.find(session, sender)
        anonymised = files = 0
        if citizen is not None:
            ticket_ids = [t for (t,) in session.execute(select(Ticket.id).where(Ticket.citizen_id == citizen.id))]
            if ticket_ids:
                session.execute(
                    update(Ticket)
                    .where(Ticket.id.in_(ticket_ids))
                    .values(
                        citizen_id=None, reporter_name=None, description=ERASED_TEXT, location_text=None,
                        latitude=None, longitude=None, rt=None, rw=None, applicant_name=None, applicant_nik=None,
                        applicant_address=None, applicant_phone=None, relationship_to_sender=None, purpose=None,
                        details={}, resolution_note=None, rejection_reason=None, idempotency_key=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                session.execute(
                    update(StateChange).where(StateChange.ticket_id.in_(ticket_ids)).values(note=None)
                    .execution_options(synchronize_session=False)
                )
                session.execute(
                    update(TicketFeedback).where(TicketFeedback.ticket_id.in_(ticket_ids)).values(citizen_note=None)
                    .execution_options(synchronize_session=False)
                )
            own_media = session.execute(
                select(Media).where(or_(Media.citizen_id == citizen.id, Media.ticket_id.in_(ticket_ids or [-1])))
            ).scalars().all()
            files = _delete_files(session, own_media)
            media_ids = [m.id for m in own_media] or [-1]
            session.execute(
                update(ConversationMessage).where(ConversationMessage.media_id.in_(media_ids)).values(media_id=None)
                .execution_options(synchronize_session=False)
            )
            session.execute(delete(Media).where(Media.id.in_(media_ids)).execution_options(synchronize_session=False))
            session.execute(delete(Notification).where(Notification.citizen_id == citizen.id))
            anonymised = len(ticket_ids)
        identities = [i for i in (sender, citizen.wa_id if citizen else None, citizen.user_id if citizen else None) if i]
        session.execute(delete(ConversationMessage).where(
            or_(ConversationMessage.sender.in_(identities), ConversationMessage.citizen_id == (citizen.id if citizen else -1))
        ))
        session.execute(delete(Handoff).where(Handoff.sender.in_(identities)))
        session.execute(delete(ProcessedMessage).where(ProcessedMessage.sender.in_(identities)))
        session.execute(delete(MessageStatus).where(MessageStatus.recipient.in_(identities)))
        if citizen is not None:
            session.delete(citizen)
        request.summary = f"{anonymised} tiket dianonimkan, {files} berkas dihapus"
        request.status = "menunggu_percakapan"
        report = ErasureReport(anonymised, files, request.id)
    logger.info("Erasure request %d: %s", report.request_id, f"{anonymised} tickets anonymised, {files} files deleted")
    return report


def erase_conversations(
    now: Optional[dt.datetime] = None, *, url: Optional[str] = None, tracker_url: Optional[str] = None
) -> int:
    """Remove the conversation store's events of erasure requests old enough; returns how many
    requests were completed."""
    now = now or utcnow()
    done = 0
    engine = create_engine(tracker_url or tracker_store_url())
    try:
        with session_scope(url, write=True) as session:
            due = session.execute(
                select(DataRequest).where(
                    DataRequest.status == "menunggu_percakapan",
                    DataRequest.created_at <= now - CONVERSATION_ERASE_DELAY,
                )
            ).scalars().all()
            for request in due:
                with engine.begin() as conn:
                    if engine.dialect.has_table(conn, "events"):
                        conn.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": request.sender_pending})
                request.sender_pending = None
                request.status = "selesai"
                request.completed_at = now
                done += 1
    finally:
        engine.dispose()
    return done
