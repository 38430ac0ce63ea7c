"""Rasa's posts to the action server carry the same JSON document when orjson encodes them
(rasa_extensions.action_request), over real HTTP, and what orjson refuses still goes out."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import numpy as np
from aiohttp import web
from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig

import rasa_extensions  # noqa: F401 - importing the package installs the encoder
from rasa_extensions.action_request import encode

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
            BotUttered("Di mana lokasinya, Bapak/Ibu?", {"buttons": [{"title": "Batal", "payload": "/batal"}]}).as_dict(),
        ],
        "slots": {"lokasi": None, "foto": ["media:1", "media:2"]},
    },
    "domain": {"intents": ["greet"], "version": "3.1"},
}


def test_the_encoded_body_is_the_same_json_document() -> None:
    assert json.loads(encode(TRACKER_BODY)) == json.loads(json.dumps(TRACKER_BODY, default=float))
    assert "🙏".encode("utf-8") in encode(TRACKER_BODY)


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
