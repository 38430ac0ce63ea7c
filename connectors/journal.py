"""The connector's journal of inbound messages: each processed once, none lost when a process dies.

Meta redelivers a notification that got no 200 for up to 7 days, but never one that did. So a
message is written here before the webhook answers 200, and stays until its turn is complete:

- ``take_in`` (before the 200): one row per message, keyed by its dedupe key (a redelivery, or a
  copy another instance took in, finds the key and stops there), state ``received``, the message
  itself encrypted (``layanwarga.crypto``), owned by this process for a lease.
- ``hold`` (with the staff log line, in the same unit of work): state ``held``, the payload
  replaced by what the assistant receives (text and metadata, media already stored), so a replay
  repeats neither the log line nor the download.
- ``finish``: ``done`` (answered, or rightly not answered: blocked, a reaction, an officer has
  the conversation) or ``failed`` (gave up: see ``MAX_ATTEMPTS``); the payload is cleared, the
  key stays for the redelivery window (``purge``).

A process extends the lease of what it holds at every replay round (``replay_interval``). A
message whose owner stopped renewing (a process killed, a machine gone) is taken over by any
instance once the lease ran out (``take_over``), and a process that starts again under the same
configured instance name (``LAYANWARGA_INSTANCE``) takes its previous life's messages back at
once. Either way they are replayed in the order the citizen
wrote them (``seq``). A replay can repeat what the assistant said before the process died in the
middle of a turn; it never drops the message.

``SqlJournal`` keeps the journal in the ticket database (``processed_messages``), shared by every
``rasa run`` instance; ``MemoryJournal`` is for tests and single-process experiments only.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import json
import logging
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from sqlalchemy import DateTime, Float, bindparam, text
from sqlalchemy.engine import Connection

from layanwarga import crypto
from layanwarga.db import connection_scope
from layanwarga.models import utcnow

from .executor import BlockingRunner

logger = logging.getLogger(__name__)

RECEIVED, HELD, DONE, FAILED = "received", "held", "done", "failed"
UNFINISHED = (RECEIVED, HELD)
# A turn that fails this many times (the assistant broke on it, not an outage) is given up.
MAX_ATTEMPTS = 5
# Meta redelivers for up to 7 days; keep keys a day longer so a late redelivery still matches.
DEFAULT_RETENTION = dt.timedelta(days=8)
MIN_RETENTION = dt.timedelta(days=7)
DEFAULT_LEASE = dt.timedelta(seconds=30)
_KEY_MAX = 255


def dedupe_key(message_id: str, sender: str, timestamp: Optional[str]) -> str:
    """The key under which an inbound message is taken in.

    Meta's message ids are unique, but sample payloads and some test tools reuse placeholder ids
    (``wamid.ID``) for different messages. A redelivery repeats the notification byte for byte,
    so id + timestamp + sender identifies one message exactly while two different messages with a
    shared placeholder id stay apart. Starts with the id so ``LIKE 'wamid.X|%'`` finds it.
    """
    key = f"{message_id}|{timestamp or ''}|{sender}"
    if len(key) > _KEY_MAX:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key


@dataclass(frozen=True)
class Entry:
    """A message to take in: its dedupe key, sender, what to keep, and its place in line."""

    key: str
    sender: str
    payload: Dict[str, Any]
    seq: float


@dataclass(frozen=True)
class Unfinished:
    """A journalled message whose turn is not complete (``sealed``: its payload as stored)."""

    key: str
    sender: str
    state: str
    sealed: Optional[str]
    attempts: int
    seq: float

    def payload(self) -> Dict[str, Any]:
        """The message kept (decrypted only for a message about to be replayed); ValueError when
        it cannot be read."""
        try:
            return unseal(self.sealed)
        except crypto.DataKeyError as error:
            raise ValueError(str(error)) from None


def seal(payload: Dict[str, Any]) -> str:
    """The payload as stored: JSON, encrypted with the data keys (it holds what citizens wrote)."""
    return crypto.encrypt(json.dumps(payload, separators=(",", ":"), default=str)) or ""


def unseal(stored: Optional[str]) -> Dict[str, Any]:
    value = json.loads(crypto.decrypt(stored) or "{}") if stored else {}
    return value if isinstance(value, dict) else {}


class Journal(abc.ABC):
    """Where inbound messages wait from before the 200 until their turn is complete."""

    def __init__(self, *, instance: Optional[str] = None, lease: dt.timedelta = DEFAULT_LEASE) -> None:
        # "<instance>/<this process>": unique per process; the prefix names the instance.
        self.instance = instance
        self.owner = f"{instance or socket.gethostname()}/{uuid.uuid4().hex[:12]}"[-120:]
        self.lease = lease

    @abc.abstractmethod
    async def take_in(self, entries: Sequence[Entry]) -> List[bool]:
        """Write ``entries``; for each, True when it is new (go ahead), False for a duplicate."""

    @abc.abstractmethod
    def holder(self, key: str, payload: Dict[str, Any]) -> Callable[[Connection], None]:
        """What marks ``key`` held with ``payload``, run inside the unit of work that logs the
        message for staff (``conversation_log.log_inbound_checking_handoff``)."""

    @abc.abstractmethod
    async def finish(self, key: str, state: str = DONE) -> None:
        """The turn is complete (``done``) or given up (``failed``): forget the payload."""

    @abc.abstractmethod
    async def count_attempt(self, key: str) -> int:
        """Count one failed turn of ``key``; returns how many there were."""

    @abc.abstractmethod
    async def renew(self) -> int:
        """Extend the lease of every unfinished message this process owns; returns how many."""

    @abc.abstractmethod
    async def take_over(self, *, previous_life: bool = False) -> List[Unfinished]:
        """Own the unfinished messages whose lease ran out (and, with ``previous_life`` and a
        configured instance name, those an earlier process of this instance left); returns every
        unfinished message this process owns, oldest first."""

    @abc.abstractmethod
    async def purge(self, retention: dt.timedelta = DEFAULT_RETENTION) -> int:
        """Drop finished keys past the redelivery window; returns how many."""


# -- SQL: the syntax SQLite (3.24+) and PostgreSQL share, the only databases the project runs on;
# text statements, compiled once (SQLAlchemy 1.4 recompiles its dialect inserts on every call).
_TAKE_IN = text(
    "INSERT INTO processed_messages (message_id, sender, received_at, state, payload, owner, lease_until, seq, attempts) "
    "VALUES (:message_id, :sender, :received_at, 'received', :payload, :owner, :lease_until, :seq, 0) "
    "ON CONFLICT (message_id) DO NOTHING"
).bindparams(
    bindparam("received_at", type_=DateTime()),
    bindparam("lease_until", type_=DateTime()),
    bindparam("seq", type_=Float()),
)
_HOLD = text(
    "UPDATE processed_messages SET state = 'held', payload = :payload WHERE message_id = :message_id"
)
_FINISH = text(
    "UPDATE processed_messages SET state = :state, payload = NULL, owner = NULL, lease_until = NULL "
    "WHERE message_id = :message_id"
)
_ATTEMPT = text("UPDATE processed_messages SET attempts = attempts + 1 WHERE message_id = :message_id")
_ATTEMPTS = text("SELECT attempts FROM processed_messages WHERE message_id = :message_id")
_RENEW = text(
    "UPDATE processed_messages SET lease_until = :lease_until "
    "WHERE owner = :owner AND state IN ('received', 'held')"
).bindparams(bindparam("lease_until", type_=DateTime()))
_TAKE_EXPIRED = text(
    "UPDATE processed_messages SET owner = :owner, lease_until = :lease_until "
    "WHERE state IN ('received', 'held') AND (lease_until IS NULL OR lease_until < :now)"
).bindparams(bindparam("lease_until", type_=DateTime()), bindparam("now", type_=DateTime()))
_TAKE_PREVIOUS_LIFE = text(
    "UPDATE processed_messages SET owner = :owner, lease_until = :lease_until "
    "WHERE state IN ('received', 'held') AND substr(owner, 1, :length) = :prefix AND owner <> :owner"
).bindparams(bindparam("lease_until", type_=DateTime()))
_MINE = text(
    "SELECT message_id, sender, state, payload, attempts, seq FROM processed_messages "
    "WHERE owner = :owner AND state IN ('received', 'held') ORDER BY seq, received_at, message_id"
)
_PURGE = text(
    "DELETE FROM processed_messages WHERE received_at < :cutoff AND state IN ('done', 'failed')"
).bindparams(bindparam("cutoff", type_=DateTime()))


def take_in_rows(
    entries: Sequence[Entry], owner: str, lease: dt.timedelta, *, url: Optional[str] = None
) -> List[bool]:
    """``SqlJournal.take_in`` in one unit of work: the database decides each key's race."""
    now = utcnow()
    rows = [
        {
            "message_id": e.key,
            "sender": e.sender[:128] or None,
            "received_at": now,
            "payload": seal(e.payload),
            "owner": owner,
            "lease_until": now + lease,
            "seq": e.seq,
        }
        for e in entries
    ]
    with connection_scope(url, write=True) as connection:
        return [(connection.execute(_TAKE_IN, row).rowcount or 0) == 1 for row in rows]


