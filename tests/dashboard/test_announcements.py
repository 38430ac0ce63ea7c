"""The announcements pages: admin only, compose with validation, a faithful preview, sending
queues each subscriber once, progress and summary after the worker ran, pause/resume/stop."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Iterator

import pytest
from sqlalchemy import func, select

from layanwarga import db, subscriptions
from layanwarga.broadcast import Broadcaster, BroadcastOptions
from layanwarga.models import Announcement, AnnouncementDelivery, AuditEntry
from tests.dashboard.support import INST, FakeGraph, csrf, login, make_user
from whatsapp import statuses as wa_statuses
from whatsapp.settings import GraphSettings

TEXT = "Bapak/Ibu warga, posyandu balita bulan ini dilaksanakan Sabtu pukul 08.00 di Balai Kelurahan.\nMohon membawa buku KIA."


def png(size: int = 0) -> bytes:
    """A real 1x1 PNG, padded with an ancillary chunk up to about ``size`` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pad = chunk(b"teXt", b"pad\x00" + b"x" * max(0, size)) if size else b""
    body = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + header + pad + body


@pytest.fixture
def subscribers(db_url: str) -> None:
    for i in range(6):
        area = "panarung" if i < 4 else "langkai"
        subscriptions.subscribe(
            INST, f"62812555000{i:02d}", "jadwal_layanan" if i % 2 == 0 else subscriptions.ALL, area
        )
    subscriptions.subscribe(INST, "6281255500099", "bencana", "panarung")


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    yield fake
    fake.close()


def compose(client, **overrides):  # type: ignore[no-untyped-def]
    data = {"judul": "Posyandu Sabtu", "topik": "jadwal_layanan", "wilayah": "panarung", "isi": TEXT}
    data.update(overrides)
    return client.post(
        "/pengumuman/baru",
        data={**data, "csrf_token": csrf(client, "/pengumuman/baru")},
        content_type="multipart/form-data",
    )


def announcement_id(response) -> int:  # type: ignore[no-untyped-def]
    match = re.search(r"/pengumuman/(\d+)$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


def test_only_admins_reach_the_pages(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    make_user("pupr", "opd", "PUPR")
    make_user("surat", "surat")
    admin = login(app, "admin")
    assert 'id="nav-announcements"' in admin.get("/tiket").get_data(as_text=True)
    assert admin.get("/pengumuman/").status_code == 200
    for username in ("pupr", "surat"):
        client = login(app, username)
        assert 'id="nav-announcements"' not in client.get("/tiket").get_data(as_text=True)
        assert client.get("/pengumuman/").status_code == 403
        assert client.get("/pengumuman/baru").status_code == 403
        token = csrf(client, "/tiket")
        assert (
            client.post("/pengumuman/1/kirim", data={"csrf_token": token, "sudah_diperiksa": "1"}).status_code
            == 403
        )
    assert app.test_client().get("/pengumuman/").status_code == 302  # to the login page


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"judul": ""}, "Judul"),
        ({"topik": "gosip"}, "Pilih topik"),
        ({"wilayah": "atlantis"}, "kelurahan"),
        ({"isi": "halo"}, "terlalu pendek"),
        ({"isi": "x" * 1200}, "paling panjang"),
    ],
)
def test_a_draft_with_a_mistake_is_explained(app, db_url: str, overrides, message) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    response = compose(login(app, "admin"), **overrides)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with db.session_scope() as session:
        assert session.execute(select(func.count(Announcement.id))).scalar_one() == 0


def test_preview_shows_what_citizens_will_see(app, subscribers) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    client = login(app, "admin")
    response = compose(client)
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>Jadwal layanan</strong> – Kelurahan Langkai" in html
    # Template parameters cannot hold line breaks: the preview shows the text as it will arrive.
    assert "Balai Kelurahan. Mohon membawa buku KIA." in html
    assert "Ketik BERHENTI LANGGANAN untuk berhenti" in html and ">Berhenti langganan</button>" in html
    # jadwal_layanan or all topics, in Panarung or all kelurahan: 4 of the 7 subscribers.
    assert re.search(r'id="would-reach">4<', html)
    assert "layanwarga_pengumuman" in html


def test_sending_queues_each_subscriber_once(app, subscribers) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    client = login(app, "admin")
    aid = announcement_id(compose(client))
    page = f"/pengumuman/{aid}"
    unconfirmed = client.post(f"{page}/kirim", data={"csrf_token": csrf(client, page)})
    assert unconfirmed.status_code == 302
    with db.session_scope() as session:
        assert session.get(Announcement, aid).status == subscriptions.DRAFT
    sent = client.post(f"{page}/kirim", data={"csrf_token": csrf(client, page), "sudah_diperiksa": "1"})
    assert sent.status_code == 302
    again = client.post(f"{page}/kirim", data={"csrf_token": csrf(client, page), "sudah_diperiksa": "1"})
    assert again.status_code == 302
    with db.session_scope() as session:
        row = session.get(Announcement, aid)
        assert row.status == subscriptions.SENDING and row.recipients == 4 and row.queued_by == "staf:admin"
        count = session.execute(
            select(func.count()).where(AnnouncementDelivery.announcement_id == aid)
        ).scalar_one()
        assert count == 4
        audit = (
            session.execute(select(AuditEntry).where(AuditEntry.action == "kirim_pengumuman")).scalars().all()
        )
        assert len(audit) == 1
    response = client.get(page)
    assert response.headers.get("Refresh") == "5"  # the progress page follows the run by itself
    assert "Kemajuan pengiriman" in response.get_data(as_text=True)
    assert client.get(f"{page}/ubah").status_code == 302  # no editing once sent


