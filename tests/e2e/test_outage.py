"""The action server really goes down in the middle of a citizen's complaint and comes back:
the citizen is told once that the messages are kept, nothing is lost, the waiting messages are
answered in order when it returns, nothing is sent twice, and the complaint is filed once."""

from __future__ import annotations

import re
import time

from connectors.replay import APOLOGY_DEFERRED
from simulator.client import message_text

from .conftest import WhatsAppStack
from .support import new_phone, tickets_of

COMPLAINT_NUMBER = re.compile(r"ADU-\d{4}-\d{5}")
# The connector caches the action server's health for 2 s (connectors/replay.AssistantHealth).
HEALTH_CACHE_SECONDS = 2.5


def test_messages_sent_while_the_action_server_is_down_are_answered_when_it_returns(
    whatsapp_stack: WhatsAppStack,
) -> None:
    sim, url, stack = whatsapp_stack.simulator, whatsapp_stack.database_url, whatsapp_stack.stack
    phone = new_phone()
    chat = sim.chat(phone, "Sri Wahyuni")
    chat.say("lampu jalan padam sejak kemarin malam, gelap sekali", until="Di mana lokasinya")

    stack.stop_actions()
    try:
        time.sleep(HEALTH_CACHE_SECONDS)
        address = chat.say("Gang Kenanga RT 04 RW 02 dekat pos ronda", until=APOLOGY_DEFERRED)
        # A second message during the outage waits behind the first, without a second apology.
        skip = chat._post_text("lewati aja fotonya")
        assert chat.quiet(after=skip["seq"], seconds=2) == []
    finally:
        stack.start_actions()

    # Replayed in order once the action server answers: the photo question, then the next one.
    photo_question = chat.wait_for("kirim foto", after=address.sent["seq"], timeout=60)
    anonymity = chat.wait_for("dirahasiakan", after=skip["seq"], timeout=60)
    assert photo_question["seq"] < anonymity["seq"]
    chat.tap("Tidak perlu", until="dari publik")
    chat.tap("Boleh publik", until="Apakah sudah benar?")
    turn = chat.tap("Kirim", until=COMPLAINT_NUMBER)
    number = COMPLAINT_NUMBER.search(turn.text).group(0)

    bot_texts = [message_text(m) for m in chat.history() if m["author"] == "bot"]
    assert sum(APOLOGY_DEFERRED in text for text in bot_texts) == 1
    assert sum("kirim foto" in text for text in bot_texts) == 1, "no question is asked twice"
    (ticket,) = tickets_of(url, phone)
    assert ticket.number == number
    assert "Gang Kenanga RT 04 RW 02" in (ticket.location_text or "")
    assert ticket.category == "lapor_lampu_padam"