def finish_row(key: str, state: str, *, url: Optional[str] = None) -> None:
    with connection_scope(url, write=True) as connection:
        connection.execute(_FINISH, {"message_id": key, "state": state})


def count_attempt_row(key: str, *, url: Optional[str] = None) -> int:
    with connection_scope(url, write=True) as connection:
        connection.execute(_ATTEMPT, {"message_id": key})
        return int(connection.execute(_ATTEMPTS, {"message_id": key}).scalar() or 0)


def renew_rows(owner: str, lease: dt.timedelta, *, url: Optional[str] = None) -> int:
    with connection_scope(url, write=True) as connection:
        return int(
            connection.execute(_RENEW, {"owner": owner, "lease_until": utcnow() + lease}).rowcount or 0
        )


def take_over_rows(
    owner: str, lease: dt.timedelta, *, instance: Optional[str] = None, url: Optional[str] = None
) -> List[Unfinished]:
    """``SqlJournal.take_over``; ``instance`` given: also take back that instance's earlier rows."""
    now = utcnow()
    with connection_scope(url, write=True) as connection:
        taken = (
            connection.execute(
                _TAKE_EXPIRED, {"owner": owner, "lease_until": now + lease, "now": now}
            ).rowcount
            or 0
        )
        if instance:
            prefix = f"{instance}/"
            taken += (
                connection.execute(
                    _TAKE_PREVIOUS_LIFE,
                    {
                        "owner": owner,
                        "lease_until": now + lease,
                        "prefix": prefix,
                        "length": len(prefix),
                    },
                ).rowcount
                or 0
            )
        rows = connection.execute(_MINE, {"owner": owner}).all()
    if taken:
        logger.warning("Took over %d unfinished WhatsApp messages left by a stopped process", taken)
    return [
        Unfinished(
            row.message_id,
            row.sender or "",
            row.state,
            row.payload,
            int(row.attempts or 0),
            float(row.seq or 0),
        )
        for row in rows
    ]


