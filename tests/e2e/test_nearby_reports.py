"""Same problem, one ticket, end to end over the simulator: a second neighbour reporting the
same street light 20 m away is offered the first report and follows it; both get the "selesai"
message and each can rate; a light 2 km away is not offered; an anonymous report offered to a
neighbour shows no text."""

from __future__ import annotations

import re

from sqlalchemy import select

from layanwarga import nearby, states
from layanwarga.config import get_institution
from layanwarga.db import session_scope
from layanwarga.models import Notification, Supporter
from layanwarga.notifications import change_state_and_notify
from layanwarga.notifier import Notifier
from simulator.client import Chat
from whatsapp.settings import GraphSettings

from .conftest import WhatsAppStack
from .support import new_phone, tickets_of

COMPLAINT_NUMBER = re.compile(r"ADU-\d{4}-\d{5}")
LAT, LON = -2.2412, 113.8890  # far from the other tests' pins
METRE = 1 / 111_320


def row_descriptions(turn) -> str:  # type: ignore[no-untyped-def]
    """What the list rows of a turn say under their titles."""
    return "\n".join(
        str(r.get("description") or "")
        for m in turn.replies
        for section in ((m.get("view") or {}).get("list") or {}).get("sections") or []
        for r in section.get("rows") or []
    )


def report_light(chat: Chat, text: str, north_m: float, *, anonymous: bool = False) -> str:
    chat.say(text, until="Di mana lokasinya")
    chat.send_location(LAT + north_m * METRE, LON, "Depan masjid", None, until="kirim foto")
    chat.tap("Lewati", until="dirahasiakan")
    chat.tap("Ya, rahasiakan" if anonymous else "Tidak perlu", until="dari publik")
    chat.tap("Boleh publik", until="Apakah sudah benar?")
    turn = chat.tap("Kirim", until=COMPLAINT_NUMBER)
    return COMPLAINT_NUMBER.search(turn.text).group(0)


def test_a_second_neighbour_follows_the_first_report(whatsapp_stack: WhatsAppStack) -> None:
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    first_phone, second_phone = new_phone(), new_phone()
    first = sim.chat(first_phone, "Rina Marlina")
    number = report_light(first, "lampu jalan mati sejak kemarin sore, gelap sekali", 0)

    second = sim.chat(second_phone, "Agus Salim")
    second.say("pju padam dari kemarin, gelap kalau malam", until="Di mana lokasinya")
    turn = second.send_location(LAT + 20 * METRE, LON, "Depan masjid", None, until="laporan serupa")
    assert number in turn.rows and nearby.NEW_REPORT in turn.rows
    assert "±20 m" in row_descriptions(turn) and "sejak kemarin sore" in row_descriptions(turn)
    second.tap(number, until="kirim foto")
    second.tap("Lewati", until="dirahasiakan")
    second.tap("Tidak perlu", until="dari publik")
    turn = second.tap("Boleh publik", until="Apakah sudah benar?")
    assert f"*Ikuti laporan:* {number}" in turn.text
    turn = second.tap("Kirim", until="kini mengikuti laporan")
    assert number in turn.text and tickets_of(url, second_phone) == []

    # Staff resolve it: both are asked, both rate.
    (ticket,) = tickets_of(url, first_phone)
    inst = get_institution()
    for target, note in ((states.DITERUSKAN, None), (states.SELESAI, "Lampu sudah diganti.")):
        with session_scope(url, write=True) as session:
            change_state_and_notify(inst, ticket.id, target, "petugas.uji", note, "PERKIM", session=session)
    # The outbox worker's turn (the stack runs none): every message due goes to the simulator.
    config = whatsapp_stack.config
    settings = GraphSettings(
        access_token=config.access_token,
        phone_number_id=config.phone_number_id,
        api_base=whatsapp_stack.simulator_url,
        api_version=config.api_version,
    )
    worker = Notifier(settings, url=url)
    # One message per citizen at a time, in order: a few turns send the forwarding, then "selesai".
    assert sum(worker.run_once(limit=50) for _ in range(4)) >= 4
    with session_scope(url) as session:
        sent = session.execute(
            select(Notification.status, Notification.last_error).where(Notification.ticket_id == ticket.id)
        ).all()
        assert sent and all(status == "sent" for status, _ in sent), sent
    for chat in (first, second):
        chat.wait_for("benar-benar sudah selesai", timeout=60)
        chat.tap("Sudah selesai", until="penilaian")
    first.say("lima", until="Terima kasih atas penilaiannya")
    second.say("empat", until="Terima kasih atas penilaiannya")
    (ticket,) = tickets_of(url, first_phone)
    assert ticket.rating == 5
    with session_scope(url) as session:
        assert (
            session.execute(select(Supporter.rating).where(Supporter.ticket_id == ticket.id)).scalar_one()
            == 4
        )


def test_far_away_nothing_is_offered_and_an_anonymous_report_shows_no_text(
    whatsapp_stack: WhatsAppStack,
) -> None:
    sim = whatsapp_stack.simulator
    hidden = report_light(
        sim.chat(new_phone(), "Siti Rahma"),
        "lampu jalan mati total tiga tiang berturut-turut",
        5000,
        anonymous=True,
    )
    far = sim.chat(new_phone(), "Joko Widodo")
    far.say("lampu jalan mati sudah dua malam", until="Di mana lokasinya")
    # 2 km from the anonymous report: straight to the photos.
    turn = far.send_location(LAT + 3000 * METRE, LON, "Gang Cempaka", None, until="kirim foto")
    assert "laporan serupa" not in turn.text
    near = sim.chat(new_phone(), "Made Wirawan")
    near.say("lampu jalan mati sudah dua malam", until="Di mana lokasinya")
    turn = near.send_location(LAT + 5010 * METRE, LON, "Gang Cempaka", None, until="laporan serupa")
    assert hidden in turn.rows
    assert "tiga tiang" not in row_descriptions(turn) and nearby.PRIVATE_TEXT in row_descriptions(turn)
