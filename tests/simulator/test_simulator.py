"""The WhatsApp simulator on its own (no Rasa): it must speak Meta's protocol exactly, so these
tests check its webhooks with the connector's own signature check and parser, and its Graph API
with Meta's rules (auth, limits, media URLs, asynchronous statuses, retries, redelivery)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp
import pytest
from aiohttp import web

from connectors.whatsapp_parse import decode_body, parse_body
from connectors.whatsapp_rasa import Disposition, translate
from simulator import payloads
from simulator.config import SimulatorConfig
from simulator.server import RunningSimulator
from simulator.stack import free_port
from whatsapp.messages import template_message
from whatsapp.signature import SignatureCheck, check_signature

SECRET = "test-app-secret"
TOKEN = "test-access-token"
PHONE = "6281234567001"


@dataclass
class Receiver:
    """A stand-in for the connector's webhook: records every POST, answers as told."""

    url: str = ""
    posts: List[Dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    verify_token: str = "verify-me"
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def bodies(self) -> List[Dict[str, Any]]:
        return [json.loads(p["raw"]) for p in self.posts]

    def messages(self) -> List[Dict[str, Any]]:
        return [
            m
            for b in self.bodies()
            for e in b["entry"]
            for c in e["changes"]
            for m in c["value"].get("messages", [])
        ]

    def statuses(self) -> List[Dict[str, Any]]:
        return [
            s
            for b in self.bodies()
            for e in b["entry"]
            for c in e["changes"]
            for s in c["value"].get("statuses", [])
        ]

    async def wait(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {self.bodies()}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), 0.2)
            except asyncio.TimeoutError:
                pass


async def _with_stack(
    test: Callable[[RunningSimulator, Receiver, aiohttp.ClientSession], Awaitable[None]], **config: Any
) -> None:
    receiver = Receiver()

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        receiver.posts.append({"raw": raw, "headers": dict(request.headers)})
        receiver.arrived.set()
        if receiver.fail_next > 0:
            receiver.fail_next -= 1
            return web.Response(status=500, text="boom")
        return web.Response(text="OK")

    async def verify(request: web.Request) -> web.Response:
        if request.query.get("hub.verify_token") == receiver.verify_token:
            return web.Response(text=request.query["hub.challenge"])
        return web.Response(status=403)

    app = web.Application()
    app.router.add_post("/webhook", hook)
    app.router.add_get("/webhook", verify)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/webhook"
    settings = dict(
        host="127.0.0.1",
        port=free_port(),
        webhook_url=receiver.url,
        app_secret=SECRET,
        access_token=TOKEN,
        verify_token="verify-me",
        status_delay=0.01,
        retry_base=0.05,
        retry_max=0.2,
        retry_for=5.0,
        verify_on_start=False,
        citizens=[(PHONE, "Budi Santoso")],
    )
    settings.update(config)
    running = await RunningSimulator(SimulatorConfig(**settings)).start()
    try:
        async with aiohttp.ClientSession(base_url=running.sim.config.base_url) as http:
            await test(running, receiver, http)
    finally:
        await running.stop()
        await runner.cleanup()


def run(test: Callable[..., Awaitable[None]], **config: Any) -> None:
    asyncio.run(_with_stack(test, **config))


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def graph_send(
    http: aiohttp.ClientSession, body: Dict[str, Any], headers: Optional[Dict[str, str]] = None
) -> tuple:
    async with http.post(
        "/v21.0/100000000000001/messages", json=body, headers=AUTH if headers is None else headers
    ) as response:
        return response.status, await response.json()


def text_to(body: str, to: str = "+" + PHONE) -> Dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    }


