"""Outbound through the Rasa output channel against a fake Graph API: order of replies, media and
custom JSON, retries with backoff, template fallback on 131047, token errors, pacing. (Message
bodies and the error table have their own tests in tests/whatsapp/.)"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

import pytest
from sqlalchemy import select

from connectors.whatsapp_output import WhatsAppOutput
from layanwarga import db
from layanwarga.models import MessageStatus
from wa_support import FakeGraph, Scripted, graph_error, make_settings
from whatsapp import messages as fmt, statuses as wa_statuses
from whatsapp.aio import AsyncClient

CITIZEN = "6281234567890"


def _buttons(titles: List[str]) -> List[Dict[str, Any]]:
    return [{"title": t, "payload": f'/pilih{{"n":{i}}}'} for i, t in enumerate(titles)]


# -- sending ------------------------------------------------------------------------------------
def _output(graph: FakeGraph, tmp_path: Path, **overrides: Any) -> WhatsAppOutput:
    settings = make_settings(graph.url, tmp_path, **overrides)
    return WhatsAppOutput(AsyncClient(settings.graph), settings)


async def test_replies_of_one_turn_arrive_in_order(tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.send_delay = 0.01
        output = _output(graph, tmp_path)
        await output.send_response(CITIZEN, {"text": "Satu. " * 800})  # split into 2
        await output.send_response(CITIZEN, {"text": "Pilih:", "buttons": _buttons(["A", "B"])})
        await output.send_response(CITIZEN, {"image": "https://example.org/peta.png"})
        await output.send_response(CITIZEN, {"attachment": "https://example.org/syarat-sktm.pdf"})
        await output.send_response(
            CITIZEN, {"custom": {"type": "template", "template": {"name": "x", "language": {"code": "id"}}}}
        )
        await output.client.close()
    kinds = [s["type"] for s in graph.sent]
    assert kinds == ["text", "text", "interactive", "image", "document", "template"]
    assert graph.sent[3]["image"] == {"link": "https://example.org/peta.png"}
    assert graph.sent[4]["document"] == {
        "link": "https://example.org/syarat-sktm.pdf",
        "filename": "syarat-sktm.pdf",
    }
    assert all(s["to"] == "+" + CITIZEN for s in graph.sent)
    assert output.sent_ids == [f"wamid.OUT.{i}" for i in range(1, 7)]
    times = [r.at for r in graph.requests]
    assert times == sorted(times)


async def test_image_by_media_id_and_custom_json_passthrough(tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        output = _output(graph, tmp_path)
        await output.send_image_url(CITIZEN, "1234567890")
        cta = {
            "type": "interactive",
            "interactive": {
                "type": "cta_url",
                "body": {"text": "Lacak"},
                "action": {"name": "cta_url", "parameters": {"display_text": "Buka", "url": "https://x.id"}},
            },
        }
        await output.send_custom_json(CITIZEN, {"whatsapp": cta})
        await output.send_custom_json(CITIZEN, {"no": "type"})
        await output.client.close()
    assert graph.sent[0]["image"] == {"id": "1234567890"}
    assert graph.sent[1]["interactive"] == cta["interactive"] and graph.sent[1]["to"] == "+" + CITIZEN
    assert len(graph.sent) == 2


async def test_retries_with_backoff_on_429_130429_and_5xx(tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.fail_next(
            Scripted(429, {"error": {"code": 130429, "message": "Rate limit hit"}}, {"Retry-After": "0"}),
            Scripted(500, {"error": {"code": 1, "message": "unknown"}}),
            Scripted(503, "unavailable"),
        )
        output = _output(graph, tmp_path)
        await output.send_text_message(CITIZEN, "Halo")
        await output.client.close()
    posts = [r for r in graph.requests if r.method == "POST"]
    assert len(posts) == 4 and output.sent_ids == ["wamid.OUT.1"]


async def test_retries_are_bounded_and_nothing_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeGraph() as graph:
        graph.fail_next(*[Scripted(500, {"error": {"code": 2, "message": "down"}})] * 10)
        output = _output(graph, tmp_path, max_attempts=3)
        await output.send_text_message(CITIZEN, "Halo")  # must not raise
        await output.client.close()
    assert len(graph.requests) == 3 and output.sent_ids == []
    assert any(r.levelno == logging.ERROR and "not sent" in r.getMessage() for r in caplog.records)


async def test_backoff_grows_exponentially(tmp_path: Path) -> None:
    delays: List[float] = []

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    async with FakeGraph() as graph:
        graph.fail_next(*[graph_error(131056, "pair rate limit")] * 3)
        settings = make_settings(graph.url, tmp_path, backoff_base=1.0, backoff_max=100.0, max_attempts=4)
        client = AsyncClient(settings.graph, sleep=fake_sleep)
        output = WhatsAppOutput(client, settings)
        await output.send_text_message(CITIZEN, "Halo")
        await client.close()
    assert len(delays) == 3 and output.sent_ids == ["wamid.OUT.1"]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 2.0 <= delays[2] <= 4.0


async def test_outside_24h_window_falls_back_to_the_template(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.fail_next(
            graph_error(131047, "Re-engagement message"), graph_error(131047, "Re-engagement message")
        )
        settings = make_settings(
            graph.url,
            tmp_path,
            sqlite_url,
            fallback_template_name="layanwarga_notifikasi",
            fallback_template_language="id",
        )

        async def record(message_id: str, recipient: str, text: str) -> None:
            wa_statuses.record_sent(message_id, recipient, url=sqlite_url)

        output = WhatsAppOutput(AsyncClient(settings.graph), settings, record_sent=record)
        await output.send_text_message(CITIZEN, "Status aduan ADU-2026-00042:\nsedang diproses.")
        await output.send_text_message(CITIZEN, "Pesan kedua di giliran yang sama.")
        await output.client.close()
    template = graph.sent[1]
    assert template["type"] == "template" and template["to"] == "+" + CITIZEN
    assert template["template"]["name"] == "layanwarga_notifikasi"
    assert template["template"]["language"] == {"code": "id"}
    assert (
        template["template"]["components"][0]["parameters"][0]["text"]
        == "Status aduan ADU-2026-00042: sedang diproses."
    )
    # The second reply of the turn also failed with 131047 but no second template went out.
    assert [s["type"] for s in graph.sent] == ["text", "template", "text"]
    with db.session_scope(sqlite_url) as session:
        assert session.execute(select(MessageStatus.status)).scalars().all() == ["accepted"]


async def test_token_and_permission_errors_are_logged_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, access_token="expired-token")
        output = WhatsAppOutput(AsyncClient(settings.graph), settings)
        await output.send_text_message(CITIZEN, "Halo")
        graph.fail_next(graph_error(10, "Permission denied", status=403))
        await output.client.close()
        good = _output(graph, tmp_path)
        await good.send_text_message(CITIZEN, "Halo")
        await good.client.close()
    assert len(graph.requests) == 2  # no retries on auth errors
    loud = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and "ACCESS TOKEN" in r.getMessage()
    ]
    assert len(loud) == 2
    assert all("expired-token" not in r.getMessage() for r in caplog.records)


async def test_interactive_reply_titles_map_back(tmp_path: Path) -> None:
    """What we send as ids is what comes back in button_reply / list_reply."""
    import json

    from connectors.whatsapp_parse import decode_body, parse_body
    from connectors.whatsapp_rasa import translate

    messages = fmt.button_messages(
        "Pilih:",
        [
            {"title": "Lapor jalan rusak", "payload": "/lapor_jalan_rusak"},
            {"title": "Tanya syarat", "payload": "tanya syarat"},
        ],
    )
    rows = messages[0]["interactive"]["action"]["buttons"]
    for row, expected in zip(rows, ["/lapor_jalan_rusak", "Tanya syarat"]):
        reply = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "metadata": {"phone_number_id": "1"},
                                "contacts": [{"wa_id": CITIZEN}],
                                "messages": [
                                    {
                                        "from": CITIZEN,
                                        "id": "wamid.r",
                                        "timestamp": "1",
                                        "type": "interactive",
                                        "interactive": {"type": "button_reply", "button_reply": row["reply"]},
                                    }
                                ],
                            },
                        }
                    ]
                }
            ],
        }
        [message] = parse_body(decode_body(json.dumps(reply).encode())).messages
        assert translate(message).text == expected


async def test_pacing_waits_instead_of_hitting_the_pair_rate_limit(tmp_path: Path) -> None:
    waits: List[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, pair_rate_burst=3, pair_rate_per_second=0.5)
        client = AsyncClient(settings.graph, sleep=fake_sleep)
        output = WhatsAppOutput(client, settings)
        for i in range(5):
            await output.send_text_message(CITIZEN, f"pesan {i}")
        await output.send_text_message("6289999999999", "orang lain")
        await client.close()
    assert len(graph.sent) == 6
    assert len(waits) == 2 and all(1.5 < w <= 4.0 for w in waits)
