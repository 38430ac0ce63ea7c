"""The tracker store hands back the conversation it saved, and only while the database still
holds exactly that: every other writer, an erasure or a failed turn makes it reload."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.future import create_engine

from layanwarga import conversation_store
from pg_support import create_postgres_database, drop_postgres_database, postgres_available
from rasa_extensions.tracker_store import LayanWargaTrackerStore

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain"))
SENDER = "6281234567890"


# "sqlite-orm": the ORM insert the store keeps for databases with neither RETURNING nor SQLite's
# last_insert_rowid(), exercised on SQLite.
@pytest.fixture(params=["sqlite", "sqlite-orm", "postgresql"])
def store_kwargs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dict[str, Any]]:
    if request.param.startswith("sqlite"):
        yield {
            "dialect": "sqlite",
            "db": str(tmp_path / "tracker.db"),
            "orm_insert": request.param == "sqlite-orm",
        }
        return
    if not postgres_available():
        pytest.skip("PostgreSQL does not answer")
    url = create_postgres_database()
    yield {"host": url}
    drop_postgres_database(url)


def new_store(kwargs: Dict[str, Any], **extra: Any) -> LayanWargaTrackerStore:
    kwargs = dict(kwargs)
    orm_insert = kwargs.pop("orm_insert", False)
    store = LayanWargaTrackerStore(domain=DOMAIN, **kwargs, **extra)
    if orm_insert:
        store._insert_path = "orm"
    return store


def turn(tracker: DialogueStateTracker, said: str) -> None:
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(said, intent={"name": "greet", "confidence": 0.9}))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered("Halo Bapak/Ibu"))


def events_in_database(store: LayanWargaTrackerStore) -> int:
    with store.session_scope() as session:
        return session.query(store.SQLEvent).count()


def test_the_saved_tracker_is_handed_back_while_the_database_is_unchanged(
    store_kwargs: Dict[str, Any],
) -> None:
    store = new_store(store_kwargs)
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    turn(tracker, "halo")
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve(SENDER))
    assert again is tracker
    turn(again, "selamat pagi")
    asyncio.run(store.save(again))
    assert events_in_database(store) == 8
    assert asyncio.run(store.retrieve(SENDER)) is tracker


def test_events_written_by_another_instance_are_read(store_kwargs: Dict[str, Any]) -> None:
    first, second = new_store(store_kwargs), new_store(store_kwargs)
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    turn(tracker, "halo")
    asyncio.run(first.save(tracker))
    elsewhere = asyncio.run(second.retrieve(SENDER))
    turn(elsewhere, "answered by the other instance")
    asyncio.run(second.save(elsewhere))

    seen = asyncio.run(first.retrieve(SENDER))
    assert seen is not tracker
    assert seen.latest_message.text == "answered by the other instance"
    assert len(seen.events) == 8


def test_a_turn_that_failed_before_saving_is_not_handed_back(store_kwargs: Dict[str, Any]) -> None:
    store = new_store(store_kwargs)
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    turn(tracker, "halo")
    asyncio.run(store.save(tracker))
    half_done = asyncio.run(store.retrieve(SENDER))
    half_done.update(SlotSet("surat_nama", "never saved"))  # the turn stops here (an exception)

    fresh = asyncio.run(store.retrieve(SENDER))
    assert fresh is not half_done
    assert fresh.get_slot("surat_nama") is None
    assert len(fresh.events) == 4


def test_an_erased_conversation_is_gone_at_the_next_message(store_kwargs: Dict[str, Any]) -> None:
    store = new_store(store_kwargs)
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    turn(tracker, "halo")
    asyncio.run(store.save(tracker))
    # What layanwarga.privacy's erasure job does, from another process.
    assert conversation_store.delete_conversations([SENDER], store_url=str(store.engine.url)) == 4
    assert asyncio.run(store.retrieve(SENDER)) is None


def test_the_cache_is_bounded_and_can_be_switched_off(store_kwargs: Dict[str, Any]) -> None:
    store = new_store(store_kwargs, cache_size=2)
    trackers = []
    for number in range(3):
        tracker = DialogueStateTracker(f"62812000000{number}", DOMAIN.slots)
        turn(tracker, f"halo {number}")
        asyncio.run(store.save(tracker))
        trackers.append(tracker)
    assert len(store.cache) == 2
    assert asyncio.run(store.retrieve(trackers[0].sender_id)) is not trackers[0]  # evicted: reloaded
    assert asyncio.run(store.retrieve(trackers[2].sender_id)) is trackers[2]

    off = new_store(store_kwargs, cache_size=0)
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    turn(tracker, "halo")
    asyncio.run(off.save(tracker))
    assert len(off.cache) == 0
    assert asyncio.run(off.retrieve(SENDER)) is not tracker


class CollectingBroker(EventBroker):
    """An event broker that keeps what it is given (the analytics broker's interface)."""

    def __init__(self) -> None:
        self.published: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.published.append(event)


def test_the_event_broker_gets_each_new_event_once(store_kwargs: Dict[str, Any]) -> None:
    store = new_store(store_kwargs)
    store.event_broker = CollectingBroker()
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    turn(tracker, "halo")
    asyncio.run(store.save(tracker))
    same = asyncio.run(store.retrieve(SENDER))
    turn(same, "apa kabar")
    asyncio.run(store.save(same))
    texts = [e.get("text") for e in store.event_broker.published if e["event"] == "user"]
    assert texts == ["halo", "apa kabar"]
    assert len(store.event_broker.published) == 8


def test_a_conversation_erased_and_written_again_with_the_same_ids_is_read_again(
    store_kwargs: Dict[str, Any],
) -> None:
    first, other = new_store(store_kwargs), new_store(store_kwargs)
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    turn(tracker, "halo")
    asyncio.run(first.save(tracker))
    # Erased, and the identities start again (SQLite reuses the newest ids after a delete;
    # PostgreSQL does so after TRUNCATE ... RESTART IDENTITY, as the scale tests reset).
    engine = create_engine(str(first.engine.url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE TABLE events RESTART IDENTITY"))
        else:
            conn.execute(text("DELETE FROM events"))
    engine.dispose()
    again = DialogueStateTracker(SENDER, DOMAIN.slots)
    turn(again, "a new conversation, as many events")
    asyncio.run(other.save(again))

    seen = asyncio.run(first.retrieve(SENDER))
    assert seen is not tracker
    assert seen.latest_message.text == "a new conversation, as many events"


def test_a_new_session_is_stored_once_and_read_back_alone(store_kwargs: Dict[str, Any]) -> None:
    store = new_store(store_kwargs)
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    turn(tracker, "halo")
    asyncio.run(store.save(tracker))
    cached = asyncio.run(store.retrieve(SENDER))
    assert cached is tracker
    # Three hours later: Rasa starts a new session in the same tracker.
    cached.update(ActionExecuted("action_session_start"))
    cached.update(SessionStarted())
    turn(cached, "pagi, saya mau lapor")
    asyncio.run(store.save(cached))

    assert events_in_database(store) == 12  # each event once
    fresh = asyncio.run(store.retrieve(SENDER))
    assert fresh is not cached  # read again: only the new session
    assert [e.text for e in fresh.events if isinstance(e, UserUttered)] == ["pagi, saya mau lapor"]
    turn(fresh, "lanjut")
    asyncio.run(store.save(fresh))
    assert events_in_database(store) == 16
