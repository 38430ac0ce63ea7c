"""Retention purge: old files of closed tickets and old conversations go; open cases stay."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.future import create_engine

from layanwarga import conversation_log, db, retention
from layanwarga.config import get_institution
from layanwarga.models import Citizen, ConversationMessage, Media, Ticket, utcnow

INST = get_institution()
NOW = utcnow()
OLD = NOW - dt.timedelta(days=INST.media_retention_days + 10)


def ticket(session, number: str, closed: bool) -> Ticket:  # type: ignore[no-untyped-def]
    row = Ticket(
        number=number,
        kind="aduan",
        category="lapor_sampah",
        state="selesai" if closed else "diproses",
        created_at=OLD,
        updated_at=OLD,
        closed_at=OLD if closed else None,
        details={},
    )
    session.add(row)
    session.flush()
    return row


def test_old_files_of_closed_tickets_are_removed_open_cases_kept(db_url: str, tmp_path: Path) -> None:
    files = {name: tmp_path / f"{name}.jpg" for name in ("closed", "open", "shared")}
    for path in files.values():
        path.write_bytes(b"\xff\xd8\xff")
    with db.session_scope() as session:
        closed, still_open = ticket(session, "ADU-2024-00001", True), ticket(session, "ADU-2024-00002", False)
        session.add_all(
            [
                Media(ticket_id=closed.id, storage_path=str(files["closed"]), created_at=OLD),
                Media(ticket_id=still_open.id, storage_path=str(files["open"]), created_at=OLD),
                Media(ticket_id=closed.id, storage_path=str(files["shared"]), created_at=OLD),
                Media(ticket_id=still_open.id, storage_path=str(files["shared"]), created_at=OLD),
            ]
        )
    report = retention.purge(INST, now=NOW, tracker_url=f"sqlite:///{tmp_path / 'none.db'}")
    assert (report.media_files_deleted, report.media_rows_cleared) == (1, 2)
    assert not files["closed"].exists()
    assert files["open"].exists() and files["shared"].exists()  # an open ticket still uses them
    with db.session_scope() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 2  # tickets stay


def test_old_conversations_are_removed_from_the_log_and_the_conversation_store(
    db_url: str, tmp_path: Path
) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_extensions.tracker_store import LayanWargaTrackerStore

    old_day = NOW - dt.timedelta(days=INST.conversation_retention_days + 1)
    with db.session_scope() as session:
        session.add(Citizen(wa_id="6281234567890"))
        session.flush()
        conversation_log.add(
            session, sender="6281234567890", direction="in", text="lama", actor="warga", created_at=old_day
        )
        conversation_log.add(
            session, sender="6281234567890", direction="in", text="baru", actor="warga", created_at=NOW
        )
    tracker_db = tmp_path / "tracker.db"
    store = LayanWargaTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tracker_db))
    tracker = DialogueStateTracker("6281234567890", [])
    tracker.update(UserUttered("lama", timestamp=old_day.replace(tzinfo=dt.timezone.utc).timestamp()))
    tracker.update(UserUttered("baru"))
    asyncio.run(store.save(tracker))

    report = retention.purge(INST, now=NOW, tracker_url=f"sqlite:///{tracker_db}")
    assert (report.log_messages_deleted, report.tracker_events_deleted) == (1, 1)
    with db.session_scope() as session:
        assert [m.text for m in session.execute(select(ConversationMessage)).scalars()] == ["baru"]
    with create_engine(f"sqlite:///{tracker_db}").connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 1


def test_a_purge_that_cannot_reach_the_conversation_store_fails_loudly(
    db_url: str, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The job used to create an empty SQLite file where the store was missing and report 0
    events purged: the scheduler saw success while old conversations stayed."""
    old_day = NOW - dt.timedelta(days=INST.conversation_retention_days + 1)
    with db.session_scope() as session:
        conversation_log.add(
            session, sender="6281234567890", direction="in", text="lama", actor="warga", created_at=old_day
        )
    missing = tmp_path / "tracker.db"
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{missing}")
    assert retention.main(["purge"]) == 1
    assert not missing.exists()
    with db.session_scope() as session:  # the rest of the purge still ran
        assert session.execute(select(func.count(ConversationMessage.id))).scalar_one() == 0
    report = retention.purge(INST, now=NOW)
    assert not report.complete and "does not exist" in report.conversation_store_error


def test_production_refuses_to_purge_without_the_conversation_store(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from layanwarga import runtime

    monkeypatch.setenv("LAYANWARGA_ENV", "production")
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    with pytest.raises(runtime.UnsafeConfiguration, match="TRACKER_STORE_URL"):
        retention.main(["purge"])


def test_old_spooled_entries_expire_failed_ones_too(db_url: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from layanwarga import pending

    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "spool"))
    queue = pending.spool()
    old = NOW - dt.timedelta(days=INST.conversation_retention_days + 1)
    stamp = int(old.replace(tzinfo=dt.timezone.utc).timestamp() * 1e9)
    stale = queue.put("6281234567890", {"kind": "aduan", "draft": {}})
    stale = queue.set_aside(stale.rename(stale.with_name(f"{stamp:020d}-{stale.name.split('-', 1)[1]}")))
    recent = queue.put("6281234567890", {"kind": "aduan", "draft": {}})
    report = retention.purge(INST, now=NOW, tracker_url=f"sqlite:///{tmp_path / 'none.db'}")
    assert report.spool_entries_removed == 1
    assert not stale.exists() and recent.exists()


def test_old_catalogue_questions_lose_their_words_but_keep_their_count(db_url: str, tmp_path: Path) -> None:
    from layanwarga.models import ServiceQuestion

    old_day = NOW - dt.timedelta(days=INST.conversation_retention_days + 1)
    with db.session_scope() as session:
        session.add_all(
            [
                ServiceQuestion(outcome="none", text="surat waris budi santoso", asked_at=old_day),
                ServiceQuestion(
                    outcome="none", text="cara bikin paspor", asked_at=NOW - dt.timedelta(days=1)
                ),
                ServiceQuestion(outcome="one", service_code="skck", asked_at=old_day),
            ]
        )
    retention.purge(INST, now=NOW, tracker_url=f"sqlite:///{tmp_path / 'none.db'}")
    with db.session_scope() as session:
        kept = sorted((q.outcome, q.service_code or "", q.text or "") for q in session.query(ServiceQuestion))
    assert kept == [("none", "", ""), ("none", "", "cara bikin paspor"), ("one", "skck", "")]
