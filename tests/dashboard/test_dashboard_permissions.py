"""Permissions are enforced on the server for every page, action, file and export: OPD staff
never see or change another OPD's tickets, anonymous reporters stay anonymous to OPD staff,
NIKs stay masked unless a letter role asks (and that is recorded)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from layanwarga import db, notifications, staff, states
from layanwarga.models import Media, Ticket
from layanwarga.staff import AuditEntry
from tests.dashboard.support import World, csrf, listed, login, post
from tests.dashboard.support import ticket_id


def _state(number: str) -> str:
    with db.session_scope() as session:
        return session.execute(select(Ticket.state).where(Ticket.number == number)).scalar_one()


def test_opd_staff_see_only_their_forwarded_tickets(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    numbers = listed(client.get("/tiket").get_data(as_text=True))
    # Not another OPD's, not one routed to PUPR but not forwarded yet, not a letter request.
    assert sorted(numbers) == sorted([world.pupr, world.anonymous])
    # Filters cannot widen the scope.
    assert listed(client.get("/tiket?opd=DLH&jenis=surat").get_data(as_text=True)) == numbers
    assert listed(client.get(f"/tiket?q={world.dlh}").get_data(as_text=True)) == []


def test_opd_staff_cannot_open_or_change_another_opds_ticket(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    assert client.get(f"/tiket/{world.dlh}").status_code == 404
    assert client.get(f"/tiket/{world.pupr_new}").status_code == 404
    for action in ("proses", "selesai", "tolak", "balas", "teruskan"):
        response = post(client, f"/tiket/{world.dlh}/aksi",
                        {"aksi": action, "catatan": "Sudah", "pesan": "halo", "opd": "PUPR"})
        assert response.status_code == 404
    assert _state(world.dlh) == states.DITERUSKAN
    with db.session_scope() as session:
        assert [n.kind for n in notifications.for_ticket(session, ticket_id(world.dlh))] == ["status"]
    # Their own ticket works.
    assert client.get(f"/tiket/{world.pupr}").status_code == 200
    assert post(client, f"/tiket/{world.pupr}/aksi", {"aksi": "proses"}).status_code == 302
    assert _state(world.pupr) == states.DIPROSES


def test_opd_staff_cannot_take_admin_only_actions(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    # Verifying belongs to the admins (and is not possible from "diteruskan" anyway).
    assert post(client, f"/tiket/{world.pupr}/aksi", {"aksi": "verifikasi"}).status_code == 403
    assert client.get("/admin/pengguna").status_code == 403
    assert client.get("/langsung").status_code == 403


def test_anonymous_reporter_is_hidden_from_opd_staff_but_not_from_admins(app, world: World) -> None:  # type: ignore[no-untyped-def]
    opd = login(app, "pupr")
    page = opd.get(f"/tiket/{world.anonymous}").get_data(as_text=True)
    assert "Ada pungli di jembatan timbang" in page  # the report itself
    for secret in ("Rahasia Sekali", "6283333333333", "+6283333333333"):
        assert secret not in page
    assert 'id="identity-hidden"' in page
    listing = opd.get("/tiket").get_data(as_text=True)
    assert "Rahasia Sekali" not in listing
    # Searching by the name finds nothing for OPD staff.
    assert listed(opd.get("/tiket?q=Rahasia").get_data(as_text=True)) == []
    assert "Rahasia Sekali" not in opd.get("/tiket.csv").get_data(as_text=True)
    admin = login(app, "admin")
    page = admin.get(f"/tiket/{world.anonymous}").get_data(as_text=True)
    assert "Rahasia Sekali" in page and "+6283333333333" in page
    assert listed(admin.get("/tiket?q=Rahasia").get_data(as_text=True)) == [world.anonymous]


def test_letter_clerk_sees_letters_with_nik_masked_until_revealed(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "surat")
    assert listed(client.get("/tiket").get_data(as_text=True)) == [world.letter]
    assert client.get(f"/tiket/{world.pupr}").status_code == 404
    page = client.get(f"/tiket/{world.letter}").get_data(as_text=True)
    assert "6271********0003" in page and "6271014506850003" not in page
    revealed = client.get(f"/tiket/{world.letter}?nik=1").get_data(as_text=True)
    assert "6271014506850003" in revealed
    with db.session_scope() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "lihat_nik")).scalars().one()
        assert entry.actor == "staf:surat" and entry.target == world.letter
    # The CSV export never carries NIKs or names.
    csv_text = client.get("/tiket.csv").get_data(as_text=True)
    assert world.letter in csv_text and "6271" not in csv_text and "Budi" not in csv_text


def test_opd_staff_cannot_reveal_a_nik(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    assert client.get(f"/tiket/{world.letter}?nik=1").status_code == 404


def test_media_only_for_staff_who_may_see_the_ticket(app, world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    photo = tmp_path / "foto.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 100)
    with db.session_scope() as session:
        row = Media(ticket_id=ticket_id(world.dlh), mime_type="image/jpeg", storage_path=str(photo), size_bytes=104)
        session.add(row)
        session.flush()
        media_id = row.id
    assert app.test_client().get(f"/media/{media_id}").status_code == 302  # to the login page
    assert login(app, "pupr").get(f"/media/{media_id}").status_code == 404
    response = login(app, "dlh").get(f"/media/{media_id}")
    assert response.status_code == 200 and response.data.startswith(b"\xff\xd8")
    assert response.headers["Cache-Control"] == "no-store"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_every_page_needs_a_login(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    for path in ("/tiket", f"/tiket/{world.pupr}", "/tiket.csv", "/statistik", "/statistik.csv", "/langsung",
                 "/admin/pengguna", "/ringkasan"):
        response = client.get(path)
        assert response.status_code == 302 and "/masuk" in response.headers["Location"], path
    assert client.get("/langsung/ringkas.json", headers={"Accept": "application/json"}).status_code == 401


def test_forms_without_the_csrf_token_are_refused(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "admin")
    response = client.post(f"/tiket/{world.pupr}/aksi", data={"aksi": "proses"})
    assert response.status_code == 400
    response = client.post(f"/tiket/{world.pupr}/aksi", data={"aksi": "proses", "csrf_token": "palsu"})
    assert response.status_code == 400
    assert _state(world.pupr) == states.DITERUSKAN
    # Logging in needs the token too.
    assert app.test_client().post("/masuk", data={"username": "admin", "password": "x"}).status_code == 400


def test_login_is_throttled_over_http(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    for _ in range(staff.MAX_FAILURES_PER_ACCOUNT):
        response = client.post("/masuk", data={"username": "admin", "password": "salah", "csrf_token": csrf(client)})
        assert response.status_code == 401
    response = client.post("/masuk", data={"username": "admin", "password": "Rahasia-Kantor-2026", "csrf_token": csrf(client)})
    assert response.status_code == 429 and "Terlalu banyak" in response.get_data(as_text=True)


def test_logout_and_idle_expiry_end_the_session(app, world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "admin")
    assert client.get("/tiket").status_code == 200
    post(client, "/keluar", {})
    assert client.get("/tiket").status_code == 302
    client = login(app, "admin")
    later = staff.utcnow() + staff.idle_timeout() + dt.timedelta(minutes=1)
    monkeypatch.setattr(staff, "utcnow", lambda: later)
    assert client.get("/tiket").status_code == 302


def test_deactivated_user_is_logged_out_at_once(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    with db.session_scope() as session:
        user = staff.find_user(session, "pupr")
        staff.update_user(session, user, full_name="P", role="opd", agency_code="PUPR", can_chat=False,
                          is_active=False, agencies=["PUPR", "DLH"])
    assert client.get("/tiket").status_code == 302


def test_security_headers(app, world: World) -> None:  # type: ignore[no-untyped-def]
    response = login(app, "admin").get("/tiket")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers.get("Set-Cookie") or ""
    login_response = app.test_client().get("/masuk")
    assert "HttpOnly" in (login_response.headers.get("Set-Cookie") or "HttpOnly")


def test_public_statistics_carry_no_personal_data(app, world: World) -> None:  # type: ignore[no-untyped-def]
    page = app.test_client().get("/publik/statistik").get_data(as_text=True)
    assert "Statistik layanan publik" in page
    for secret in ("Siti Aminah", "Joko", "6281111111111", world.pupr, "pungli", "6271"):
        assert secret not in page
