"""Whole conversations over WhatsApp: simulator webhook -> connector -> Rasa -> action server ->
database -> Graph API -> simulator. Assertions are on what the citizen receives (the simulator's
record of the bot's Graph API calls) and on what the ticket database holds."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from layanwarga.db import session_scope
from layanwarga.tickets import change_state
from simulator.client import message_text

from .conftest import WhatsAppStack
from .support import (
    citizen,
    media_rows,
    message_status,
    new_phone,
    photo,
    processed_ids,
    raw_sqlite_contains,
    tickets_of,
)

COMPLAINT_NUMBER = re.compile(r"ADU-\d{4}-\d{5}")
SKTM_NUMBER = re.compile(r"SKTM-\d{4}-\d{5}")
NIK = "6271024507850003"


def test_webhook_is_verified_and_signed_messages_are_answered(whatsapp_stack: WhatsAppStack) -> None:
    """Meta's handshake passed, and a plain greeting gets the welcome and the menu."""
    assert whatsapp_stack.simulator.state()["webhook"]["verified"] is True
    chat = whatsapp_stack.simulator.chat(new_phone(), "Dewi Lestari")
    turn = chat.say("halo min", until="Silakan pilih layanan")
    assert "selamat datang di LayanWarga" in turn.text
    # Seven menu entries do not fit three reply buttons: they arrive as a list message.
    assert {"Lapor masalah", "Ajukan surat", "Cek status"} <= set(turn.rows)
    assert whatsapp_stack.simulator.stats()["graph_errors"] == 0


def test_complaint_with_photo_and_pin(whatsapp_stack: WhatsAppStack) -> None:
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Budi Santoso")
    picture = photo("lubang di jalan")

    turn = chat.say(
        "jalan depan rumah saya berlubang besar, sudah dua minggu tidak diperbaiki", until="Di mana lokasinya"
    )
    turn = chat.send_location(
        -2.2104, 113.92, "Bundaran Besar", "Jl. Yos Sudarso, Palangka Raya", until="kirim foto kondisinya"
    )
    assert "Lewati" in turn.buttons
    turn = chat.send_image(picture, until="1 foto sudah kami terima")
    assert turn.buttons == ["Selesai"]
    turn = chat.tap("Selesai", until="dirahasiakan")
    chat.tap("Tidak perlu", until="dari publik")
    turn = chat.tap("Boleh publik", until="Apakah sudah benar?")
    assert "Bundaran Besar" in turn.text and "1 foto" in turn.text
    assert turn.buttons == ["Kirim", "Ubah", "Batal"]
    turn = chat.tap("Kirim", until=COMPLAINT_NUMBER)
    number = COMPLAINT_NUMBER.search(turn.text).group(0)
    assert f"cek {number}" in turn.text

    (ticket,) = tickets_of(url, phone)
    assert ticket.number == number
    assert ticket.kind == "aduan" and ticket.state == "baru"
    assert "jalan" in ticket.category
    assert "berlubang besar" in ticket.description
    assert abs(ticket.latitude - -2.2104) < 1e-6 and abs(ticket.longitude - 113.92) < 1e-6
    assert ticket.agency_code and ticket.due_date is not None
    assert ticket.is_anonymous is False
    assert ticket.citizen.profile_name == "Budi Santoso"
    (media,) = media_rows(url, ticket.id)
    assert media.mime_type == "image/jpeg"
    assert media.sha256 == hashlib.sha256(picture).hexdigest()
    assert Path(media.storage_path).read_bytes() == picture
    # The connector fetched the photo the way Meta requires: media id -> URL -> download.
    assert any(
        c["method"] == "GET" and c["path"] == f"/{media.whatsapp_media_id}" and c["status"] == 200
        for c in sim.graph_calls()
    )


def test_sktm_request_with_a_bad_nik_corrected(whatsapp_stack: WhatsAppStack) -> None:
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Siti Rahmawati")

    turn = chat.say("mau bikin sktm", until="untuk siapa")
    assert turn.buttons == ["Diri sendiri", "Anggota keluarga"]
    chat.tap("Diri sendiri", until="nama lengkap")
    chat.say("Siti Rahmawati", until="NIK (16 digit)")
    turn = chat.say("627102450785", until="NIK (16 digit)")
    assert "NIK harus 16 digit" in turn.text and "12 digit" in turn.text
    chat.say(NIK, until="alamat tempat tinggal")
    chat.say("Jl. Merdeka No. 5 RT 03 RW 02", until="nomor HP")
    turn = chat.tap("Pakai nomor ini", until="keperluan apa")
    assert "Sekolah / beasiswa" in turn.rows  # a list message: the sheet of purposes
    chat.tap("Sekolah / beasiswa", until="1 dari 3")
    chat.send_image(photo("KTP", (200, 200, 230)), until="2 dari 3")
    chat.send_image(photo("KK", (230, 200, 200)), until="3 dari 3")
    turn = chat.send_image(photo("pengantar RT", (200, 230, 200)), until="Apakah sudah benar?")
    assert "6271********0003" in turn.text and "3 foto" in turn.text
    turn = chat.tap("Kirim", until=SKTM_NUMBER)
    number = SKTM_NUMBER.search(turn.text).group(0)

    (ticket,) = tickets_of(url, phone)
    assert ticket.number == number and ticket.kind == "surat" and ticket.category == "sktm"
    assert ticket.state == "diajukan"
    assert ticket.applicant_name == "Siti Rahmawati"
    assert ticket.applicant_nik == NIK
    assert ticket.applicant_phone == f"+{phone}"
    assert ticket.rt and ticket.rw
    assert len(media_rows(url, ticket.id)) == 3
    # The full NIK never went back to the citizen, and is stored nowhere in clear text.
    assert all(NIK not in message_text(m) for m in chat.history() if m["author"] == "bot")
    assert not raw_sqlite_contains(Path(url.removeprefix("sqlite:///")), NIK)
    assert not raw_sqlite_contains(whatsapp_stack.stack.workdir / "tracker.db", NIK)


