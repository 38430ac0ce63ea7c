"""Bring the ticket database schema up to date: ``python -m layanwarga.migrate``.

Safe to run at every start: Alembic applies only what is missing. The services never migrate by
themselves (several instances starting at once must not race on the schema, and a release's
migration is the operator's step): each refuses to start, naming this command, while the schema
is behind (``require_current``). ``scripts/run.sh`` and ``scripts/test.sh`` run it for you.
"""

from __future__ import annotations

import logging
import sys
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from .config import PROJECT_ROOT
from .db import database_url, get_engine, safe_url

logger = logging.getLogger(__name__)


def alembic_config(url: Optional[str] = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(url: Optional[str] = None) -> None:
    """Apply every pending migration to the database at ``url`` (default ``DATABASE_URL``)."""
    command.upgrade(alembic_config(url), "head")


MIGRATE_COMMAND = ".venv/bin/python -m layanwarga.migrate"


class SchemaNotCurrent(RuntimeError):
    """The ticket database was never migrated, or is behind this release; the message says what
    to run."""


def require_current(component: str, url: Optional[str] = None) -> None:
    """Refuse to start ``component`` on a ticket database whose schema is not this release's.

    Without it every message failed on ``no such table`` while the service reported itself
    running ("degraded"): a clear refusal at start names the one command that fixes it.
    """
    url = url or database_url()
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    try:
        with get_engine(url).connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        raise SchemaNotCurrent(
            f"{component}: the ticket database {safe_url(url)} cannot be reached ({error.__class__.__name__}: "
            f"{str(error).splitlines()[0][:200]}). Check DATABASE_URL."
        ) from None
    if current == heads:
        return
    state = (
        "has never been migrated"
        if not current
        else f"is at {', '.join(sorted(current))}, not {', '.join(sorted(heads))}"
    )
    raise SchemaNotCurrent(
        f"{component}: the ticket database {safe_url(url)} {state}. Run `{MIGRATE_COMMAND}` "
        f"(with the same DATABASE_URL) once, then start {component} again."
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    url = database_url()
    upgrade(url)
    logger.info("Ticket database is up to date: %s", safe_url(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
