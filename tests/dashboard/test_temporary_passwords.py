"""An admin's new or reset password is temporary: the user must choose their own before the
dashboard opens anything else; the add-user form is empty again once a user is created (it kept
the created user's data), and keeps what was typed when creation fails."""

from __future__ import annotations

import re

from sqlalchemy import select

from layanwarga import db, staff
from layanwarga.models import StaffUser
from tests.dashboard.support import World, csrf, login, post

NEW_PASSWORD_RE = re.compile(r'<code id="new-password">([^<]+)</code>')


def _must_change(username: str) -> bool:
    with db.session_scope() as session:
        return bool(
            session.execute(
                select(StaffUser.must_change_password).where(StaffUser.username == username)
            ).scalar_one()
        )


def _add_user(admin, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "username": "bpbd1",
        "full_name": "Petugas BPBD",
        "role": "opd",
        "agency_code": "BPBD",
        "password": "",
    }
    return post(admin, "/admin/pengguna", {**data, **fields}, page="/admin/pengguna")


def test_the_form_is_empty_after_a_user_is_created(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    html = _add_user(admin).get_data(as_text=True)
    assert NEW_PASSWORD_RE.search(html)
    form = html[html.index("<h2>Tambah pengguna</h2>") :]
    assert 'value="bpbd1"' not in form and 'value="Petugas BPBD"' not in form
    assert '<option value="opd" selected' not in form and '<option value="BPBD" selected' not in form


def test_the_form_keeps_what_was_typed_when_creation_fails(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    response = _add_user(admin, username="pupr")  # taken
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Nama pengguna sudah dipakai" in html
    assert (
        'value="pupr"' in html and 'value="Petugas BPBD"' in html and '<option value="BPBD" selected' in html
    )


def test_a_new_user_must_choose_their_own_password_first(app, world: World) -> None:  # type: ignore[no-untyped-def]
    temporary = NEW_PASSWORD_RE.search(_add_user(login(app, "admin")).get_data(as_text=True)).group(1)
    assert _must_change("bpbd1")
    user = login(app, "bpbd1", temporary)
    for path in ("/tiket", "/statistik", "/langsung", "/ringkasan"):
        response = user.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/akun/sandi", path
    assert user.get("/tiket", headers={"Accept": "application/json"}).status_code == 401
    page = user.get("/akun/sandi").get_data(as_text=True)
    assert 'id="forced-change"' in page
    same = post(
        user, "/akun/sandi", {"current": temporary, "new": temporary, "again": temporary}, page="/akun/sandi"
    )
    assert same.status_code == 400 and "harus berbeda" in same.get_data(as_text=True)
    changed = post(
        user,
        "/akun/sandi",
        {"current": temporary, "new": "Sandi-Pilihan-Sendiri-7", "again": "Sandi-Pilihan-Sendiri-7"},
        page="/akun/sandi",
    )
    assert changed.status_code == 302 and changed.headers["Location"] == "/tiket"
    assert user.get("/tiket").status_code == 200 and not _must_change("bpbd1")
    assert 'id="forced-change"' not in user.get("/akun/sandi").get_data(as_text=True)


def test_a_password_typed_by_the_admin_is_temporary_too(app, world: World) -> None:  # type: ignore[no-untyped-def]
    response = _add_user(login(app, "admin"), password="Sandi-Dari-Admin-2026")
    assert response.status_code == 302 and _must_change("bpbd1")
    assert login(app, "bpbd1", "Sandi-Dari-Admin-2026").get("/tiket").headers["Location"] == "/akun/sandi"


def test_a_reset_password_is_temporary(app, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = login(app, "admin")
    with db.session_scope() as session:
        user_id = staff.find_user(session, "pupr").id
    html = post(
        admin, f"/admin/pengguna/{user_id}", {"reset_password": "1"}, page="/admin/pengguna"
    ).get_data(as_text=True)
    reset = NEW_PASSWORD_RE.search(html).group(1)
    assert _must_change("pupr")
    assert login(app, "pupr", reset).get("/tiket").headers["Location"] == "/akun/sandi"


def test_logging_out_stays_possible(app, world: World) -> None:  # type: ignore[no-untyped-def]
    temporary = NEW_PASSWORD_RE.search(_add_user(login(app, "admin")).get_data(as_text=True)).group(1)
    user = login(app, "bpbd1", temporary)
    response = user.post("/keluar", data={"csrf_token": csrf(user, "/akun/sandi")})
    assert response.status_code == 302 and response.headers["Location"] == "/masuk"
