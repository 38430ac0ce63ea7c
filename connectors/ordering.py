"""One citizen's messages in arrival order across several ``rasa run`` instances.

Behind a load balancer, a citizen's quick messages land on different instances. Each instance
keeps its own order (``SenderQueues``, the first level), but two instances would otherwise work on
the same citizen at once, and Rasa 3.6's ``RedisLockStore`` is a poor second line: a waiting
message re-reads the lock about once a second (five quick messages took up to 4 s), and its ticket
is a read-modify-write that two processes can interleave (RasaHQ/rasa#9213). So the connector
keeps per-citizen order *in front of* Rasa, in Redis, and Rasa's lock is then rarely contended.

The design is a ticket queue per citizen (a bakery algorithm), three Redis keys per citizen:

- ``…:{sender}:next``  a counter: ``INCR`` hands out tickets in arrival order;
- ``…:{sender}:done``  the highest ticket finished;
- ``…:{sender}:live``  a sorted set of unfinished tickets scored by their lease's expiry time.

1. **Admit** (in the webhook handler, before the 200): take a ticket and a lease in one Lua script.
   Meta (and the simulator) send a citizen's next message only after the previous one got its
   200, so tickets follow the order the citizen wrote in, whichever instance took each message.
2. **Turn**: a message may start when every earlier ticket is finished (``done >= ticket - 1``) or
   no longer alive (its lease expired: that instance died). Waiters re-check every few
   milliseconds (2 ms, doubling to 20 ms), not every second, and give up waiting after
   ``max_wait`` seconds (then Rasa's lock still serialises the turn).
3. **Leases**: a background task renews the leases of every ticket this instance still holds
   (waiting or running) every ``lease / 3`` seconds, so a long turn is never overtaken, while a
   crashed instance's tickets stop blocking the citizen after one lease.
4. **Release**: ``done = max(done, ticket)`` and the lease is dropped (one Lua script).

A waiting message holds one of its instance's concurrent-citizen slots (``SenderQueues``), so
``max_wait`` also bounds how long a pathological cross-wait between instances could last.

Everything is atomic in Redis (Lua), there is no clock shared between instances except Redis'
own ``TIME``, and the keys expire after a day without traffic. The keys of one citizen share a
hash tag (``{sender}``), so a Redis Cluster keeps them on one node. Without ``REDIS_URL`` (one
instance, the embedded default), ``LocalOrdering`` does nothing: the in-process queue suffices.
If Redis fails, messages are processed anyway (in-process order, Rasa's lock) and it is logged:
a citizen is never left unanswered because the ordering store is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Dict, List, Optional, Set, Tuple

from layanwarga.inbound import mask

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "layanwarga:order"
DEFAULT_LEASE_SECONDS = 10.0
DEFAULT_MAX_WAIT_SECONDS = 60.0
IDLE_TTL_SECONDS = 24 * 3600
POLL_MIN_SECONDS = 0.002
POLL_MAX_SECONDS = 0.02
ERROR_LOG_INTERVAL = 30.0

# KEYS: next, done, live. ARGV: lease ms, idle ttl ms. Returns the new ticket.
_ADMIT = """
local t = redis.call('INCR', KEYS[1])
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[3], ms + tonumber(ARGV[1]), t)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return t
"""

# KEYS: done, live. ARGV: ticket. Returns how many earlier tickets are still alive (0 = go).
_AHEAD = """
local t = tonumber(ARGV[1])
local done = tonumber(redis.call('GET', KEYS[1]) or '0')
if done >= t - 1 then return 0 end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ms)
local ahead = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local n = tonumber(member)
  if n > done and n < t then ahead = ahead + 1 end
end
return ahead
"""

# KEYS: next, done, live. ARGV: ticket, idle ttl ms.
_RELEASE = """
local t = tonumber(ARGV[1])
local done = tonumber(redis.call('GET', KEYS[2]) or '0')
if t > done then redis.call('SET', KEYS[2], t) end
redis.call('ZREM', KEYS[3], ARGV[1])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1
"""

# KEYS: live. ARGV: lease ms, tickets... Renews only tickets still present (ZADD XX).
_RENEW = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', ms + tonumber(ARGV[1]), ARGV[i])
end
return renewed
"""


