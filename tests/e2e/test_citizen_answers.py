"""What a citizen meets in the chat, end to end over the simulator: answers given in pieces,
first messages that already say much, typed answers to closing questions, resubmissions.
Assertions are on what the citizen receives and on what the ticket database holds."""

from __future__ import annotations

import re

from layanwarga import states
from layanwarga.config import get_institution
from layanwarga.db import session_scope
from layanwarga.notifications import change_state_and_notify
from layanwarga.tickets import change_state
from simulator.client import Chat

from .conftest import WhatsAppStack
from .support import media_rows, new_phone, photo, tickets_of

SKTM_NUMBER = re.compile(r"SKTM-\d{4}-\d{5}")
COMPLAINT_NUMBER = re.compile(r"ADU-\d{4}-\d{5}")
NIK = "6271024507850003"


def send_documents(chat: Chat, count: int = 3) -> str:
    """The required document photos, one per request; the text of the reply to the last."""
    turn = None
    for index in range(1, count + 1):
        until = f"{index + 1} dari {count}" if index < count else "Apakah sudah benar?"
        turn = chat.send_image(photo(f"dokumen {index}", (200, 200 + index * 10, 230)), until=until)
    assert turn is not None
    return turn.text


def test_an_address_in_two_messages_reaches_the_summary_whole(whatsapp_stack: WhatsAppStack) -> None:
    """'kos di jl g obos 12 no 5' → asked for RT/RW → 'rt 4 rw 2': both parts are the address."""
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Nur Aini")
    chat.say("mau bikin sktm", until="untuk siapa")
    chat.tap("Diri sendiri", until="nama lengkap")
    chat.say("Nur Aini", until="NIK (16 digit)")
    chat.say(NIK, until="alamat tempat tinggal")
    chat.say("kos di jl g obos 12 no 5", until="RT dan RW")
    chat.say("rt 4 rw 2", until="nomor HP")
    chat.tap("Pakai nomor ini", until="keperluan apa")
    chat.tap("Sekolah / beasiswa", until="1 dari 3")
    summary = send_documents(chat)
    assert "*Alamat:* kos di jl g obos 12 no 5, rt 4 rw 2" in summary
    turn = chat.tap("Kirim", until=SKTM_NUMBER)
    (ticket,) = tickets_of(url, phone)
    assert ticket.number in turn.text
    assert ticket.applicant_address == "kos di jl g obos 12 no 5, rt 4 rw 2"
    assert (ticket.rt, ticket.rw) == ("4", "2")


def test_a_place_in_the_first_message_is_not_asked_again(whatsapp_stack: WhatsAppStack) -> None:
    """'lampu jalan di gang mawar rt 3 mati' used to be answered with 'Di mana lokasinya?'."""
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Rudi Hartono")
    turn = chat.say("lampu jalan di gang mawar rt 3 mati", until="kirim foto")
    assert "Di mana lokasinya" not in turn.text
    chat.tap("Lewati", until="dirahasiakan")
    chat.tap("Tidak perlu", until="dari publik")
    turn = chat.tap("Boleh publik", until="Apakah sudah benar?")
    assert "*Lokasi:* gang mawar rt 3" in turn.text
    chat.tap("Kirim", until=COMPLAINT_NUMBER)
    (ticket,) = tickets_of(url, phone)
    assert (ticket.location_text, ticket.rt) == ("gang mawar rt 3", "3")


def test_purpose_and_relationship_in_the_first_message_are_not_asked_again(
    whatsapp_stack: WhatsAppStack,
) -> None:
    """'sktm buat berobat ibu saya' says for whom, the relationship and the purpose; afterwards
    'cek sktm sy' shows that request instead of starting a new one."""
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Dedi Kurniawan")
    turn = chat.say("sktm buat berobat ibu saya", until="nama lengkap")
    assert "untuk siapa" not in turn.text and "hubungan" not in turn.text
    chat.say("Sumiati", until="NIK (16 digit)")
    chat.say(NIK, until="alamat tempat tinggal")
    chat.say("Jl. Merdeka No. 5 RT 03 RW 02", until="nomor HP")
    turn = chat.tap("Pakai nomor ini", until="1 dari 3")
    assert "keperluan apa" not in turn.text
    summary = send_documents(chat)
    assert "*Diajukan oleh:* keluarga (anak)" in summary
    assert "*Keperluan:* Berobat / keringanan biaya rumah sakit" in summary
    chat.tap("Kirim", until=SKTM_NUMBER)
    (ticket,) = tickets_of(url, phone)
    assert (ticket.on_behalf, ticket.relationship_to_sender) == (True, "anak")
    assert ticket.purpose == "Berobat / keringanan biaya rumah sakit"
    turn = chat.say("cek sktm sy", until=ticket.number)
    assert "Status:" in turn.text and "untuk siapa" not in turn.text and "nama lengkap" not in turn.text
    assert len(tickets_of(url, phone)) == 1


