"""The conversation store keeps no NIK in clear text, never falls back to memory silently, and
the jobs that delete from it see its table as Rasa declares it."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.future import create_engine

from layanwarga import conversation_store
from pg_support import create_postgres_database, drop_postgres_database, postgres_available
from rasa_extensions.tracker_store import LayanWargaTrackerStore, TrackerStoreUnavailable

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain"))


def tracker_with_nik(sender: str = "6281234567890") -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(
        UserUttered(
            "nik saya 6271024507850003",
            intent={"name": "inform", "confidence": 0.9},
            entities=[{"entity": "nik", "value": "6271024507850003", "start": 9, "end": 25}],
        )
    )
    tracker.update(SlotSet("surat_nama", "Siti"))
    return tracker


def test_stored_events_carry_no_nik_in_clear_text(tmp_path: Path) -> None:
    store = LayanWargaTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    asyncio.run(store.save(tracker_with_nik()))
    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.connect() as conn:
        rows = [json.loads(r[0]) for r in conn.execute(text("SELECT data FROM events"))]
    stored = json.dumps(rows)
    assert "6271024507850003" not in stored
    assert "6271********0003" in stored
    # What another instance (or this one after a restart) reads back.
    other = LayanWargaTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    restored = asyncio.run(other.retrieve("6281234567890"))
    assert restored.latest_message.text == "nik saya 6271********0003"
    assert restored.get_slot("surat_nama") == "Siti"


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL does not answer")
def test_a_lost_database_is_reported_not_replaced_by_memory() -> None:
    url = create_postgres_database()
    store = LayanWargaTrackerStore(domain=DOMAIN, host=url, retries=2, retry_delay=0.01)
    asyncio.run(store.save(tracker_with_nik()))
    drop_postgres_database(url)  # the real database goes away under the running store
    failsafe = FailSafeTrackerStore(store)  # what Rasa's Agent wraps every tracker store in
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(failsafe.retrieve("6281234567890"))
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(failsafe.save(tracker_with_nik()))


def test_a_sqlite_conversation_store_reads_while_another_turn_commits(tmp_path: Path) -> None:
    """WAL mode: a reader is not blocked by a writer's open transaction (rollback-journal mode
    makes the marker query of the next message wait for the commit of another's turn)."""
    store = LayanWargaTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    asyncio.run(store.save(tracker_with_nik("6281111111111")))
    writer = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}").connect()
    writer.exec_driver_sql("BEGIN EXCLUSIVE")  # in rollback-journal mode this shuts readers out
    writer.exec_driver_sql("DELETE FROM events")
    try:
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(store._marker_sync, "6281111111111").result(timeout=5)[0] == 2
    finally:
        writer.rollback()
        writer.close()


def test_the_deleting_jobs_see_the_events_table_as_rasa_declares_it() -> None:
    """Erasure and retention delete through ``layanwarga.conversation_store``, which has no Rasa
    import and declares the columns it needs itself: a Rasa that renamed or retyped one would
    make those jobs delete nothing (or fail) while staff believe the data gone."""
    rasa_table = SQLTrackerStore.SQLEvent.__table__
    assert conversation_store.EVENTS.name == rasa_table.name
    for column in conversation_store.EVENTS.columns:
        theirs = rasa_table.columns[column.name]
        assert type(column.type) is type(theirs.type), column.name
        assert getattr(column.type, "length", None) == getattr(theirs.type, "length", None), column.name
        assert (column.primary_key, column.nullable) == (theirs.primary_key, theirs.nullable), column.name
