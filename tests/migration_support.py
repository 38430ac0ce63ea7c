"""A ticket database at a given migration, for the tests of the migration after it."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from alembic import command

from layanwarga import db, migrate
from pg_support import create_postgres_database, drop_postgres_database, postgres_available

KINDS = ["sqlite", "postgresql"]


@contextmanager
def database_at(revision: str, kind: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new ticket database of ``kind`` (one of ``KINDS``) migrated up to ``revision`` and set as
    DATABASE_URL; a PostgreSQL one is dropped afterwards (skipped when PostgreSQL does not answer)."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'tickets.db'}"
    else:
        if not postgres_available():
            pytest.skip("PostgreSQL does not answer")
        url = create_postgres_database()
    monkeypatch.setenv("DATABASE_URL", url)
    command.upgrade(migrate.alembic_config(url), revision)
    try:
        yield url
    finally:
        db.dispose_engines()
        if kind == "postgresql":
            drop_postgres_database(url)
