"""Merging duplicates in headless Chromium against the real dashboard server: the admin types
the survivor's number on the duplicate's page, lands on the survivor with its supporters, sees
the count in the inbox, and undoes the merge from the duplicate's page."""

from __future__ import annotations

from layanwarga import db, merging, states
from layanwarga.models import Notification, Ticket
from tests.dashboard.support import complaint
from tests.dashboard.test_dashboard_browser import ADMIN_PASSWORD, SHOTS, _login, server  # noqa: F401


def test_merge_then_undo_in_the_browser(server: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    survivor = complaint(
        "b1", sender="6281200000001", description="Lubang besar di depan SDN 3, sudah dua minggu"
    ).number
    duplicate = complaint(
        "b2", sender="6281200000002", description="Jalan depan SDN 3 berlubang dalam"
    ).number
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    _login(page, server, "diskominfo", ADMIN_PASSWORD)
    page.wait_for_url("**/tiket")
    page.goto(f"{server}/tiket/{duplicate}")
    page.fill("#merge-target", survivor.lower())  # typed loosely
    page.click("#merge-button")
    page.wait_for_url(f"**/tiket/{survivor}")
    assert "1 warga lain melaporkan masalah yang sama" in page.inner_text("#supporter-count")
    assert f"digabung dari {duplicate}" in page.inner_text("#supporters")
    page.screenshot(path=str(SHOTS / "merge-survivor.png"), full_page=True)
    page.goto(f"{server}/tiket?urut=dukungan")
    assert "1 warga mendukung" in page.inner_text("main")
    with db.session_scope() as session:
        assert session.query(Notification).filter(Notification.kind == merging.KIND_MERGE).count() == 1

    page.goto(f"{server}/tiket/{duplicate}")
    assert page.inner_text("#ticket-state") == states.LABELS[states.DITOLAK]
    page.click("#split-button")
    page.wait_for_url(f"**/tiket/{duplicate}")
    assert page.inner_text("#ticket-state") == states.LABELS[states.BARU]
    with db.session_scope() as session:
        assert session.query(Ticket).filter(Ticket.number == survivor).one().supporter_count == 0