@dataclass(frozen=True)
class Ticket:
    """A place in one citizen's line."""

    sender: str
    number: int


@dataclass
class OrderingStats:
    """What the ordering cost, for logs, tests and the benchmark."""

    admitted: int = 0
    turns: int = 0
    contended: int = 0  # turns that had to wait for another message of the same citizen
    waited_seconds: float = 0.0
    max_wait_seconds: float = 0.0
    gave_up: int = 0  # turns that stopped waiting after max_wait
    errors: int = 0  # Redis failures (messages were processed anyway)

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


class CitizenOrdering:
    """Interface: ``admit`` when a message arrives, ``turn`` around its processing."""

    name = "none"

    def __init__(self) -> None:
        self.stats = OrderingStats()

    @contextlib.asynccontextmanager
    async def admission(self, sender: str) -> AsyncIterator[None]:
        """Hold while taking a ticket *and* queueing the message locally (see ``RedisOrdering``)."""
        yield

    async def admit(self, sender: str) -> Optional[Ticket]:
        """Take a place in ``sender``'s line (None: this backend keeps no line)."""
        return None

    @contextlib.asynccontextmanager
    async def turn(self, sender: str, ticket: Optional[Ticket] = None) -> AsyncIterator[None]:
        """Wait until the earlier messages of ``sender`` are done, run the body, then let the
        next one go. Without a ticket (a message admitted without one, a replay), one is taken now."""
        self.stats.turns += 1
        yield

    async def close(self) -> None:
        return None


class LocalOrdering(CitizenOrdering):
    """One instance: the in-process ``SenderQueues`` already keeps each citizen in order."""

    name = "local"


