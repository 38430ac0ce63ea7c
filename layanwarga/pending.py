"""Confirmed submissions that could not reach the ticket database, completed when it is back.

When a citizen presses *Kirim* while the database is down, the complaint or letter request is
written to a local ``Spool`` and the citizen is told it will be recorded. ``drain`` (run by the
action server's background thread as soon as the server starts and then every few seconds,
``actions.background``) logs what waits, stores each waiting submission with its original
idempotency key, so a submission is never stored twice, queues a WhatsApp message with the
number through the notification outbox, deduplicated by the same key, so the citizen is never
told twice, and reports what still waits for the dashboard (``spool_reports``).

The spool belongs to one ticket database: entries carry its fingerprint, and an entry of
another database (the folder reached another deployment, or ``DATABASE_URL`` changed) is
never stored here; it is kept, logged at ERROR and counted for staff.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from . import citizens, notifications, spool_reports, tickets
from .config import Institution
from .db import database_url, session_scope
from .formatting import format_date
from .spool import DEFAULT_ROOT, Spool, SpoolStatus, database_fingerprint

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError, DisconnectionError)
COMPLAINT, LETTER = "aduan", "surat"


_spools: Dict[Tuple[Path, str], Spool] = {}
_spools_lock = threading.Lock()
_last_logged: Dict[Path, Tuple[int, int, int, int]] = {}


def spool_directory() -> Path:
    base = os.environ.get("LAYANWARGA_SPOOL_DIR")
    return Path(base) / "submissions" if base else DEFAULT_ROOT / "submissions"


def spool() -> Spool:
    """The spool of waiting submissions for the ticket database at ``DATABASE_URL`` (opened once
    per folder, database and process)."""
    directory, database = spool_directory(), database_fingerprint(database_url())
    with _spools_lock:
        if (directory, database) not in _spools or not directory.is_dir():
            _spools[(directory, database)] = Spool(directory, database=database)
        return _spools[(directory, database)]


def keep(kind: str, draft: Any) -> None:
    """Store a confirmed draft (``ComplaintDraft`` or ``LetterDraft``) until the database is back."""
    queue = spool()
    path = queue.put(draft.sender, {"kind": kind, "draft": dataclasses.asdict(draft)})
    logger.warning(
        "Submission kept locally as %s until the ticket database is back (%d waiting)", path.name, len(queue)
    )


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
        logger.info("Waiting submission %s stored as %s", path.name, view.number)
    return done


def _log_status(queue: Spool, status: SpoolStatus) -> None:
    """Say what waits whenever it changed since this process last said it (and at start)."""
    counts = (status.waiting, status.set_aside, status.other_database, status.unreadable)
    if _last_logged.get(queue.directory) == counts:
        return
    _last_logged[queue.directory] = counts
    if not any(counts):
        logger.info("No confirmed submissions wait in %s", queue.directory)
        return
    if status.waiting:
        logger.warning(
            "%d confirmed submissions wait in %s (oldest from %s UTC); storing them as soon as the ticket "
            "database answers",
            status.waiting,
            queue.directory,
            status.oldest,
        )
    if status.set_aside:
        logger.warning(
            "%d submissions in %s were set aside (could not be stored) and need staff",
            status.set_aside,
            queue.directory,
        )
    if status.other_database or status.unreadable:
        logger.error(
            "%d entries in %s belong to another database and %d cannot be decrypted: kept, not stored",
            status.other_database,
            queue.directory,
            status.unreadable,
        )


def drain(inst: Institution) -> int:
    """One pass: log what waits, store what can be stored, report what is left; returns how
    many submissions were stored."""
    queue = spool()
    status = queue.status()
    _log_status(queue, status)
    done = complete_waiting(inst) if status.waiting else 0
    if done:
        status = queue.status()
        _log_status(queue, status)
    spool_reports.report(spool_reports.KIND_SUBMISSIONS, queue, status)
    return done
