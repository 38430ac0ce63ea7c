"""The trackers the action tests build hold what Rasa sends the action server: the events from
the citizen's RECENT_MESSAGES-th last message on (rasa_extensions.action_request), so an action
that reads further back fails here, not in production."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from rasa_extensions.action_request import RECENT_MESSAGES, action_call_format

from .conftest import ROOT, make_tracker, run_action, user_event

TEXTS = [f"pesan ke-{number}" for number in range(1, RECENT_MESSAGES + 6)]


def messages(events: List[Dict[str, Any]]) -> List[str]:
    return [event["text"] for event in events if event.get("event") == "user"]


def test_an_action_gets_the_messages_rasa_would_send() -> None:
    tracker = make_tracker(TEXTS[-1], "inform", events=[user_event(text, "inform") for text in TEXTS[:-1]])
    rasa_tracker = DialogueStateTracker.from_events(
        "6281234567890",
        [
            e
            for text in TEXTS
            for e in (
                ActionExecuted("action_listen"),
                UserUttered(text, {"name": "inform", "confidence": 0.99}),
            )
        ],
    )
    domain = Domain.load(str(ROOT / "domain"))
    body = action_call_format(
        RemoteAction("action_default_fallback", EndpointConfig("http://127.0.0.1:1/webhook")),
        rasa_tracker,
        domain,
    )
    assert messages(tracker.events) == messages(body["tracker"]["events"]) == TEXTS[-RECENT_MESSAGES:]


class FirstMessageOfTheSession(Action):
    """An action that looks further back than Rasa sends: what the citizen said first."""

    def name(self) -> str:
        return "action_first_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(text=messages(tracker.events)[0])
        return []


def test_an_action_looking_further_back_does_not_find_the_older_messages(domain: Dict[str, Any]) -> None:
    tracker = make_tracker(TEXTS[-1], "inform", events=[user_event(text, "inform") for text in TEXTS[:-1]])
    said = run_action(FirstMessageOfTheSession(), tracker, domain).messages[0]["text"]
    assert said == TEXTS[-RECENT_MESSAGES] != TEXTS[0]
