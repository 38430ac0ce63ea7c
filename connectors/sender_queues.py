"""In-order processing per sender, concurrent across senders.

Each sender (phone or BSUID) gets a FIFO of jobs and one worker task while it has work; the
worker exits as soon as its queue is empty (reaped when idle), so thousands of citizens cost
nothing between messages. A global semaphore bounds how many senders are processed at once.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Awaitable, Callable, Deque, Dict, Optional, Set

from layanwarga.inbound import mask

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class SenderQueues:
    def __init__(self, max_concurrent: int = 64) -> None:
        self._queues: Dict[str, Deque[Job]] = {}
        self._workers: Set["asyncio.Task[None]"] = set()
        self._max_concurrent = max_concurrent
        self._semaphore: Optional[asyncio.Semaphore] = None

    @property
    def active_senders(self) -> int:
        return len(self._queues)

    def submit(self, sender: str, job: Job) -> None:
        """Queue ``job`` behind the sender's earlier jobs (must be called on the event loop)."""
        queue = self._queues.get(sender)
        if queue is not None:
            queue.append(job)
            return
        queue = collections.deque([job])
        self._queues[sender] = queue
        task = asyncio.get_running_loop().create_task(self._work(sender, queue))
        self._workers.add(task)
        task.add_done_callback(self._workers.discard)

    async def _work(self, sender: str, queue: Deque[Job]) -> None:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._max_concurrent)
        try:
            async with self._semaphore:
                while True:
                    try:
                        job = queue.popleft()
                    except IndexError:
                        # No await between the empty check and the removal: a submit() cannot
                        # slip in and be lost, it will start a new worker instead.
                        break
                    try:
                        await job()
                    except asyncio.CancelledError:
                        raise
                    except Exception:  # noqa: BLE001 - one bad message must not stop the sender
                        logger.exception("Processing a WhatsApp message from %s failed", mask(sender))
        finally:
            if self._queues.get(sender) is queue:
                del self._queues[sender]
            if queue:
                logger.error(
                    "%d queued WhatsApp jobs of %s were not run (shutdown)", len(queue), mask(sender)
                )

    async def join(self, timeout: Optional[float] = None) -> bool:
        """Wait until every queued job has run; False if ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._workers:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(set(self._workers), timeout=remaining)
        return True

    async def cancel(self) -> None:
        for task in list(self._workers):
            task.cancel()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
