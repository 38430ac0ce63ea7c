"""Storing confirmed complaints and letter requests, also while the ticket database is down.

A database outage never loses a confirmed submission: it waits in a local spool
(``layanwarga.pending``) and the action server's background thread (``actions.background``)
stores it, then tells the citizen its number over WhatsApp, once the database answers again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from rasa_sdk.executor import CollectingDispatcher

from layanwarga import pending, tickets
from layanwarga.config import get_institution

from . import background, common

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """``view`` when stored; ``waiting`` when kept for later (the flow is over either way)."""

    view: Optional[tickets.TicketView] = None
    waiting: bool = False


async def store(
    kind: str,
    submit: Callable[..., tickets.TicketView],
    draft: Any,
    dispatcher: CollectingDispatcher,
    sender: str,
) -> Outcome:
    """Store ``draft``; on a database outage keep it for later and tell the citizen so. Any other
    failure tells the citizen to try again, with the form's data kept in the conversation."""
    try:
        return Outcome(view=await common.run_sync(submit, get_institution(), draft))
    except pending.DATABASE_ERRORS:
        logger.exception("Ticket database unavailable while storing a submission of %s", sender)
        await common.run_sync(pending.keep, kind, draft)
        background.ensure_worker()
        dispatcher.utter_message(response="utter_pengajuan_tertunda")
        return Outcome(waiting=True)
    except Exception:
        logger.exception("Storing a submission failed for conversation %s", sender)
        dispatcher.utter_message(response="utter_gagal_simpan")
        return Outcome()
