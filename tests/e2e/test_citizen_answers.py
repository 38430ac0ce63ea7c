"""What a citizen meets in the chat, end to end over the simulator: answers given in pieces,
first messages that already say much, typed answers to closing questions, resubmissions.
Assertions are on what the citizen receives and on what the ticket database holds."""
from __future__ import annotations

import re

from simulator.client import Chat

from .conftest import WhatsAppStack
from .support import new_phone, photo, tickets_of

SKTM_NUMBER = re.compile(r"SKTM-\d{4}-\d{5}")
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
    chat.say("rt 4 rw 2", until="Nomor HP")
    chat.tap("Pakai nomor ini", until="keperluan apa")
    chat.tap("Sekolah / beasiswa", until="1 dari 3")
    summary = send_documents(chat)
    assert "*Alamat:* kos di jl g obos 12 no 5, rt 4 rw 2" in summary
    turn = chat.tap("Kirim", until=SKTM_NUMBER)
    (ticket,) = tickets_of(url, phone)
    assert ticket.number in turn.text
    assert ticket.applicant_address == "kos di jl g obos 12 no 5, rt 4 rw 2"
    assert (ticket.rt, ticket.rw) == ("4", "2")
