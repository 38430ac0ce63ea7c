"""Migration 0016: every citizen and ticket of an existing database stays; a single-kelurahan
deployment's tickets get its kelurahan (and kecamatan), a city's old tickets stay without a unit
(the root unit's triage reads them); citizens are not given a unit nobody asked them (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import select, text

from layanwarga import db, migrate
from layanwarga.config import CONFIG_ENV_VAR
from layanwarga.models import Citizen, Ticket
from migration_support import KINDS, database_at

BEFORE = "0017_supporters"
ROOT = Path(__file__).resolve().parents[2]
CITY_CONFIG = ROOT / "deploy" / "examples" / "instansi-palangka-raya.yml"


@pytest.fixture(params=KINDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database at the revision before the migration, with a citizen, a complaint and a letter."""
    with database_at(BEFORE, request.param, tmp_path, monkeypatch) as url:
        at = dt.datetime(2026, 11, 2, 9, 0)
        with db.session_scope(url) as session:
            session.execute(
                text(
                    "INSERT INTO citizens (id, wa_id, created_at, updated_at) VALUES (1, '6281234567890', :t, :t)"
                ),
                {"t": at},
            )
            for id_, number, kind, category, state in (
                (1, "ADU-2026-00001", "aduan", "lapor_jalan_rusak", "baru"),
                (2, "SKTM-2026-00001", "surat", "sktm", "diajukan"),
                (3, "ADU-2026-00002", "aduan", "sampaikan_aspirasi", "selesai"),
            ):
                session.execute(
                    text(
                        "INSERT INTO tickets (id, number, kind, category, state, citizen_id, is_anonymous, is_confidential,"
                        " on_behalf, details, created_at, updated_at) VALUES (:id, :n, :k, :c, :s, 1, false, false, false,"
                        " '{}', :t, :t)"
                    ),
                    {"id": id_, "n": number, "k": kind, "c": category, "s": state, "t": at},
                )
        yield url


def _tickets(url: str) -> dict:
    with db.session_scope(url) as session:
        rows = session.execute(
            select(
                Ticket.number, Ticket.state, Ticket.unit_code, Ticket.kelurahan_code, Ticket.kecamatan_code
            )
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_a_single_kelurahan_keeps_every_row_and_its_tickets_become_its_own(old_db: str) -> None:
    migrate.upgrade(old_db)  # instansi.yml: Kelurahan Langkai, 62.71.01.1003, no tree
    assert _tickets(old_db) == {
        "ADU-2026-00001": ("baru", "62.71.01.1003", "62.71.01.1003", "62.71.01"),
        "SKTM-2026-00001": ("diajukan", "62.71.01.1003", "62.71.01.1003", "62.71.01"),
        "ADU-2026-00002": ("selesai", "62.71.01.1003", "62.71.01.1003", "62.71.01"),
    }
    with db.session_scope(old_db) as session:
        citizen = session.execute(select(Citizen)).scalar_one()
        assert (citizen.wa_id, citizen.unit_code) == ("6281234567890", None)


def test_a_city_keeps_every_row_without_guessing_a_unit(old_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV_VAR, str(CITY_CONFIG))
    migrate.upgrade(old_db)
    assert _tickets(old_db) == {
        "ADU-2026-00001": ("baru", None, None, None),
        "SKTM-2026-00001": ("diajukan", None, None, None),
        "ADU-2026-00002": ("selesai", None, None, None),
    }


def test_downgrade_keeps_every_row(old_db: str) -> None:
    migrate.upgrade(old_db)
    command.downgrade(migrate.alembic_config(old_db), BEFORE)
    with db.session_scope(old_db) as session:
        numbers = session.execute(text("SELECT number FROM tickets ORDER BY id")).scalars().all()
    assert numbers == ["ADU-2026-00001", "SKTM-2026-00001", "ADU-2026-00002"]
