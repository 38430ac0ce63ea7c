"""Async client for the WhatsApp Cloud (Graph) API: send, mark read, media download.

- Non-blocking: aiohttp, one ``ClientSession`` per client (one client per process: the input
  channel owns it and every output channel shares it).
- Retries with exponential backoff (and Retry-After when given) on HTTP 429, Graph rate-limit
  codes (4, 80007, 130429, 131056), 5xx / transient server codes and connection failures; a
  bounded number of attempts, delays configurable so tests run in milliseconds.
- One error class per family of Graph error codes, so callers decide by type: e.g.
  ``ReEngagementError`` (131047, outside the 24-h window) -> send a template instead.
- Token and permission errors are logged loudly at ERROR: nothing works until an operator acts.
- Per-recipient pacing (token bucket) keeps well inside Meta's pair rate limit (131056).
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple, Type

import aiohttp

from .settings import WhatsAppSettings

logger = logging.getLogger(__name__)

RATE_LIMIT_CODES = {4, 80007, 130429, 131056}
SERVER_CODES = {1, 2, 131000, 131016, 133004}
AUTH_CODES = {0, 3, 10, 190, 131005, 131031, 131045, 133010}
REENGAGEMENT_CODE = 131047
PAIR_RATE_CODE = 131056


class GraphAPIError(Exception):
    """A Graph API call failed; carries Meta's error code and a safe description."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        http_status: Optional[int] = None,
        code: Optional[int] = None,
        subcode: Optional[int] = None,
        title: str = "",
        details: str = "",
        fbtrace_id: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.subcode = subcode
        self.title = title
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [f"HTTP {self.http_status}" if self.http_status else "no response"]
        if self.code is not None:
            parts.append(f"code {self.code}" + (f"/{self.subcode}" if self.subcode else ""))
        text = self.details or self.title or self.message
        if text:
            parts.append(text[:300])
        if self.fbtrace_id:
            parts.append(f"fbtrace_id {self.fbtrace_id}")
        return f"{type(self).__name__}: " + ", ".join(parts)


class RateLimitError(GraphAPIError):
    retryable = True


class ServerError(GraphAPIError):
    retryable = True


class NetworkError(GraphAPIError):
    retryable = True


class ReEngagementError(GraphAPIError):
    """131047: more than 24 h since the citizen's last message; only a template may be sent."""


class AuthError(GraphAPIError):
    """Access token expired/invalid or missing permission: an operator must fix the token."""


class InvalidRequestError(GraphAPIError):
    """The request itself was refused (bad parameter, limit overrun, unknown recipient...)."""


class DownloadTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"media is {size} bytes, limit {limit}")
        self.size = size
        self.limit = limit


def _error_class(http_status: int, code: Optional[int]) -> Type[GraphAPIError]:
    if code == REENGAGEMENT_CODE:
        return ReEngagementError
    if http_status == 429 or code in RATE_LIMIT_CODES:
        return RateLimitError
    if code in AUTH_CODES or (code is not None and 200 <= code <= 299) or http_status == 401:
        return AuthError
    if http_status >= 500 or code in SERVER_CODES:
        return ServerError
    return InvalidRequestError


