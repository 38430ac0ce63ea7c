"""Closing the loop on a resolved complaint: "is it really resolved?" and a 1–5 rating.

The question arrives from the notification outbox with reply buttons whose payloads are
``/konfirmasi_selesai{"nomor_tiket": …}`` and ``/belum_selesai{"nomor_tiket": …}``; the rating
list sends ``/beri_nilai{"nilai": "4", "nomor_tiket": …}``. A citizen who types instead ("sudah
selesai", "belum beres") is understood too: without a number, the complaint waiting for their
answer is meant. "Belum selesai" asks what is still wrong (``belum_selesai_form``) and reopens
the complaint with that note in its history.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga import feedback, numbering
from layanwarga.config import get_institution

from . import common
from .flow import PARTIAL_SLOT, FlowFormValidation, incomplete

logger = logging.getLogger(__name__)

TICKET_SLOT = "aduan_tiket_umpan_balik"
NOTE_SLOT = "aduan_catatan_belum_selesai"
RATING_LABELS = {5: "Sangat puas", 4: "Puas", 3: "Cukup", 2: "Kurang puas", 1: "Tidak puas"}
_DIGIT = re.compile(r"(?<!\d)([1-5])(?!\d)")


def ticket_number(tracker: Tracker) -> Optional[Text]:
    inst = get_institution()
    prefixes = [numbering.COMPLAINT_PREFIX] + [letter.prefix for letter in inst.letters.values()]
    for candidate in (common.entity(tracker, "nomor_tiket"), tracker.get_slot(TICKET_SLOT), common.text(tracker)):
        number = numbering.normalise(str(candidate or ""), prefixes)
        if number:
            return number
    return None


WORDS = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5}


def rating_value(tracker: Tracker) -> Optional[int]:
    """The 1–5 rating in the latest message: the ``nilai`` entity, a digit or a number word."""
    value = (common.entity(tracker, "nilai") or "").strip().lower()
    if value in WORDS:
        return WORDS[value]
    if value.isdigit() and 1 <= int(value) <= 5:
        return int(value)
    text = common.text(tracker).lower()
    if common.is_payload(text):
        return None
    match = _DIGIT.search(text)
    if match:
        return int(match.group(1))
    for word, number in WORDS.items():
        if re.search(rf"\b{word}\b", text):
            return number
    return None


def rating_buttons(number: Text) -> List[Dict[Text, Text]]:
    return [
        {
            "title": f"{value} – {label}",
            "payload": f'/beri_nilai{{"nilai": "{value}", "nomor_tiket": "{number}"}}',
        }
        for value, label in RATING_LABELS.items()
    ]


def _explain(dispatcher: CollectingDispatcher, outcome: feedback.Outcome) -> None:
    if outcome.status == "not_found":
        dispatcher.utter_message(response="utter_umpan_balik_tidak_ditemukan")
    elif outcome.status == "not_resolved":
        dispatcher.utter_message(response="utter_umpan_balik_tidak_menunggu", number=outcome.number)
    else:
        dispatcher.utter_message(response="utter_gangguan_sistem")


class ActionConfirmResolved(Action):
    """"Sudah selesai": thank the citizen and ask for a rating."""

    def name(self) -> Text:
        return "action_konfirmasi_selesai"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        try:
            outcome = await common.run_sync(feedback.confirm, tracker.sender_id, ticket_number(tracker))
        except Exception:  # noqa: BLE001
            logger.exception("Confirmation failed for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gangguan_sistem")
            return []
        if not outcome.ok:
            _explain(dispatcher, outcome)
            return []
        dispatcher.utter_message(response="utter_terima_kasih_konfirmasi", number=outcome.number)
        dispatcher.utter_message(response="utter_minta_nilai", number=outcome.number, buttons=rating_buttons(outcome.number or ""))
        return [SlotSet(TICKET_SLOT, outcome.number)]


class ActionRate(Action):
    """A 1–5 rating (list reply or typed)."""

    def name(self) -> Text:
        return "action_beri_nilai"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        value = rating_value(tracker)
        if value is None:
            number = ticket_number(tracker) or await common.run_sync(feedback.pending_number, tracker.sender_id)
            if number:
                dispatcher.utter_message(response="utter_minta_nilai", number=number, buttons=rating_buttons(number))
            else:
                dispatcher.utter_message(response="utter_umpan_balik_tidak_ditemukan")
            return []
        try:
            outcome = await common.run_sync(feedback.rate, tracker.sender_id, ticket_number(tracker), value)
        except Exception:  # noqa: BLE001
            logger.exception("Rating failed for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gangguan_sistem")
            return []
        if not outcome.ok:
            _explain(dispatcher, outcome)
            return []
        dispatcher.utter_message(response="utter_terima_kasih_nilai", rating=str(outcome.rating))
        return [SlotSet(TICKET_SLOT, None)]


class ActionNotResolved(Action):
    """"Belum selesai": check the complaint, then the form asks what is still wrong."""

    def name(self) -> Text:
        return "action_belum_selesai"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        try:
            outcome = await common.run_sync(feedback.lookup, tracker.sender_id, ticket_number(tracker))
        except Exception:  # noqa: BLE001
            logger.exception("Feedback lookup failed for conversation %s", tracker.sender_id)
            outcome = feedback.Outcome("error")
        if not outcome.ok:
            _explain(dispatcher, outcome)
            # No form: listen for the citizen's next message instead.
            return [SlotSet(TICKET_SLOT, None), SlotSet(NOTE_SLOT, None), FollowupAction("action_listen")]
        dispatcher.utter_message(response="utter_maaf_belum_selesai", number=outcome.number)
        return [SlotSet(TICKET_SLOT, outcome.number), SlotSet(NOTE_SLOT, None)]


class ValidateNotResolvedForm(FlowFormValidation):
    """The citizen's note on what is still wrong: any text (not a menu choice or a payload)."""

    def name(self) -> Text:
        return "validate_belum_selesai_form"

    async def extract_aduan_catatan_belum_selesai(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, NOTE_SLOT):
            return {}
        text = common.text(tracker)
        if not text or common.is_payload(text):
            if common.media_id(tracker) is not None:
                return {NOTE_SLOT: "(warga mengirim foto)"}
            return {}
        return {NOTE_SLOT: text}

    def validate_aduan_catatan_belum_selesai(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        note = " ".join(str(value or "").split())
        if len(note) < 3:
            dispatcher.utter_message(response="utter_catatan_terlalu_pendek")
            return incomplete(NOTE_SLOT, note)
        return {NOTE_SLOT: note[:1000]}


class ActionReopen(Action):
    """Reopen the complaint with the citizen's note; staff see it in the dashboard."""

    def name(self) -> Text:
        return "action_buka_kembali"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        number = tracker.get_slot(TICKET_SLOT)
        note = tracker.get_slot(NOTE_SLOT)
        reset = [SlotSet(TICKET_SLOT, None), SlotSet(NOTE_SLOT, None), SlotSet(PARTIAL_SLOT, None)]
        if not number or not note:
            return reset
        try:
            outcome = await common.run_sync(feedback.reopen, tracker.sender_id, number, note)
        except Exception:  # noqa: BLE001
            logger.exception("Reopening failed for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gagal_simpan")
            return reset
        if not outcome.ok:
            _explain(dispatcher, outcome)
            return reset
        dispatcher.utter_message(response="utter_dibuka_kembali", number=outcome.number)
        return reset
