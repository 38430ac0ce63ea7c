"""The dashboard's migration creates exactly what its models declare (SQLite and PostgreSQL)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from layanwarga import conversation_log, db, feedback, handoff, notifications, staff, stats  # noqa: F401
from layanwarga.models import Base

DASHBOARD_TABLES = {
    "staff_users", "staff_sessions", "login_attempts", "agency_settings", "staff_audit", "notifications",
    "conversation_messages", "conversation_flows", "handoffs", "ticket_feedback", "digest_runs",
}


def _table_of(diff: tuple) -> str:
    for item in diff[1:]:
        name = getattr(item, "name", None)
        table = getattr(item, "table", None)
        if table is not None:
            return table.name
        if name:
            return str(name)
    return ""


def test_migration_matches_models(db_url: str) -> None:
    with db.get_engine(db_url).connect() as conn:
        context = MigrationContext.configure(conn)
        diffs = compare_metadata(context, Base.metadata)
    flat = []
    for diff in diffs:
        flat.extend(diff if isinstance(diff, list) else [diff])
    ours = [d for d in flat if _table_of(d) in DASHBOARD_TABLES]
    assert ours == []