def purge_rows(
    retention: dt.timedelta, *, now: Optional[dt.datetime] = None, url: Optional[str] = None
) -> int:
    cutoff = (now or utcnow()) - max(retention, MIN_RETENTION)
    with connection_scope(url, write=True) as connection:
        return int(connection.execute(_PURGE, {"cutoff": cutoff}).rowcount or 0)


class SqlJournal(Journal):
    """The journal in ``processed_messages`` of the ticket database (SQLite or PostgreSQL)."""

    def __init__(
        self,
        runner: BlockingRunner,
        *,
        instance: Optional[str] = None,
        url: Optional[str] = None,
        lease: dt.timedelta = DEFAULT_LEASE,
        retention: dt.timedelta = DEFAULT_RETENTION,
    ) -> None:
        super().__init__(instance=instance, lease=lease)
        self._runner = runner
        self._url = url
        self.retention = max(retention, MIN_RETENTION)

    async def take_in(self, entries: Sequence[Entry]) -> List[bool]:
        return await self._runner.run(take_in_rows, list(entries), self.owner, self.lease, url=self._url)

    def holder(self, key: str, payload: Dict[str, Any]) -> Callable[[Connection], None]:
        sealed = seal(payload)

        def hold(connection: Connection) -> None:
            connection.execute(_HOLD, {"message_id": key, "payload": sealed})

        return hold

    async def finish(self, key: str, state: str = DONE) -> None:
        await self._runner.run(finish_row, key, state, url=self._url)

    async def count_attempt(self, key: str) -> int:
        return await self._runner.run(count_attempt_row, key, url=self._url)

    async def renew(self) -> int:
        return await self._runner.run(renew_rows, self.owner, self.lease, url=self._url)

    async def take_over(self, *, previous_life: bool = False) -> List[Unfinished]:
        instance = self.instance if previous_life else None
        return await self._runner.run(
            take_over_rows, self.owner, self.lease, instance=instance, url=self._url
        )

    async def purge(self, retention: Optional[dt.timedelta] = None) -> int:
        return await self._runner.run(purge_rows, retention or self.retention, url=self._url)


class MemoryJournal(Journal):
    """The journal in this process's memory (tests; one process; forgotten on restart)."""

    def __init__(self, *, lease: dt.timedelta = DEFAULT_LEASE) -> None:
        super().__init__(instance="memory", lease=lease)
        self.rows: Dict[str, Dict[str, Any]] = {}

    async def take_in(self, entries: Sequence[Entry]) -> List[bool]:
        new = []
        for entry in entries:
            fresh = entry.key not in self.rows
            if fresh:
                self.rows[entry.key] = {
                    "sender": entry.sender,
                    "state": RECEIVED,
                    "payload": seal(entry.payload),
                    "attempts": 0,
                    "seq": entry.seq,
                    "at": utcnow(),
                }
            new.append(fresh)
        return new

    def holder(self, key: str, payload: Dict[str, Any]) -> Callable[[Connection], None]:
        sealed = seal(payload)

        def hold(connection: Connection) -> None:
            self.rows[key].update(state=HELD, payload=sealed)

        return hold

    async def finish(self, key: str, state: str = DONE) -> None:
        self.rows[key].update(state=state, payload=None)

    async def count_attempt(self, key: str) -> int:
        self.rows[key]["attempts"] += 1
        return int(self.rows[key]["attempts"])

    async def renew(self) -> int:
        return sum(1 for row in self.rows.values() if row["state"] in UNFINISHED)

    async def take_over(self, *, previous_life: bool = False) -> List[Unfinished]:
        waiting = [(key, row) for key, row in self.rows.items() if row["state"] in UNFINISHED]
        waiting.sort(key=lambda item: item[1]["seq"])
        return [
            Unfinished(key, row["sender"], row["state"], row["payload"], row["attempts"], row["seq"])
            for key, row in waiting
        ]

    async def purge(self, retention: dt.timedelta = DEFAULT_RETENTION) -> int:
        cutoff = utcnow() - retention
        old = [k for k, row in self.rows.items() if row["state"] not in UNFINISHED and row["at"] < cutoff]
        for key in old:
            del self.rows[key]
        return len(old)