# -- webhooks the connector receives -------------------------------------------------------------
def test_webhook_is_signed_over_raw_bytes_and_parses_like_meta() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        sim.send_text(PHONE, "Jalan rusak di Jl. Tjilik Riwut/Km 5 😢 ü")
        await receiver.wait(lambda: len(receiver.posts) == 1)
        post = receiver.posts[0]
        raw = post["raw"]
        assert check_signature(SECRET, raw, post["headers"]["X-Hub-Signature-256"]) is SignatureCheck.VALID
        assert (
            check_signature("wrong", raw, post["headers"]["X-Hub-Signature-256"]) is SignatureCheck.MISMATCH
        )
        assert post["headers"]["X-Hub-Signature"].startswith("sha1=")
        assert post["headers"]["User-Agent"] == "facebookexternalua"
        # Meta's escaping: ASCII only, "/" escaped; re-serialising would break the signature.
        assert raw.isascii() and b"\\/" in raw and b"\\ud83d\\ude22" in raw
        batch = parse_body(decode_body(raw))
        (message,) = batch.messages
        assert message.type == "text" and message.wa_id == PHONE and message.profile_name == "Budi Santoso"
        assert message.id.startswith("wamid.") and message.timestamp and message.timestamp.isdigit()
        assert message.body["body"] == "Jalan rusak di Jl. Tjilik Riwut/Km 5 😢 ü"
        assert batch.problems == [] and batch.statuses == []
        value = json.loads(raw)["entry"][0]["changes"][0]["value"]
        assert value["metadata"]["phone_number_id"] == "100000000000001"
        assert value["contacts"] == [{"profile": {"name": "Budi Santoso"}, "wa_id": PHONE}]
        # The citizen's tick: delivered once the webhook got its 200.
        await receiver.wait(lambda: sim.citizen(PHONE).messages[0].status == "delivered")

    run(body)


def test_buttons_list_rows_location_and_image_arrive_as_cloud_api_messages() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        sim.send_text(PHONE, "halo")
        buttons = {
            "messaging_product": "whatsapp",
            "to": PHONE,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Apakah sudah benar?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "/affirm", "title": "Kirim"}},
                        {"type": "reply", "reply": {"id": "/batal", "title": "Batal"}},
                    ]
                },
            },
        }
        status, sent = await graph_send(http, buttons)
        assert status == 200
        button_message_id = sent["messages"][0]["id"]
        listing = {
            "messaging_product": "whatsapp",
            "to": PHONE,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pilih"},
                "action": {
                    "button": "Pilih",
                    "sections": [
                        {
                            "rows": [
                                {
                                    "id": "/minta_sktm",
                                    "title": "SKTM",
                                    "description": "Surat Keterangan Tidak Mampu",
                                }
                            ]
                        }
                    ],
                },
            },
        }
        status, sent = await graph_send(http, listing)
        assert status == 200
        sim.send_choice(PHONE, "Kirim")
        sim.send_choice(PHONE, "SKTM")
        sim.send_location(PHONE, -2.21, 113.92, "Bundaran Besar", "Jl. Yos Sudarso")
        jpeg = b"\xff\xd8\xff\xe0" + b"0" * 200
        sim.send_image(PHONE, jpeg, "image/jpeg", "lubang")
        await receiver.wait(lambda: len(receiver.messages()) == 5)

        parsed = [m for p in receiver.posts for m in parse_body(decode_body(p["raw"])).messages]
        texts = [translate(m) for m in parsed]
        assert [t.text for t in texts[:4]] == ["halo", "/affirm", "/minta_sktm", "/kirim_lokasi"]
        assert parsed[1].context == {"from": sim.config.display_phone_number, "id": button_message_id}
        assert parsed[2].body["list_reply"]["description"] == "Surat Keterangan Tidak Mampu"
        assert texts[3].metadata["location"]["name"] == "Bundaran Besar"
        assert texts[4].disposition is Disposition.MEDIA and texts[4].media.caption == "lubang"
        assert texts[4].media.mime_type == "image/jpeg" and texts[4].media.media_id in sim.media

    run(body)


def test_username_citizen_without_phone_uses_bsuid_both_ways() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        citizen = sim.add_citizen(name="anon", user_id="ID.1234567890123456")
        sim.send_text(citizen.key, "halo")
        await receiver.wait(lambda: len(receiver.posts) == 1)
        message = json.loads(receiver.posts[0]["raw"])["entry"][0]["changes"][0]["value"]["messages"][0]
        assert "from" not in message and message["from_user_id"] == "ID.1234567890123456"
        (parsed,) = parse_body(decode_body(receiver.posts[0]["raw"])).messages
        assert parsed.sender == "ID.1234567890123456"
        status, sent = await graph_send(
            http, {**text_to("Halo"), "to": None, "recipient": "ID.1234567890123456"}
        )
        assert status == 200 and sent["contacts"][0]["user_id"] == "ID.1234567890123456"
        assert sim.citizen(citizen.key).messages[-1].view["text"] == "Halo"

    run(body)


