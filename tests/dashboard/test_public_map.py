"""What the public map's data holds (``/publik/peta.json``, no login): open complaints and those
resolved in the last ``publik.recently_fixed_days`` days that have a pin; not rejected ones, not
long-resolved ones, not letter requests; anonymous ones without text, their pins snapped."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import update

from layanwarga import db, public_tickets, states, tickets
from layanwarga.models import Ticket
from tests.dashboard.support import INST, complaint, letter, ticket_id


def _close(number: str, target: str, days_ago: int = 0) -> None:
    tickets.change_state(ticket_id(number), states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    tickets.change_state(
        ticket_id(number),
        target,
        "staf:admin",
        "Sudah ditangani." if target == states.SELESAI else "Bukan wewenang.",
    )
    if days_ago:
        with db.session_scope(write=True) as session:
            moment = dt.datetime.utcnow() - dt.timedelta(days=days_ago)
            session.execute(update(Ticket).where(Ticket.number == number).values(closed_at=moment))


def test_the_map_shows_open_and_recently_fixed_complaints_with_a_pin(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    pin = {"latitude": -2.2101, "longitude": 113.9141}
    open_one = complaint("m1", **pin).number
    fixed_now = complaint("m2", **pin).number
    fixed_long_ago = complaint("m3", **pin).number
    rejected = complaint("m4", **pin).number
    no_pin = complaint("m5").number
    anonymous = complaint(
        "m6", anonymous=True, description="Pungli", latitude=-2.21234, longitude=113.91678
    ).number
    letter("m7")
    _close(fixed_now, states.SELESAI)
    _close(fixed_long_ago, states.SELESAI, days_ago=INST.public.recently_fixed_days + 1)
    _close(rejected, states.DITOLAK)
    response = app.test_client().get("/publik/peta.json")
    assert response.status_code == 200 and "public" in response.headers["Cache-Control"]
    shown = {item["nomor"]: item for item in response.get_json()["laporan"]}
    assert set(shown) == {open_one, fixed_now, anonymous}
    assert no_pin not in shown and fixed_long_ago not in shown and rejected not in shown
    assert (
        shown[fixed_now]["status"] == states.SELESAI
        and shown[open_one]["uraian"] == "Jalan berlubang besar di depan SDN 3"
    )
    hidden = shown[anonymous]
    assert hidden["privat"] is True and hidden["uraian"] is None and hidden["lokasi"] is None
    assert (hidden["lat"], hidden["lon"]) == (public_tickets.snap(-2.21234), public_tickets.snap(113.91678))


def test_the_page_needs_no_login_and_admits_only_the_configured_tile_server(app, db_url: str) -> None:  # type: ignore[no-untyped-def]
    page = app.test_client().get("/publik/peta")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Peta laporan warga" in html and "/static/vendor/leaflet/leaflet.js" in html
    assert "unpkg" not in html and "cdn" not in html.lower()
    csp = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp and "script-src 'self'" in csp
    quiet = dataclasses.replace(INST, public=dataclasses.replace(INST.public, tile_url=""))
    app.config["LW_INSTITUTION"] = quiet
    page = app.test_client().get("/publik/peta")
    assert "img-src 'self' data:;" in page.headers["Content-Security-Policy"]
    assert 'data-ubin=""' in page.get_data(as_text=True)
