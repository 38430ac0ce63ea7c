"""The async Graph API client (aiohttp), used by the connector inside ``rasa run``.

- Non-blocking: one ``ClientSession`` per client (one client per process: the input channel
  owns it and every output channel shares it).
- Retries with exponential backoff (Retry-After wins when Meta gives one) what the error table
  calls retryable (``whatsapp.errors``: rate limits, server errors, no answer), a bounded number
  of attempts; delays are configurable so tests run in milliseconds.
- Token and permission errors are logged loudly at ERROR: nothing works until an operator acts.
- Per-recipient pacing (token bucket) keeps well inside Meta's pair rate limit (131056).

Calls are built by ``whatsapp.api.GraphAPI``, as in the sync client.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

import aiohttp

from .api import USER_AGENT, Call, GraphAPI, read_answer, sent_message_id
from .errors import AuthError, GraphAPIError, NetworkError
from .settings import GraphSettings

logger = logging.getLogger(__name__)


class DownloadTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"media is {size} bytes, limit {limit}")
        self.size = size
        self.limit = limit


class PairPacer:
    """A token bucket per recipient: bursts are fine, a sustained flood is slowed down."""

    def __init__(self, burst: int, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = max(1, burst)
        self.per_second = per_second
        self._clock = clock
        self._buckets: Dict[str, Tuple[float, float]] = {}

    def delay_for(self, key: str) -> float:
        """Take a token for ``key``; returns how long to wait before sending (0 = now)."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > 10000:
            self._forget_full(now)
        return 0.0 if tokens >= 0 else -tokens / self.per_second

    def _forget_full(self, now: float) -> None:
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.per_second >= self.burst:
                del self._buckets[key]


def _network_error(exc: aiohttp.ClientError) -> NetworkError:
    # A connection that was never made cannot have delivered anything.
    return NetworkError(
        f"{type(exc).__name__}: {exc}", maybe_sent=not isinstance(exc, aiohttp.ClientConnectorError)
    )


def _log_auth_problem(what: str, error: GraphAPIError) -> None:
    logger.error(
        "WhatsApp ACCESS TOKEN / PERMISSION PROBLEM during %s: %s. Nothing can be sent until "
        "WHATSAPP_ACCESS_TOKEN (and the app's whatsapp_business_messaging permission) is fixed.",
        what,
        error,
    )


class AsyncClient:
    """The Graph API as the connector uses it: send, mark read, media lookup and download."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.api = GraphAPI(settings)
        self._sleep = sleep
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop: Optional[asyncio.AbstractEventLoop] = None
        self.pacer = PairPacer(settings.pair_rate_burst, settings.pair_rate_per_second)

    # -- session -------------------------------------------------------------------------------
    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                headers={"User-Agent": USER_AGENT},
            )
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            try:
                await self._session.close()
            except RuntimeError:  # session belongs to a loop that is gone (tests)
                pass
        self._session = None

    # -- retries -------------------------------------------------------------------------------
    def backoff_delay(self, attempt: int, error: GraphAPIError) -> float:
        """Exponential backoff with jitter; Retry-After wins when Meta gives one (capped)."""
        cap = self.settings.backoff_max
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), cap)
        base = self.settings.backoff_base * (2 ** (attempt - 1))
        return min(cap, base) * (0.5 + random.random() / 2)

    async def execute(self, call: Call, *, max_attempts: Optional[int] = None) -> Dict[str, Any]:
        """Make ``call``; retries what is retryable, raises the rest."""
        attempts = max(1, max_attempts or self.settings.max_attempts)
        for attempt in range(1, attempts + 1):
            try:
                result = await self._once(call)
                if attempt > 1:
                    logger.info("Graph API %s succeeded on attempt %d", call.what, attempt)
                return result
            except GraphAPIError as error:
                if isinstance(error, AuthError):
                    _log_auth_problem(call.what, error)
                    raise
                if not error.retryable or attempt == attempts:
                    raise
                delay = self.backoff_delay(attempt, error)
                logger.warning(
                    "Graph API %s failed (%s), attempt %d of %d; retrying in %.2f s",
                    call.what,
                    error,
                    attempt,
                    attempts,
                    delay,
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _once(self, call: Call) -> Dict[str, Any]:
        session = self._get_session()
        try:
            async with session.request(
                call.method, call.url, json=call.json, params=call.params, headers=self.api.headers
            ) as resp:
                return read_answer(resp.status, await resp.read(), resp.headers, resp.reason)
        except asyncio.TimeoutError:
            raise NetworkError(f"timed out after {self.settings.timeout} s", maybe_sent=True) from None
        except aiohttp.ClientError as exc:
            raise _network_error(exc) from None

    # -- WhatsApp operations ---------------------------------------------------------------------
    async def send_message(
        self, payload: Dict[str, Any], *, pace_key: Optional[str] = None, max_attempts: Optional[int] = None
    ) -> Optional[str]:
        """Send one full message body; returns the new message id."""
        if pace_key:
            delay = self.pacer.delay_for(pace_key)
            if delay > 0:
                logger.info("Pacing messages to one citizen: waiting %.1f s (pair rate limit)", delay)
                await self._sleep(delay)
        return sent_message_id(await self.execute(self.api.send_message(payload), max_attempts=max_attempts))

    async def mark_read(self, message_id: str, *, typing: bool = True, max_attempts: int = 1) -> None:
        """Blue ticks for ``message_id`` (and earlier ones), with the typing indicator if asked."""
        await self.execute(self.api.mark_read(message_id, typing=typing), max_attempts=max_attempts)

    async def media_info(self, media_id: str) -> Dict[str, Any]:
        """The short-lived download URL, MIME type, size and hash of an inbound media id."""
        return await self.execute(self.api.media_info(media_id))

    async def download(self, url: str, *, max_bytes: int) -> Tuple[bytes, Optional[str]]:
        """Download a media URL with the bearer token, refusing more than ``max_bytes``."""
        session = self._get_session()
        attempts = max(1, self.settings.max_attempts)
        for attempt in range(1, attempts + 1):
            try:
                async with session.get(url, headers=self.api.headers) as resp:
                    if resp.status >= 400:
                        read_answer(resp.status, await resp.read(), resp.headers, resp.reason)
                    declared = resp.content_length
                    if declared is not None and declared > max_bytes:
                        raise DownloadTooLarge(declared, max_bytes)
                    chunks = []
                    size = 0
                    async for chunk in resp.content.iter_chunked(64 * 1024):
                        size += len(chunk)
                        if size > max_bytes:
                            raise DownloadTooLarge(size, max_bytes)
                        chunks.append(chunk)
                    return b"".join(chunks), resp.headers.get("Content-Type")
            except asyncio.TimeoutError:
                error: GraphAPIError = NetworkError("media download timed out", maybe_sent=True)
            except aiohttp.ClientError as exc:
                error = _network_error(exc)
            except GraphAPIError as exc:
                error = exc
                if isinstance(error, AuthError):
                    _log_auth_problem("media download", error)
            if not error.retryable or attempt == attempts:
                raise error
            await self._sleep(self.backoff_delay(attempt, error))
        raise AssertionError("unreachable")
