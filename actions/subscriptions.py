"""Subscriptions to official information: ``langganan info`` and ``berhenti langganan``.

Subscribing is a short form (``langganan_form``): a topic from ``instansi.yml`` (or all), the
citizen's kelurahan (or all; skipped when the institution lists none), then an explicit "Ya,
setuju" to a text that says what will arrive and how to stop. Only that yes records the opt-in
(with its time, the text and the message id). ``batal``/``menu``/``darurat``/``petugas`` leave the
form like any other.

Unsubscribing takes one message at any time: ``berhenti langganan`` (typed, or the quick-reply
button under every announcement, payload ``/berhenti_langganan``) stops every subscription at
once, also from inside any form, which it leaves (``FlowFormValidation.is_exit``).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga import first_message, subscriptions
from layanwarga.config import Institution, get_institution
from layanwarga.formatting import format_date, join_words
from nlu_components.text_normalizer import NOT_WORDS

from . import common
from .flow import FlowFormValidation, reset_flow

logger = logging.getLogger(__name__)

TOPIC_SLOT = "langganan_topik"
AREA_SLOT = "langganan_wilayah"
CONSENT_SLOT = "langganan_setuju"
SLOTS = [TOPIC_SLOT, AREA_SLOT, CONSENT_SLOT]
YES_WORDS = frozenset({"ya", "iya", "yes", "setuju", "boleh", "ok", "oke", "mau", "lanjut", "siap"})
NO_WORDS = NOT_WORDS | frozenset({"no", "jangan", "tolak"})


def _choice(tracker: Tracker) -> Optional[Text]:
    """A list row's value (``/inform{"pilihan": …}``), else what the citizen typed."""
    picked = common.entity(tracker, "pilihan")
    if picked:
        return picked
    text = common.text(tracker)
    return None if not text or common.is_payload(text) else text


def area_phrase(code: Text, label: Text) -> Text:
    """ "Kelurahan Panarung", or "semua kelurahan"."""
    return "semua kelurahan" if code == subscriptions.ALL else f"Kelurahan {label}"


def topic_rows(inst: Institution) -> List[Dict[Text, Text]]:
    cfg = inst.subscriptions
    rows = [
        {"title": topic.label, "description": topic.description, "payload": f'/inform{{"pilihan": "{code}"}}'}
        for code, topic in (cfg.topics.items() if cfg else [])
    ]
    rows.append(
        {
            "title": "Semua topik",
            "description": "Semua informasi resmi",
            "payload": '/inform{"pilihan": "semua"}',
        }
    )
    return rows


def area_rows(inst: Institution) -> List[Dict[Text, Text]]:
    cfg = inst.subscriptions
    rows = [
        {
            "title": area.name,
            "description": f"Kelurahan {area.name}",
            "payload": f'/inform{{"pilihan": "{code}"}}',
        }
        for code, area in (cfg.areas.items() if cfg else [])
    ]
    rows.append(
        {
            "title": "Semua kelurahan",
            "description": "Informasi untuk seluruh wilayah",
            "payload": '/inform{"pilihan": "semua"}',
        }
    )
    return rows


class ActionStartSubscription(Action):
    """``langganan info``: fresh slots, what the service offers, current subscriptions."""

    def name(self) -> Text:
        return "action_langganan_mulai"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        events: List[EventType] = common.reset(SLOTS)
        if inst.subscriptions is None:
            dispatcher.utter_message(response="utter_langganan_tidak_tersedia", institution=inst.name)
            return events + [FollowupAction("action_listen")]
        topics = join_words([topic.label.lower() for topic in inst.subscriptions.topics.values()])
        dispatcher.utter_message(response="utter_langganan_mulai", institution=inst.name, topics=topics)
        try:
            current = await common.run_sync(subscriptions.active_for, inst, tracker.sender_id)
        except Exception:  # noqa: BLE001 - the form still works; the list is only a courtesy
            logger.exception("Could not list the subscriptions of conversation %s", tracker.sender_id)
            current = []
        if current:
            lines = "\n".join(
                f"• {s.topic_label}, untuk {area_phrase(s.area, s.area_label)}" for s in current
            )
            dispatcher.utter_message(response="utter_langganan_aktif", subscriptions=lines)
        topic = subscriptions.match_topic(inst, common.text(tracker))
        if topic and topic != subscriptions.ALL:
            # "Kabari jadwal posyandu": the topic is already clear (the consent question repeats it).
            events.append(SlotSet(TOPIC_SLOT, topic))
        if not inst.subscriptions.areas:
            events.append(SlotSet(AREA_SLOT, subscriptions.ALL))
        else:
            # "langganan info banjir untuk panarung": the kelurahan is said too.
            names = {code: area.name for code, area in inst.subscriptions.areas.items()}
            area = first_message.named_area(common.text(tracker), names)
            if area:
                events.append(SlotSet(AREA_SLOT, area))
        return events


