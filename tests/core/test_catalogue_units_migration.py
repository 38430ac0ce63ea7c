"""Migration 0022_catalogue_units (issue 22) on SQLite and PostgreSQL: existing services keep
serving the whole deployment (no unit) and stay published, a revision may then be withdrawn
while other statuses are still refused, and downgrading leaves a withdrawn service unpublished
and the old schema back."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from layanwarga import db, migrate
from migration_support import KINDS, database_at

BEFORE = "0021_review_queue"


@pytest.fixture(params=KINDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with database_at(BEFORE, request.param, tmp_path, monkeypatch) as url:
        yield url


def _service(url: str, code: str) -> None:
    """A published service as the catalogue had it before the migration."""
    with db.get_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO service_agencies (code, name, short_name, address, contact, updated_at)"
                " VALUES ('dinsos', 'Dinas Sosial', 'Dinsos', '', '', '2026-12-01')"
            )
        )
        service_id = conn.execute(
            text(
                "INSERT INTO services (code, agency_code, letter_code, created_at, updated_at, version)"
                " VALUES (:c, 'dinsos', NULL, '2026-12-01', '2026-12-01', 1) RETURNING id"
            ),
            {"c": code},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO service_revisions (service_id, number, status, name, aliases, purpose,"
                " requirements, steps, fee_amount, fee_note, legal_basis, processing_time, place, hours,"
                " online_url, contact, edited_by, edited_at, change_note, published_by, published_at)"
                " VALUES (:s, 1, 'published', 'DTKS', '[]', 'x', '[\"KTP\"]', '[]', 0, '', '', '1 hari',"
                " 'Dinsos', '', '', '', 'impor', '2026-12-01', '', 'impor', '2026-12-01')"
            ),
            {"s": service_id},
        )


def _set_status(url: str, status: str) -> None:
    with db.get_engine(url).begin() as conn:
        conn.execute(text("UPDATE service_revisions SET status = :s"), {"s": status})


def test_existing_services_keep_no_unit_and_may_then_be_withdrawn(old_db: str) -> None:
    _service(old_db, "dtks")
    with pytest.raises(IntegrityError):
        _set_status(old_db, "withdrawn")
    migrate.upgrade(old_db)
    with db.get_engine(old_db).connect() as conn:
        assert conn.execute(text("SELECT unit_code FROM services")).all() == [(None,)]
        status = conn.execute(text("SELECT status, withdrawn_by FROM service_revisions")).one()
        indexes = {index["name"] for index in inspect(conn).get_indexes("services")}
    assert tuple(status) == ("published", None) and "ix_services_unit_code" in indexes
    _set_status(old_db, "withdrawn")
    with pytest.raises(IntegrityError):
        _set_status(old_db, "retired")


def test_downgrade_leaves_a_withdrawn_service_unpublished_and_the_old_schema(old_db: str) -> None:
    _service(old_db, "dtks")
    migrate.upgrade(old_db)
    _set_status(old_db, "withdrawn")
    command.downgrade(migrate.alembic_config(old_db), BEFORE)
    with db.get_engine(old_db).connect() as conn:
        assert conn.execute(text("SELECT status FROM service_revisions")).scalar_one() == "superseded"
        columns = {column["name"] for column in inspect(conn).get_columns("service_revisions")}
        service_columns = {column["name"] for column in inspect(conn).get_columns("services")}
    assert "withdrawn_by" not in columns and "unit_code" not in service_columns
    with pytest.raises(IntegrityError):
        _set_status(old_db, "withdrawn")
