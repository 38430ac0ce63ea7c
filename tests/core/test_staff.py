"""Staff accounts: Argon2id hashes, generic login errors, throttling per account from one address
and per address (in the database), sessions that expire on the server and are revoked when access changes."""

from __future__ import annotations

import datetime as dt

import pytest

from layanwarga import db, staff
from layanwarga.models import StaffUser
from tests.dashboard.support import CHEAP_HASHER, INST, PASSWORD, make_user

NOW = dt.datetime(2026, 11, 23, 3, 0)


@pytest.fixture(autouse=True)
def cheap_hashes() -> None:
    staff.set_hasher(CHEAP_HASHER)


def login(username: str, password: str, ip: str = "10.0.0.1", now: dt.datetime = NOW) -> staff.LoginResult:
    with db.session_scope(write=True) as session:
        return staff.authenticate(session, username, password, ip, now)


def test_passwords_are_argon2id_and_rules_apply(db_url: str) -> None:
    make_user("admin", "admin")
    with db.session_scope() as session:
        user = staff.find_user(session, "ADMIN ")
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        with pytest.raises(staff.UserError, match="minimal"):
            staff.create_user(session, username="x", full_name="X", password="pendek", role="admin")
        with pytest.raises(staff.UserError, match="OPD"):
            staff.create_user(
                session,
                username="y",
                full_name="Y",
                password=PASSWORD,
                role="opd",
                agencies=list(INST.agencies),
            )
        with pytest.raises(staff.UserError, match="sudah dipakai"):
            staff.create_user(session, username="Admin", full_name="Z", password=PASSWORD, role="admin")


def test_login_errors_do_not_reveal_accounts(db_url: str) -> None:
    make_user("pupr1", "opd", "PUPR")
    assert login("pupr1", PASSWORD).user_id is not None
    wrong = login("pupr1", "salah-sandi-123")
    unknown = login("tidakada", "salah-sandi-123")
    assert wrong.error == unknown.error == "Nama pengguna atau kata sandi salah."


def test_account_is_throttled_after_five_failures_from_one_address(db_url: str) -> None:
    make_user("pupr1", "opd", "PUPR")
    for i in range(staff.MAX_FAILURES_PER_ACCOUNT):
        assert login("pupr1", "salah", ip="10.6.6.6", now=NOW + dt.timedelta(seconds=i)).error
    blocked = login("pupr1", PASSWORD, ip="10.6.6.6", now=NOW + dt.timedelta(minutes=1))
    assert blocked.user_id is None and "Terlalu banyak" in blocked.error and blocked.retry_after_minutes >= 1
    # The officer at their own desk is not locked out by someone else's guesses.
    assert login("pupr1", PASSWORD, ip="10.0.0.1", now=NOW + dt.timedelta(minutes=1)).user_id
    # After the window the right password works again from the guessing address too.
    assert login(
        "pupr1", PASSWORD, ip="10.6.6.6", now=NOW + staff.THROTTLE_WINDOW + dt.timedelta(minutes=1)
    ).user_id


def test_failures_from_many_addresses_never_lock_an_account(db_url: str) -> None:
    make_user("pupr1", "opd", "PUPR")
    for i in range(3 * staff.MAX_FAILURES_PER_IP):
        login("pupr1", "salah", ip=f"10.1.{i}.1", now=NOW + dt.timedelta(seconds=i))
    assert login("pupr1", PASSWORD, ip="10.0.0.1", now=NOW + dt.timedelta(minutes=2)).user_id


def test_a_success_resets_the_account_count_from_that_address(db_url: str) -> None:
    make_user("pupr1", "opd", "PUPR")
    for i in range(staff.MAX_FAILURES_PER_ACCOUNT - 1):
        login("pupr1", "salah", now=NOW + dt.timedelta(seconds=i))
    assert login("pupr1", PASSWORD, now=NOW + dt.timedelta(seconds=10)).user_id
    for i in range(staff.MAX_FAILURES_PER_ACCOUNT - 1):
        login("pupr1", "salah", now=NOW + dt.timedelta(seconds=20 + i))
    assert login("pupr1", PASSWORD, now=NOW + dt.timedelta(seconds=30)).user_id


def test_address_is_throttled_across_accounts(db_url: str) -> None:
    make_user("pupr1", "opd", "PUPR")
    for i in range(staff.MAX_FAILURES_PER_IP):
        login(f"tebak{i}", "salah", ip="10.6.6.6", now=NOW + dt.timedelta(seconds=i))
    assert (
        "Terlalu banyak" in login("pupr1", PASSWORD, ip="10.6.6.6", now=NOW + dt.timedelta(minutes=2)).error
    )
    assert login("pupr1", PASSWORD, ip="10.7.7.7", now=NOW + dt.timedelta(minutes=2)).user_id


