"""Closing the loop on a resolved complaint: "is it really resolved?" and a 1–5 rating.

The question arrives from the notification outbox with reply buttons whose payloads are
``/konfirmasi_selesai{"nomor_tiket": …}`` and ``/belum_selesai{"nomor_tiket": …}``; the rating
list sends ``/beri_nilai{"nilai": "4", "nomor_tiket": …}``. "Belum selesai" asks what is still
wrong (``belum_selesai_form``) and reopens the complaint with that note in its history; a "not
yet" that already says what is wrong reopens it at once.

Typed answers count too, whatever the NLU made of them: the question is asked outside the
dialogue (by the outbox), so a short reply ("udh nyala pak, makasih bnyk" read as thanks, "5"
as inform, "lima" not understood, "lampunya masih mati pak" read as a new street-light report)
is first checked against the question waiting for this citizen (``answer_to_closing_question``)
before it gets its usual answer.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga import feedback, numbering
from layanwarga.config import get_institution

from . import common, requirements
from .flow import PARTIAL_SLOT, FlowFormValidation, incomplete

logger = logging.getLogger(__name__)

TICKET_SLOT = "aduan_tiket_umpan_balik"
NOTE_SLOT = "aduan_catatan_belum_selesai"
RATING_LABELS = {5: "Sangat puas", 4: "Puas", 3: "Cukup", 2: "Kurang puas", 1: "Tidak puas"}
# The usual answer to a short reply that answers no waiting question.
SHORT_REPLY_RESPONSES = {
    "thanks": "utter_sama_sama",
    "goodbye": "utter_goodbye",
    "affirm": "utter_anything_else",
    "deny": "utter_anything_else",
    "lewati": "utter_anything_else",
    "inform": "utter_default",
}


def ticket_number(tracker: Tracker) -> Optional[Text]:
    inst = get_institution()
    prefixes = [numbering.COMPLAINT_PREFIX] + [letter.prefix for letter in inst.letters.values()]
    for candidate in (
        common.entity(tracker, "nomor_tiket"),
        tracker.get_slot(TICKET_SLOT),
        common.text(tracker),
    ):
        number = numbering.normalise(str(candidate or ""), prefixes)
        if number:
            return number
    return None


def rating_value(tracker: Tracker) -> Optional[int]:
    """The 1–5 rating in the latest message: the ``nilai`` entity, else the typed words."""
    value = feedback.read_rating(common.entity(tracker, "nilai") or "")
    if value is not None:
        return value
    text = common.text(tracker)
    return None if common.is_payload(text) else feedback.read_rating(text)


def rating_buttons(number: Text) -> List[Dict[Text, Text]]:
    return [
        {
            "title": f"{value} – {label}",
            "payload": f'/beri_nilai{{"nilai": "{value}", "nomor_tiket": "{number}"}}',
        }
        for value, label in RATING_LABELS.items()
    ]


def ask_rating(dispatcher: CollectingDispatcher, number: Text) -> List[EventType]:
    """The rating question; the slot marks it as the assistant's last question."""
    dispatcher.utter_message(response="utter_minta_nilai", number=number, buttons=rating_buttons(number))
    return [SlotSet(TICKET_SLOT, number)]


def rating_was_asked_last(tracker: Tracker) -> Optional[Text]:
    """The complaint whose rating the assistant asked for in its last turn, if it did."""
    seen_latest = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_latest:
                return None
            seen_latest = True
        elif seen_latest and event.get("event") == "slot" and event.get("name") == TICKET_SLOT:
            return event.get("value") or None
    return None


def _explain(dispatcher: CollectingDispatcher, outcome: feedback.Outcome) -> None:
    if outcome.status == "not_found":
        dispatcher.utter_message(response="utter_umpan_balik_tidak_ditemukan")
    elif outcome.status == "not_resolved":
        dispatcher.utter_message(response="utter_umpan_balik_tidak_menunggu", number=outcome.number)
    else:
        dispatcher.utter_message(response="utter_gangguan_sistem")


async def confirm(
    dispatcher: CollectingDispatcher, tracker: Tracker, number: Optional[Text]
) -> List[EventType]:
    """ "Sudah selesai": thank the citizen and ask for a rating."""
    try:
        outcome = await common.run_sync(feedback.confirm, tracker.sender_id, number)
    except Exception:  # noqa: BLE001
        logger.exception("Confirmation failed for conversation %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_gangguan_sistem")
        return []
    if not outcome.ok:
        _explain(dispatcher, outcome)
        return []
    dispatcher.utter_message(response="utter_terima_kasih_konfirmasi", number=outcome.number)
    return ask_rating(dispatcher, outcome.number or "")


async def rate(
    dispatcher: CollectingDispatcher, tracker: Tracker, number: Optional[Text], value: int
) -> List[EventType]:
    try:
        outcome = await common.run_sync(feedback.rate, tracker.sender_id, number, value)
    except Exception:  # noqa: BLE001
        logger.exception("Rating failed for conversation %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_gangguan_sistem")
        return []
    if not outcome.ok:
        _explain(dispatcher, outcome)
        return []
    dispatcher.utter_message(response="utter_terima_kasih_nilai", rating=str(outcome.rating))
    return [SlotSet(TICKET_SLOT, None)]