def report_and_resolve(whatsapp_stack: WhatsAppStack, chat: Chat, phone: str) -> str:
    """A street-light complaint sent in the chat, then resolved by staff (who ask "is it really
    resolved?"); its number."""
    url = whatsapp_stack.database_url
    chat.say("lampu jalan di gang mawar rt 3 mati", until="kirim foto")
    chat.tap("Lewati", until="dirahasiakan")
    chat.tap("Tidak perlu", until="dari publik")
    chat.tap("Boleh publik", until="Apakah sudah benar?")
    chat.tap("Kirim", until=COMPLAINT_NUMBER)
    (ticket,) = tickets_of(url, phone)
    inst = get_institution()
    for target, note in ((states.DITERUSKAN, None), (states.SELESAI, "Lampu sudah diganti.")):
        with session_scope(url, write=True) as session:
            change_state_and_notify(inst, ticket.id, target, "petugas.uji", note, "PERKIM", session=session)
    return ticket.number


def test_typed_answers_to_the_closing_questions_count(whatsapp_stack: WhatsAppStack) -> None:
    """'udh nyala pak, makasih bnyk' confirms (it was taken as thanks and lost), 'lima' rates;
    'lampunya masih mati pak' reopens (it started a new street-light report)."""
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Wulan Sari")
    number = report_and_resolve(whatsapp_stack, chat, phone)
    turn = chat.say("udh nyala pak, makasih bnyk", until="penilaian")
    assert number in turn.text and "Sama-sama" not in turn.text
    turn = chat.say("lima", until="Terima kasih atas penilaiannya")
    assert "5 dari 5" in turn.text
    (ticket,) = tickets_of(url, phone)
    assert (ticket.state, ticket.rating) == (states.SELESAI, 5)

    other = new_phone()
    chat = sim.chat(other, "Yusuf Maulana")
    number = report_and_resolve(whatsapp_stack, chat, other)
    turn = chat.say("lampunya masih mati pak", until="buka kembali")
    assert number in turn.text and "Di mana lokasinya" not in turn.text
    (ticket,) = tickets_of(url, other)
    assert ticket.state == states.DIPROSES


def test_a_typed_not_yet_is_asked_about_before_any_complaint(whatsapp_stack: WhatsAppStack) -> None:
    """'belum selesai' gets the question what is still wrong, not 'Mohon jelaskan sedikit lebih
    lengkap…' before the citizen wrote anything; the answer reopens the complaint."""
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Agus Salim")
    report_and_resolve(whatsapp_stack, chat, phone)
    turn = chat.say("belum selesai", until="ceritakan apa yang masih belum selesai")
    assert "Mohon jelaskan" not in turn.text
    assert chat.quiet(after=turn.replies[-1]["seq"], seconds=2) == []
    chat.say("lampunya cuma nyala sehari, sekarang mati lagi", until="buka kembali")
    (ticket,) = tickets_of(url, phone)
    assert ticket.state == states.DIPROSES


def test_a_resubmission_asks_only_what_the_rejection_is_about(whatsapp_stack: WhatsAppStack) -> None:
    """After "Foto KK buram", 'ajukan sktm' asks for the KK photo only (it asked for the NIK and all
    three photos again); "Permohonan baru" starts an empty request instead."""
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone()
    chat = sim.chat(phone, "Fitri Handayani")
    chat.say("sktm buat berobat ibu saya", until="nama lengkap")
    chat.say("Sumiati", until="NIK (16 digit)")
    chat.say(NIK, until="alamat tempat tinggal")
    chat.say("Jl. Merdeka No. 5 RT 03 RW 02", until="nomor HP")
    chat.tap("Pakai nomor ini", until="1 dari 3")
    send_documents(chat)
    chat.tap("Kirim", until=SKTM_NUMBER)
    (first,) = tickets_of(url, phone)
    kept = {m.sha256 for m in media_rows(url, first.id)}
    with session_scope(url, write=True) as session:
        change_state(
            first.id,
            states.DITOLAK,
            "petugas.uji",
            "Foto KK buram, mohon kirim ulang yang jelas",
            session=session,
        )

    turn = chat.say("ajukan sktm", until="📎 Mohon kirim ulang")
    assert "*foto Kartu Keluarga (KK)*" in turn.text and "NIK" not in turn.text
    assert "Permohonan baru" in turn.buttons
    chat.tap("Permohonan baru", until="untuk siapa")
    chat.say("batal", until="dibatalkan")
    chat.say("ajukan sktm", until="📎 Mohon kirim ulang")
    new_kk = photo("KK jelas", (240, 240, 240))
    summary = chat.send_image(new_kk, until="Apakah sudah benar?").text
    assert "*Pemohon:* Sumiati" in summary and "6271********0003" in summary and "3 foto" in summary
    turn = chat.tap("Kirim", until=SKTM_NUMBER)
    first_again, second = tickets_of(url, phone)
    assert second.number in turn.text and second.number != first.number
    stored = {m.sha256 for m in media_rows(url, second.id)}
    assert len(stored) == 3 and len(stored & kept) == 2
