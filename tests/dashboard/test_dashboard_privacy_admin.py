"""Admins manage the blocklist and see citizens' data requests; nobody else can."""

from __future__ import annotations

from layanwarga import blocklist, privacy
from tests.dashboard.support import World, login, post


def test_admin_blocks_and_unblocks_a_sender(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    response = post(
        admin,
        "/admin/blokir",
        {"nomor": "+62 812 3456 7890", "alasan": "Pesan kasar berulang"},
        page="/admin/blokir",
    )
    assert response.status_code == 302
    assert blocklist.is_blocked("6281234567890")
    page = admin.get("/admin/blokir").get_data(as_text=True)
    assert "<strong>6281…890</strong>" in page  # shown masked (the unblock form still needs the number)
    assert "Pesan kasar berulang" in page
    post(admin, "/admin/blokir/6281234567890/buka", {}, page="/admin/blokir")
    assert not blocklist.is_blocked("6281234567890")


def test_blocking_needs_a_reason(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    page = post(
        admin, "/admin/blokir", {"nomor": "6281234567890", "alasan": ""}, page="/admin/blokir"
    ).get_data(as_text=True)
    assert "wajib diisi" in page
    assert not blocklist.is_blocked("6281234567890")


def test_data_requests_are_listed_without_phone_numbers(app, world: World) -> None:  # type: ignore[no-untyped-def]
    privacy.summary("6281111111111")
    privacy.erase("6281111111111")
    page = login(app, "admin").get("/admin/permintaan-data").get_data(as_text=True)
    assert "Penghapusan" in page and "Melihat data" in page
    assert "6281111111111" not in page


def test_only_admins_reach_these_pages(app, world: World) -> None:  # type: ignore[no-untyped-def]
    opd = login(app, "pupr")
    assert opd.get("/admin/blokir").status_code == 403
    assert opd.get("/admin/permintaan-data").status_code == 403
