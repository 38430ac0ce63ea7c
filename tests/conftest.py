"""Shared fixtures: real databases for the domain core.

Every test that touches storage runs on SQLite (always) and on PostgreSQL where one answers
(``TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``). Each test gets a
fresh, migrated database: a new SQLite file, or a scratch PostgreSQL database created next to
``test`` and dropped afterwards, so parallel runs never see each other's rows.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.future import create_engine

from layanwarga import crypto, db, migrate

# A fixed data key for the whole test run (subprocesses inherit it), never the developer's own.
os.environ.setdefault(crypto.KEYS_ENV, "tCHSjgfCCDUPkeixTqcmRR2ct3IM-4ZxkZQ2YJVlz8o=")

TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_admin_url() -> Optional[str]:
    """The PostgreSQL server URL if a server answers, else None."""
    try:
        engine = create_engine(TEST_POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return TEST_POSTGRES_URL
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return None


_POSTGRES = _postgres_admin_url()


def postgres_available() -> bool:
    return _POSTGRES is not None


def create_postgres_database() -> str:
    """Create an empty scratch database on the test server and return its URL."""
    assert _POSTGRES is not None
    name = f"lw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(_POSTGRES).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(_POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated ticket database, once on SQLite and once on PostgreSQL.

    ``DATABASE_URL`` points at it for the test, so code that uses the default URL sees it.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tickets.db'}"
    else:
        if not postgres_available():
            pytest.skip(f"PostgreSQL does not answer at {TEST_POSTGRES_URL}")
        url = create_postgres_database()
    monkeypatch.setenv("DATABASE_URL", url)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        db.dispose_engines()
        if request.param == "postgresql":
            drop_postgres_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh migrated SQLite ticket database (for tests that need one backend only)."""
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    migrate.upgrade(url)
    yield url
    db.dispose_engines()
