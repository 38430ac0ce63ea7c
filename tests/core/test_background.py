"""The action server's background work (actions/background.py) on a real database."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select

from layanwarga import db, pending, privacy, tickets
from layanwarga.models import Ticket

SENDER, OTHER = "6281234567890", "6289876543210"


def draft(sender: str, key: str) -> dict:
    return dataclasses.asdict(tickets.ComplaintDraft(
        category="lapor_sampah", description="Sampah menumpuk di TPS pasar", sender=sender, idempotency_key=key,
    ))


def test_a_submission_of_a_citizen_who_asked_for_erasure_is_never_stored_afterwards(
    db_url: str, tmp_path: Path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    """Another action server's spool (its own disk) still holds the citizen's submission from
    an outage: the erasure request's tags remove it before anything is replayed."""
    from actions import background

    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "replica-1"))
    privacy.erase(SENDER)
    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "replica-2"))
    pending.spool().put(SENDER, {"kind": pending.COMPLAINT, "draft": draft(SENDER, "erased")})
    pending.spool().put(OTHER, {"kind": pending.COMPLAINT, "draft": draft(OTHER, "kept")})
    background.run_once()
    with db.session_scope() as session:
        stored = session.execute(select(Ticket.idempotency_key)).scalars().all()
    assert stored == ["kept"] and len(pending.spool()) == 0
