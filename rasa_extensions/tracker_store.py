"""The conversation (tracker) store: Rasa's SQL tracker store, made safe for citizens' data.

Three things Rasa 3.6's ``SQLTrackerStore`` does not do:

- **No identity numbers in clear text.** Every event is stored with NIK-like numbers masked
  (``layanwarga.redaction``); the letter forms keep the NIK they need in their slot encrypted,
  so what the dialogue needs survives and nothing readable is persisted.
- **No silent fallback to memory.** Rasa wraps every tracker store in ``FailSafeTrackerStore``,
  which on any ``Exception`` carries on with an in-memory store: the conversation restarts from
  nothing and vanishes at the next restart. After a few quick retries this store raises
  ``TrackerStoreUnavailable``, deliberately a ``BaseException`` so that wrapper cannot swallow it;
  the WhatsApp connector catches it, apologises, and replays the message later.
- **No blocking of the event loop.** The upstream store runs synchronous SQLAlchemy inside its
  async methods; here the queries run in a thread pool.
- **No reloading of a conversation this process just saved.** The upstream store reads every
  event of the session and replays them into a new tracker for every message, so a turn costs
  more the longer the conversation. Here the trackers this process saved stay in memory (an LRU
  of ``cache_size`` conversations) and are handed back when the database still holds exactly
  what was saved: one indexed query compares the sender's event count, newest id and newest
  timestamp. Anything else (another instance answered, staff appended events, the privacy job
  erased the conversation, a turn failed before saving, a new session began) reloads from the
  database as before. The store itself never deletes: erasure and retention delete through
  ``layanwarga.conversation_store``, the one place that does. Keeping the same event objects from turn to turn also lets
  ``rasa_extensions.dialogue_states`` replay only the new events for the policies. The cached
  trackers hold what the turn saw (a NIK unmasked in memory, as during the turn itself); what
  is stored stays masked.

- **No ORM in the per-message queries.** The marker query and the insert of a turn's events are
  Core statements built once (the ORM's per-row unit of work and per-query compilation cost
  more CPU than everything else the store does, on a thread that shares the interpreter lock
  with Rasa's event loop), and a SQLite database keeps its connections in a pool (SQLAlchemy
  1.4 opens a new one per session by default) in WAL mode, so reading a marker never waits
  for another turn's commit.

- **What the assistant understood, for content staff.** After each turn the reading of the
  citizen's message (intent, confidence, top guesses, whether it fell back, whether a form took
  it as an answer) goes to the ticket database's ``nlu_readings`` (``layanwarga.review_queue``,
  issue 27): one insert per turn on the store's thread pool, after the turn's events are
  stored and its answers sent; a failure is logged and the turn goes on.

Use it in endpoints.yml as ``type: rasa_extensions.tracker_store.LayanWargaTrackerStore`` with
the same keys as ``type: SQL`` (``url`` may hold a whole SQLAlchemy URL), plus ``retries``,
``retry_delay``, ``pool_threads``, ``cache_size`` (conversations kept in memory per process,
default 500; a tracker takes about 7 KB per turn of its session, measured with tracemalloc;
0 turns the cache off) and ``record_readings`` (off unless set: endpoints.yml and
endpoints.production.yml set it; the ticket database is
``DATABASE_URL``, as for every other process).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import itertools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, TrackerEventDiffEngine

from layanwarga import review_queue
from layanwarga.db import pooled_sqlite_engine
from layanwarga.redaction import mask_value

logger = logging.getLogger(__name__)

T = TypeVar("T")
_DATABASE_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
)


class TrackerStoreUnavailable(BaseException):
    """The conversation store cannot be reached right now.

    A ``BaseException`` on purpose: Rasa's ``FailSafeTrackerStore`` turns every ``Exception``
    into a silent switch to an in-memory store, losing the conversation. ``phase`` says whether
    the turn had started: ``"retrieve"`` (nothing was answered yet: replay the message later) or
    ``"save"`` (the citizen got the answers, but the turn was not stored).
    """

    def __init__(self, message: str, phase: str) -> None:
        super().__init__(message)
        self.phase = phase


# The sender's stored events as (count, newest id, newest timestamp): any insert or delete
# changes it. The timestamp tells a conversation erased and written again apart even where the
# database hands out the same ids again (SQLite after deleting the newest rows, a table
# truncated with RESTART IDENTITY).
Marker = Tuple[int, Optional[int], Optional[float]]


@dataclass
class _Cached:
    tracker: DialogueStateTracker
    marker: Marker
    length: int
    last_event: Any

    def untouched(self) -> bool:
        """False when the tracker got events after it was saved (a turn that failed midway)."""
        events = self.tracker.events
        return len(events) == self.length and (not events or events[-1] is self.last_event)


class TrackerCache:
    """The trackers this process saved last, newest last, at most ``size`` of them."""

    def __init__(self, size: int) -> None:
        self.size = max(0, int(size))
        self._entries: "collections.OrderedDict[str, _Cached]" = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, sender_id: str) -> Optional[_Cached]:
        with self._lock:
            entry = self._entries.get(sender_id)
            if entry is not None:
                self._entries.move_to_end(sender_id)
            return entry

    def put(self, tracker: DialogueStateTracker, marker: Marker) -> None:
        if not self.size:
            return
        events = tracker.events
        entry = _Cached(tracker, marker, len(events), events[-1] if events else None)
        with self._lock:
            self._entries[tracker.sender_id] = entry
            self._entries.move_to_end(tracker.sender_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def discard(self, sender_id: str) -> None:
        with self._lock:
            self._entries.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._entries)


class LayanWargaTrackerStore(SQLTrackerStore):
    def __init__(
        self,
        *args: Any,
        retries: int = 3,
        retry_delay: float = 0.2,
        pool_threads: int = 8,
        cache_size: int = 500,
        record_readings: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.record_readings = bool(record_readings)
        self.retries = max(1, int(retries))
        self.retry_delay = float(retry_delay)
        self._pool = ThreadPoolExecutor(max_workers=int(pool_threads), thread_name_prefix="tracker-store")
        self.cache = TrackerCache(cache_size)
        if self.engine.dialect.name == "sqlite":
            self._pool_sqlite_connections(int(pool_threads))
        table = self.SQLEvent.__table__
        self._marker_query = sa.select(
            sa.func.count(table.c.id), sa.func.max(table.c.id), sa.func.max(table.c.timestamp)
        ).where(table.c.sender_id == sa.bindparam("sender_id"))
        self._insert_path = self._choose_insert_path()

    def _pool_sqlite_connections(self, size: int) -> None:
        """Keep a SQLite file's connections open (Rasa's engine opens one per session) and put
        the database in WAL mode: a marker read never waits for another turn's commit."""
        url = self.engine.url
        if url.database in (None, "", ":memory:"):
            return
        self.engine.dispose()
        self.engine = pooled_sqlite_engine(url, pool_size=size, future=False)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _choose_insert_path(self) -> str:
        """How a turn's events are inserted and their newest id learnt: ``executemany`` and
        SQLite's ``last_insert_rowid()``; INSERT … RETURNING for all rows where the database has
        it (psycopg2 sends them as one multi-row statement); otherwise the ORM, as Rasa does
        (other databases Rasa supports, not used by this project)."""
        dialect = self.engine.dialect
        if dialect.name == "sqlite":
            return "sqlite"
        return "returning" if getattr(dialect, "full_returning", False) else "orm"

    async def _off_loop(self, phase: str, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        for attempt in range(1, self.retries + 1):
            try:
                return await loop.run_in_executor(self._pool, functools.partial(fn, *args))
            except _DATABASE_ERRORS as error:
                if attempt == self.retries:
                    logger.error("Conversation store unreachable after %d attempts: %s", attempt, error)
                    raise TrackerStoreUnavailable(str(error), phase) from error
                logger.warning("Conversation store error (attempt %d/%d): %s", attempt, self.retries, error)
                await asyncio.sleep(self.retry_delay * attempt)
        raise AssertionError("unreachable")

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        cached = self.cache.get(sender_id)
        if cached is not None and cached.untouched():
            if await self._off_loop("retrieve", self._marker_sync, sender_id) == cached.marker:
                return cached.tracker
        self.cache.discard(sender_id)
        tracker, marker = await self._off_loop("retrieve", self._retrieve_sync, sender_id, False)
        if tracker is not None:
            self.cache.put(tracker, marker)
        return tracker

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        tracker, _ = await self._off_loop("retrieve", self._retrieve_sync, conversation_id, True)
        return tracker

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Rasa streams the difference to what is stored: compare with the database, never with
        the cached tracker (which is the very tracker being saved)."""
        if self.event_broker is None:
            return
        stored, _ = await self._off_loop("retrieve", self._retrieve_sync, tracker.sender_id, False)
        await self._stream_new_events(
            self.event_broker, TrackerEventDiffEngine.event_difference(stored, tracker), tracker.sender_id
        )

    def _marker_sync(self, sender_id: Text) -> Marker:
        with self.session_scope() as session:
            return self._marker(session, sender_id)

    def _marker(self, session: Any, sender_id: Text) -> Marker:
        count, newest, latest = (
            session.connection().execute(self._marker_query, {"sender_id": sender_id}).one()
        )
        return int(count or 0), newest, latest

    def _insert_events(self, session: Any, rows: List[Dict[str, Any]]) -> int:
        """Insert a turn's event rows in the session's transaction; returns the newest id."""
        table = self.SQLEvent.__table__
        if self._insert_path == "sqlite":
            connection = session.connection()
            connection.execute(table.insert(), rows)
            return int(connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        if self._insert_path == "returning":
            return max(session.connection().execute(table.insert().returning(table.c.id), rows).scalars())
        objects = [self.SQLEvent(**row) for row in rows]
        session.add_all(objects)
        session.flush()
        return max(row.id for row in objects)

    def _retrieve_sync(
        self, sender_id: Text, all_sessions: bool
    ) -> Tuple[Optional[DialogueStateTracker], Marker]:
        with self.session_scope() as session:
            # Marker first: an insert landing between the two queries makes it older than the
            # events read, which only costs a reload next time (never a stale tracker).
            marker = self._marker(session, sender_id)
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions).all()
            events = [json.loads(row.data) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots), marker
        return None, marker

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        started = time.perf_counter()
        cached = self.cache.get(tracker.sender_id)
        # Events of a tracker this store handed out are stored up to the length it had then;
        # for any other tracker Rasa's count (events since the session started) decides.
        stored = cached.length if cached is not None and cached.tracker is tracker else None
        self.cache.discard(tracker.sender_id)
        marker, new_session, new_events = await self._off_loop("save", self._save_sync, tracker, stored)
        if not new_session:
            # A tracker read from the database holds one session; one that has started another
            # is read again next time rather than carried on with both.
            self.cache.put(tracker, marker)
        if self.record_readings:
            readings = self.readings(new_events)
            if readings:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(
                    self._pool, functools.partial(self._record, tracker.sender_id, readings)
                )
        logger.debug("Tracker %s saved in %.1f ms", tracker.sender_id, (time.perf_counter() - started) * 1000)

    def readings(self, events: List[Event]) -> List[Tuple[review_queue.Reading, Optional[float]]]:
        """How the assistant read each citizen's message among a turn's new ``events``, with the
        message's time: its intent, confidence and top guesses; whether it fell back (the NLU's
        ``nlu_fallback`` or the fallback action ran before the next message); whether a form
        took it (the first action after it is a form)."""
        forms = set(self.domain.form_names) if self.domain is not None else set()
        found = []
        for index, event in enumerate(events):
            if not isinstance(event, UserUttered) or not event.text:
                continue
            parse = event.parse_data or {}
            intent = parse.get("intent") or {}
            ranking = [
                (str(row.get("name")), float(row.get("confidence") or 0.0))
                for row in parse.get("intent_ranking") or []
                if row.get("name")
            ]
            actions = []
            for later in events[index + 1 :]:
                if isinstance(later, UserUttered):
                    break
                if (
                    isinstance(later, ActionExecuted)
                    and later.action_name
                    and later.action_name != "action_listen"
                ):
                    actions.append(later.action_name)
            reading = review_queue.Reading(
                text=event.text,
                intent=intent.get("name"),
                confidence=intent.get("confidence"),
                guesses=ranking,
                fell_back=intent.get("name") == review_queue.FALLBACK_INTENT
                or review_queue.FALLBACK_ACTION in actions,
                in_form=bool(actions) and actions[0] in forms,
                message_id=event.message_id,
            )
            found.append((reading, event.timestamp))
        return found

    @staticmethod
    def _record(sender_id: str, readings: List[Tuple[review_queue.Reading, Optional[float]]]) -> None:
        for reading, timestamp in readings:
            at = (
                dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(tzinfo=None)
                if timestamp
                else None
            )
            review_queue.record_reading(sender_id, reading, at=at)

    def _save_sync(
        self, tracker: DialogueStateTracker, stored: Optional[int]
    ) -> Tuple[Marker, bool, List[Event]]:
        """Store the new events; returns the marker the database holds if nobody else wrote,
        whether a new session started after events that were already stored, and the events."""
        with self.session_scope() as session:
            count, newest, latest = self._marker(session, tracker.sender_id)
            if stored is None:
                new_events = list(self._additional_events(session, tracker))
                already = len(tracker.events) - len(new_events)
            else:
                new_events, already = list(itertools.islice(tracker.events, stored, None)), stored
            rows = []
            for event in new_events:
                data = mask_value(event.as_dict())
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                # Counted before our inserts plus ours: another writer in between makes the
                # real count larger, so the next retrieve reloads.
                count, newest = count + len(rows), self._insert_events(session, rows)
                latest = max(
                    [t for t in [latest, *(row["timestamp"] for row in rows)] if t is not None], default=None
                )
            session.commit()
        new_session = already > 0 and any(isinstance(event, SessionStarted) for event in new_events)
        return (count, newest, latest), new_session, new_events
