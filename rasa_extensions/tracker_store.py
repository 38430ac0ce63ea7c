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

Use it in endpoints.yml as ``type: rasa_extensions.tracker_store.LayanWargaTrackerStore`` with
the same keys as ``type: SQL`` (``url`` may hold a whole SQLAlchemy URL).
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, Text, TypeVar

import sqlalchemy.exc
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from layanwarga.redaction import mask_value

logger = logging.getLogger(__name__)

T = TypeVar("T")
_DATABASE_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError)


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


class LayanWargaTrackerStore(SQLTrackerStore):
    def __init__(
        self,
        *args: Any,
        retries: int = 3,
        retry_delay: float = 0.2,
        pool_threads: int = 8,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.retries = max(1, int(retries))
        self.retry_delay = float(retry_delay)
        self._pool = ThreadPoolExecutor(max_workers=int(pool_threads), thread_name_prefix="tracker-store")

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
        return await self._off_loop("retrieve", self._retrieve_sync, sender_id, False)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        return await self._off_loop("retrieve", self._retrieve_sync, conversation_id, True)

    def _retrieve_sync(self, sender_id: Text, all_sessions: bool) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions).all()
            events = [json.loads(row.data) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        started = time.perf_counter()
        await self._off_loop("save", self._save_sync, tracker)
        logger.debug("Tracker %s saved in %.1f ms", tracker.sender_id, (time.perf_counter() - started) * 1000)

    def _save_sync(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = mask_value(event.as_dict())
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