def error_from_response(http_status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> GraphAPIError:
    """Build the right exception from an error response (JSON ``{"error": {...}}`` or not)."""
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    code = error.get("code")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    subcode = error.get("error_subcode")
    data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
    retry_after = None
    if headers and headers.get("Retry-After"):
        try:
            retry_after = float(headers["Retry-After"])
        except ValueError:
            retry_after = None
    cls = _error_class(http_status, code)
    return cls(
        str(error.get("message") or f"HTTP {http_status}"),
        http_status=http_status,
        code=code,
        subcode=subcode if isinstance(subcode, int) else None,
        title=str(error.get("error_user_title") or error.get("type") or ""),
        details=str(data.get("details") or error.get("error_user_msg") or ""),
        fbtrace_id=error.get("fbtrace_id"),
        retry_after=retry_after,
    )


class PairPacer:
    """A token bucket per recipient: bursts are fine, a sustained flood is slowed down."""

    def __init__(
        self, burst: int, per_second: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
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


class GraphClient:
    """The Graph API as LayanWarga uses it."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop: Optional[asyncio.AbstractEventLoop] = None
        self.pacer = PairPacer(settings.pair_rate_burst, settings.pair_rate_per_second)

    # -- session -------------------------------------------------------------------------------
    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout),
                headers={"User-Agent": "LayanWarga-WhatsApp/1.0"},
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

    @property
    def _auth(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.access_token}"}

    # -- core request with retries ---------------------------------------------------------------
    def backoff_delay(self, attempt: int, error: GraphAPIError) -> float:
        """Exponential backoff with jitter; Retry-After wins when Meta gives one (capped)."""
        cap = self.settings.backoff_max
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), cap)
        base = self.settings.backoff_base * (2 ** (attempt - 1))
        return min(cap, base) * (0.5 + random.random() / 2)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        payload: Optional[Dict[str, Any]] = None,
        params: Optional[Dict[str, str]] = None,
        max_attempts: Optional[int] = None,
        what: str = "request",
    ) -> Dict[str, Any]:
        """Call ``{api_base}/{version}/{path}``; retries what is retryable, raises the rest."""
        url = f"{self.settings.graph_url}/{path.lstrip('/')}"
        attempts = max(1, max_attempts or self.settings.max_attempts)
        last_error: Optional[GraphAPIError] = None
        for attempt in range(1, attempts + 1):
            try:
                result = await self._request_once(method, url, payload, params)
                if attempt > 1:
                    logger.info("Graph API %s succeeded on attempt %d", what, attempt)
                return result
            except GraphAPIError as error:
                last_error = error
                if isinstance(error, AuthError):
                    logger.error(
                        "WhatsApp ACCESS TOKEN / PERMISSION PROBLEM during %s: %s. Nothing can be "
                        "sent until WHATSAPP_ACCESS_TOKEN (and the app's whatsapp_business_messaging "
                        "permission) is fixed.",
                        what,
                        error,
                    )
                    raise
                if not error.retryable or attempt == attempts:
                    raise
                delay = self.backoff_delay(attempt, error)
                logger.warning(
                    "Graph API %s failed (%s), attempt %d of %d; retrying in %.2f s",
                    what, error, attempt, attempts, delay,
                )
                await self._sleep(delay)
        assert last_error is not None
        raise last_error

    async def _request_once(
        self, method: str, url: str, payload: Optional[Dict[str, Any]], params: Optional[Dict[str, str]]
    ) -> Dict[str, Any]:
        session = self._get_session()
        try:
            async with session.request(method, url, json=payload, params=params, headers=self._auth) as resp:
                raw = await resp.read()
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_text": raw[:200].decode("utf-8", "replace")}
                if resp.status >= 400 or (isinstance(body, dict) and "error" in body):
                    raise error_from_response(resp.status, body, dict(resp.headers))
                return body if isinstance(body, dict) else {"data": body}
        except GraphAPIError:
            raise
        except asyncio.TimeoutError:
            raise NetworkError(f"timed out after {self.settings.request_timeout} s") from None
        except aiohttp.ClientError as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}") from None

    # -- WhatsApp operations ---------------------------------------------------------------------
    async def send_message(
        self, payload: Dict[str, Any], *, pace_key: Optional[str] = None, max_attempts: Optional[int] = None
    ) -> Optional[str]:
        """POST /{phone_number_id}/messages; returns the new message id (``messages[0].id``)."""
        if pace_key:
            delay = self.pacer.delay_for(pace_key)
            if delay > 0:
                logger.info("Pacing messages to one citizen: waiting %.1f s (pair rate limit)", delay)
                await self._sleep(delay)
        body = await self.request_json(
            "POST",
            f"{self.settings.phone_number_id}/messages",
            payload=payload,
            max_attempts=max_attempts,
            what=f"send {payload.get('type', 'message')}",
        )
        messages = body.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return messages[0].get("id")
        return None

    async def mark_read(self, message_id: str, *, typing: bool = True, max_attempts: int = 1) -> None:
        """Blue ticks for ``message_id`` (and earlier ones), with the typing indicator if asked."""
        payload: Dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing:
            payload["typing_indicator"] = {"type": "text"}
        await self.request_json(
            "POST",
            f"{self.settings.phone_number_id}/messages",
            payload=payload,
            max_attempts=max_attempts,
            what="mark read",
        )

    async def media_info(self, media_id: str) -> Dict[str, Any]:
        """GET /{media_id}: the short-lived download URL, MIME type, size and hash."""
        return await self.request_json(
            "GET", media_id, params={"phone_number_id": self.settings.phone_number_id}, what="media lookup"
        )

    async def download(self, url: str, *, max_bytes: int) -> Tuple[bytes, Optional[str]]:
        """Download a media URL with the bearer token, refusing more than ``max_bytes``."""
        session = self._get_session()
        attempts = max(1, self.settings.max_attempts)
        for attempt in range(1, attempts + 1):
            try:
                async with session.get(url, headers=self._auth) as resp:
                    if resp.status >= 400:
                        raw = await resp.read()
                        try:
                            body: Any = json.loads(raw) if raw else {}
                        except ValueError:
                            body = {}
                        raise error_from_response(resp.status, body, dict(resp.headers))
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
                error: GraphAPIError = NetworkError("media download timed out")
            except aiohttp.ClientError as exc:
                error = NetworkError(f"{type(exc).__name__}: {exc}")
            except GraphAPIError as exc:
                error = exc
                if isinstance(error, AuthError):
                    logger.error("WhatsApp ACCESS TOKEN / PERMISSION PROBLEM during media download: %s", error)
            if not error.retryable or attempt == attempts:
                raise error
            await self._sleep(self.backoff_delay(attempt, error))
        raise AssertionError("unreachable")
