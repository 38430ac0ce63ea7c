"""Staff and duplicates over HTTP: the supporter count on the inbox (and its sort) and on the
ticket page; an admin merges a duplicate into another complaint and undoes it. Who else may
merge (OPD staff, between their own complaints) is tried in test_dashboard_permissions.py."""

from __future__ import annotations

from sqlalchemy import select

from layanwarga import db, states, supporters
from layanwarga.models import Ticket
from tests.dashboard.support import INST, World, complaint, listed, login, post


def follow(number: str, sender: str, key: str) -> None:
    supporters.follow(
        INST,
        supporters.FollowDraft(
            number=number, sender=sender, idempotency_key=key, note="Sama, di depan rumah saya"
        ),
    )


def test_supporters_show_on_the_inbox_sorted_and_on_the_ticket(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    backed = world.pupr_new
    follow(backed, "6289000000001", "k1")
    follow(backed, "6289000000002", "k2")
    follow(world.dlh, "6289000000003", "k3")
    html = admin.get("/tiket?urut=dukungan").get_data(as_text=True)
    assert listed(html)[:2] == [backed, world.dlh]
    assert "👥 2 warga mendukung" in html
    page = admin.get(f"/tiket/{backed}").get_data(as_text=True)
    assert "2 warga lain melaporkan masalah yang sama" in page and "Sama, di depan rumah saya" in page
    # Keyset pages walk the sort without losing or repeating a ticket.
    first = admin.get("/tiket?urut=dukungan&status=semua").get_data(as_text=True)
    assert len(listed(first)) == len(set(listed(first)))


def test_admin_merges_a_duplicate_and_undoes_it(app, world: World) -> None:  # type: ignore[no-untyped-def]
    duplicate = complaint("dup", sender="6289000000009").number
    admin = login(app, "admin")
    response = post(admin, f"/tiket/{duplicate}/gabung", {"ke": world.pupr_new})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tiket/{world.pupr_new}")
    page = admin.get(f"/tiket/{world.pupr_new}").get_data(as_text=True)
    assert "1 warga lain melaporkan masalah yang sama" in page and f"digabung dari {duplicate}" in page
    merged = admin.get(f"/tiket/{duplicate}").get_data(as_text=True)
    assert "digabung ke" in merged and "Batalkan penggabungan" in merged
    post(admin, f"/tiket/{duplicate}/pisah", {})
    with db.session_scope() as session:
        row = session.execute(select(Ticket).where(Ticket.number == duplicate)).scalars().one()
        assert row.state == states.BARU
    # A number that is not a complaint is refused with a message, nothing changes.
    post(admin, f"/tiket/{duplicate}/gabung", {"ke": "ADU-2026-99999"})
    assert "tidak ditemukan" in admin.get(f"/tiket/{duplicate}").get_data(as_text=True)
