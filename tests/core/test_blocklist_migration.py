"""Migration 0006: blocked numbers stored as staff typed them become WhatsApp sender ids, so the
connector's check finds them; duplicates collapse, what is no phone number stays (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select, text

from layanwarga import db, inbound, migrate
from layanwarga.models import BlockedSender
from migration_support import KINDS, database_at

BEFORE = "0006_inbound_journal"
BSUID = "US.13491208655302741918"


@pytest.fixture(params=KINDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database at the revision before the migration."""
    with database_at(BEFORE, request.param, tmp_path, monkeypatch) as url:
        yield url


def test_typed_numbers_become_whatsapp_ids(old_db: str) -> None:
    start = dt.datetime(2026, 11, 1, 8, 0)
    stored = [  # as the old form stored them: spaces and a leading "+" removed, nothing else
        ("081234567890", "kasar"),
        ("62812-3456-7890", "kasar lagi"),  # the same number: collapses into one row
        ("6289999999999", "spam"),  # already right
        ("(0857)1111-2222", "spam"),
        (BSUID, "username user"),
        ("bukan-nomor", "salah ketik"),
    ]
    with db.session_scope(old_db) as session:
        for i, (sender, reason) in enumerate(stored):
            session.execute(
                text(
                    "INSERT INTO blocked_senders (sender, reason, blocked_by, created_at) VALUES (:s, :r, 'staf:admin', :t)"
                ),
                {"s": sender, "r": reason, "t": start + dt.timedelta(minutes=i)},
            )
    migrate.upgrade(old_db)
    with db.session_scope(old_db) as session:
        rows = dict(session.execute(select(BlockedSender.sender, BlockedSender.reason)).all())
    assert rows == {
        "6281234567890": "kasar",
        "6289999999999": "spam",
        "6285711112222": "spam",
        BSUID: "username user",
        "bukan-nomor": "salah ketik",
    }
    for sender in ("6281234567890", "6285711112222", BSUID):
        assert inbound.admit_inbound(
            sender, wa_id=None, user_id=None, profile_name=None, inbound_at=None, url=old_db
        ).blocked