# -- the Graph API the connector calls -----------------------------------------------------------
def test_graph_api_refuses_what_meta_refuses() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        running.sim.send_text(PHONE, "halo")
        status, error = await graph_send(http, text_to("hai"), headers={"Authorization": "Bearer nope"})
        assert status == 401 and error["error"]["code"] == 190
        status, error = await graph_send(http, text_to("hai"), headers={})
        assert status == 401
        async with http.post("/v21.0/999/messages", json=text_to("hai"), headers=AUTH) as response:
            error = await response.json()
            assert (
                response.status == 400
                and error["error"]["code"] == 100
                and error["error"]["error_subcode"] == 33
            )
        status, error = await graph_send(http, {**text_to("x" * 4097)})
        assert status == 400 and error["error"]["code"] == 131009
        too_many = {
            "messaging_product": "whatsapp",
            "to": PHONE,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": str(i), "title": f"Pilihan {i}"}} for i in range(4)
                    ]
                },
            },
        }
        status, error = await graph_send(http, too_many)
        assert status == 400 and "between 1 and 3" in error["error"]["error_data"]["details"]
        long_row = {
            "messaging_product": "whatsapp",
            "to": PHONE,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "?"},
                "action": {
                    "button": "Pilih",
                    "sections": [{"rows": [{"id": "a", "title": "Judul baris yang terlalu panjang"}]}],
                },
            },
        }
        status, error = await graph_send(http, long_row)
        assert status == 400 and "rows[0]['title']" in error["error"]["error_data"]["details"]
        status, error = await graph_send(http, {"to": PHONE, "type": "text", "text": {"body": "hai"}})
        assert status == 400 and "messaging_product" in error["error"]["message"]
        status, sent = await graph_send(http, text_to("Halo Bapak/Ibu"))
        assert status == 200
        assert sent["messaging_product"] == "whatsapp"
        assert sent["contacts"] == [{"input": "+" + PHONE, "wa_id": PHONE}]
        assert sent["messages"][0]["id"].startswith("wamid.")
        assert running.sim.stats()["graph_errors"] == 5  # (auth failures never reach the log)

    run(body)


def test_mark_read_turns_ticks_blue_and_shows_typing() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        first = sim.send_text(PHONE, "satu")
        second = sim.send_text(PHONE, "dua")
        await receiver.wait(lambda: second.status == "delivered")
        status, result = await graph_send(
            http,
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": second.id,
                "typing_indicator": {"type": "text"},
            },
        )
        assert status == 200 and result == {"success": True}
        assert first.status == "read" and second.status == "read"  # earlier messages too
        assert sim.citizen(PHONE).typing_until > time.time()
        await graph_send(http, text_to("Baik"))
        assert sim.citizen(PHONE).typing_until == 0.0  # the reply ends the typing indicator
        status, error = await graph_send(
            http, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}
        )
        assert status == 400
        assert sim.read_marks[second.id] == 1

    run(body)


