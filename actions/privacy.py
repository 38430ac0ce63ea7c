"""Data rights: ``lihat_data_saya`` shows what is held, ``hapus_data`` erases it after an
explicit confirmation (a one-question form, so ``batal`` and ``menu`` leave it as any other)."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from layanwarga import privacy
from layanwarga.config import get_institution

from . import background, common
from .flow import FlowFormValidation, reset_flow

logger = logging.getLogger(__name__)


class ActionShowMyData(Action):
    def name(self) -> Text:
        return "action_show_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        try:
            held = await common.run_sync(privacy.summary, tracker.sender_id)
        except Exception:
            logger.exception("Data summary failed for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gangguan_sistem")
            return []
        inst = get_institution()
        if not held.known:
            dispatcher.utter_message(response="utter_data_saya_kosong")
            return []
        dispatcher.utter_message(
            response="utter_data_saya",
            profile_name=held.profile_name or "-",
            phone=held.phone_masked,
            complaints=", ".join(held.complaints) or "tidak ada",
            letters=", ".join(held.letter_requests) or "tidak ada",
            files=held.files,
            messages=held.messages,
            media_days=inst.media_retention_days,
            conversation_days=inst.conversation_retention_days,
        )
        return []


class ValidateHapusDataForm(FlowFormValidation):
    def name(self) -> Text:
        return "validate_hapus_data_form"

    async def extract_hapus_konfirmasi(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not self.asked(tracker, "hapus_konfirmasi"):
            return {}
        name, _ = common.intent(tracker)
        if name in ("affirm", "hapus_data"):
            return {"hapus_konfirmasi": "ya"}
        if name in ("deny", "lewati"):
            return {"hapus_konfirmasi": "tidak"}
        dispatcher.utter_message(response="utter_hapus_konfirmasi_pilih")
        return {"hapus_konfirmasi": None}

    def validate_hapus_konfirmasi(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:  # type: ignore[no-untyped-def]
        return {"hapus_konfirmasi": value}


class ActionEraseMyData(Action):
    def name(self) -> Text:
        return "action_erase_my_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if tracker.get_slot("hapus_konfirmasi") != "ya":
            dispatcher.utter_message(response="utter_hapus_dibatalkan")
            return reset_flow(domain)
        try:
            report = await common.run_sync(privacy.erase, tracker.sender_id)
        except Exception:
            logger.exception("Erasure failed for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gangguan_sistem")
            return reset_flow(domain)
        background.ensure_worker()
        dispatcher.utter_message(
            response="utter_data_dihapus", tickets=report.tickets_anonymised, files=report.files_deleted
        )
        return reset_flow(domain)
