"""Bring the ticket database schema up to date: ``python -m layanwarga.migrate``.

Safe to run at every start: Alembic applies only what is missing.
"""
from __future__ import annotations

import logging
import sys
from typing import Optional

from alembic import command
from alembic.config import Config

from .config import PROJECT_ROOT
from .db import database_url, safe_url

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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    url = database_url()
    upgrade(url)
    logger.info("Ticket database is up to date: %s", safe_url(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
