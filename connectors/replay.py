"""Messages that arrive while the assistant cannot take them wait on local disk and are replayed.

The assistant "cannot take" a message when the action server does not answer its health check,
or when the conversation store is unreachable before the turn starts (``TrackerStoreUnavailable``
with phase ``retrieve``). Such a message is stored in a ``Spool`` (one JSON file per message),
the citizen gets one apology per outage, and a background loop replays the waiting messages in
their original order once the action server answers again. While a citizen has waiting messages,
new ones queue behind them, so a conversation is never reordered. Nothing was answered for a
waiting message, so replaying it sends nothing twice.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Dict, Optional, Set

import aiohttp

from layanwarga.config import PROJECT_ROOT
from layanwarga.inbound import mask
from layanwarga.spool import Spool

logger = logging.getLogger(__name__)

DEFAULT_SPOOL_DIR = PROJECT_ROOT / "var" / "spool" / "whatsapp"
APOLOGY_DEFERRED = (
    "Mohon maaf, Bapak/Ibu, sistem kami sedang mengalami gangguan. Pesan Bapak/Ibu sudah kami "
    "simpan dan akan kami proses otomatis begitu sistem pulih; tidak perlu mengirim ulang."
)


def health_url(action_server_url: str) -> str:
    """``http://host:5055/webhook`` → ``http://host:5055/health``."""
    base = action_server_url.rstrip("/")
    if base.endswith("/webhook"):
        base = base[: -len("/webhook")]
    return f"{base}/health"


class AssistantHealth:
    """Whether the action server answers, probed at most once per ``ttl`` seconds."""

    def __init__(self, action_server_url: str, ttl: float = 2.0, timeout: float = 1.5) -> None:
        self.url = health_url(action_server_url)
        self.ttl = ttl
        self.timeout = timeout
        self._checked_at = 0.0
        self._ready = True
        self._lock: Optional[asyncio.Lock] = None

    def forget(self) -> None:
        """Probe again at the next check (after a failure seen elsewhere)."""
        self._checked_at = 0.0

    async def ready(self) -> bool:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if time.monotonic() - self._checked_at < self.ttl:
                return self._ready
            ready = await self._probe()
            if ready != self._ready:
                log = logger.info if ready else logger.error
                log("Action server %s is %s", self.url, "reachable again" if ready else "NOT reachable")
            self._ready, self._checked_at = ready, time.monotonic()
            return ready

    async def _probe(self) -> bool:
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(self.url) as response:
                    return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return False


class DeferredMessages:
    """The spool of waiting messages, with the bookkeeping of who was told about the outage."""

    def __init__(self, directory: Optional[Path] = None) -> None:
        self.spool = Spool(directory or DEFAULT_SPOOL_DIR)
        self._apologised: Set[str] = set()
        self._in_flight: Set[Path] = set()

    def waiting_for(self, sender: str) -> bool:
        return self.spool.has(sender)

    def defer(self, sender: str, message: Dict[str, Any]) -> bool:
        """Keep ``message`` for later; True when the citizen has not been told yet."""
        self.spool.put(sender, message)
        logger.warning("Message %s from %s kept for replay (%d waiting)", message.get("message_id"), mask(sender), len(self.spool))
        first = sender not in self._apologised
        self._apologised.add(sender)
        return first

    def due(self):  # type: ignore[no-untyped-def]
        """Waiting messages not already being replayed, oldest first."""
        for path, sender, item in self.spool.entries():
            if path not in self._in_flight:
                yield path, sender, item

    def start(self, path: Path) -> None:
        self._in_flight.add(path)

    def earlier_than(self, path: Path, sender: str) -> bool:
        """Whether ``sender`` has a message waiting from before ``path``."""
        return any(p < path for p, s, _ in self.spool.entries() if s == sender)

    def done(self, path: Path, sender: str, replayed: bool) -> None:
        self._in_flight.discard(path)
        if replayed:
            self.spool.remove(path)
            if not self.spool.has(sender):
                self._apologised.discard(sender)
