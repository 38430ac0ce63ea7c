"""Per-citizen rate limiting of inbound messages, shared by every instance when Redis is used.

A public WhatsApp number attracts floods (a stuck phone, a script, someone angry). Each citizen
may send ``per_minute`` messages per minute; past that, the citizen gets one polite note per
minute and the excess is logged, not answered, until the window turns. With ``REDIS_URL`` the
counters live in Redis (fixed one-minute windows with ``INCR`` + ``EXPIRE``, atomic across
instances); without it, in this process (one instance, the embedded default).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

logger = logging.getLogger(__name__)

RATE_LIMITED_TEXT = (
    "Mohon maaf, Bapak/Ibu mengirim terlalu banyak pesan dalam waktu singkat. Mohon tunggu "
    "sekitar satu menit, lalu kirim kembali pesan yang belum kami tanggapi 🙏"
)
TOO_LONG_TEXT = (
    "Mohon maaf, pesan Bapak/Ibu terlalu panjang ({length} karakter; paling banyak {limit}). "
    "Mohon ringkas atau kirim dalam beberapa pesan."
)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    notify: bool  # the first refused message of a window: tell the citizen once


class MemoryRateLimiter:
    """Fixed one-minute windows in this process."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: Dict[str, Tuple[int, int]] = {}

    async def check(self, sender: str) -> Verdict:
        window = int(time.time() // 60)
        start, count = self._windows.get(sender, (window, 0))
        if start != window:
            count = 0
        count += 1
        self._windows[sender] = (window, count)
        if len(self._windows) > 100_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        return Verdict(count <= self.per_minute, count == self.per_minute + 1)

    async def close(self) -> None:
        return None


class RedisRateLimiter:
    """Fixed one-minute windows in Redis, shared by all instances."""

    def __init__(self, url: str, per_minute: int, prefix: str = "layanwarga:rate") -> None:
        import redis.asyncio as redis_asyncio

        self.per_minute = per_minute
        self.prefix = prefix
        self._redis = redis_asyncio.from_url(url)

    async def check(self, sender: str) -> Verdict:
        window = int(time.time() // 60)
        key = f"{self.prefix}:{sender}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                count, _ = await pipe.incr(key).expire(key, 120).execute()
        except Exception:  # noqa: BLE001 - without Redis, let citizens through rather than drop them
            logger.exception("Rate limiter unavailable; message let through")
            return Verdict(True, False)
        return Verdict(count <= self.per_minute, count == self.per_minute + 1)

    async def close(self) -> None:
        await self._redis.close()


def make_rate_limiter(per_minute: int, redis_url: Optional[str]):  # type: ignore[no-untyped-def]
    if redis_url:
        return RedisRateLimiter(redis_url, per_minute)
    return MemoryRateLimiter(per_minute)
