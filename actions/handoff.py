"""``minta_petugas`` (or a citizen the assistant keeps misunderstanding): hand the conversation
to a human officer.

The handoff itself lives in the domain core (``layanwarga.handoff``): it pauses the assistant
for this citizen (the WhatsApp connector stops passing their messages to Rasa and logs them for
the dashboard's live inbox) until staff hand the citizen back. This action opens it and tells
the citizen what happens next, and when an officer will answer outside office hours.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from layanwarga import calendar, handoff
from layanwarga.config import get_institution
from layanwarga.formatting import format_when

from . import common

logger = logging.getLogger(__name__)

# Misunderstood messages in a row from which a handoff counts as "not understood" (the fallback
# offers an officer from the second miss on).
STUCK_AFTER = 2


def recent_fallbacks(tracker: Tracker) -> int:
    """How many fallbacks ran since the citizen was last understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == "action_default_fallback":
            count += 1
        elif event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent not in ("nlu_fallback", "minta_petugas"):
                break
    return count


def reason_for(tracker: Tracker) -> str:
    intent, _ = common.intent(tracker)
    if intent == "nlu_fallback" or recent_fallbacks(tracker) >= STUCK_AFTER:
        return handoff.REASON_NOT_UNDERSTOOD
    return handoff.REASON_REQUESTED


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        inst = get_institution()
        reason = reason_for(tracker)
        try:
            opened = await common.run_sync(
                handoff.open_handoff,
                tracker.sender_id,
                reason,
                profile_name=common.profile_name(tracker),
                inst=inst,
            )
        except Exception:  # noqa: BLE001 - the citizen still gets a way to reach a person
            logger.exception("Could not open a handoff for conversation %s", tracker.sender_id)
            dispatcher.utter_message(
                response="utter_petugas_gagal", institution_name=inst.name, phone=inst.phone or inst.address
            )
            return []
        if not opened.created:
            dispatcher.utter_message(response="utter_petugas_sudah_terhubung")
        elif opened.office_open:
            dispatcher.utter_message(response="utter_petugas_dihubungkan", institution_name=inst.name)
        else:
            when = (
                format_when(opened.next_opening, calendar.now_local(inst))
                if opened.next_opening
                else "hari kerja berikutnya"
            )
            dispatcher.utter_message(
                response="utter_petugas_di_luar_jam",
                institution_name=inst.name,
                next_opening=when,
                emergency=inst.emergency_numbers[0].number,
            )
        return []