def test_status_check_follows_the_ticket(whatsapp_stack: WhatsAppStack) -> None:
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Rina Marlina")

    turn = chat.say("cek status laporan saya", until="Belum ada laporan")
    # The place is in the first message, so the form goes straight on to the photos.
    chat.say("lampu jalan di gang mawar rt 2 mati sudah seminggu, gelap sekali", until="kirim foto")
    chat.tap("Lewati", until="dirahasiakan")
    chat.tap("Ya, rahasiakan", until="dari publik")
    chat.tap("Boleh publik", until="Apakah sudah benar?")
    turn = chat.tap("Kirim", until=COMPLAINT_NUMBER)
    number = COMPLAINT_NUMBER.search(turn.text).group(0)
    (ticket,) = tickets_of(url, phone)
    assert ticket.is_anonymous is True

    turn = chat.say(f"cek {number}", until=number)
    assert "Status:" in turn.text
    # Staff verify it on the dashboard; the citizen sees the new state and the note.
    with session_scope(url, write=True) as session:
        change_state(
            ticket.id, "diverifikasi", "petugas.uji", "Sudah dicek petugas lapangan.", session=session
        )
    loose = number.lower().replace("-", " ")  # citizens type numbers loosely
    turn = chat.say(f"cek status {loose} dong", until="Sudah dicek petugas lapangan")
    assert number in turn.text

    # Another citizen cannot see it: the answer is the one for an unknown number.
    other = sim.chat(new_phone(), "Orang Lain")
    turn = other.say(f"cek {number}", until="tidak kami temukan")


def test_emergency_answers_at_once_and_leaves_the_form(whatsapp_stack: WhatsAppStack) -> None:
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Yohanes")

    turn = chat.say("ada kebakaran di rumah tetangga tolong", until="Catat laporan")
    assert "*112*" in turn.text and "*113*" in turn.text
    chat.say("banjir di depan rumah saya airnya masuk ke rumah", until="Di mana lokasinya")
    turn = chat.say("tolong air naik sampe atap ada nenek terjebak di rumah", until="Catat laporan")
    assert "*112*" in turn.text
    turn = chat.say("batal", until="tidak ada laporan atau permohonan yang sedang diisi")
    assert tickets_of(url, phone) == []


def test_cancel_in_the_middle_of_a_form(whatsapp_stack: WhatsAppStack) -> None:
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Ahmad Fauzi")

    chat.say("saya mau urus sktm", until="untuk siapa")
    chat.tap("Diri sendiri", until="nama lengkap")
    chat.say("Ahmad Fauzi", until="NIK (16 digit)")
    turn = chat.say("batal", until="dibatalkan")
    assert "NIK" not in turn.text
    # The form is gone: the next message is a question again, not a NIK answer.
    turn = chat.say("kantor kelurahan buka jam berapa ya", until="Jam layanan")
    assert "NIK" not in turn.text
    assert tickets_of(url, phone) == []
    assert citizen(url, phone).profile_name == "Ahmad Fauzi"


def test_the_same_webhook_delivered_twice_is_answered_once(whatsapp_stack: WhatsAppStack) -> None:
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    chat = sim.chat(new_phone(), "Wayan")

    # Redelivered after it was answered (Meta retries when it saw no 200 in time).
    turn = chat.say("alamat kantor lurah dimana", until=lambda m: m["type"] == "location")
    replies = len(turn.replies)
    assert replies == 2  # the address text and a location pin
    sim.redeliver(turn.sent["id"])
    assert chat.quiet(after=turn.replies[-1]["seq"], seconds=3) == []

    # Delivered twice at the same moment (two deliveries racing each other).
    first = chat._post_text("kantor kelurahan buka jam berapa ya")
    sim.redeliver(first["id"])
    answer = chat.wait_for("Jam layanan", after=first["seq"])
    extra = chat.quiet(after=answer["seq"], seconds=3)
    assert extra == []
    assert [m["id"] for m in chat.history() if m["author"] == "bot" and m["seq"] > first["seq"]] == [
        answer["id"]
    ]

    for message_id in (turn.sent["id"], first["id"]):
        assert len(processed_ids(url, message_id)) == 1
        marks = [c for c in sim.graph_calls() if (c["body"] or {}).get("message_id") == message_id]
        assert len(marks) == 1, "each message is marked read (processed) once"


def test_delivery_statuses_and_read_receipts(whatsapp_stack: WhatsAppStack) -> None:
    """Both directions of ticks: the connector marks the citizen's message read; the citizen
    reading the reply sends Meta's read status, which the connector records."""
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    chat = sim.chat(new_phone(), "Maria")
    turn = chat.say("terima kasih banyak min", until=lambda m: m["author"] == "bot")
    assert chat.wait_status(turn.sent["id"], "read")["status"] == "read"
    reply = turn.replies[-1]
    chat.wait_status(reply["id"], "delivered")
    chat.read()
    chat.wait_status(reply["id"], "read")
    assert _eventually(lambda: message_status(url, reply["id"]) == "read")


def _eventually(check, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    """The connector records statuses in the background: poll the database briefly."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return bool(check())
