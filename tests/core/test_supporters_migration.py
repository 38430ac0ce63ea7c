"""Migration 0017_supporters: the supporters table and the nearby search's indexes come and go
cleanly on SQLite and PostgreSQL, and a follow works after the upgrade."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect

from layanwarga import db, migrate, supporters
from migration_support import KINDS, database_at
from tests.dashboard.support import INST, complaint

BEFORE, THIS = "0016_open311", "0017_supporters"


@pytest.fixture(params=KINDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with database_at(BEFORE, request.param, tmp_path, monkeypatch) as url:
        yield url


def test_upgrade_then_downgrade(old_db: str) -> None:
    config = migrate.alembic_config(old_db)
    command.upgrade(config, THIS)
    # The domain code below writes with today's models: migrations after this one add columns.
    command.upgrade(config, "head")
    engine = db.get_engine(old_db)
    assert "supporters" in inspect(engine).get_table_names()
    indexes = {i["name"] for i in inspect(engine).get_indexes("tickets")}
    assert {"ix_tickets_category_latitude", "ix_tickets_category_rw_rt"} <= indexes
    number = complaint("m1", sender="6281111111111").number
    draft = supporters.FollowDraft(number=number, sender="6282222222222", idempotency_key="m2")
    assert supporters.follow(INST, draft).supporters == 1
    db.dispose_engines()
    command.downgrade(config, BEFORE)
    engine = db.get_engine(old_db)
    assert "supporters" not in inspect(engine).get_table_names()
    assert "ix_tickets_category_latitude" not in {i["name"] for i in inspect(engine).get_indexes("tickets")}
