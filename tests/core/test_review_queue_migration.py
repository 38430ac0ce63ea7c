"""Migration 0021_review_queue (issue 27) on SQLite and PostgreSQL: accounts keep working, the
``konten`` role becomes possible while the other role rules still hold, the review tables appear,
and downgrading gives the old schema back."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from layanwarga import db, migrate
from migration_support import KINDS, database_at

BEFORE = "0020_catalogue"
INSERT = (
    "INSERT INTO staff_users (username, full_name, role, agency_code, can_chat, password_hash, is_active,"
    " created_at, updated_at, must_change_password) VALUES (:u, :u, :r, :a, false, 'x', true, '2026-12-01',"
    " '2026-12-01', false)"
)


@pytest.fixture(params=KINDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with database_at(BEFORE, request.param, tmp_path, monkeypatch) as url:
        yield url


def add(url: str, username: str, role: str, agency: object = None) -> None:
    with db.get_engine(url).begin() as conn:
        conn.execute(text(INSERT), {"u": username, "r": role, "a": agency})


def test_the_konten_role_arrives_and_the_other_rules_stay(old_db: str) -> None:
    add(old_db, "admin", "admin")
    with pytest.raises(IntegrityError):
        add(old_db, "konten0", "konten")
    migrate.upgrade(old_db)
    add(old_db, "konten1", "konten")
    with pytest.raises(IntegrityError):
        add(old_db, "opd_tanpa_dinas", "opd")  # an OPD account still needs its agency
    with pytest.raises(IntegrityError):
        add(old_db, "siapa", "tamu")
    with db.get_engine(old_db).connect() as conn:
        names = {row[0] for row in conn.execute(text("SELECT username FROM staff_users"))}
        tables = set(inspect(conn).get_table_names())
    assert names == {"admin", "konten1"}
    assert {"nlu_readings", "review_flags", "review_annotations"} <= tables


def test_downgrade_gives_the_old_schema_back(old_db: str) -> None:
    migrate.upgrade(old_db)
    command.downgrade(migrate.alembic_config(old_db), BEFORE)
    with db.get_engine(old_db).connect() as conn:
        assert "nlu_readings" not in set(inspect(conn).get_table_names())
    with pytest.raises(IntegrityError):
        add(old_db, "konten2", "konten")
