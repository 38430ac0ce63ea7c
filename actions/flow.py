"""What every form shares: leaving it, side questions inside it, and resetting its slots.

A citizen is never trapped in a form:
- ``batal``, ``menu``, an emergency or a request for an officer are never taken as answers: the
  form is rejected and the global rules (data/rules/flow.yml) take over;
- a side question asked with confidence (office hours, office location, letter requirements,
  a ticket's status, "are you a bot?") is answered on the spot, then the same question is asked
  again, so the form continues where it was.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any, Dict, FrozenSet, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker, utils
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga.config import get_institution

from . import common, general, requirements, status, units

logger = logging.getLogger(__name__)
_WORD = re.compile(r"[a-z0-9]+")

UNSUBSCRIBE_INTENT = "berhenti_langganan"
FLOW_SLOT_PREFIXES = ("aduan_", "surat_", "hapus_", "langganan_", "wilayah_")
# The first part of an answer a validator found incomplete (an address without RT/RW, a month
# without its year): ``{"slot": name, "text": what was typed}``. The next typed answer to the same
# question is joined to it, so the citizen adds what is missing instead of typing it all again.
PARTIAL_SLOT = "jawaban_sebagian"
# A follow-up that repeats at least this share of the first part's words is the whole answer
# typed again: it replaces the first part instead of being joined to it.
_RETYPED_SHARE = 0.5


def flow_slots(domain: DomainDict) -> List[Text]:
    """Every slot that belongs to a complaint or letter flow, plus the flow id and the partial
    answer."""
    names = [s for s in domain.get("slots", {}) if s.startswith(FLOW_SLOT_PREFIXES)]
    return names + ["flow_id", PARTIAL_SLOT]


def incomplete(slot: Text, text: Any, joiner: Text = " ") -> Dict[Text, Any]:
    """What a validator returns for an answer that is right but not complete yet: the slot stays
    empty (the form asks again) and the text is kept to be joined with the next answer."""
    kept = " ".join(str(text or "").split())
    if not kept:
        return {slot: None}
    return {slot: None, PARTIAL_SLOT: {"slot": slot, "text": kept, "joiner": joiner}}


def join_partial(first: Text, follow_up: Text, joiner: Text = " ") -> Text:
    """The first part of an answer and what the citizen added to it, as one answer."""
    if not first.strip():
        return follow_up
    first_words = set(_WORD.findall(first.lower()))
    follow_words = set(_WORD.findall(follow_up.lower()))
    if first_words and len(first_words & follow_words) >= _RETYPED_SHARE * len(first_words):
        return follow_up
    return f"{first.rstrip(' ,.')}{joiner}{follow_up.strip()}"


def reset_flow(domain: DomainDict) -> List[EventType]:
    """Leave any active form and forget what it collected."""
    return [ActiveLoop(None), SlotSet("requested_slot", None), *common.reset(flow_slots(domain))]


async def answer_side_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> bool:
    """Answer a confident side question asked inside a form; False when there is none. A letter's
    requirements come from the catalogue when it describes the letter (``requirements.say_letter``)."""
    name, confidence = common.intent(tracker)
    if confidence < common.INTERRUPT_CONFIDENCE or common.media_id(tracker) is not None:
        return False
    unit_code: Optional[Text] = None
    if name in ("jam_layanan", "lokasi_kantor", "tanya_syarat"):
        # In a city: the unit this form is about, else the citizen's own (None: the institution's).
        unit_code = tracker.get_slot(units.SLOT_KELURAHAN)
        if unit_code is None and units.is_city(get_institution()):
            unit_code = await units.remembered(tracker)
    if name == "jam_layanan":
        general.say_office_hours(dispatcher, unit_code=unit_code)
    elif name == "lokasi_kantor":
        general.say_office_location(dispatcher, unit_code=unit_code)
    elif name == "bot_challenge":
        dispatcher.utter_message(response="utter_iamabot")
    elif name == "tanya_syarat" and (letter := requirements.letter_code(common.entity(tracker, "layanan"))):
        await requirements.say_letter(dispatcher, tracker, domain, letter, unit_code=unit_code)
    elif name == "cek_status" and (
        common.entity(tracker, "nomor_tiket") or common.entity(tracker, "layanan")
    ):
        await status.say_status(dispatcher, tracker)
    else:
        return False
    dispatcher.utter_message(response="utter_lanjut_form")
    return True


class FlowFormValidation(FormValidationAction, ABC):
    """Base of every form's validation: exits, side questions, then per-slot extraction."""

    #: Intents that also leave this form when confident (e.g. a letter request in a complaint).
    exit_intents: FrozenSet[Text] = frozenset()

    @abstractmethod
    def name(self) -> Text:
        """``validate_<form name>``."""

    def is_exit(self, tracker: Tracker) -> bool:
        name, confidence = common.intent(tracker)
        if name == "batal":
            return common.is_explicit_cancel(common.text(tracker))
        if name in common.HARD_EXITS:
            return True
        if name == UNSUBSCRIBE_INTENT:
            # Stopping subscriptions works with one message anywhere (WhatsApp's opt-out rule):
            # the button's payload always, typed text when understood with confidence.
            return common.is_payload(common.text(tracker)) or confidence >= common.INTERRUPT_CONFIDENCE
        return name in self.exit_intents and confidence >= common.INTERRUPT_CONFIDENCE

    async def collect_attachments(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        """Events keeping a photo or location pin the citizen sent at any step (none by default)."""
        return []

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        # rasa-sdk returns only the validated required slots and drops every other slot an
        # extraction set (collected media, coordinates, the editing flag): keep those too.
        extraction_events = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction_events)
        validation_events = await self._extract_validation_events(dispatcher, tracker, domain)
        validated = {e["name"]: e.get("value") for e in validation_events if e.get("event") == "slot"}
        kept = [e for e in extraction_events if e.get("event") == "slot" and e["name"] not in validated]
        partial = tracker.get_slot(PARTIAL_SLOT)
        if (
            isinstance(partial, dict)
            and validated.get(partial.get("slot")) is not None
            and PARTIAL_SLOT not in validated
        ):
            # The question is answered: its first part is used up.
            validation_events.append(SlotSet(PARTIAL_SLOT, None))
        return kept + validation_events

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """rasa-sdk's validation, except that an empty slot is no answer to check.

        rasa-sdk validates every slot set after the citizen's message, also those the action that
        started the form emptied; a validator then complained about an answer never given
        ("Mohon jelaskan sedikit lebih lengkap…" right after tapping "Belum selesai"). An empty
        slot stays empty and the form asks its question; a typed answer that is no answer is
        explained by the extractor that read it.
        """
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        slots = {name: value for name, value in tracker.slots_to_validate().items() if name in required}
        for name, value in list(slots.items()):
            validate = getattr(self, f"validate_{name.replace('-', '_')}", None)
            if value is None or validate is None:
                continue
            output = await utils.call_potential_coroutine(validate(value, dispatcher, tracker, domain))
            if not isinstance(output, dict):
                raise TypeError(f"validate_{name} of {self.name()} must return a dict of slot values")
            slots.update(output)
            tracker.slots.update(output)
        return [SlotSet(name, value) for name, value in slots.items()]

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if self.is_exit(tracker):
            logger.debug("Leaving %s on intent %s", self.form_name(), common.intent(tracker)[0])
            return []
        requested = tracker.get_slot("requested_slot")
        if common.is_external(tracker):
            # An event from outside (trigger_intent) is no answer: ask the question again.
            return [SlotSet(requested, None)] if requested else []
        attachments = await self.collect_attachments(dispatcher, tracker)
        if requested and not attachments and await answer_side_question(dispatcher, tracker, domain):
            return [SlotSet(requested, None)]
        if (
            requested
            and not attachments
            and (common.media_id(tracker) is not None or common.location(tracker))
        ):
            # A photo or pin this step does not take: say so and ask the question again, instead
            # of the form giving up on the message and the assistant not understanding it.
            dispatcher.utter_message(response="utter_lampiran_belum_perlu")
            return [SlotSet(requested, None)]
        tracker.add_slots(attachments)
        return attachments + self._with_partial(
            tracker, await super().get_extraction_events(dispatcher, tracker, domain)
        )

    @staticmethod
    def _with_partial(tracker: Tracker, events: List[EventType]) -> List[EventType]:
        """A typed answer to the question whose first part is kept, joined to that first part."""
        partial = tracker.get_slot(PARTIAL_SLOT)
        requested = tracker.get_slot("requested_slot")
        message = common.text(tracker)
        if not isinstance(partial, dict) or partial.get("slot") != requested or common.is_payload(message):
            return events
        joined = []
        for event in events:
            if (
                event.get("event") == "slot"
                and event.get("name") == requested
                and isinstance(event.get("value"), str)
            ):
                value = join_partial(
                    str(partial.get("text") or ""), event["value"], str(partial.get("joiner") or " ")
                )
                event = SlotSet(requested, value)
            joined.append(event)
        return joined

    @staticmethod
    def asked(tracker: Tracker, slot: Text) -> bool:
        return tracker.get_slot("requested_slot") == slot


