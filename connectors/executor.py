"""Run the domain core's synchronous SQLAlchemy calls off the event loop.

Rasa's Sanic loop serves every webhook and conversation; a database call that blocks it delays
all citizens at once. The connector's storage calls go through one small thread pool instead.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")


class BlockingRunner:
    """``await runner.run(fn, *args, **kwargs)`` runs ``fn`` in a dedicated thread pool."""

    def __init__(self, max_workers: int = 8, thread_name_prefix: str = "whatsapp-db") -> None:
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._pool: Optional[ThreadPoolExecutor] = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix=self._prefix)
        return self._pool

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
