"""Delivery statuses written in batches.

Meta sends a webhook per delivery state of every reply (sent, delivered, read), each a tiny
write. Written one unit of work per webhook they cost the connector's database thread, and with
it Rasa's event loop (the GIL), more than the rest of a turn's bookkeeping. ``StatusBatcher``
collects them and writes what arrived together in one unit of work: when ``max_delay`` has
passed since the first record waiting, or as soon as ``max_batch`` records wait. Order needs no
care here: the write never moves a message's state backwards (``whatsapp.statuses.STATUS_RANK``).

Writes run one at a time (a batch formed while another is written waits for it). A failed write
is logged with its size and dropped; later batches go on. ``flush`` and ``close`` write whatever
waits at once, so tests and a graceful shutdown lose nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Iterable, List, Optional, Set

from whatsapp.statuses import StatusRecord

logger = logging.getLogger(__name__)

DEFAULT_MAX_DELAY = 0.1
DEFAULT_MAX_BATCH = 200

StatusWriter = Callable[[List[StatusRecord]], Awaitable[Any]]


class StatusBatcher:
    """Queues ``StatusRecord``s on the event loop and hands them to ``write`` in batches."""

    def __init__(
        self,
        write: StatusWriter,
        *,
        max_delay: float = DEFAULT_MAX_DELAY,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if max_delay < 0 or max_batch < 1:
            raise ValueError("a status batch needs max_delay >= 0 and max_batch >= 1")
        self._write = write
        self.max_delay = max_delay
        self.max_batch = max_batch
        self._pending: List[StatusRecord] = []
        self._timer: Optional[asyncio.TimerHandle] = None
        self._writes: Set["asyncio.Task[None]"] = set()
        # Created on the event loop, at the first write (as the connector's other locks).
        self._lock: Optional[asyncio.Lock] = None

    @property
    def busy(self) -> bool:
        """Whether records wait or a batch is being written."""
        return bool(self._pending or self._writes)

    def add(self, records: Iterable[StatusRecord]) -> None:
        """Queue records (on the event loop); they are written within ``max_delay``."""
        self._pending.extend(records)
        if len(self._pending) >= self.max_batch:
            self._start_write()
        elif self._pending and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_delay, self._start_write)

    def _start_write(self) -> None:
        """Take everything waiting as one batch and write it in a task of its own."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        task = asyncio.get_running_loop().create_task(self._write_batch(batch))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write_batch(self, batch: List[StatusRecord]) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                await self._write(batch)
            except Exception:  # noqa: BLE001 - statuses are bookkeeping; later batches go on
                logger.exception("Could not record %d WhatsApp delivery statuses", len(batch))

    async def flush(self, timeout: Optional[float] = None) -> bool:
        """Write everything queued now and wait for every write; False if ``timeout`` passed."""
        self._start_write()
        if not self._writes:
            return True
        _, pending = await asyncio.wait(set(self._writes), timeout=timeout)
        return not pending

    async def close(self) -> None:
        """Write what is left, including records queued while waiting (graceful shutdown)."""
        while self.busy:
            await self.flush()