class ActionAskSubscriptionTopic(Action):
    def name(self) -> Text:
        return "action_ask_langganan_topik"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_langganan_topik", buttons=topic_rows(get_institution()))
        return []


class ActionAskSubscriptionArea(Action):
    def name(self) -> Text:
        return "action_ask_langganan_wilayah"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_langganan_wilayah", buttons=area_rows(get_institution()))
        return []


class ActionAskSubscriptionConsent(Action):
    """The explicit opt-in question: exactly the text that is stored with a yes."""

    def name(self) -> Text:
        return "action_ask_langganan_setuju"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        consent = subscriptions.consent_text(
            inst,
            tracker.get_slot(TOPIC_SLOT) or subscriptions.ALL,
            tracker.get_slot(AREA_SLOT) or subscriptions.ALL,
        )
        dispatcher.utter_message(response="utter_ask_langganan_setuju", consent=consent)
        return []


class ValidateSubscriptionForm(FlowFormValidation):
    def name(self) -> Text:
        return "validate_langganan_form"

    async def extract_langganan_topik(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, TOPIC_SLOT) or common.media_id(tracker) is not None:
            return {}
        answer = _choice(tracker)
        topic = subscriptions.match_topic(get_institution(), answer) if answer else None
        if topic is None:
            dispatcher.utter_message(response="utter_langganan_topik_pilih")
        return {TOPIC_SLOT: topic}

    def validate_langganan_topik(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return {TOPIC_SLOT: value}

    async def extract_langganan_wilayah(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, AREA_SLOT) or common.media_id(tracker) is not None:
            return {}
        answer = _choice(tracker)
        area = subscriptions.match_area(get_institution(), answer) if answer else None
        if area is None:
            dispatcher.utter_message(response="utter_langganan_wilayah_pilih")
        return {AREA_SLOT: area}

    def validate_langganan_wilayah(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return {AREA_SLOT: value}

    async def extract_langganan_setuju(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, CONSENT_SLOT) or common.media_id(tracker) is not None:
            return {}
        name, _ = common.intent(tracker)
        words = set(common.text(tracker).lower().replace(",", " ").split())
        if name == "deny" or (words & NO_WORDS):
            return {CONSENT_SLOT: "tidak"}
        if name == "affirm" or (words & YES_WORDS):
            return {CONSENT_SLOT: "ya"}
        dispatcher.utter_message(response="utter_langganan_setuju_pilih")
        return {CONSENT_SLOT: None}

    def validate_langganan_setuju(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return {CONSENT_SLOT: value}


class ActionSubscribe(Action):
    """After the form: record the opt-in only on an explicit yes."""

    def name(self) -> Text:
        return "action_langganan_simpan"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        topic, area = tracker.get_slot(TOPIC_SLOT), tracker.get_slot(AREA_SLOT)
        if tracker.get_slot(CONSENT_SLOT) != "ya" or not topic or not area:
            dispatcher.utter_message(response="utter_langganan_tidak_jadi")
            return reset_flow(domain)
        message_id = common.metadata(tracker).get("message_id")
        try:
            created = await common.run_sync(
                subscriptions.subscribe,
                inst,
                tracker.sender_id,
                topic,
                area,
                message_id=str(message_id)[:255] if message_id else None,
                profile_name=common.profile_name(tracker),
            )
            current = await common.run_sync(subscriptions.active_for, inst, tracker.sender_id)
        except Exception:  # noqa: BLE001
            logger.exception("Subscription failed for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gagal_simpan")
            return reset_flow(domain)
        labels = dict(
            topic=subscriptions.topic_label(inst, topic),
            area=area_phrase(area, subscriptions.area_label(inst, area)),
        )
        if created:
            dispatcher.utter_message(response="utter_langganan_berhasil", **labels)
        else:
            since = next((s.opted_in_at for s in current if s.topic == topic and s.area == area), None)
            dispatcher.utter_message(
                response="utter_langganan_sudah", since=format_date(since.date()) if since else "-", **labels
            )
        return reset_flow(domain)


class ActionUnsubscribe(Action):
    """``berhenti langganan``: one message stops every subscription, inside a form or not."""

    def name(self) -> Text:
        return "action_berhenti_langganan"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        inst = get_institution()
        in_form = bool(tracker.active_loop.get("name"))
        message_id = common.metadata(tracker).get("message_id")
        try:
            stopped = await common.run_sync(
                subscriptions.unsubscribe,
                tracker.sender_id,
                message_id=str(message_id)[:255] if message_id else None,
            )
        except Exception:  # noqa: BLE001
            logger.exception("Unsubscribing failed for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gangguan_sistem")
            return reset_flow(domain) if in_form else []
        if stopped:
            dispatcher.utter_message(response="utter_langganan_berhenti", institution=inst.name)
        else:
            dispatcher.utter_message(response="utter_langganan_tidak_ada")
        if in_form:
            dispatcher.utter_message(response="utter_langganan_form_dihentikan")
            return reset_flow(domain)
        return []