def test_progress_and_summary_after_the_worker_ran(app, subscribers, graph: FakeGraph, db_url: str) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    client = login(app, "admin")
    aid = announcement_id(compose(client))
    client.post(
        f"/pengumuman/{aid}/kirim",
        data={"csrf_token": csrf(client, f"/pengumuman/{aid}"), "sudah_diperiksa": "1"},
    )
    graph.fail_next(400, 131026, "Message undeliverable")
    settings = GraphSettings(api_base=graph.base, api_version="v21.0", access_token="t", phone_number_id="1")
    worker = Broadcaster(INST, settings, BroadcastOptions(messages_per_second=100, concurrency=1), url=db_url)
    try:
        worker.run_until_idle(30)
    finally:
        worker.close()
    wamids = [b for b in graph.bodies]
    assert len(wamids) == 4
    # WhatsApp's status webhooks, as the connector records them.
    with db.session_scope() as session:
        sent = (
            session.execute(select(AnnouncementDelivery.wamid).where(AnnouncementDelivery.wamid.isnot(None)))
            .scalars()
            .all()
        )
    wa_statuses.record_statuses(
        [wa_statuses.StatusRecord(sent[0], "read"), wa_statuses.StatusRecord(sent[1], "delivered")]
    )
    html = client.get(f"/pengumuman/{aid}").get_data(as_text=True)
    assert re.search(r'id="sum-total">4<', html) and re.search(r'id="sum-sent">3<', html)
    assert re.search(r'id="sum-delivered">2<', html) and re.search(r'id="sum-read">1<', html)
    assert re.search(r'id="sum-failed">1<', html) and "Selesai" in html
    assert "kode 131026" in client.get(f"/pengumuman/{aid}?tampil=gagal").get_data(as_text=True)
    # Recipients are listed with masked numbers only.
    assert "6281255500000" not in html and "6281…000" in html
    listing = client.get("/pengumuman/").get_data(as_text=True)
    assert "Posyandu Sabtu" in listing and "Selesai" in listing


def test_pause_resume_and_stop(app, subscribers) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    client = login(app, "admin")
    aid = announcement_id(compose(client))
    page = f"/pengumuman/{aid}"
    client.post(f"{page}/kirim", data={"csrf_token": csrf(client, page), "sudah_diperiksa": "1"})

    def status() -> str:
        with db.session_scope() as session:
            return session.get(Announcement, aid).status

    client.post(f"{page}/jeda", data={"csrf_token": csrf(client, page)})
    assert status() == subscriptions.PAUSED
    assert 'id="resume"' in client.get(page).get_data(as_text=True)
    client.post(f"{page}/lanjutkan", data={"csrf_token": csrf(client, page)})
    assert status() == subscriptions.SENDING
    client.post(f"{page}/hentikan", data={"csrf_token": csrf(client, page)})
    assert status() == subscriptions.CANCELLED
    with db.session_scope() as session:
        summary = subscriptions.summary(session, aid)
    assert summary.by_status == {subscriptions.D_CANCELLED: 4}


def test_a_picture_is_checked_stored_and_previewed(app, db_url: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAYANWARGA_MEDIA_DIR", str(tmp_path / "media"))
    make_user("admin", "admin")
    client = login(app, "admin")
    big_png = png(600 * 1024)  # larger than the dashboard's usual 256 KB body limit
    response = compose(client, gambar=(__import__("io").BytesIO(big_png), "poster.png", "image/png"))
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    aid = announcement_id(response)
    html = client.get(f"/pengumuman/{aid}").get_data(as_text=True)
    assert f"/pengumuman/{aid}/gambar" in html and "layanwarga_pengumuman_gambar" in html
    image = client.get(f"/pengumuman/{aid}/gambar")
    assert image.status_code == 200 and image.data == big_png
    fake = compose(
        client,
        gambar=(__import__("io").BytesIO(b"MZ\x90\x00 not a picture" * 10), "poster.jpg", "image/jpeg"),
    )
    assert fake.status_code == 400 and "JPG atau PNG" in fake.get_data(as_text=True)
    huge = compose(client, gambar=(__import__("io").BytesIO(png(6 * 1024 * 1024)), "poster.png", "image/png"))
    assert huge.status_code == 413


def test_a_draft_can_be_edited_and_deleted(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    make_user("admin", "admin")
    client = login(app, "admin")
    aid = announcement_id(compose(client))
    page = f"/pengumuman/{aid}"
    edited = client.post(
        f"{page}/ubah",
        data={
            "csrf_token": csrf(client, f"{page}/ubah"),
            "judul": "Posyandu diundur",
            "topik": "jadwal_layanan",
            "wilayah": "*",
            "isi": "Posyandu balita diundur ke hari Minggu pukul 08.00, Bapak/Ibu.",
        },
        content_type="multipart/form-data",
    )
    assert edited.status_code == 302
    with db.session_scope() as session:
        row = session.get(Announcement, aid)
        assert row.title == "Posyandu diundur" and row.area == subscriptions.ALL
    client.post(f"{page}/hapus", data={"csrf_token": csrf(client, page)})
    with db.session_scope() as session:
        assert session.get(Announcement, aid) is None
