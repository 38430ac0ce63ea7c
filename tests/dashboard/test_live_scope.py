"""Live chat follows the dashboard's scoping: who may open which handoff, which of the citizen's
tickets a chat lists, which lines it shows, and which photos and documents staff may download.

The world: citizen Ani has a complaint forwarded to PUPR, an anonymous pungli complaint
forwarded to the Inspektorat and an SKTM request; Budi has only an anonymous complaint forwarded
to PUPR; Citra has nothing on file; Dedi has a complaint forwarded to DLH. Each asked for an
officer. Staff: the admin (front desk), OPD officers of PUPR, the Inspektorat and DLH with the
chat permission, a PUPR officer without it and a letter clerk with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import pytest

from layanwarga import conversation_log, db, handoff, notifications, states
from layanwarga.models import Media, Notification, utcnow
from tests.dashboard.support import INST, complaint, csrf, letter, login, make_user, ticket_id

ANI, BUDI, CITRA, DEDI = "6281000000001", "6281000000002", "6281000000003", "6281000000004"


@dataclass
class Chats:
    ani_pupr: str
    ani_pungli: str
    ani_sktm: str
    budi_anonymous: str
    dedi_dlh: str
    handoffs: Dict[str, int]


def _forward(number: str, agency: str) -> None:
    notifications.change_state_and_notify(
        INST, ticket_id(number), states.DITERUSKAN, "staf:admin", agency_code=agency
    )


@pytest.fixture
def chats(db_url: str) -> Chats:
    make_user("admin", "admin")
    make_user("pupr_chat", "opd", "PUPR", can_chat=True)
    make_user("pupr", "opd", "PUPR")
    make_user("inspektorat_chat", "opd", "INSPEKTORAT", can_chat=True)
    make_user("dlh_chat", "opd", "DLH", can_chat=True)
    make_user("loket", "surat", can_chat=True)
    ani_pupr = complaint("c1", sender=ANI, reporter_name="Ani Lestari").number
    ani_pungli = complaint(
        "c2",
        sender=ANI,
        category="lapor_pelayanan",
        reporter_name="Ani Lestari",
        anonymous=True,
        description="Ada pungli saat mengurus KTP di kantor",
    ).number
    ani_sktm = letter("c3", sender=ANI).number
    budi_anonymous = complaint("c4", sender=BUDI, reporter_name="Budi Rahasia", anonymous=True).number
    dedi_dlh = complaint("c5", sender=DEDI, category="lapor_sampah", reporter_name="Dedi").number
    for number, agency in (
        (ani_pupr, "PUPR"),
        (ani_pungli, "INSPEKTORAT"),
        (budi_anonymous, "PUPR"),
        (dedi_dlh, "DLH"),
    ):
        _forward(number, agency)
    handoffs = {}
    for sender, name in ((ANI, "Ani Lestari"), (BUDI, "Budi Rahasia"), (CITRA, "Citra"), (DEDI, "Dedi")):
        conversation_log.log_inbound(sender, f"saya {name}, mau bicara dengan petugas")
        handoffs[sender] = handoff.open_handoff(sender, inst=INST, profile_name=name).id
    return Chats(ani_pupr, ani_pungli, ani_sktm, budi_anonymous, dedi_dlh, handoffs)


# Who may open which handoff (every other answers 404 on every route, like a missing one).
OPENS = {
    "admin": {ANI, BUDI, CITRA, DEDI},
    "pupr_chat": {ANI},  # Budi's only PUPR complaint is anonymous
    "inspektorat_chat": set(),  # Ani's complaint there is anonymous
    "dlh_chat": {DEDI},
    "loket": {ANI},  # Ani's SKTM request
}


@pytest.mark.parametrize("username", sorted(OPENS))
def test_each_chat_user_opens_only_handoffs_of_citizens_they_already_see(
    app, chats: Chats, username: str
) -> None:  # type: ignore[no-untyped-def]
    client = login(app, username)
    listing = client.get("/langsung").get_data(as_text=True)
    names = {ANI: "Ani Lestari", BUDI: "Budi Rahasia", CITRA: "Citra", DEDI: "Dedi"}
    for sender, handoff_id in chats.handoffs.items():
        allowed = sender in OPENS[username]
        assert (names[sender] in listing) is allowed, (username, sender)
        expected = 200 if allowed else 404
        assert client.get(f"/langsung/{handoff_id}").status_code == expected, (username, sender)
        assert client.get(f"/langsung/{handoff_id}/pesan.json").status_code == expected
    summary = client.get("/langsung/ringkas.json").get_json()
    assert summary["open"] == len(OPENS[username])
    for sender in set(chats.handoffs) - OPENS[username]:
        handoff_id = chats.handoffs[sender]
        token = csrf(client, "/langsung")
        reply = client.post(f"/langsung/{handoff_id}/balas", data={"pesan": "halo", "csrf_token": token})
        close = client.post(f"/langsung/{handoff_id}/tutup", data={"csrf_token": token})
        assert (reply.status_code, close.status_code) == (404, 404)
        assert handoff.is_active(sender), "a handoff the user may not open stays open"
    with db.session_scope() as session:
        assert not [n for n in session.execute(db_select_chat()).scalars()], "no reply was queued"


def db_select_chat():  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    return select(Notification).where(Notification.kind == notifications.KIND_CHAT)


def test_staff_without_the_chat_permission_never_reach_the_live_inbox(app, chats: Chats) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    assert client.get("/langsung").status_code == 403
    assert client.get(f"/langsung/{chats.handoffs[ANI]}").status_code == 403


@pytest.mark.parametrize(
    "username, shown",
    [
        ("admin", {"ani_pupr", "ani_pungli", "ani_sktm"}),
        ("pupr_chat", {"ani_pupr"}),
        ("loket", {"ani_sktm"}),
    ],
)
def test_a_chat_lists_only_the_tickets_the_viewer_may_see_and_never_an_anonymous_one(
    app, chats: Chats, username: str, shown: set
) -> None:  # type: ignore[no-untyped-def]
    page = login(app, username).get(f"/langsung/{chats.handoffs[ANI]}").get_data(as_text=True)
    for name in ("ani_pupr", "ani_pungli", "ani_sktm"):
        assert (getattr(chats, name) in page) is (name in shown), (username, name)


def test_a_message_about_a_ticket_the_viewer_may_not_see_is_left_out_of_the_chat(app, chats: Chats) -> None:  # type: ignore[no-untyped-def]
    """A status message of Ani's anonymous pungli complaint, sent while her handoff is open, would
    tell a PUPR officer that she is the anonymous reporter."""
    notifications.change_state_and_notify(
        INST, ticket_id(chats.ani_pungli), states.DIPROSES, "staf:inspektorat_chat"
    )
    handoff_id = chats.handoffs[ANI]
    pupr = login(app, "pupr_chat")
    for body in (
        pupr.get(f"/langsung/{handoff_id}").get_data(as_text=True),
        str(pupr.get(f"/langsung/{handoff_id}/pesan.json").get_json()),
        pupr.get("/langsung").get_data(as_text=True),
    ):
        assert chats.ani_pungli not in body
        assert "mau bicara dengan petugas" in body
    admin = login(app, "admin").get(f"/langsung/{handoff_id}/pesan.json").get_json()
    assert any(chats.ani_pungli in m["text"] for m in admin["messages"])


def test_a_chat_shows_the_handoffs_own_lines_not_the_citizens_earlier_chats(app, chats: Chats) -> None:  # type: ignore[no-untyped-def]
    earlier = utcnow() - dt.timedelta(hours=3)
    conversation_log.log_inbound(CITRA, "penghasilan saya 900 ribu sebulan, anak saya sakit", at=earlier)
    handoff.close_handoff(chats.handoffs[CITRA], notify=False, inst=INST)
    reopened = handoff.open_handoff(CITRA, inst=INST, profile_name="Citra")
    conversation_log.log_inbound(CITRA, "halo pak, masih ada?")
    page = login(app, "admin").get(f"/langsung/{reopened.id}").get_data(as_text=True)
    assert "halo pak, masih ada?" in page
    assert "penghasilan saya" not in page and "mau bicara dengan petugas" not in page


def _photo(tmp_path: Path, name: str) -> int:
    path = tmp_path / f"{name}.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + name.encode() * 20)
    with db.session_scope() as session:
        row = Media(mime_type="image/jpeg", storage_path=str(path), size_bytes=path.stat().st_size)
        session.add(row)
        session.flush()
        return int(row.id)


def test_media_follows_what_it_belongs_to(app, chats: Chats, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A KTP photo sent in a letter form Citra abandoned after her handoff, linked to nothing.
    handoff.close_handoff(chats.handoffs[CITRA], notify=False, inst=INST)
    abandoned = _photo(tmp_path, "ktp")
    conversation_log.log_inbound(CITRA, "/kirim_media", media_id=abandoned)
    # A photo Ani sends the officer during her handoff, and one Dedi sends during his.
    ani_chat = _photo(tmp_path, "ani")
    conversation_log.log_inbound(ANI, "/kirim_media", media_id=ani_chat)
    dedi_chat = _photo(tmp_path, "dedi")
    conversation_log.log_inbound(DEDI, "/kirim_media", media_id=dedi_chat)
    # A photo of Budi's anonymous PUPR complaint.
    budi_report = _photo(tmp_path, "budi")
    with db.session_scope() as session:
        session.get(Media, budi_report).ticket_id = ticket_id(chats.budi_anonymous)
    expected = {
        "admin": {ani_chat, dedi_chat, budi_report},
        "pupr_chat": {ani_chat, budi_report},  # the report's photo, on the ticket page they may open
        "pupr": {budi_report},
        "dlh_chat": {dedi_chat},
        "loket": {ani_chat},
        "inspektorat_chat": set(),
    }
    for username, allowed in expected.items():
        client = login(app, username)
        for media_id in (abandoned, ani_chat, dedi_chat, budi_report):
            status = client.get(f"/media/{media_id}").status_code
            assert status == (200 if media_id in allowed else 404), (username, media_id)
