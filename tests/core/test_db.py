"""The ticket database's SQLite set-up, shared with the tracker store (``pooled_sqlite_engine``)."""

from __future__ import annotations

from pathlib import Path
from typing import List

from sqlalchemy import event

from layanwarga import db


def test_ticket_database_connections_are_pooled_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    try:
        engine = db.get_engine(url)
        with engine.connect() as connection:
            settings = [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
            first = connection.connection.dbapi_connection
        with engine.connect() as connection:
            again = connection.connection.dbapi_connection
    finally:
        db.dispose_engines()
    # WAL: the dashboard reads while the connector writes; foreign keys enforced; writers wait 30 s.
    assert settings == ["wal", 1, 30000]
    assert again is first  # kept open, not reopened for every unit of work


def test_a_unit_of_work_that_writes_takes_the_write_lock_at_begin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    seen: List[str] = []
    try:
        engine = db.get_engine(url)
        event.listen(
            engine, "before_cursor_execute", lambda conn, cursor, statement, *args: seen.append(statement)
        )
        with db.connection_scope(url, write=True) as connection:
            connection.exec_driver_sql("SELECT 1")
        with db.session_scope(url) as session:
            session.connection().exec_driver_sql("SELECT 1")
    finally:
        db.dispose_engines()
    assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN"]