def test_inactive_user_cannot_log_in(db_url: str) -> None:
    uid = make_user("pupr1", "opd", "PUPR")
    with db.session_scope() as session:
        session.get(StaffUser, uid).is_active = False
    assert login("pupr1", PASSWORD).user_id is None


def test_sessions_expire_when_idle_and_at_their_lifetime(db_url: str) -> None:
    uid = make_user("admin", "admin")
    with db.session_scope() as session:
        new = staff.start_session(session, uid, "10.0.0.1", "pytest", now=NOW)
    with db.session_scope() as session:
        active = staff.load_session(session, new.token, now=NOW + dt.timedelta(minutes=10))
        assert active.user.id == uid and active.csrf_token == new.csrf_token and active.needs_touch
        staff.touch_session(session, active.session_id, now=NOW + dt.timedelta(minutes=10))
    # Idle for longer than the idle timeout (counted from the last touch at +10 min).
    with db.session_scope() as session:
        assert (
            staff.load_session(session, new.token, now=NOW + dt.timedelta(minutes=10) + staff.idle_timeout())
            is None
        )
    # Logged out: refused at once.
    with db.session_scope() as session:
        staff.end_session(session, new.token)
    with db.session_scope() as session:
        assert staff.load_session(session, new.token, now=NOW + dt.timedelta(minutes=11)) is None
    # Absolute lifetime, even when active all along.
    with db.session_scope() as session:
        other = staff.start_session(session, uid, None, None, now=NOW)
    moment = NOW
    while moment < NOW + staff.session_lifetime():
        moment += dt.timedelta(minutes=20)
        with db.session_scope() as session:
            alive = staff.load_session(session, other.token, now=moment)
            if alive is not None:
                staff.touch_session(session, alive.session_id, now=moment)
        if moment >= NOW + staff.session_lifetime():
            assert alive is None
        else:
            assert alive is not None
    with db.session_scope() as session:
        assert staff.load_session(session, "tidak-ada", now=NOW) is None


def test_password_change_and_access_change_revoke_sessions(db_url: str) -> None:
    uid = make_user("pupr1", "opd", "PUPR")
    make_user("admin", "admin")
    with db.session_scope() as session:
        token = staff.start_session(session, uid, None, None).token
    with db.session_scope() as session:
        staff.set_password(session, session.get(StaffUser, uid), "Sandi-Baru-Yang-Panjang")
    with db.session_scope() as session:
        assert staff.load_session(session, token) is None
        token = staff.start_session(session, uid, None, None).token
    with db.session_scope() as session:
        user = session.get(StaffUser, uid)
        staff.update_user(
            session,
            user,
            full_name="P",
            role="opd",
            agency_code="DLH",
            can_chat=False,
            is_active=True,
            agencies=list(INST.agencies),
        )
    with db.session_scope() as session:
        assert staff.load_session(session, token) is None


def test_last_admin_cannot_be_demoted(db_url: str) -> None:
    uid = make_user("admin", "admin")
    with db.session_scope() as session:
        with pytest.raises(staff.UserError, match="minimal satu admin"):
            staff.update_user(
                session,
                session.get(StaffUser, uid),
                full_name="A",
                role="surat",
                agency_code=None,
                can_chat=True,
                is_active=True,
            )


def test_agencies_merge_configuration_and_dashboard_settings(db_url: str) -> None:
    with db.session_scope() as session:
        staff.save_agency(
            session,
            INST,
            code="dishub",
            name="Dinas Perhubungan",
            contact="0536-1",
            digest_recipients="dishub@example.go.id",
            is_active=True,
        )
        staff.save_agency(
            session, INST, code="PUPR", name="", contact="0536-999", digest_recipients="", is_active=True
        )
        with pytest.raises(staff.UserError):
            staff.save_agency(
                session, INST, code="DLH", name="", contact="", digest_recipients="", is_active=False
            )
    with db.session_scope() as session:
        agencies = staff.agencies(session, INST)
        assert agencies["DISHUB"].name == "Dinas Perhubungan" and not agencies["DISHUB"].from_config
        assert agencies["PUPR"].name == INST.agencies["PUPR"].name and agencies["PUPR"].contact == "0536-999"
