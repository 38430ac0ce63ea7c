"""Messages the assistant did not understand: ask to rephrase, then offer an officer, then hand
over; but first, a message that answers a question waiting for the citizen ("lima" after the
rating question) is that answer, and outside a form a message that names a service of the
catalogue ("kk sy ilang pak", no question word for NLU to go on) is answered from the catalogue."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from .feedback import answer_to_closing_question
from .requirements import answer_from_catalogue

# From this many misunderstood messages in a row on, the citizen is offered a human officer first;
# at the next one an officer takes over (the assistant pauses for that citizen).
FALLBACKS_BEFORE_OFFERING_OFFICER = 2
FALLBACKS_BEFORE_HANDOFF = 3


class ActionDefaultFallback(Action):
    """Ask the citizen to rephrase instead of guessing, and offer the menu and an officer.

    The misunderstood message is reverted, so an active form continues where it was.
    """

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        answered = await answer_to_closing_question(dispatcher, tracker)
        if answered is not None:
            return answered
        if not tracker.active_loop and await answer_from_catalogue(dispatcher, tracker, domain, several=True):
            return [UserUtteranceReverted()]
        misses = 1  # this message
        for event in reversed(tracker.events):
            if event.get("event") == "action" and event.get("name") == self.name():
                misses += 1
            elif event.get("event") == "user" and not _is_fallback(event):
                break
        if misses >= FALLBACKS_BEFORE_HANDOFF:
            # Stuck: an officer takes over rather than a fourth "please rephrase".
            return [UserUtteranceReverted(), FollowupAction("action_handoff")]
        if misses >= FALLBACKS_BEFORE_OFFERING_OFFICER:
            dispatcher.utter_message(response="utter_fallback_offer_officer")
        else:
            dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]


def _is_fallback(user_event: Dict[Text, Any]) -> bool:
    intent = (user_event.get("parse_data") or {}).get("intent") or {}
    return intent.get("name") == "nlu_fallback"
