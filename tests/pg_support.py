"""Scratch PostgreSQL databases for tests, next to the ``test`` database of these machines."""

from __future__ import annotations

import os
import uuid
from typing import Optional

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.future import create_engine

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


def create_postgres_database(template: Optional[str] = None) -> str:
    """Create a scratch database on the test server and return its URL: empty, or a copy of the
    database ``template`` (a name on the same server, with no open connection)."""
    assert _POSTGRES is not None
    name = f"lw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return make_url(_POSTGRES).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(_POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()
