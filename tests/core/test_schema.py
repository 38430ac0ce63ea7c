"""The migrations create exactly what the models declare, table for table and index for index
(SQLite and PostgreSQL): what Alembic's autogenerate compares, so a model changed without its
migration, or a migration without its model, fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from layanwarga import db
from layanwarga.models import Base

# Every table of the ticket database, so a table declared outside the models package (not
# registered when only layanwarga.models is imported, as migrations/env.py does) fails here.
TABLES = {
    "citizens",
    "blocked_senders",
    "number_counters",
    "tickets",
    "state_changes",
    "media",
    "ticket_feedback",
    "conversation_flows",
    "conversation_messages",
    "handoffs",
    "notifications",
    "subscriptions",
    "subscription_events",
    "announcements",
    "announcement_deliveries",
    "broadcast_leases",
    "staff_users",
    "staff_sessions",
    "login_attempts",
    "agency_settings",
    "staff_audit",
    "data_requests",
    "digest_runs",
    "spool_reports",
    "processed_messages",
    "message_statuses",
    "api_keys",
    "service_agencies",
    "services",
    "service_revisions",
    "service_questions",
    "supporters",
    "nlu_readings",
    "review_flags",
    "review_annotations",
}


def test_the_models_package_declares_every_table() -> None:
    assert set(Base.metadata.tables) == TABLES


def test_the_migrations_create_exactly_what_the_models_declare(db_url: str) -> None:
    with db.get_engine(db_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
