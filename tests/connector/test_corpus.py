"""The 43 sample webhook bodies, each POSTed (signed) to the real webhook and fully processed.

For every body: 200, no error logged, and the right thing done: user text to Rasa with the
channel's metadata, statuses recorded (never text), system messages updating the citizen's
identity, reactions and revokes not reaching the assistant.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

import pytest
from sqlalchemy import delete, select

from layanwarga import db
from layanwarga.models import Citizen, ConversationMessage, Media, MessageStatus, ProcessedMessage
from wa_support import (
    SAMPLE_JPEG,
    FakeGraph,
    RunningChannel,
    make_settings,
    payload,
    payload_bytes,
    payload_names,
    register_sample_media,
)

UNSUPPORTED = "/pesan_tidak_didukung"

# What the assistant receives for each body, in order (empty: nothing reaches Rasa).
EXPECTED_TEXTS: Dict[str, List[str]] = {
    "audio_file_forwarded": [UNSUPPORTED],
    "audio_voice_note": [UNSUPPORTED],
    # Three messages, one an exact duplicate (dropped), plus one from another citizen.
    "batch_synthetic_multi_message_multi_entry": ["Does it come in another color?", "Cancel", "hi"],
    # Two different messages sharing the placeholder id wamid.ID: both kept.
    "batch_two_changes_netflie_fixture": ["MESSAGE_BODY", "MESSAGE_BODY2"],
    "button_template_quick_reply": ["Unsubscribe"],
    "button_template_quick_reply_no_context": ["title"],
    "contacts_shared": [
        "Kontak dibagikan: Chandler Bing (+1 555-555-5555); Monica (+1 666-666-6666); Rachel Green (+1 777-777-7777)"
    ],
    "document_pdf": ["caption"],
    "image_with_caption_and_url": ["Taj Mahal"],
    "interactive_button_reply": ["Cancel"],
    "interactive_list_reply": ["Priority Mail Express"],
    "interactive_message_value_errors_131000": [UNSUPPORTED],
    "interactive_nfm_reply_flow": [UNSUPPORTED],
    "location_current_no_name": ["/kirim_lokasi"],
    "location_named_place": ["/kirim_lokasi"],
    "order": [UNSUPPORTED],
    "reaction": [],
    "reaction_removed": [],
    "reaction_removed_empty_emoji": [],
    "revoke_deleted_message": [],
    "status_delivered": [],
    "status_delivered_bsuid_with_contacts": [],
    "status_failed_130472": [],
    "status_failed_131026_issue_payload": [],
    "status_failed_131049": [],
    "status_played_voice": [],
    "status_read": [],
    "status_sent_marketing": [],
    "status_sent_v24_pmp_free_customer_service_issue_payload": [],
    "status_sent_with_biz_opaque_callback_data": [],
    "sticker_animated": [UNSUPPORTED],
    "system_customer_identity_changed": [],
    "system_user_changed_number": [],
    "text": ["Does it come in another color?"],
    "text_ctwa_referral": ["Can I get more info about this?"],
    "text_forwarded": ["forwarded text"],
    "text_frequently_forwarded": ["text forwarded many times"],
    "text_reply_with_context": ["replied text"],
    "text_username_user_no_phone_bsuid": ["Does it come in another color?"],
    "unsupported_131051": [UNSUPPORTED],
    "unsupported_with_type_poll": [UNSUPPORTED],
    "value_errors_130429_rate_limit": [],
    # Video is not an accepted media type by default: polite reply, caption still passed on.
    "video_forwarded_with_caption": ["caption"],
}

BASE_KEYS = {"wa_id", "user_id", "profile_name", "message_id", "timestamp", "phone_number_id", "context"}


def test_every_sample_has_an_expectation() -> None:
    assert sorted(EXPECTED_TEXTS) == payload_names()
    assert len(payload_names()) == 43


def _statuses(name: str) -> List[Dict[str, Any]]:
    found = []
    for entry in payload(name)["entry"]:
        for change in entry["changes"]:
            found.extend(change["value"].get("statuses") or [])
    return found


def _is_subsequence(items: List[str], sequence: List[str]) -> bool:
    remaining = iter(sequence)
    return all(any(item == candidate for candidate in remaining) for item in items)


async def _run_sample(name: str, rc: RunningChannel, graph: FakeGraph, url: str) -> None:
    before_received = len(rc.received)
    before_requests = len(graph.requests)
    resp = await rc.post(payload_bytes(name))  # the raw bytes, signed as Meta signs them
    assert resp.status == 200, name
    await rc.join()
    received = rc.received[before_received:]
    requests = graph.requests[before_requests:]

    # Senders are processed concurrently: compare the whole, and the order within each sender.
    assert sorted(m.text for m in received) == sorted(EXPECTED_TEXTS[name]), name
    for sender in {m.sender_id for m in received}:
        texts = [m.text for m in received if m.sender_id == sender]
        assert _is_subsequence(texts, EXPECTED_TEXTS[name]), (name, sender, texts)
    for message in received:
        assert message.input_channel == "whatsapp"
        assert BASE_KEYS <= set(message.metadata), name
        assert message.sender_id == (message.metadata["wa_id"] or message.metadata["user_id"])
        assert message.output_channel.name() == "whatsapp"
    reads = [r.json for r in requests if r.json and r.json.get("status") == "read"]
    assert len(reads) == len(received), name
    for read in reads:
        assert read["typing_indicator"] == {"type": "text"}

    with db.session_scope(url) as session:
        for status in _statuses(name):
            row = session.get(MessageStatus, status["id"])
            assert row is not None and row.status == status["status"], (name, status["id"])
            if status.get("errors"):
                assert row.error_code == status["errors"][0]["code"]
        if not received and not name.startswith("system_"):
            # Statuses, reactions, revokes and errors never create a citizen conversation.
            assert session.execute(select(Citizen)).first() is None, name


def _reset(url: str) -> None:
    """Many pywa samples share the id wamid.xyzxyz: reset the dedupe store between samples."""
    with db.session_scope(url) as session:
        session.execute(delete(ProcessedMessage))
        session.execute(delete(ConversationMessage))
        session.execute(delete(Media))
        session.execute(delete(MessageStatus))
        session.execute(delete(Citizen))


@pytest.mark.parametrize("name", payload_names())
async def test_sample(name: str, sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeGraph() as graph:
        register_sample_media(graph)
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            await _run_sample(name, rc, graph, sqlite_url)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_whole_corpus_on_each_backend(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeGraph() as graph:
        register_sample_media(graph)
        async with RunningChannel(make_settings(graph.url, tmp_path, db_url)) as rc:
            for name in payload_names():
                _reset(db_url)
                await _run_sample(name, rc, graph, db_url)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_corpus_specifics(sqlite_url: str, tmp_path: Path) -> None:
    """The samples' special cases: identity, BSUID, media, location, statuses with contacts."""
    async with FakeGraph() as graph:
        register_sample_media(graph)
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            for name in ("text", "system_user_changed_number"):
                assert (await rc.post(payload_bytes(name))).status == 200
                await rc.join()
            with db.session_scope(sqlite_url) as session:
                phones = [c.wa_id for c in session.execute(select(Citizen)).scalars()]
                name_after = session.execute(select(Citizen.profile_name)).scalar_one()
            # user_changed_number moved the citizen who wrote as 16505551234 to the new number.
            assert phones == ["12195555358"] and name_after == "Sheena Nelson"
            assert [m.text for m in rc.received] == ["Does it come in another color?"]
            assert (await rc.post(payload_bytes("text_username_user_no_phone_bsuid"))).status == 200
            await rc.join()
            with db.session_scope(sqlite_url) as session:
                bsuid_citizen = session.execute(
                    select(Citizen).where(Citizen.user_id == "US.13491208655302741918")
                ).scalar_one()
                # The username user arrived with only a BSUID: keyed by it, no phone invented.
                assert bsuid_citizen.wa_id is None and bsuid_citizen.last_inbound_at is not None
            # A status webhook carrying a contacts block is only a status: no text, no citizen.
            assert (await rc.post(payload_bytes("status_delivered_bsuid_with_contacts"))).status == 200
            await rc.join()
            assert len(rc.received) == 2
            with db.session_scope(sqlite_url) as session:
                assert session.execute(select(Citizen).where(Citizen.wa_id == "16505551234")).first() is None
                assert (
                    session.get(
                        MessageStatus,
                        payload("status_delivered_bsuid_with_contacts")["entry"][0]["changes"][0]["value"][
                            "statuses"
                        ][0]["id"],
                    ).status
                    == "delivered"
                )
            for name in (
                "image_with_caption_and_url",
                "document_pdf",
                "video_forwarded_with_caption",
                "location_named_place",
                "text_reply_with_context",
                "unsupported_131051",
                "interactive_nfm_reply_flow",
                "contacts_shared",
            ):
                assert (await rc.post(payload_bytes(name))).status == 200
                await rc.join()

    with db.session_scope(sqlite_url) as session:
        media_rows = session.execute(select(Media)).scalars().all()
        assert sorted(m.mime_type for m in media_rows) == ["application/pdf", "image/jpeg"]
        assert all(Path(m.storage_path).is_file() for m in media_rows)

    bsuid_message = next(m for m in rc.received if m.sender_id == "US.13491208655302741918")
    assert (
        bsuid_message.metadata["wa_id"] is None and bsuid_message.metadata["username"] == "@realsheenanelson"
    )

    image = next(m for m in rc.received if m.text == "Taj Mahal")
    meta = image.metadata["media"]
    assert (
        meta["type"] == "image"
        and meta["mime_type"] == "image/jpeg"
        and meta["whatsapp_media_id"] == "1003383421387256"
    )
    assert Path(meta["storage_path"]).read_bytes() == SAMPLE_JPEG and meta["media_db_id"]
    document = next(m for m in rc.received if m.metadata.get("message_type") == "document")
    assert document.metadata["media"]["filename"] == "filename.pdf"
    assert document.metadata["context"] == {"forwarded": True}

    video = next(m for m in rc.received if m.metadata.get("message_type") == "video")
    assert "media" not in video.metadata and video.metadata["media_rejected"]["reason"] == "type_not_allowed"
    refusal = [s for s in graph.sent if s.get("to") == "+972987654321" and s["type"] == "text"]
    assert any("belum dapat kami terima" in s["text"]["body"] for s in refusal)

    location = next(m for m in rc.received if m.text == "/kirim_lokasi")
    assert location.metadata["location"] == {
        "latitude": 37.44221496582,
        "longitude": -122.16165924072,
        "name": "Philz Coffee",
        "address": "101 Forest Ave, Palo Alto, CA 94301",
        "url": "https://philzcoffee.com/",
    }

    reply = next(m for m in rc.received if m.text == "replied text")
    assert reply.metadata["context"]["id"]
    unsupported = [m.metadata["unsupported_type"] for m in rc.received if m.text == UNSUPPORTED]
    assert unsupported == ["edit", "nfm_reply"]
    contacts = next(m for m in rc.received if m.text.startswith("Kontak dibagikan"))
    assert contacts.metadata["contacts"][0] == {"name": "Chandler Bing", "phones": ["+1 555-555-5555"]}


def test_a_non_list_contacts_block_does_not_drop_the_batch() -> None:
    """Found by the fuzz test: ``"contacts": 1`` raised TypeError and the whole body was lost."""
    from connectors.whatsapp_parse import parse_body

    body = payload("text")
    body["entry"][0]["changes"][0]["value"]["contacts"] = 1
    batch = parse_body(body)
    assert len(batch.messages) == 1
    assert any("contacts is not a list" in problem for problem in batch.problems)
