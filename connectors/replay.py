"""Whether the assistant can take a message now, and what a citizen is told when it cannot.

The assistant "cannot take" a message when the action server does not answer its health check,
when the conversation store is unreachable before the turn starts (``TrackerStoreUnavailable``
with phase ``retrieve``), or when the action server fails during the turn
(``rasa_extensions.action_failures``). Such a message stays in the connector's journal
(``connectors.journal``), the citizen gets ``APOLOGY_DEFERRED`` once per outage, and the
processor's replay loop runs the waiting messages in their original order once the action
server answers again; new messages of that citizen queue behind them meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Optional

import aiohttp

logger = logging.getLogger(__name__)

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
    """Whether the action server answers, probed at most once per ``ttl`` seconds (always, when
    the assistant has no action server: ``action_server_url`` None)."""

    def __init__(self, action_server_url: Optional[str], ttl: float = 2.0, timeout: float = 1.5) -> None:
        self.url = health_url(action_server_url) if action_server_url else None
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
        if self.url is None:
            return True
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(self.url) as response:
                    return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return False