async def not_resolved(
    dispatcher: CollectingDispatcher, tracker: Tracker, number: Optional[Text], *, ask_in_form: Optional[Text]
) -> List[EventType]:
    """ "Belum selesai": with what is still wrong in the message, reopen at once; otherwise
    ``belum_selesai_form`` asks for it (``ask_in_form`` names the action that starts the form,
    None when a rule runs it next)."""
    try:
        outcome = await common.run_sync(feedback.lookup, tracker.sender_id, number)
    except Exception:  # noqa: BLE001
        logger.exception("Feedback lookup failed for conversation %s", tracker.sender_id)
        outcome = feedback.Outcome("error")
    if not outcome.ok:
        _explain(dispatcher, outcome)
        # No form: listen for the citizen's next message instead.
        return [SlotSet(TICKET_SLOT, None), SlotSet(NOTE_SLOT, None), FollowupAction("action_listen")]
    dispatcher.utter_message(response="utter_maaf_belum_selesai", number=outcome.number)
    text = common.text(tracker)
    if not common.is_payload(text) and feedback.has_details(text):
        return await reopen(dispatcher, tracker, outcome.number or "", text) + [
            FollowupAction("action_listen")
        ]
    events: List[EventType] = [SlotSet(TICKET_SLOT, outcome.number), SlotSet(NOTE_SLOT, None)]
    return events + ([FollowupAction(ask_in_form)] if ask_in_form else [])


async def reopen(
    dispatcher: CollectingDispatcher, tracker: Tracker, number: Text, note: Text
) -> List[EventType]:
    """Reopen the complaint with the citizen's note; staff see it in the dashboard."""
    reset = [SlotSet(TICKET_SLOT, None), SlotSet(NOTE_SLOT, None), SlotSet(PARTIAL_SLOT, None)]
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


async def answer_to_closing_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, complaint_category: Optional[Text] = None
) -> Optional[List[EventType]]:
    """Act on the latest message when it answers a question waiting for this citizen: the rating
    the assistant just asked for ("5", "lima", "puas banget"), or "is it really resolved?" asked
    since the citizen last wrote ("udh nyala pak, makasih", "lampunya masih mati"). None when it
    answers neither, and the message gets its usual answer.

    ``complaint_category``: the message reads as a new complaint of this category; only "still
    wrong" about a complaint of the same category answers the question then.
    """
    text = common.text(tracker)
    if not text or common.is_payload(text) or common.is_external(tracker) or tracker.active_loop.get("name"):
        return None
    asked_rating = rating_was_asked_last(tracker)
    if asked_rating and complaint_category is None:
        value = feedback.read_rating(text)
        if value is not None:
            return await rate(dispatcher, tracker, asked_rating, value)
    reply = feedback.read_reply(text)
    if reply is None or (complaint_category is not None and reply != feedback.NOT_RESOLVED):
        return None
    try:
        question = await common.run_sync(feedback.awaiting_confirmation, tracker.sender_id)
    except Exception:  # noqa: BLE001 - the message still gets its usual answer
        logger.exception("Could not look up a waiting question for conversation %s", tracker.sender_id)
        return None
    if question is None or (complaint_category is not None and question.category != complaint_category):
        return None
    if reply == feedback.RESOLVED:
        return await confirm(dispatcher, tracker, question.number)
    return await not_resolved(dispatcher, tracker, question.number, ask_in_form="belum_selesai_form")


class ActionShortReply(Action):
    """A short reply outside a form (thanks, yes, no, skip, a number, goodbye): the answer to a
    question waiting for it, else the usual response."""

    def name(self) -> Text:
        return "action_short_reply"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        answered = await answer_to_closing_question(dispatcher, tracker)
        if answered is not None:
            return answered
        name, _ = common.intent(tracker)
        # Free text outside a form ("pajak papan nama toko") may name a service of the catalogue.
        if name == "inform" and await requirements.answer_from_catalogue(
            dispatcher, tracker, domain, several=False
        ):
            return []
        dispatcher.utter_message(response=SHORT_REPLY_RESPONSES.get(name or "", "utter_anything_else"))
        return []


class ActionConfirmResolved(Action):
    """ "Sudah selesai": thank the citizen and ask for a rating."""

    def name(self) -> Text:
        return "action_konfirmasi_selesai"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        return await confirm(dispatcher, tracker, ticket_number(tracker))


class ActionRate(Action):
    """A 1–5 rating (list reply or typed)."""

    def name(self) -> Text:
        return "action_beri_nilai"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        value = rating_value(tracker)
        if value is None:
            number = ticket_number(tracker) or await common.run_sync(
                feedback.pending_number, tracker.sender_id
            )
            if number:
                return ask_rating(dispatcher, number)
            dispatcher.utter_message(response="utter_umpan_balik_tidak_ditemukan")
            return []
        return await rate(dispatcher, tracker, ticket_number(tracker), value)


class ActionNotResolved(Action):
    """ "Belum selesai": check the complaint, then the form asks what is still wrong (unless the
    message already says it)."""

    def name(self) -> Text:
        return "action_belum_selesai"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        return await not_resolved(dispatcher, tracker, ticket_number(tracker), ask_in_form=None)


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
    """Reopen the complaint with the note the form collected."""

    def name(self) -> Text:
        return "action_buka_kembali"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        number = tracker.get_slot(TICKET_SLOT)
        note = tracker.get_slot(NOTE_SLOT)
        if not number or not note:
            return [SlotSet(TICKET_SLOT, None), SlotSet(NOTE_SLOT, None), SlotSet(PARTIAL_SLOT, None)]
        return await reopen(dispatcher, tracker, number, note)
