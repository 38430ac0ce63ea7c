"""A confirmed submission made while the ticket database is down waits on disk and is stored,
once, with a WhatsApp message carrying its number, when a real PostgreSQL comes back."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, select

import private_postgres
from layanwarga import db, migrate, pending, tickets
from layanwarga.config import get_institution
from layanwarga.models import Notification, Ticket

INST = get_institution()
pytestmark = pytest.mark.skipif(
    not private_postgres.available(), reason="PostgreSQL server binaries not installed"
)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[private_postgres.PrivatePostgres]:
    pg = private_postgres.PrivatePostgres()
    pg.start()
    monkeypatch.setenv("DATABASE_URL", pg.url)
    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "spool"))
    migrate.upgrade(pg.url)
    yield pg
    db.dispose_engines()
    pg.destroy()


def draft(key: str = "flow-1") -> tickets.ComplaintDraft:
    return tickets.ComplaintDraft(
        category="lapor_sampah",
        description="Sampah menumpuk di TPS pasar",
        sender="6281234567890",
        idempotency_key=key,
        location_text="Pasar Besar RT 2 RW 1",
    )


def test_submission_during_an_outage_is_stored_once_when_the_database_returns(server) -> None:  # type: ignore[no-untyped-def]
    server.stop()
    db.dispose_engines()
    with pytest.raises(pending.DATABASE_ERRORS):
        tickets.submit_complaint(INST, draft())
    pending.keep(pending.COMPLAINT, draft())
    pending.keep(pending.COMPLAINT, draft())  # the same confirmation arrived twice
    assert pending.complete_waiting(INST) == 0  # still down: nothing lost, nothing stored
    assert len(pending.spool()) == 2

    server.start()
    db.dispose_engines()
    assert pending.complete_waiting(INST) == 2
    assert len(pending.spool()) == 0
    with db.session_scope() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1
        messages = session.execute(select(Notification)).scalars().all()
    assert len(messages) == 1
    assert "ADU-" in messages[0].text and "tertunda" in messages[0].text
