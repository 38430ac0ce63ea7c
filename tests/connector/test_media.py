"""Media: download through the fake Graph API, storage where others can read it, and limits."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
from sqlalchemy import select

from layanwarga import db, media
from layanwarga.models import Citizen, Media
from wa_support import ACCESS_TOKEN, FakeGraph, RunningChannel, Scripted, make_settings, messages_body

CITIZEN = "6281234567890"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 100 + b"\n%%EOF"


def media_body(
    kind: str,
    media_id: str,
    mime: str,
    caption: Optional[str] = None,
    filename: Optional[str] = None,
    message_id: Optional[str] = None,
) -> Dict[str, Any]:
    obj: Dict[str, Any] = {"id": media_id, "mime_type": mime, "sha256": "x"}
    if caption:
        obj["caption"] = caption
    if filename:
        obj["filename"] = filename
    message = {
        "from": CITIZEN,
        "id": message_id or f"wamid.media.{media_id}",
        "timestamp": "1767225600",
        "type": kind,
        kind: obj,
    }
    return messages_body([message], wa_id=CITIZEN)


async def test_photo_is_downloaded_stored_and_described(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.add_media("M1", JPEG, "image/jpeg")
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            assert (await rc.post(media_body("image", "M1", "image/jpeg"))).status == 200
            await rc.join()
    [message] = rc.received
    assert message.text == "/kirim_media"
    info = message.metadata["media"]
    assert info["type"] == "image" and info["mime_type"] == "image/jpeg" and info["whatsapp_media_id"] == "M1"
    assert info["sha256"] == hashlib.sha256(JPEG).hexdigest()
    path = Path(info["storage_path"])
    assert path.read_bytes() == JPEG and path.suffix == ".jpg"
    assert path.is_relative_to(tmp_path / "media")
    # The media lookup and the download both carried the bearer token.
    lookups = [r for r in graph.requests if r.method == "GET"]
    assert [r.path for r in lookups] == ["/v21.0/M1", "/download/M1"]
    assert all(r.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" for r in lookups)
    assert lookups[0].query == {"phone_number_id": "100000000000001"}
    with db.session_scope(sqlite_url) as session:
        row = session.get(Media, info["media_db_id"])
        citizen = session.execute(select(Citizen)).scalar_one()
        assert row.storage_path == str(path) and row.citizen_id == citizen.id and row.size_bytes == len(JPEG)


async def test_document_with_caption(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.add_media("D1", PDF, "application/pdf")
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            body = media_body(
                "document", "D1", "application/pdf", caption="KTP dan KK saya", filename="../../etc/ktp.pdf"
            )
            await rc.post(body)
            await rc.join()
    [message] = rc.received
    assert message.text == "KTP dan KK saya"
    assert message.metadata["media"]["filename"] == "ktp.pdf"
    assert message.metadata["media"]["mime_type"] == "application/pdf"


@pytest.mark.parametrize(
    "setup, reason",
    [
        # WhatsApp declares a size over the limit: refused before downloading.
        (dict(content=JPEG, mime="image/jpeg", declared_size=20 * 1024 * 1024), "too_large"),
        # The declared size lies; the download itself is cut off at the limit.
        (dict(content=JPEG * 40, mime="image/jpeg", declared_size=100), "too_large"),
        # A type not in the allowed list (video by default).
        (dict(content=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 50, mime="video/mp4"), "type_not_allowed"),
        # Bytes that are not what they claim to be.
        (dict(content=b"<html>not a photo</html>", mime="image/jpeg"), "type_not_allowed"),
    ],
)
async def test_refused_media_gets_a_polite_reply_and_is_not_a_photo(
    setup: Dict[str, Any], reason: str, sqlite_url: str, tmp_path: Path
) -> None:
    async with FakeGraph() as graph:
        graph.add_media("X1", **setup)
        settings = make_settings(graph.url, tmp_path, sqlite_url, max_media_bytes=32 * 1024)
        async with RunningChannel(settings) as rc:
            kind = "video" if setup["mime"].startswith("video") else "image"
            await rc.post(media_body(kind, "X1", setup["mime"]))
            await rc.post(
                media_body(kind, "X1", setup["mime"], caption="foto jalan rusak", message_id="wamid.m2")
            )
            await rc.join()
    replies = [s["text"]["body"] for s in graph.sent]
    assert len(replies) == 2 and all(r.startswith("Mohon maaf, Bapak/Ibu") for r in replies)
    if reason == "too_large":
        assert "maksimal 32 KB" in replies[0]
    # Without a caption nothing reaches the assistant; with one, the words do, without a photo.
    assert [m.text for m in rc.received] == ["foto jalan rusak"]
    assert "media" not in rc.received[0].metadata
    assert rc.received[0].metadata["media_rejected"]["reason"] == reason
    with db.session_scope(sqlite_url) as session:
        assert session.execute(select(Media)).first() is None
    assert not any(p.is_file() for p in (tmp_path / "media").rglob("*"))


async def test_download_retries_then_succeeds(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:
        graph.add_media("P1", PNG, "image/png")
        graph.download_failures.append(Scripted(500, {"error": {"code": 1, "message": "x"}}))
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            await rc.post(media_body("image", "P1", "image/png"))
            await rc.join()
    assert rc.received[0].metadata["media"]["mime_type"] == "image/png"


async def test_download_failure_is_explained(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeGraph() as graph:  # media id unknown to the Graph API
        async with RunningChannel(make_settings(graph.url, tmp_path, sqlite_url)) as rc:
            await rc.post(media_body("image", "UNKNOWN", "image/jpeg"))
            await rc.join()
    assert rc.received == []
    assert "gangguan teknis" in graph.sent[0]["text"]["body"]


def test_store_media_unit(sqlite_url: str, tmp_path: Path) -> None:
    stored = media.store_media(JPEG, mime_type="image/jpeg", media_dir=tmp_path, url=sqlite_url)
    again = media.store_media(JPEG, mime_type="image/jpeg", media_dir=tmp_path, url=sqlite_url)
    assert stored.storage_path == again.storage_path and stored.id != again.id
    assert media.resolve(stored.storage_path).read_bytes() == JPEG
    with pytest.raises(media.MediaRejected) as info:
        media.store_media(b"", mime_type="image/jpeg", media_dir=tmp_path, url=sqlite_url)
    assert info.value.reason == "empty"
    with pytest.raises(media.MediaRejected):
        media.check_declared("audio/ogg", 10)
    assert media.safe_filename("../../x/evil name?.pdf") == "evil name_.pdf"
    assert "16 MB" in media.MediaRejected("too_large").citizen_text()
