"""Every service refuses to start on a ticket database that is not migrated, naming the command.

Found from outside (2026-12-07): started against a database that was never migrated, every
service ran "degraded" and logged ``no such table`` on every message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from rasa.shared.exceptions import RasaException

from layanwarga import migrate
from layanwarga.config import PROJECT_ROOT


def test_a_migrated_database_passes(db_url: str) -> None:
    migrate.require_current("test", db_url)


def test_a_database_never_migrated_is_refused_with_the_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(migrate.SchemaNotCurrent) as refused:
        migrate.require_current("the notifier", url)
    message = str(refused.value)
    assert (
        "has never been migrated" in message
        and migrate.MIGRATE_COMMAND in message
        and "the notifier" in message
    )


def test_a_database_behind_this_release_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(migrate.alembic_config(url), "0005_subscriptions")
    with pytest.raises(migrate.SchemaNotCurrent, match="is at 0005_subscriptions"):
        migrate.require_current("test", url)


def test_an_unreachable_database_is_named() -> None:
    url = "postgresql://postgres@127.0.0.1:1/layanwarga"  # nothing listens on port 1
    with pytest.raises(migrate.SchemaNotCurrent, match="cannot be reached"):
        migrate.require_current("test", url)


def _run(code: str, url: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "WHATSAPP_ACCESS_TOKEN": "token",
        "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
        "WHATSAPP_API_BASE": "http://127.0.0.1:9",
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "service, code",
    [
        ("the action server", "import actions"),
        ("the notifier", "import sys; from layanwarga import notifier; sys.exit(notifier.main([]))"),
        (
            "the announcement worker",
            "import sys; from layanwarga import broadcast; sys.exit(broadcast.main(['--once']))",
        ),
    ],
)
def test_each_service_refuses_an_unmigrated_database(service: str, code: str, tmp_path: Path) -> None:
    result = _run(code, f"sqlite:///{tmp_path / 'fresh.db'}")
    assert result.returncode != 0
    assert f"{service}: the ticket database" in result.stderr and migrate.MIGRATE_COMMAND in result.stderr


def test_the_whatsapp_channel_refuses_an_unmigrated_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.whatsapp import WhatsAppInput

    credentials = {
        "verify_token": "v",
        "app_secret": "s",
        "access_token": "a",
        "phone_number_id": "1",
        "database_url": f"sqlite:///{tmp_path / 'fresh.db'}",
    }
    with pytest.raises(RasaException, match="has never been migrated"):
        WhatsAppInput.from_credentials(credentials)


def test_the_dashboard_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dashboard", "purge"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        },
    )
    assert result.returncode == 2
    assert "the dashboard: the ticket database" in result.stderr and migrate.MIGRATE_COMMAND in result.stderr