def test_media_download_needs_the_token_and_a_fresh_url() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        data = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
        message = sim.send_image(PHONE, data, "image/jpeg")
        media_id = message.content["image"]["id"]
        async with http.get(f"/v21.0/{media_id}", params={"phone_number_id": "100000000000001"}) as response:
            assert response.status == 401
        async with http.get(f"/v21.0/{media_id}", headers=AUTH) as response:
            info = await response.json()
        assert info["mime_type"] == "image/jpeg" and info["file_size"] == len(data) and info["id"] == media_id
        assert len(info["sha256"]) == 64
        async with aiohttp.ClientSession() as plain:
            async with plain.get(info["url"]) as response:
                assert response.status == 401
            async with plain.get(info["url"], headers=AUTH) as response:
                assert response.status == 200 and await response.read() == data
                assert response.headers["Content-Type"] == "image/jpeg"
            async with plain.get(info["url"].replace("hash=", "hash=0"), headers=AUTH) as response:
                assert response.status == 404
        async with http.get("/v21.0/1234", headers=AUTH) as response:
            assert response.status == 400

    run(body)

    async def expired(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        message = running.sim.send_image(PHONE, b"\xff\xd8\xff" + b"1" * 10, "image/jpeg")
        async with http.get(f"/v21.0/{message.content['image']['id']}", headers=AUTH) as response:
            url = (await response.json())["url"]
        async with aiohttp.ClientSession() as plain:
            async with plain.get(url, headers=AUTH) as response:
                assert response.status == 404

    run(expired, media_url_ttl=-1)


def test_business_media_upload_then_send_by_id() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        running.sim.send_text(PHONE, "halo")
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", "image/png")
        form.add_field(
            "file", b"\x89PNG\r\n\x1a\n" + b"0" * 50, filename="peta.png", content_type="image/png"
        )
        async with http.post("/v21.0/100000000000001/media", data=form, headers=AUTH) as response:
            assert response.status == 200
            media_id = (await response.json())["id"]
        image = {
            "messaging_product": "whatsapp",
            "to": PHONE,
            "type": "image",
            "image": {"id": media_id, "caption": "Peta"},
        }
        assert (await graph_send(http, image))[0] == 200
        status, error = await graph_send(http, {**image, "image": {"id": "404404"}})
        assert status == 400 and error["error"]["code"] == 131053
        async with http.delete(f"/v21.0/{media_id}", headers=AUTH) as response:
            assert await response.json() == {"success": True}

    run(body)


# -- statuses, the 24-hour window, retries, redelivery ------------------------------------------
def test_statuses_sent_delivered_read_like_meta() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        running.sim.send_text(PHONE, "halo")
        _, sent = await graph_send(http, text_to("Halo Bapak/Ibu"))
        message_id = sent["messages"][0]["id"]
        await receiver.wait(
            lambda: [s["status"] for s in receiver.statuses()] == ["sent", "delivered", "read"]
        )
        statuses = receiver.statuses()
        assert all(s["id"] == message_id and s["recipient_id"] == PHONE for s in statuses)
        assert statuses[0]["conversation"]["origin"]["type"] == "service"
        assert statuses[0]["pricing"]["pricing_model"] == "PMP"
        for post in receiver.posts:
            assert (
                check_signature(SECRET, post["raw"], post["headers"]["X-Hub-Signature-256"])
                is SignatureCheck.VALID
            )
        parsed = parse_body(decode_body(receiver.posts[-1]["raw"]))
        assert parsed.messages == [] and parsed.statuses[0].status == "read"

    run(body, auto_read=True)


def test_outside_the_24_hour_window_fails_later_with_131047() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        sim.send_text(PHONE, "halo")
        await receiver.wait(lambda: len(receiver.posts) == 1)
        sim.age_window(PHONE, 25)
        status, sent = await graph_send(http, text_to("Laporan Bapak/Ibu sudah selesai"))
        assert status == 200  # Meta accepts the request...
        await receiver.wait(lambda: len(receiver.statuses()) == 1)
        (failed,) = receiver.statuses()  # ...and reports the failure in a status webhook
        assert failed["id"] == sent["messages"][0]["id"] and failed["status"] == "failed"
        assert failed["errors"][0]["code"] == 131047
        template = {
            "messaging_product": "whatsapp",
            "to": PHONE,
            "type": "template",
            "template": template_message("layanwarga_notifikasi", "id", "Laporan Bapak/Ibu sudah selesai")[
                "template"
            ],
        }
        status, sent = await graph_send(http, template)
        assert status == 200 and sent["messages"][0]["message_status"] == "accepted"
        await receiver.wait(lambda: [s["status"] for s in receiver.statuses()][-1] == "delivered")

    run(body)


def test_failed_webhooks_are_retried_in_order_per_citizen() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        receiver.fail_next = 2
        first = sim.send_text(PHONE, "pertama")
        second = sim.send_text(PHONE, "kedua")
        await receiver.wait(lambda: second.status == "delivered")
        bodies = [m["text"]["body"] for m in receiver.messages()]
        assert bodies == ["pertama", "pertama", "pertama", "kedua"]
        assert first.attempts == 3 and second.attempts == 1
        assert sim.stats()["webhook_failures"] == 2

    run(body)


def test_redelivery_repeats_the_exact_bytes() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        message = sim.send_text(PHONE, "jam buka kantor?")
        await receiver.wait(lambda: len(receiver.posts) == 1)
        sim.redeliver(message.id)
        await receiver.wait(lambda: len(receiver.posts) == 2)
        assert receiver.posts[0]["raw"] == receiver.posts[1]["raw"]
        assert (
            receiver.posts[0]["headers"]["X-Hub-Signature-256"]
            == receiver.posts[1]["headers"]["X-Hub-Signature-256"]
        )

    run(body)


def test_verification_handshake() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        assert await running.sim.verify_webhook() is True
        running.sim.config.verify_token = "wrong"
        assert await running.sim.verify_webhook() is False
        assert running.sim.webhook_note.startswith("ditolak")

    run(body)


def test_chat_page_and_control_api() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        async with http.get("/") as response:
            page = await response.text()
            assert response.status == 200 and "Ketik pesan" in page
        async with http.get("/static/app.js") as response:
            assert response.status == 200
        async with http.post(
            "/sim/api/citizens", json={"name": "Dewi", "wa_id": "62 812-3456-7890"}
        ) as response:
            citizen = await response.json()
            assert citizen["key"] == "6281234567890"
        async with http.post(
            "/sim/api/citizens", json={"name": "Tanpa nomor", "username_only": True}
        ) as response:
            assert (await response.json())["user_id"].startswith("ID.")
        async with http.post("/sim/api/citizens", json={"name": "x", "wa_id": "12"}) as response:
            assert response.status == 400
        async with http.post("/sim/api/citizens/6281234567890/text", json={"text": "halo"}) as response:
            sent = await response.json()
        async with http.get("/sim/api/citizens/6281234567890/messages", params={"after": 0}) as response:
            assert [m["id"] for m in (await response.json())["messages"]] == [sent["id"]]
        async with http.post(
            "/sim/api/citizens/6281234567890/reply", json={"title": "Tidak ada"}
        ) as response:
            assert response.status == 404
        async with http.post("/sim/api/citizens/0000/text", json={"text": "halo"}) as response:
            assert response.status == 404
        async with http.post(
            "/sim/api/citizens/6281234567890/location", json={"latitude": 200, "longitude": 1}
        ) as response:
            assert response.status == 400
        async with http.get("/sim/api/events") as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            line = await response.content.readline()
            assert line.startswith(b"event: hello")

    run(body)


@pytest.mark.parametrize("version", ["v21.0", "v24.0", "v9.0"])
def test_any_graph_version_is_accepted(version: str) -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        running.sim.send_text(PHONE, "halo")
        async with http.post(
            f"/{version}/100000000000001/messages", json=text_to("hai"), headers=AUTH
        ) as response:
            assert response.status == 200

    run(body)


def test_ids_look_like_metas() -> None:
    ids = {payloads.wamid(PHONE) for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("wamid.HBg") for i in ids)
    assert payloads.media_id().isdigit() and len(payloads.media_id()) == 16


# -- templates: rendered from their approved form, checked like Meta ----------------------------------
def announcement(has_image: bool) -> Dict[str, Any]:
    """The template object the announcement worker sends (layanwarga.subscriptions), for this
    institution's approved template."""
    from layanwarga.config import get_institution
    from layanwarga.subscriptions import Rendered, template_object

    template = get_institution().subscriptions.template
    rendered = Rendered(
        topic_label="Info bencana",
        text_parameter="Waspada banjir malam ini.",
        body="",
        footer=template.footer,
        stop_button=template.stop_button,
        has_image=has_image,
        template_name=template.image_name if has_image else template.name,
        template_language=template.language,
    )
    return template_object(rendered, "MEDIA" if has_image else None)


def test_an_announcement_is_shown_as_its_approved_template_and_its_button_stops_it() -> None:
    """The template message carries only parameters: the citizen sees the approved header image,
    the body with them, the footer and the 'Berhenti langganan' button, whose tap arrives as a
    'button' message with the payload the business gave it."""

    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        picture = sim.store_media(b"\xff\xd8\xff\xe0 poster", "image/jpeg", owner="bot")
        template = announcement(has_image=True)
        template["components"][0]["parameters"][0]["image"]["id"] = picture.id
        status, sent = await graph_send(
            http, {"messaging_product": "whatsapp", "to": PHONE, "type": "template", "template": template}
        )
        assert status == 200 and sent["messages"][0]["message_status"] == "accepted"
        (shown,) = [m for m in sim.conversation(PHONE) if m["author"] == "bot"]
        view = shown["view"]
        assert view["text"] == "📢 *Info bencana* – Kelurahan Langkai\n\nWaspada banjir malam ini."
        assert view["header_media"] == {"type": "image", "id": picture.id, "link": None, "filename": None}
        assert view["footer"] == "Ketik BERHENTI LANGGANAN untuk berhenti"
        assert view["buttons"] == [
            {"id": "/berhenti_langganan", "title": "Berhenti langganan", "quick_reply": True}
        ]

        tap = sim.send_choice(PHONE, "Berhenti langganan")
        await receiver.wait(lambda: any(m["type"] == "button" for m in receiver.messages()))
        (button,) = [m for m in receiver.messages() if m["type"] == "button"]
        assert button["button"] == {"payload": "/berhenti_langganan", "text": "Berhenti langganan"}
        assert button["context"]["id"] == shown["id"] and button["id"] == tap.id
        message = parse_body(decode_body(receiver.posts[-1]["raw"])).messages[0]
        translation = translate(message)
        assert translation.disposition is Disposition.RASA and translation.text == "/berhenti_langganan"

    run(body)


def test_the_window_template_shows_the_notification_text() -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        message = template_message("layanwarga_notifikasi", "id", "Laporan ADU-2026-00001 sudah selesai.")
        status, _ = await graph_send(http, {"messaging_product": "whatsapp", "to": PHONE, **message})
        assert status == 200
        (shown,) = [m for m in running.sim.conversation(PHONE) if m["author"] == "bot"]
        assert shown["view"]["text"] == "Laporan ADU-2026-00001 sudah selesai."
        assert "buttons" not in shown["view"] and "footer" not in shown["view"]

    run(body)


@pytest.mark.parametrize(
    "change,code",
    [
        (lambda t: t.update(name="pengumuman_tidak_terdaftar"), 132001),
        (lambda t: t.update(language={"code": "en_US"}), 132001),
        (lambda t: t["components"][1]["parameters"].pop(), 132000),
        (lambda t: t["components"].pop(0), 132012),
    ],
)
def test_a_template_meta_would_refuse_is_refused(change: Callable[[Dict[str, Any]], Any], code: int) -> None:
    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        picture = running.sim.store_media(b"poster", "image/jpeg", owner="bot")
        template = announcement(has_image=True)
        template["components"][0]["parameters"][0]["image"]["id"] = picture.id
        change(template)
        status, error = await graph_send(
            http, {"messaging_product": "whatsapp", "to": PHONE, "type": "template", "template": template}
        )
        assert status >= 400 and error["error"]["code"] == code
        assert running.sim.conversation(PHONE) == []

    run(body)


def test_media_and_interactive_components_are_shown_as_sent() -> None:
    """Every message type and component the connector sends: a document with its name, video,
    voice note and sticker as files, an interactive message's image header and footer, a link
    button, each as the citizen's WhatsApp shows it."""

    async def body(running: RunningSimulator, receiver: Receiver, http: aiohttp.ClientSession) -> None:
        sim = running.sim
        sim.send_text(PHONE, "halo")
        await receiver.wait(lambda: len(receiver.posts) == 1)
        pdf = sim.store_media(b"%PDF-1.4 surat", "application/pdf", owner="bot", filename="surat.pdf")
        sends = [
            {
                "type": "document",
                "document": {"id": pdf.id, "filename": "SKTM-2026-00007.pdf", "caption": "Surat Bapak/Ibu"},
            },
            {"type": "video", "video": {"link": "https://example.org/panduan.mp4", "caption": "Panduan"}},
            {"type": "audio", "audio": {"link": "https://example.org/pesan.ogg"}},
            {"type": "sticker", "sticker": {"link": "https://example.org/terima-kasih.webp"}},
            {
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "header": {"type": "image", "image": {"link": "https://example.org/peta.jpg"}},
                    "body": {"text": "Lokasi posko banjir"},
                    "footer": {"text": "Kelurahan Langkai"},
                    "action": {"buttons": [{"type": "reply", "reply": {"id": "/affirm", "title": "Oke"}}]},
                },
            },
            {
                "type": "interactive",
                "interactive": {
                    "type": "cta_url",
                    "body": {"text": "Formulir lengkap"},
                    "action": {
                        "name": "cta_url",
                        "parameters": {"display_text": "Buka formulir", "url": "https://example.org/f"},
                    },
                },
            },
        ]
        for message in sends:
            status, _ = await graph_send(http, {"messaging_product": "whatsapp", "to": PHONE, **message})
            assert status == 200
        views = [m["view"] for m in sim.conversation(PHONE) if m["author"] == "bot"]
        assert views[0]["media"] == {
            "type": "document",
            "id": pdf.id,
            "link": None,
            "caption": "Surat Bapak/Ibu",
            "filename": "SKTM-2026-00007.pdf",
        }
        assert [v["media"]["type"] for v in views[1:4]] == ["video", "audio", "sticker"]
        assert (
            views[4]["header_media"]["link"] == "https://example.org/peta.jpg"
            and views[4]["footer"] == "Kelurahan Langkai"
        )
        assert views[5]["cta"] == {"display_text": "Buka formulir", "url": "https://example.org/f"}

    run(body)
