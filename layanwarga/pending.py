"""Confirmed submissions that could not reach the ticket database, completed when it is back.

When a citizen presses *Kirim* while the database is down, the complaint or letter request is
written to a local ``Spool`` and the citizen is told it will be recorded. ``complete_waiting``
(run periodically by the action server) stores each one with its original idempotency key, so a
submission is never stored twice, and queues a WhatsApp message with the number through the
notification outbox, deduplicated by the same key, so the citizen is never told twice.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
from pathlib import Path
from typing import Any, Dict, Optional

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from . import citizens, notifications, tickets
from .config import Institution
from .db import session_scope
from .formatting import format_date
from .spool import DEFAULT_ROOT, Spool

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError, DisconnectionError)
COMPLAINT, LETTER = "aduan", "surat"


_spools: Dict[Path, Spool] = {}
_spools_lock = threading.Lock()


def spool_directory() -> Path:
    base = os.environ.get("LAYANWARGA_SPOOL_DIR")
    return Path(base) / "submissions" if base else DEFAULT_ROOT / "submissions"


def spool() -> Spool:
    """The spool of waiting submissions (opened once per folder and process)."""
    directory = spool_directory()
    with _spools_lock:
        if directory not in _spools or not directory.is_dir():
            _spools[directory] = Spool(directory)
        return _spools[directory]


def keep(kind: str, draft: Any) -> None:
    """Store a confirmed draft (``ComplaintDraft`` or ``LetterDraft``) until the database is back."""
    spool().put(draft.sender, {"kind": kind, "draft": dataclasses.asdict(draft)})
    logger.warning("Submission %s kept locally until the ticket database is back", draft.idempotency_key)


def _confirmation(inst: Institution, kind: str, view: tickets.TicketView) -> str:
    due = format_date(view.due_date) if view.due_date else "-"
    if kind == COMPLAINT:
        return (
            f"✅ Laporan Bapak/Ibu yang tertunda karena gangguan sistem sudah tercatat dengan nomor "
            f"*{view.number}*, diteruskan ke {view.agency_name or '-'}, target tindak lanjut {due}. "
            f"Cek kapan saja dengan mengetik *cek {view.number}*."
        )
    return (
        f"✅ Permohonan *{view.category_label}* yang tertunda karena gangguan sistem sudah tercatat "
        f"dengan nomor *{view.number}*, perkiraan selesai {due}. Cek kapan saja dengan mengetik "
        f"*cek {view.number}*."
    )


def complete_one(inst: Institution, kind: str, data: Dict[str, Any]) -> tickets.TicketView:
    if kind == COMPLAINT:
        draft: Any = tickets.ComplaintDraft(**{**data, "media_ids": tuple(data.get("media_ids") or ())})
        view = tickets.submit_complaint(inst, draft)
    else:
        draft = tickets.LetterDraft(**{**data, "media_ids": tuple(data.get("media_ids") or ())})
        view = tickets.submit_letter_request(inst, draft)
    with session_scope(write=True) as session:
        citizen = citizens.upsert_sender(session, draft.sender)
        notifications.enqueue(
            session,
            citizen=citizen,
            message=notifications.Outgoing(text=_confirmation(inst, kind, view)),
            kind="pending_submission",
            actor="sistem",
            dedupe_key=f"pending:{draft.idempotency_key}"[:120],
        )
    return view


def complete_waiting(inst: Institution, limit: Optional[int] = None) -> int:
    """Store every waiting submission, oldest first; stops at the first database error."""
    done = 0
    queue = spool()
    for path, _, item in queue.entries()[:limit]:
        try:
            view = complete_one(inst, item["kind"], item["draft"])
        except DATABASE_ERRORS as error:
            logger.warning("Ticket database still unavailable; %d submissions waiting: %s", len(queue), error)
            break
        except Exception:  # noqa: BLE001 - one bad entry must not block the others
            logger.exception("Waiting submission %s cannot be stored; set aside for staff", path.name)
            queue.set_aside(path)
            continue
        queue.remove(path)
        done += 1
        logger.info("Waiting submission stored as %s", view.number)
    return done
