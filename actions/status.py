"""``cek_status``: a ticket's progress by number, or the citizen's recent tickets as a list.

A citizen only ever sees their own tickets: someone else's number gets exactly the answer an
unknown number gets.
"""

from __future__ import annotations

import logging
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga import numbering, states, tickets
from layanwarga.config import get_institution
from layanwarga.formatting import format_date
from layanwarga.models import KIND_LETTER
from layanwarga.text import clip

from . import common
from .requirements import letter_code

logger = logging.getLogger(__name__)

RECENT_LIMIT = 10


def known_prefixes() -> List[Text]:
    inst = get_institution()
    return [numbering.COMPLAINT_PREFIX] + [letter.prefix for letter in inst.letters.values()]


def requested_number(tracker: Tracker) -> Optional[Text]:
    """The ticket number in the latest message (entity first, then the raw text)."""
    prefixes = known_prefixes()
    for candidate in (common.entity(tracker, "nomor_tiket"), common.text(tracker)):
        number = numbering.normalise(candidate or "", prefixes)
        if number:
            return number
    return None


def _describe(view: tickets.TicketView) -> Text:
    lines = [
        f"📄 *{view.number}* – {view.category_label}",
        f"Status: *{view.state_label}*",
        f"Diterima: {format_date(view.created_at.date())}",
    ]
    if view.agency_name:
        lines.append(f"Ditangani: {view.agency_name}" + (f" ({view.upt_name})" if view.upt_name else ""))
    if view.unit_name and view.kind == KIND_LETTER:
        # A city: the kelurahan that handles the request, and where to collect the letter.
        lines.append(f"Diproses di: {view.unit_name}")
        if view.state == states.SIAP_DIAMBIL and view.pickup:
            lines.append(f"Tempat pengambilan: {view.pickup}")
    if view.due_date and view.state not in ("selesai", "ditolak"):
        lines.append(f"Target selesai: {format_date(view.due_date)}")
    if view.last_note:
        lines.append(f"Catatan terakhir: {view.last_note}")
    return "\n".join(lines)


async def say_status(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Answer a status question (with or without a number) for the conversation's citizen."""
    inst = get_institution()
    sender = tracker.sender_id
    number = requested_number(tracker)
    if number:
        view = await common.run_sync(tickets.find_for_citizen, inst, sender, number)
        if view is None:
            dispatcher.utter_message(response="utter_status_tidak_ditemukan", number=number)
        else:
            dispatcher.utter_message(text=_describe(view))
        return
    # "cek sktm sy": only that letter's requests, also when many other tickets are newer.
    wanted = letter_code(common.entity(tracker, "layanan"))
    views = await common.run_sync(tickets.recent_for_citizen, inst, sender, RECENT_LIMIT, wanted)
    if not views:
        if wanted:
            dispatcher.utter_message(
                response="utter_status_kosong_layanan", letter_name=inst.letters[wanted].name
            )
        else:
            dispatcher.utter_message(response="utter_status_kosong")
        return
    if len(views) == 1:
        dispatcher.utter_message(text=_describe(views[0]))
        return
    heading = {"response": "utter_status_pilih"}
    if wanted:
        heading = {"response": "utter_status_pilih_layanan", "letter_name": inst.letters[wanted].name}
    dispatcher.utter_message(
        **heading,
        buttons=[
            {
                "title": view.number,
                "description": clip(f"{view.category_label} · {view.state_label}", 72),
                "payload": f'/cek_status{{"nomor_tiket": "{view.number}"}}',
            }
            for view in views
        ],
    )


class ActionCheckStatus(Action):
    def name(self) -> Text:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        try:
            await say_status(dispatcher, tracker)
        except Exception:
            logger.exception("Status lookup failed for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gangguan_sistem")
        return []
