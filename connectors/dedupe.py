"""The "each message id processed once" store.

``DedupeStore`` is the interface; ``SqlDedupeStore`` keeps claims in the shared ticket database
(``processed_messages``), which is what makes the guarantee hold across restarts and across
several ``rasa run`` instances. A Redis implementation (``SET key 1 NX EX 691200``) can be added
for deployments that prefer it, without touching the connector. ``MemoryDedupeStore`` is for
tests and single-process experiments only: it forgets everything on restart.
"""
from __future__ import annotations

import abc
import datetime as dt
import logging
import time
from typing import Dict, Optional

from layanwarga import inbound

from .executor import BlockingRunner

logger = logging.getLogger(__name__)


class DedupeStore(abc.ABC):
    """Claims inbound message keys; exactly one claim of a key succeeds while it is retained."""

    @abc.abstractmethod
    async def claim(self, key: str, sender: Optional[str] = None) -> bool:
        """True when this caller is the first to take ``key`` in (go ahead), else False."""

    @abc.abstractmethod
    async def release(self, key: str) -> None:
        """Forget a claim (processing could not start)."""

    @abc.abstractmethod
    async def purge(self) -> int:
        """Drop claims past the retention period; returns how many."""


class SqlDedupeStore(DedupeStore):
    """Claims as primary-key INSERTs into ``processed_messages`` (SQLite or PostgreSQL)."""

    def __init__(
        self,
        runner: BlockingRunner,
        *,
        url: Optional[str] = None,
        retention: dt.timedelta = inbound.DEFAULT_RETENTION,
    ) -> None:
        self._runner = runner
        self._url = url
        self.retention = max(retention, inbound.MIN_RETENTION)

    async def claim(self, key: str, sender: Optional[str] = None) -> bool:
        return await self._runner.run(inbound.claim_message, key, sender, url=self._url)

    async def release(self, key: str) -> None:
        await self._runner.run(inbound.release_message, key, url=self._url)

    async def purge(self) -> int:
        return await self._runner.run(inbound.purge_processed, self.retention, url=self._url)


class MemoryDedupeStore(DedupeStore):
    """In-process claims with expiry (tests; one process; lost on restart)."""

    def __init__(self, retention: dt.timedelta = inbound.DEFAULT_RETENTION) -> None:
        self.retention = retention
        self._claims: Dict[str, float] = {}

    async def claim(self, key: str, sender: Optional[str] = None) -> bool:
        if key in self._claims:
            return False
        self._claims[key] = time.monotonic()
        return True

    async def release(self, key: str) -> None:
        self._claims.pop(key, None)

    async def purge(self) -> int:
        cutoff = time.monotonic() - self.retention.total_seconds()
        old = [k for k, t in self._claims.items() if t < cutoff]
        for key in old:
            del self._claims[key]
        return len(old)

    def reset(self) -> None:
        self._claims.clear()
