"""Alembic environment: the ticket database at DATABASE_URL (or the URL a caller passes in)."""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from layanwarga.db import database_url, get_engine
from layanwarga.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# Every table: importing layanwarga.models registers them all (tests/core/test_schema.py).
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = get_engine(config.get_main_option("sqlalchemy.url") or database_url())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a constraint by rebuilding the table (batch mode: copy, drop, rename).
            # With foreign keys enforced, dropping the old table runs the ON DELETE actions of the
            # tables that point at it: rebuilding staff_users emptied staff_sessions (CASCADE) and
            # unassigned every handoff (SET NULL). SQLite's documented procedure for schema changes:
            # foreign keys off outside the transaction, then foreign_key_check before they are on again.
            # On the driver's connection: a statement through SQLAlchemy would open the transaction
            # Alembic then joins instead of committing.
            driver = connection.connection.dbapi_connection
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = driver.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migrated database has rows whose foreign key points nowhere: {broken[:10]}")
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
