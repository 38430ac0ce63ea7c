"""Outbound: splitting, interactive limits, custom JSON, and sending against a fake Graph API
(retries with backoff, template fallback on 131047, token errors, order of replies)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

import pytest
from sqlalchemy import select

from connectors import whatsapp_format as fmt
from connectors.graph_client import (
    AuthError, GraphClient, InvalidRequestError, RateLimitError, ReEngagementError, ServerError, error_from_response,
)
from connectors.whatsapp_output import WhatsAppOutput
from layanwarga import db
from layanwarga.models import MessageStatus
from wa_support import FakeGraph, Scripted, graph_error, make_settings
from whatsapp import statuses as wa_statuses

CITIZEN = "6281234567890"


def _buttons(titles: List[str]) -> List[Dict[str, Any]]:
    return [{"title": t, "payload": f"/pilih{{\"n\":{i}}}"} for i, t in enumerate(titles)]


# -- text --------------------------------------------------------------------------------------
def test_short_text_is_one_message() -> None:
    assert fmt.split_text("Halo Bapak/Ibu.") == ["Halo Bapak/Ibu."]


def test_long_text_splits_at_sentence_boundaries() -> None:
    sentence = "Laporan Bapak/Ibu tentang jalan rusak sudah kami terima dan akan diteruskan ke Dinas PUPR. "
    text = sentence * 100  # about 9,300 characters
    parts = fmt.split_text(text)
    assert len(parts) == 3
    assert all(fmt.units(p) <= 4096 for p in parts)
    assert all(p.endswith("PUPR.") for p in parts)
    assert " ".join(parts) == text.strip()


def test_split_prefers_paragraphs_and_handles_unbreakable_text() -> None:
    text = ("a" * 3000) + "\n\n" + ("b" * 3000)
    assert fmt.split_text(text) == ["a" * 3000, "b" * 3000]
    blob = "x" * 9000
    parts = fmt.split_text(blob)
    assert [len(p) for p in parts] == [4096, 4096, 808]


def test_split_counts_emoji_as_two_units() -> None:
    text = "🙏" * 3000  # 6000 UTF-16 units
    parts = fmt.split_text(text)
    assert all(fmt.units(p) <= 4096 for p in parts) and "".join(parts) == text


# -- buttons -----------------------------------------------------------------------------------
def test_three_short_unique_buttons_become_reply_buttons() -> None:
    [message] = fmt.button_messages("Pilih layanan:", _buttons(["Lapor", "Surat", "Cek status"]))
    interactive = message["interactive"]
    assert interactive["type"] == "button"
    assert [b["reply"]["title"] for b in interactive["action"]["buttons"]] == ["Lapor", "Surat", "Cek status"]
    assert interactive["action"]["buttons"][0]["reply"]["id"] == '/pilih{"n":0}'
    assert fmt.limit_problems(message) == []


@pytest.mark.parametrize(
    "titles",
    [
        ["Lapor", "Surat", "Cek status", "Petugas"],  # more than 3
        ["Lapor", "Surat keterangan tidak mampu"],  # a title over 20
        ["Ya", "ya"],  # not unique
    ],
)
def test_buttons_that_do_not_fit_become_a_list(titles: List[str]) -> None:
    messages = fmt.button_messages("Silakan pilih:", _buttons(titles))
    assert len(messages) == 1
    interactive = messages[0]["interactive"]
    assert interactive["type"] == "list"
    rows = [r for s in interactive["action"]["sections"] for r in s["rows"]]
    assert len(rows) == len(titles)
    assert fmt.limit_problems(messages[0]) == []


def test_long_row_titles_put_the_rest_in_the_description() -> None:
    [message] = fmt.button_messages("Pilih surat:", [
        {"title": "Surat Keterangan Tidak Mampu (SKTM)", "payload": "/minta_sktm"},
        {"title": "Surat Keterangan Usaha", "payload": "/izin_usaha", "description": "Untuk pelaku UMKM"},
        {"title": "Surat Keterangan Domisili", "payload": "/surat_domisili"},
        {"title": "Petugas", "payload": "/minta_petugas"},
    ])
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0]["title"] == "Surat Keterangan Tidak…"
    assert rows[0]["description"] == "…Mampu (SKTM)"
    assert rows[1] == {"id": "/izin_usaha", "title": "Surat Keterangan Usaha", "description": "Untuk pelaku UMKM"}
    assert rows[2]["title"].endswith("…") and "Domisili" in rows[2]["description"]
    assert message["interactive"]["action"]["button"] == "Pilih"
    assert fmt.limit_problems(message) == []


def test_long_menu_is_split_evenly_and_sections_are_kept() -> None:
    messages = fmt.button_messages("Menu:", _buttons([f"Pilihan {i}" for i in range(12)]))
    assert [len(m["interactive"]["action"]["sections"][0]["rows"]) for m in messages] == [6, 6]
    assert messages[0]["interactive"]["body"]["text"] == "Menu:"
    assert messages[1]["interactive"]["body"]["text"] == "Pilihan lainnya (2 dari 2):"
    ids = [r["id"] for m in messages for s in m["interactive"]["action"]["sections"] for r in s["rows"]]
    assert len(set(ids)) == 12

    sectioned = [{"title": f"Aduan {i}", "payload": f"/a{i}", "section": "Pengaduan"} for i in range(6)]
    sectioned += [{"title": f"Surat {i}", "payload": f"/s{i}", "section": "Surat keterangan"} for i in range(6)]
    messages = fmt.button_messages("Menu:", sectioned)
    assert len(messages) == 2
    assert [[s["title"] for s in m["interactive"]["action"]["sections"]] for m in messages] == [["Pengaduan"], ["Surat keterangan"]]

    mixed = fmt.button_messages("Menu:", [{"title": "A", "payload": "/a", "section": "Satu"},
                                          {"title": "B", "payload": "/b", "section": "Dua"},
                                          {"title": "C", "payload": "/c"}, {"title": "D", "payload": "/d"}])
    sections = mixed[0]["interactive"]["action"]["sections"]
    assert [s["title"] for s in sections] == ["Satu", "Dua", "Lainnya"]
    for message in messages + mixed:
        assert fmt.limit_problems(message) == []


def test_thirty_one_options_and_duplicates() -> None:
    titles = [f"Kelurahan nomor {i % 7}" for i in range(31)]
    messages = fmt.button_messages("Pilih kelurahan:", _buttons(titles))
    assert len(messages) == 4
    assert sum(len(s["rows"]) for m in messages for s in m["interactive"]["action"]["sections"]) == 31
    for message in messages:
        assert fmt.limit_problems(message) == []


def test_long_body_goes_first_as_text() -> None:
    body = "Persyaratan SKTM: " + "fotokopi KTP dan KK, surat pengantar RT/RW. " * 40
    messages = fmt.button_messages(body, _buttons(["Ya", "Tidak"]))
    assert [m["type"] for m in messages] == ["text", "interactive"]
    assert messages[1]["interactive"]["body"]["text"] == "Silakan pilih salah satu:"


def test_url_buttons_become_text_lines_and_long_payloads_get_neutral_ids() -> None:
    [message] = fmt.button_messages("Info:", [{"title": "Peta", "url": "https://maps.example/kantor"}])
    assert message == {"type": "text", "text": {"body": "Info:\nPeta: https://maps.example/kantor", "preview_url": False}}
    [message] = fmt.button_messages("Pilih:", [{"title": "Ya", "payload": "/x" + "y" * 300}])
    assert message["interactive"]["action"]["buttons"][0]["reply"]["id"] == "pilihan_1"


def test_recipient_fields() -> None:
    assert fmt.with_recipient("6281234", {"type": "text"})["to"] == "+6281234"
    bsuid = fmt.with_recipient("ID.1234abc", {"type": "text"})
    assert bsuid["recipient"] == "ID.1234abc" and "to" not in bsuid


def test_error_classes_by_code() -> None:
    def err(status: int, code: int) -> Any:
        return error_from_response(status, {"error": {"code": code, "message": "m"}})

    assert isinstance(err(400, 131047), ReEngagementError)
    assert isinstance(err(429, 130429), RateLimitError) and err(429, 130429).retryable
    assert isinstance(err(400, 131056), RateLimitError)
    assert isinstance(err(401, 190), AuthError) and isinstance(err(403, 10), AuthError)
    assert isinstance(err(403, 200), AuthError) and isinstance(err(400, 131005), AuthError)
    assert isinstance(err(500, 1), ServerError) and isinstance(error_from_response(502, "bad gateway"), ServerError)
    assert isinstance(err(400, 100), InvalidRequestError) and not err(400, 100).retryable


# -- sending ------------------------------------------------------------------------------------
def _output(graph: FakeGraph, tmp_path: Path, **overrides: Any) -> WhatsAppOutput:
    settings = make_settings(graph.url, tmp_path, **overrides)
    return WhatsAppOutput(GraphClient(settings), settings)


async def test_replies_of_one_turn_arrive_in_order(tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.send_delay = 0.01
        output = _output(graph, tmp_path)
        await output.send_response(CITIZEN, {"text": "Satu. " * 800})  # split into 2
        await output.send_response(CITIZEN, {"text": "Pilih:", "buttons": _buttons(["A", "B"])})
        await output.send_response(CITIZEN, {"image": "https://example.org/peta.png"})
        await output.send_response(CITIZEN, {"attachment": "https://example.org/syarat-sktm.pdf"})
        await output.send_response(CITIZEN, {"custom": {"type": "template", "template": {"name": "x", "language": {"code": "id"}}}})
        await output.client.close()
    kinds = [s["type"] for s in graph.sent]
    assert kinds == ["text", "text", "interactive", "image", "document", "template"]
    assert graph.sent[3]["image"] == {"link": "https://example.org/peta.png"}
    assert graph.sent[4]["document"] == {"link": "https://example.org/syarat-sktm.pdf", "filename": "syarat-sktm.pdf"}
    assert all(s["to"] == "+" + CITIZEN for s in graph.sent)
    assert output.sent_ids == [f"wamid.OUT.{i}" for i in range(1, 7)]
    times = [r.at for r in graph.requests]
    assert times == sorted(times)


async def test_image_by_media_id_and_custom_json_passthrough(tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        output = _output(graph, tmp_path)
        await output.send_image_url(CITIZEN, "1234567890")
        cta = {"type": "interactive", "interactive": {"type": "cta_url", "body": {"text": "Lacak"},
               "action": {"name": "cta_url", "parameters": {"display_text": "Buka", "url": "https://x.id"}}}}
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


async def test_retries_are_bounded_and_nothing_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
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
        client = GraphClient(settings, sleep=fake_sleep)
        output = WhatsAppOutput(client, settings)
        await output.send_text_message(CITIZEN, "Halo")
        await client.close()
    assert len(delays) == 3 and output.sent_ids == ["wamid.OUT.1"]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 2.0 <= delays[2] <= 4.0


async def test_outside_24h_window_falls_back_to_the_template(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.fail_next(graph_error(131047, "Re-engagement message"), graph_error(131047, "Re-engagement message"))
        settings = make_settings(graph.url, tmp_path, sqlite_url, fallback_template_name="layanwarga_notifikasi",
                                 fallback_template_language="id")

        async def record(message_id: str, recipient: str, text: str) -> None:
            wa_statuses.record_sent(message_id, recipient, url=sqlite_url)

        output = WhatsAppOutput(GraphClient(settings), settings, record_sent=record)
        await output.send_text_message(CITIZEN, "Status aduan ADU-2026-00042:\nsedang diproses.")
        await output.send_text_message(CITIZEN, "Pesan kedua di giliran yang sama.")
        await output.client.close()
    template = graph.sent[1]
    assert template["type"] == "template" and template["to"] == "+" + CITIZEN
    assert template["template"]["name"] == "layanwarga_notifikasi"
    assert template["template"]["language"] == {"code": "id"}
    assert template["template"]["components"][0]["parameters"][0]["text"] == "Status aduan ADU-2026-00042: sedang diproses."
    # The second reply of the turn also failed with 131047 but no second template went out.
    assert [s["type"] for s in graph.sent] == ["text", "template", "text"]
    with db.session_scope(sqlite_url) as session:
        assert session.execute(select(MessageStatus.status)).scalars().all() == ["accepted"]


async def test_token_and_permission_errors_are_logged_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, access_token="expired-token")
        output = WhatsAppOutput(GraphClient(settings), settings)
        await output.send_text_message(CITIZEN, "Halo")
        graph.fail_next(graph_error(10, "Permission denied", status=403))
        await output.client.close()
        good = _output(graph, tmp_path)
        await good.send_text_message(CITIZEN, "Halo")
        await good.client.close()
    assert len(graph.requests) == 2  # no retries on auth errors
    loud = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and "ACCESS TOKEN" in r.getMessage()]
    assert len(loud) == 2
    assert all("expired-token" not in r.getMessage() for r in caplog.records)


async def test_interactive_reply_titles_map_back(tmp_path: Path) -> None:
    """What we send as ids is what comes back in button_reply / list_reply."""
    from connectors.whatsapp_parse import decode_body, parse_body
    from connectors.whatsapp_rasa import translate
    import json

    messages = fmt.button_messages("Pilih:", [{"title": "Lapor jalan rusak", "payload": "/lapor_jalan_rusak"},
                                              {"title": "Tanya syarat", "payload": "tanya syarat"}])
    rows = messages[0]["interactive"]["action"]["buttons"]
    for row, expected in zip(rows, ["/lapor_jalan_rusak", "Tanya syarat"]):
        reply = {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": "1"}, "contacts": [{"wa_id": CITIZEN}],
            "messages": [{"from": CITIZEN, "id": "wamid.r", "timestamp": "1", "type": "interactive",
                          "interactive": {"type": "button_reply", "button_reply": row["reply"]}}]}}]}]}
        [message] = parse_body(decode_body(json.dumps(reply).encode())).messages
        assert translate(message).text == expected


async def test_pacing_waits_instead_of_hitting_the_pair_rate_limit(tmp_path: Path) -> None:
    waits: List[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async with FakeGraph() as graph:
        settings = make_settings(graph.url, tmp_path, pair_rate_burst=3, pair_rate_per_second=0.5)
        client = GraphClient(settings, sleep=fake_sleep)
        output = WhatsAppOutput(client, settings)
        for i in range(5):
            await output.send_text_message(CITIZEN, f"pesan {i}")
        await output.send_text_message("6289999999999", "orang lain")
        await client.close()
    assert len(graph.sent) == 6
    assert len(waits) == 2 and all(1.5 < w <= 4.0 for w in waits)
