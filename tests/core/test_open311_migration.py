"""Migration 0016_open311: the API keys table comes and goes cleanly on SQLite and PostgreSQL,
and a key issued after the upgrade is found by its hash (the unique index the lookup uses)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect

from layanwarga import api_keys, db, migrate
from migration_support import KINDS, database_at

BEFORE, THIS = "0015_state_change_notes", "0016_open311"


@pytest.fixture(params=KINDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with database_at(BEFORE, request.param, tmp_path, monkeypatch) as url:
        yield url


def test_upgrade_then_downgrade(old_db: str) -> None:
    config = migrate.alembic_config(old_db)
    command.upgrade(config, THIS)
    engine = db.get_engine(old_db)
    assert "api_keys" in inspect(engine).get_table_names()
    assert {c["name"] for c in inspect(engine).get_unique_constraints("api_keys")} == {"uq_api_keys_key_hash"}
    with db.session_scope(write=True) as session:
        issued = api_keys.issue(session, "Mitra", "staf:admin")
    with db.session_scope(write=True) as session:
        assert api_keys.authenticate(session, issued.key) is not None
        assert api_keys.authenticate(session, issued.key + "x") is None
    db.dispose_engines()
    command.downgrade(config, BEFORE)
    assert "api_keys" not in inspect(db.get_engine(old_db)).get_table_names()
