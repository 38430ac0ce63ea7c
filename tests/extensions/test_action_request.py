"""Rasa's posts to the action server (rasa_extensions.action_request): the same JSON document
when orjson encodes it, over real HTTP, and what orjson refuses still goes out; only the
recent events, with which the project's actions answer as they do to the whole session."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk.executor import ActionExecutor

from rasa_extensions.action_request import (
    RECENT_MESSAGES,
    action_call_format,
    encode,
    original_call_format,
    recent_events,
)

ROOT = Path(__file__).resolve().parents[2]

TRACKER_BODY: Dict[str, Any] = {
    "next_action": "validate_form_lapor_jalan_rusak",
    "sender_id": "6281234567890",
    "tracker": {
        "events": [
            UserUttered(
                "jalan di depan rumah rusak parah, bolong² 🙏",
                {"name": "lapor_jalan_rusak", "confidence": np.float64(0.93)},
                metadata={"whatsapp": {"contact_name": "Bu Siti", "wa_id": "6281234567890"}},
            ).as_dict(),
            ActiveLoop("form_lapor_jalan_rusak").as_dict(),
            SlotSet("lokasi", None).as_dict(),
            BotUttered(
                "Di mana lokasinya, Bapak/Ibu?", {"buttons": [{"title": "Batal", "payload": "/batal"}]}
            ).as_dict(),
        ],
        "slots": {"lokasi": None, "foto": ["media:1", "media:2"]},
    },
    "domain": {"intents": ["greet"], "version": "3.1"},
}


def test_the_encoded_body_is_the_same_json_document() -> None:
    assert json.loads(encode(TRACKER_BODY)) == json.loads(json.dumps(TRACKER_BODY, default=float))
    assert "🙏".encode() in encode(TRACKER_BODY)


def test_what_orjson_refuses_is_encoded_by_the_standard_library() -> None:
    body = {1: "a key that is not a string", "b": [1.5, None]}
    assert json.loads(encode(body)) == json.loads(json.dumps(body))


def test_the_action_server_receives_the_document_as_json() -> None:
    received: List[Dict[str, Any]] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append({"content_type": request.content_type, "body": await request.json()})
        return web.json_response({"events": [], "responses": []})

    async def scenario() -> Any:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
            return await endpoint.request(json=TRACKER_BODY, method="post")
        finally:
            await runner.cleanup()

    answer = asyncio.run(scenario())
    assert answer == {"events": [], "responses": []}
    assert received[0]["content_type"] == "application/json"
    assert received[0]["body"] == json.loads(json.dumps(TRACKER_BODY, default=float))


# --- the recent part of the session (action_call_format) ---------------------------------------

WA_METADATA = {"profile_name": "Bu Siti", "wa_id": "6281234567890"}


def long_session(domain: Domain, chats: int, fallbacks: int = 0) -> DialogueStateTracker:
    """A session of ``chats`` understood messages (a slot set in the first), then ``fallbacks``
    misunderstood ones, each answered by the fallback and reverted as Rasa does."""
    events: List[Any] = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]
    for turn in range(chats):
        events += [
            UserUttered(
                f"jam buka kapan {turn}", {"name": "jam_layanan", "confidence": 0.97}, metadata=WA_METADATA
            ),
            ActionExecuted("action_jam_layanan"),
            BotUttered("Senin–Kamis 07.30–16.00"),
        ]
        if turn == 0:
            events.append(SlotSet("aduan_media", [7]))
        events.append(ActionExecuted("action_listen"))
    for turn in range(fallbacks):
        events += [
            UserUttered(f"qwerty {turn}", {"name": "nlu_fallback", "confidence": 0.3}, metadata=WA_METADATA),
            ActionExecuted("action_default_fallback"),
            UserUtteranceReverted(),
            ActionExecuted("action_listen"),
        ]
    return DialogueStateTracker.from_events("6281234567890", events, domain.slots)


def project_domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


def test_recent_events_start_at_the_tenth_last_message() -> None:
    tracker = long_session(project_domain(), chats=30)
    recent = recent_events(tracker.events)
    assert isinstance(recent[0], UserUttered) and recent[-1] is tracker.events[-1]
    assert sum(isinstance(e, UserUttered) for e in recent) == RECENT_MESSAGES
    short = long_session(project_domain(), chats=3)
    assert recent_events(short.events) == list(short.events)


def test_the_body_is_rasas_own_but_for_the_older_events() -> None:
    domain = project_domain()
    tracker = long_session(domain, chats=40)
    action = RemoteAction("action_default_fallback", EndpointConfig("http://127.0.0.1:1/webhook"))
    ours, rasas = action_call_format(action, tracker, domain), original_call_format(action, tracker, domain)
    assert len(rasas["tracker"]["events"]) > 4 * len(ours["tracker"]["events"])
    assert ours["tracker"]["events"] == rasas["tracker"]["events"][-len(ours["tracker"]["events"]) :]
    ours["tracker"].pop("events"), rasas["tracker"].pop("events")
    assert ours == rasas
    assert ours["tracker"]["slots"]["aduan_media"] == [7]  # set at the first message, long out of the window


@pytest.mark.parametrize(
    "action_name, fallbacks",
    [
        ("action_default_fallback", 1),
        ("action_default_fallback", 2),
        ("action_default_fallback", 3),
        ("action_session_start", 0),
    ],
)
def test_the_project_actions_answer_the_same_to_the_recent_part(action_name: str, fallbacks: int) -> None:
    """The actions that look back (fallbacks in a row, slots carried into a new session) answer
    a long session the same from the recent events as from all of them."""
    domain = project_domain()
    tracker = long_session(domain, chats=30, fallbacks=fallbacks)
    action = RemoteAction(action_name, EndpointConfig("http://127.0.0.1:1/webhook"))
    executor = ActionExecutor()
    executor.register_package("actions")

    def answer(body: Dict[str, Any]) -> Any:
        result = asyncio.run(executor.run(json.loads(encode(body))))
        return result["events"], result["responses"]

    ours = answer(action_call_format(action, tracker, domain))
    assert ours == answer(original_call_format(action, tracker, domain))
    if action_name == "action_session_start":
        assert {"event": "slot", "name": "aduan_media", "value": [7], "timestamp": None} in ours[0]
