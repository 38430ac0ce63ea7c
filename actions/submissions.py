"""Storing confirmed complaints and letter requests, also while the ticket database is down.

A database outage never loses a confirmed submission: it waits in a local spool
(``layanwarga.pending``) and a background thread of the action server stores it, then tells the
citizen its number over WhatsApp, once the database answers again.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from rasa_sdk.executor import CollectingDispatcher

from layanwarga import pending, tickets
from layanwarga.config import get_institution

from . import common

logger = logging.getLogger(__name__)

RETRY_SECONDS = 10.0
_worker: Optional[threading.Thread] = None
_worker_lock = threading.Lock()


def _complete_forever(stop: threading.Event) -> None:
    while not stop.wait(RETRY_SECONDS):
        try:
            if len(pending.spool()) and pending.complete_waiting(get_institution()):
                logger.info("Waiting submissions stored")
        except Exception:  # noqa: BLE001 - keep the worker alive; the spool keeps the data
            logger.exception("Completing waiting submissions failed")


def ensure_worker() -> None:
    """Start the background completion thread once per process."""
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(
                target=_complete_forever, args=(threading.Event(),), name="pending-submissions", daemon=True
            )
            _worker.start()


@dataclass(frozen=True)
class Outcome:
    """``view`` when stored; ``waiting`` when kept for later (the flow is over either way)."""

    view: Optional[tickets.TicketView] = None
    waiting: bool = False


async def store(
    kind: str, submit: Callable[..., tickets.TicketView], draft: Any, dispatcher: CollectingDispatcher, sender: str
) -> Outcome:
    """Store ``draft``; on a database outage keep it for later and tell the citizen so. Any other
    failure tells the citizen to try again, with the form's data kept in the conversation."""
    try:
        return Outcome(view=await common.run_sync(submit, get_institution(), draft))
    except pending.DATABASE_ERRORS:
        logger.exception("Ticket database unavailable while storing a submission of %s", sender)
        await common.run_sync(pending.keep, kind, draft)
        ensure_worker()
        dispatcher.utter_message(response="utter_pengajuan_tertunda")
        return Outcome(waiting=True)
    except Exception:
        logger.exception("Storing a submission failed for conversation %s", sender)
        dispatcher.utter_message(response="utter_gagal_simpan")
        return Outcome()


if len(pending.spool()):
    ensure_worker()
