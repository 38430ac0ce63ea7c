"""A citizen waiting for an officer is never left without an answer (issue 26 item 1).

Found from outside (2026-12-07): while waiting for an officer, "menu", "batal, gak jadi" and
"tolong pak ada kebakaran di sebelah rumah sy!!" were all met with silence, no emergency numbers.
Through the simulator against the real assistant: the emergency is answered at once and flagged
for staff, *menu* says where the citizen stands with a way back, the first other message is
acknowledged once (never again), and *batal* leaves the queue so the assistant answers again.
"""

from __future__ import annotations

from sqlalchemy import select

from layanwarga import handoff
from layanwarga.db import session_scope
from layanwarga.models import Handoff

from .conftest import WhatsAppStack
from .support import new_phone


def test_a_waiting_citizen_gets_emergency_numbers_status_and_a_way_out(whatsapp_stack: WhatsAppStack) -> None:
    sim, url = whatsapp_stack.simulator, whatsapp_stack.database_url
    phone = new_phone("62812773")
    chat = sim.chat(phone, "Maria Ulfa")
    chat.say("saya mau bicara dengan petugas saja", until="petugas")
    assert handoff.is_active(phone, url=url)

    status = chat.say("menu", until="sedang menunggu petugas")
    assert status.buttons == ["Tetap menunggu", "Kembali ke asisten"]

    emergency = chat.say("tolong pak ada kebakaran di sebelah rumah sy!!", until="113")
    assert "112" in emergency.text
    with session_scope(url) as session:
        row = session.execute(select(Handoff).where(Handoff.sender == phone)).scalars().one()
        assert row.emergency_at is not None and row.state == handoff.OPEN

    forwarded = chat.say("lampu di depan rumah saya mati sudah 3 hari", until="sudah kami teruskan")
    quiet = chat._post_text("rumah saya di gang mawar nomor 5")
    assert chat.quiet(after=quiet["seq"], seconds=3) == [], "acknowledged once, then the officer answers"
    assert forwarded.text

    chat.say("batal, gak jadi", until="kami batalkan")
    assert not handoff.is_active(phone, url=url)
    with session_scope(url) as session:
        assert (
            session.execute(select(Handoff.closed_by).where(Handoff.sender == phone)).scalar_one()
            == handoff.CLOSED_BY_CITIZEN
        )
    chat.say("halo", until="Bapak/Ibu")  # the assistant answers again
