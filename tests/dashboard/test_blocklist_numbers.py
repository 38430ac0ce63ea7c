"""A number an admin blocks, however typed, is refused by the connector's own check
(``inbound.admit_inbound``, which the WhatsApp processor calls with the webhook's ``from``);
what is no phone number is refused with a clear message and the form keeps what was typed."""

from __future__ import annotations

from layanwarga import blocklist, db, inbound
from tests.dashboard.support import World, login, post

WA_ID = "6281234567890"  # what WhatsApp sends as `from` for 0812-3456-7890
TYPED = ["0812 3456 7890", "+62 812-3456-7890", "62 812 3456 7890", "(0812) 3456-7890", "081234567890", WA_ID]


def _connector_refuses(sender: str) -> bool:
    return inbound.admit_inbound(
        sender, wa_id=sender, user_id=None, profile_name="X", inbound_at=None
    ).blocked


def test_a_number_blocked_as_typed_is_refused_by_the_connector(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    for typed in TYPED:
        response = post(
            admin, "/admin/blokir", {"nomor": typed, "alasan": "Pesan kasar berulang"}, page="/admin/blokir"
        )
        assert response.status_code == 302, (typed, response.get_data(as_text=True)[:300])
        assert _connector_refuses(WA_ID), typed
        with db.session_scope() as session:
            assert [row.sender for row in blocklist.all_blocked(session)] == [WA_ID]
        page = admin.get("/admin/blokir").get_data(as_text=True)
        assert "6281…890 diblokir" in page and WA_ID not in page.replace(f"/admin/blokir/{WA_ID}/buka", "")
        post(admin, f"/admin/blokir/{WA_ID}/buka", {}, page="/admin/blokir")
        assert not _connector_refuses(WA_ID), typed


def test_what_is_no_phone_number_is_refused_and_kept_in_the_form(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    for typed in ("nomor saya", "12345", "0812", "US.13491208655302741918", "628110012345678"):
        response = post(
            admin, "/admin/blokir", {"nomor": typed, "alasan": "Spam berulang"}, page="/admin/blokir"
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 400, typed
        assert "bukan nomor telepon yang valid" in page and "0812 3456 7890" in page
        assert f'value="{typed}"' in page and 'value="Spam berulang"' in page
    with db.session_scope() as session:
        assert blocklist.all_blocked(session) == []


def test_blocking_needs_the_number_and_a_reason(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    missing_reason = post(
        admin, "/admin/blokir", {"nomor": "0812 3456 7890", "alasan": "  "}, page="/admin/blokir"
    )
    assert missing_reason.status_code == 400 and "Alasan pemblokiran wajib diisi" in missing_reason.get_data(
        as_text=True
    )
    missing_number = post(admin, "/admin/blokir", {"nomor": "", "alasan": "Spam"}, page="/admin/blokir")
    assert missing_number.status_code == 400 and "Nomor WhatsApp wajib diisi" in missing_number.get_data(
        as_text=True
    )
    assert not _connector_refuses(WA_ID)
