"""The live inbox tells a citizen waiting for an officer from one being served, and puts an
emergency reported while waiting first (issue 26 item 1: the badge said "Sedang dilayani petugas"
before anyone had answered)."""

from __future__ import annotations

from layanwarga import handoff
from tests.dashboard.support import INST, csrf, login

WAITING, EMERGENCY = "6281000000011", "6281000000012"


def test_waiting_served_and_emergency_are_told_apart(app, world) -> None:  # type: ignore[no-untyped-def]
    waiting = handoff.open_handoff(WAITING, inst=INST)
    urgent = handoff.open_handoff(EMERGENCY, inst=INST)
    handoff.flag_emergency(EMERGENCY)
    admin = login(app, "admin")

    inbox = admin.get("/langsung").get_data(as_text=True)
    assert inbox.index(f"/langsung/{urgent.id}") < inbox.index(
        f"/langsung/{waiting.id}"
    )  # the emergency first
    assert inbox.count("Menunggu petugas") == 2 and inbox.count("🚨 Darurat") == 1

    page = admin.get(f"/langsung/{waiting.id}").get_data(as_text=True)
    assert '<span class="tag ok" id="handoff-state">Menunggu petugas</span>' in page
    assert 'id="handoff-emergency" hidden' in page
    assert "keadaan darurat" in admin.get(f"/langsung/{urgent.id}").get_data(as_text=True)

    token = csrf(admin, f"/langsung/{waiting.id}")
    assert admin.post(
        f"/langsung/{waiting.id}/balas",
        data={"pesan": "Selamat pagi, ada yang bisa dibantu?", "csrf_token": token},
    ).status_code in (200, 302, 303)
    polled = admin.get(f"/langsung/{waiting.id}/pesan.json").get_json()
    assert polled["state"] == "Sedang dilayani petugas" and polled["emergency"] is False
    assert admin.get(f"/langsung/{urgent.id}/pesan.json").get_json()["emergency"] is True
