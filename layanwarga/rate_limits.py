"""Fixed one-minute request windows for the public HTTP interfaces (the Open311 API), shared by
every dashboard process when Redis is configured (``REDIS_URL``), else kept in this process.

``hit(name, limit)`` counts one request against ``name`` (e.g. ``key:3`` or ``ip:10.0.0.1``) and
answers how many seconds to wait when the window is already full, else 0. Without Redis
reachable the request is let through and the failure logged: a partner's report beats a counter.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable, Dict, Optional, Protocol, Tuple

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
_MAX_TRACKED = 100_000


class Limiter(Protocol):
    def hit(self, name: str, limit: int) -> int: ...


def _wait(now: float) -> int:
    return max(1, int(WINDOW_SECONDS - now % WINDOW_SECONDS))


class MemoryLimiter:
    """Windows in this process (one dashboard process, the embedded default)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._windows: Dict[str, Tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, name: str, limit: int) -> int:
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        with self._lock:
            start, count = self._windows.get(name, (window, 0))
            count = 1 if start != window else count + 1
            self._windows[name] = (window, count)
            if len(self._windows) > _MAX_TRACKED:
                self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        return 0 if count <= limit else _wait(now)


class RedisLimiter:
    """Windows in Redis (``INCR`` + ``EXPIRE`` in one transaction), shared by all processes."""

    def __init__(
        self, url: str, prefix: str = "layanwarga:api", clock: Callable[[], float] = time.time
    ) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._prefix = prefix
        self._clock = clock

    def hit(self, name: str, limit: int) -> int:
        now = self._clock()
        key = f"{self._prefix}:{name}:{int(now // WINDOW_SECONDS)}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            count, _ = pipe.incr(key).expire(key, 2 * WINDOW_SECONDS).execute()
        except Exception:  # noqa: BLE001 - without Redis, let the request through
            logger.exception("API rate limiter unavailable; request for %s let through", name)
            return 0
        return 0 if int(count) <= limit else _wait(now)


def from_env(environ: Optional[Dict[str, str]] = None) -> Limiter:
    url = (environ if environ is not None else os.environ).get("REDIS_URL", "").strip()
    return RedisLimiter(url) if url else MemoryLimiter()