class ActionCancel(Action):
    """``batal``: leave any form, forget its data, and say what happened."""

    def name(self) -> Text:
        return "action_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response=cancelled(tracker))
        return reset_flow(domain)


# What a citizen is told when a form they leave with "batal" is not a report or a letter.
CANCELLED_FORMS = {
    "langganan_form": "utter_batal_langganan",
    "hapus_data_form": "utter_hapus_dibatalkan",
    "belum_selesai_form": "utter_batal_buka_kembali",
}


def cancelled(tracker: Tracker) -> Text:
    """The answer to "batal": it names what was cancelled (a report is no "permohonan")."""
    loop = tracker.active_loop.get("name")
    if loop in CANCELLED_FORMS:
        return CANCELLED_FORMS[loop]
    if tracker.get_slot("surat_jenis"):
        return "utter_batal_permohonan"
    if tracker.get_slot("aduan_kategori"):
        return "utter_batal_laporan"
    if loop or tracker.get_slot("flow_id"):
        return "utter_batal"
    return "utter_nothing_to_cancel"


class ActionResetFlow(Action):
    """Leave any form silently (before the menu, an emergency answer or an officer)."""

    def name(self) -> Text:
        return "action_reset_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        return reset_flow(domain)


def summary_lines(rows: List[tuple]) -> Text:
    """``*Label:* value`` lines for a confirmation summary, skipping empty values."""
    return "\n".join(f"*{label}:* {value}" for label, value in rows if value not in (None, ""))
