"""Real processes killed in the middle of a conversation lose nothing a citizen sent.

Found from outside (2026-12-07): with the action server SIGKILLed while a citizen was in a
complaint form, Rasa logged "the actions events are lost", the citizen's location got no answer
and was gone after the action server came back; and a message ``rasa run`` had acknowledged
with 200 just before it was killed was never answered (Meta does not redeliver what got a 200).
Now the connector journals every message before the 200 and finishes it only when its turn is
complete, a turn whose action failed runs again, and a restarted ``rasa run`` replays what it left.
"""

from __future__ import annotations

import re
from typing import Iterator

import pytest

from connectors.replay import APOLOGY_DEFERRED
from simulator.client import message_text

from .conftest import WhatsAppStack, start_whatsapp_stack
from .support import new_phone, tickets_of

COMPLAINT_NUMBER = re.compile(r"ADU-\d{4}-\d{5}")
PIN = (-2.2096, 113.9135)


@pytest.fixture(scope="module")
def crash_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WhatsAppStack]:
    """A stack of its own (its processes get killed), with a stable instance name so that a
    restarted ``rasa run`` takes back at once what it left unfinished."""
    running = start_whatsapp_stack(
        tmp_path_factory.mktemp("crash-stack"), extra_env={"LAYANWARGA_INSTANCE": "rasa-e2e"}
    )
    yield running
    running.stop()


def bot_texts(chat) -> list:  # type: ignore[no-untyped-def]
    return [message_text(m) for m in chat.history() if m["author"] == "bot"]


def test_a_location_sent_while_the_action_server_is_killed_is_answered_when_it_returns(
    crash_stack: WhatsAppStack,
) -> None:
    sim, url, stack = crash_stack.simulator, crash_stack.database_url, crash_stack.stack
    phone = new_phone("62812771")
    chat = sim.chat(phone, "Dewi Lestari")
    chat.say("lampu jalan padam sejak kemarin malam, gelap sekali", until="Di mana lokasinya")

    stack.kill("actions")
    try:
        pin = chat.send_location(*PIN, name="Gang Kenanga", address="RT 04 RW 02", until=APOLOGY_DEFERRED)
    finally:
        stack.start_actions()

    # The pin was kept and is answered once the action server is back: the next question.
    photo_question = chat.wait_for("kirim foto", after=pin.sent["seq"], timeout=90)
    chat.tap("Lewati", until="dirahasiakan")
    chat.tap("Tidak perlu", until="dari publik")
    chat.tap("Boleh publik", until="Apakah sudah benar?")
    turn = chat.tap("Kirim", until=COMPLAINT_NUMBER)

    texts = bot_texts(chat)
    assert sum(APOLOGY_DEFERRED in text for text in texts) == 1
    assert sum("kirim foto" in text for text in texts) == 1, "the question after the pin is asked once"
    (ticket,) = tickets_of(url, phone)
    assert ticket.number == COMPLAINT_NUMBER.search(turn.text).group(0)
    assert ticket.latitude == pytest.approx(PIN[0]) and ticket.longitude == pytest.approx(PIN[1])
    assert photo_question["seq"] > pin.sent["seq"]


def test_a_message_acknowledged_just_before_rasa_is_killed_is_answered_after_the_restart(
    crash_stack: WhatsAppStack,
) -> None:
    sim, stack = crash_stack.simulator, crash_stack.stack
    phone = new_phone("62812772")
    chat = sim.chat(phone, "Yohanes Dapa")
    chat.say("halo", until="Bapak/Ibu")

    # The action server hangs, so the turn cannot finish; the message is acknowledged (200).
    stack.pause_actions()
    try:
        sent = chat._post_text("jam berapa kantor kelurahan buka?")
        sim.wait_until(
            phone,
            lambda ms: any(m["id"] == sent["id"] and m["status"] in ("delivered", "read") for m in ms),
            timeout=30,
            describe="the question to be acknowledged",
        )
        stack.kill("rasa")
    finally:
        stack.resume_actions()
    stack.start_rasa()

    answer = chat.wait_for(re.compile(r"\d{2}[.:]\d{2}"), after=sent["seq"], timeout=90)
    assert "jam" in message_text(answer).lower() or "buka" in message_text(answer).lower()
    later = [m for m in chat.history() if m["author"] == "bot" and m["seq"] > sent["seq"]]
    assert sum(bool(re.search(r"\d{2}[.:]\d{2}", message_text(m))) for m in later) == 1, "answered once"
