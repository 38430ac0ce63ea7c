"""Migration 0017: every staff account of an existing database stays, with no unit and no UPT,
which the dashboard reads as the whole deployment (so each account sees what it did); the
downgrade keeps them too (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import select, text

from layanwarga import db, migrate, staff_units
from layanwarga.config import get_institution
from layanwarga.models import StaffUser
from migration_support import KINDS, database_at

BEFORE = "0018_city_units"


@pytest.fixture(params=KINDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database at the revision before the migration, with an admin, an OPD officer and a
    letter clerk who has a session open."""
    with database_at(BEFORE, request.param, tmp_path, monkeypatch) as url:
        at = dt.datetime(2026, 11, 2, 9, 0)
        with db.session_scope(url) as session:
            for id_, username, role, agency in (
                (1, "admin", "admin", None),
                (2, "pupr", "opd", "PUPR"),
                (3, "surat", "surat", None),
            ):
                session.execute(
                    text(
                        "INSERT INTO staff_users (id, username, full_name, role, agency_code, can_chat, password_hash,"
                        " is_active, created_at, updated_at, must_change_password) VALUES (:id, :u, :u, :r, :a, false,"
                        " 'hash', true, :t, :t, false)"
                    ),
                    {"id": id_, "u": username, "r": role, "a": agency, "t": at},
                )
            session.execute(
                text(
                    "INSERT INTO staff_sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at)"
                    " VALUES ('sesi', 3, 'csrf', :t, :t, :e)"
                ),
                {"t": at, "e": at + dt.timedelta(hours=8)},
            )
        yield url


def test_every_account_stays_and_works_for_the_whole_deployment(old_db: str) -> None:
    migrate.upgrade(old_db)
    with db.session_scope(old_db) as session:
        rows = session.execute(select(StaffUser).order_by(StaffUser.id)).scalars().all()
        assert [(u.username, u.role, u.agency_code, u.unit_code, u.upt_name) for u in rows] == [
            ("admin", "admin", None, None, None),
            ("pupr", "opd", "PUPR", None, None),
            ("surat", "surat", None, None, None),
        ]
        assert session.execute(text("SELECT user_id FROM staff_sessions")).scalar_one() == 3
    tree = get_institution().units
    assert all(staff_units.area_of(tree, u.unit_code) is staff_units.CITY_WIDE for u in rows)


def test_downgrade_keeps_every_account(old_db: str) -> None:
    migrate.upgrade(old_db)
    command.downgrade(migrate.alembic_config(old_db), BEFORE)
    with db.session_scope(old_db) as session:
        names = session.execute(text("SELECT username FROM staff_users ORDER BY id")).scalars().all()
        sessions = session.execute(text("SELECT count(*) FROM staff_sessions")).scalar_one()
    assert (names, sessions) == (["admin", "pupr", "surat"], 1)