class RedisOrdering(CitizenOrdering):
    """Per-citizen ticket queues in Redis, shared by every instance (see the module docstring)."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease: float = DEFAULT_LEASE_SECONDS,
        max_wait: float = DEFAULT_MAX_WAIT_SECONDS,
        idle_ttl: float = IDLE_TTL_SECONDS,
        socket_timeout: float = 2.0,
    ) -> None:
        super().__init__()
        import redis.asyncio as redis_asyncio

        self.prefix = prefix.rstrip(":")
        self.lease = float(lease)
        self.max_wait = float(max_wait)
        self._lease_ms = max(100, int(self.lease * 1000))
        self._ttl_ms = max(self._lease_ms * 2, int(idle_ttl * 1000))
        self._redis = redis_asyncio.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        self._admit = self._redis.register_script(_ADMIT)
        self._ahead = self._redis.register_script(_AHEAD)
        self._release = self._redis.register_script(_RELEASE)
        self._renew = self._redis.register_script(_RENEW)
        # Tickets this instance holds (admitted, not yet released): their leases are renewed.
        self._held: Set[Ticket] = set()
        self._renewer: Optional["asyncio.Task[None]"] = None
        # Admissions of one sender are serialised in this process, so the local queue's order
        # equals the ticket order (two concurrent webhooks of one citizen to one instance).
        self._admission_locks: Dict[str, Tuple[asyncio.Lock, int]] = {}
        self.instance = uuid.uuid4().hex[:8]
        self._last_error_log = 0.0

    # -- keys --------------------------------------------------------------------------------
    def keys(self, sender: str) -> Tuple[str, str, str]:
        base = f"{self.prefix}:{{{sender}}}"
        return f"{base}:next", f"{base}:done", f"{base}:live"

    # -- admission ---------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def admission(self, sender: str) -> AsyncIterator[None]:
        """Hold while taking a ticket *and* queueing the message locally."""
        lock, users = self._admission_locks.get(sender, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._admission_locks[sender] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._admission_locks[sender]
            if users <= 1:
                del self._admission_locks[sender]
            else:
                self._admission_locks[sender] = (lock, users - 1)

    async def admit(self, sender: str) -> Optional[Ticket]:
        next_key, done_key, live_key = self.keys(sender)
        try:
            number = int(
                await self._admit(keys=[next_key, done_key, live_key], args=[self._lease_ms, self._ttl_ms])
            )
        except Exception as error:  # noqa: BLE001 - never refuse a citizen because Redis is down
            self._failed("admit", sender, error)
            return None
        ticket = Ticket(sender, number)
        self._held.add(ticket)
        self.stats.admitted += 1
        self._ensure_renewer()
        return ticket

    # -- turns -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def turn(self, sender: str, ticket: Optional[Ticket] = None) -> AsyncIterator[None]:
        self.stats.turns += 1
        if ticket is None:
            async with self.admission(sender):
                ticket = await self.admit(sender)
        try:
            if ticket is not None:
                await self._wait(ticket)
            yield
        finally:
            if ticket is not None:
                await self._finish(ticket)

    async def _wait(self, ticket: Ticket) -> None:
        _, done_key, live_key = self.keys(ticket.sender)
        loop = asyncio.get_running_loop()
        started = loop.time()
        delay = POLL_MIN_SECONDS
        contended = False
        while True:
            try:
                ahead = int(await self._ahead(keys=[done_key, live_key], args=[ticket.number]))
            except Exception as error:  # noqa: BLE001
                self._failed("wait", ticket.sender, error)
                break
            if ahead == 0:
                break
            contended = True
            if loop.time() - started >= self.max_wait:
                self.stats.gave_up += 1
                logger.warning(
                    "Message of %s waited %.0f s for %d earlier message(s) on another instance; going ahead",
                    mask(ticket.sender),
                    self.max_wait,
                    ahead,
                )
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_MAX_SECONDS)
        if contended:
            waited = loop.time() - started
            self.stats.contended += 1
            self.stats.waited_seconds += waited
            self.stats.max_wait_seconds = max(self.stats.max_wait_seconds, waited)
            logger.debug("Message of %s waited %.1f ms for its turn", mask(ticket.sender), waited * 1000)

    async def _finish(self, ticket: Ticket) -> None:
        self._held.discard(ticket)
        try:
            # Shielded: a turn cancelled at shutdown still lets the citizen's next message go.
            await asyncio.shield(
                self._release(keys=list(self.keys(ticket.sender)), args=[ticket.number, self._ttl_ms])
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the lease expires by itself
            self._failed("release", ticket.sender, error)

    # -- leases ------------------------------------------------------------------------------
    def _ensure_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        interval = self.lease / 3
        while self._held:
            await asyncio.sleep(interval)
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001
                self._failed("renew", "-", error)

    async def renew(self) -> int:
        """Extend the lease of every ticket this instance holds; returns how many were renewed."""
        by_sender: Dict[str, List[int]] = {}
        for ticket in list(self._held):
            by_sender.setdefault(ticket.sender, []).append(ticket.number)
        if not by_sender:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for sender, numbers in by_sender.items():
                await self._renew(keys=[self.keys(sender)[2]], args=[self._lease_ms, *numbers], client=pipe)
            results = await pipe.execute()
        return sum(int(r) for r in results)

    # -- housekeeping --------------------------------------------------------------------------
    def _failed(self, step: str, sender: str, error: BaseException) -> None:
        self.stats.errors += 1
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_INTERVAL:
            self._last_error_log = now
            logger.error(
                "Citizen ordering in Redis failed at %s for %s (%s: %s); messages are processed "
                "in local order until Redis answers again",
                step,
                mask(sender),
                type(error).__name__,
                error,
            )

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._renewer
            self._renewer = None
        await self._redis.close()
        await self._redis.connection_pool.disconnect()


def make_ordering(
    mode: str,
    redis_url: Optional[str],
    *,
    prefix: str = DEFAULT_PREFIX,
    lease: float = DEFAULT_LEASE_SECONDS,
    max_wait: float = DEFAULT_MAX_WAIT_SECONDS,
) -> CitizenOrdering:
    """``auto``: Redis when ``redis_url`` is set, else local; ``redis`` requires the URL;
    ``local``/``off``: in-process order only (one instance, or to measure without it)."""
    mode = (mode or "auto").strip().lower()
    if mode in ("local", "off", "none"):
        return LocalOrdering()
    if redis_url:
        return RedisOrdering(redis_url, prefix=prefix, lease=lease, max_wait=max_wait)
    if mode == "redis":
        raise ValueError("whatsapp: ordering 'redis' needs REDIS_URL")
    return LocalOrdering()
