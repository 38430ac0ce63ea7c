"""Run real actions against trackers built like the ones Rasa sends to the action server: the
events from the citizen's ``RECENT_MESSAGES``-th last message on, cut by the function that cuts
Rasa's requests (rasa_extensions.action_request), so an action that looks further back fails
its test as it would fail in production."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from rasa_extensions.action_request import recent_events

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain")).as_dict()


def user_event(
    text: str,
    intent: str,
    confidence: float = 0.99,
    entities: Optional[List[dict]] = None,
    metadata: Optional[dict] = None,
) -> Dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
            "text": text,
        },
        "metadata": metadata or {},
    }


def make_tracker(
    text: str = "",
    intent: str = "inform",
    *,
    sender: str = "6281234567890",
    slots: Optional[Dict[str, Any]] = None,
    confidence: float = 0.99,
    entities: Optional[List[dict]] = None,
    metadata: Optional[dict] = None,
    active_loop: Optional[str] = None,
    events: Optional[List[dict]] = None,
) -> Tracker:
    """A tracker whose latest message is ``text`` classified as ``intent``, after ``events``;
    of those the action gets what Rasa would send it (``recent_events``)."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    history = list(events or []) + [user_event(text, intent, confidence, entities, metadata)]
    return Tracker(
        sender_id=sender,
        slots=dict(slots or {}),
        latest_message=latest,
        events=recent_events(history),
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


class Run:
    """The result of one action run: its events and what it said."""

    def __init__(self, events: List[Dict[str, Any]], dispatcher: CollectingDispatcher) -> None:
        self.events = events
        self.messages = dispatcher.messages

    @property
    def slots(self) -> Dict[str, Any]:
        return {e["name"]: e["value"] for e in self.events if e.get("event") == "slot"}

    @property
    def responses(self) -> List[Optional[str]]:
        return [m.get("response") for m in self.messages]

    def said(self, response: str) -> Dict[str, Any]:
        for message in self.messages:
            if message.get("response") == response:
                return message
        raise AssertionError(f"{response} not sent; sent {self.responses}")


def run_action(action: Action, tracker: Tracker, domain: Dict[str, Any]) -> Run:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return Run(events, dispatcher)
