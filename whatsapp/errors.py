"""Meta's Graph API error codes and the exception class each one raises: the one table.

Every client (the connector's async one, the notifier's and announcement worker's sync one)
builds its errors with ``error_from_response`` or raises ``NetworkError`` when no answer came,
so a code means the same thing whichever process met it, and callers decide by class:

- ``RateLimitError`` (HTTP 429; 4, 80007, 130429, 131056): slow down, nothing was sent;
- ``ServerError`` (HTTP 5xx; 1, 2, 131000, 131016, 133004) and ``NetworkError`` (no answer):
  temporary, worth another try; a ``NetworkError`` with ``maybe_sent`` may have gone out;
- ``ReEngagementError`` (131047): more than 24 h since the citizen wrote, only a template goes;
- ``AuthError`` (HTTP 401; 0, 3, 10, 190, 200-299, 131005, 131031, 131045, 133010): the
  token, a permission or the number; nothing works until an operator acts;
- ``AccountError`` (368, 131042) and ``TemplateError`` (132000, 132001, 132005, 132007,
  132012, 132015, 132016): the account or the template, so no recipient could get it;
- ``InvalidRequestError``: anything else refused (bad parameter, undeliverable, ...).

``retryable`` says whether trying again may help; ``stops_everyone`` whether the same request
to any other recipient would fail the same way (the announcement worker pauses on these).

Codes a status webhook reports later, after Meta accepted a message, are named here too.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Mapping, Optional, Type

REENGAGEMENT_CODE = 131047
PAIR_RATE_CODE = 131056
RATE_LIMIT_CODES: FrozenSet[int] = frozenset({4, 80007, 130429, PAIR_RATE_CODE})
SERVER_CODES: FrozenSet[int] = frozenset({1, 2, 131000, 131016, 133004})
# 200-299 (permission errors) are auth errors too, see ``error_class``.
AUTH_CODES: FrozenSet[int] = frozenset({0, 3, 10, 190, 131005, 131031, 131045, 133010})
ACCOUNT_CODES: FrozenSet[int] = frozenset({368, 131042})
TEMPLATE_CODES: FrozenSet[int] = frozenset({132000, 132001, 132005, 132007, 132012, 132015, 132016})

# Failures a status webhook reports for a message Meta had accepted: these are temporary, so
# sending once more may help; 131050 means the user stopped marketing messages from us.
RETRY_ON_STATUS_CODES: FrozenSet[int] = frozenset({1, 2, 130429, 131000, 131016, 131053, 131056, 133004})
STOPPED_MARKETING_CODE = 131050


class GraphAPIError(Exception):
    """A Graph API call failed; carries Meta's error code and a description without secrets."""

    retryable = False
    stops_everyone = False

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
        maybe_sent: bool = False,
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
        # No answer, but the request may have reached Meta (read timeout, connection dropped
        # after sending): the message may have gone out. Callers that must never send twice
        # (the announcement worker) do not resend these.
        self.maybe_sent = maybe_sent

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

    def describe(self) -> str:
        """A short description for staff (ticket and announcement pages) and the log."""
        parts = [f"HTTP {self.http_status}" if self.http_status else "tidak ada respons"]
        if self.code is not None:
            parts.append(f"kode {self.code}")
        parts.append((self.details or self.message)[:300])
        return ", ".join(parts)


class RateLimitError(GraphAPIError):
    """Slow down: Meta refused the call for its rate, nothing was sent."""

    retryable = True


class ServerError(GraphAPIError):
    """A temporary problem on Meta's side."""

    retryable = True


class NetworkError(GraphAPIError):
    """No answer (connection refused, timeout, dropped); see ``maybe_sent``."""

    retryable = True


class ReEngagementError(GraphAPIError):
    """131047: more than 24 h since the citizen's last message; only a template may be sent."""


class AuthError(GraphAPIError):
    """Access token expired/invalid or missing permission: an operator must fix the token."""

    stops_everyone = True


class InvalidRequestError(GraphAPIError):
    """The request itself was refused (bad parameter, limit overrun, unknown recipient...)."""


class AccountError(InvalidRequestError):
    """The business account cannot send (blocked for policy reasons, payment problem)."""

    stops_everyone = True


class TemplateError(InvalidRequestError):
    """The template is missing, paused, disabled, or its parameters do not match."""

    stops_everyone = True


def _table() -> Dict[int, Type[GraphAPIError]]:
    table: Dict[int, Type[GraphAPIError]] = {REENGAGEMENT_CODE: ReEngagementError}
    for codes, cls in (
        (SERVER_CODES, ServerError),
        (TEMPLATE_CODES, TemplateError),
        (ACCOUNT_CODES, AccountError),
        (AUTH_CODES | frozenset(range(200, 300)), AuthError),
        (RATE_LIMIT_CODES, RateLimitError),
    ):
        table.update(dict.fromkeys(codes, cls))
    return table


# Error code -> class. The HTTP status decides only for codes not listed here (``error_class``).
ERROR_CLASSES: Mapping[int, Type[GraphAPIError]] = _table()


def error_class(http_status: int, code: Optional[int]) -> Type[GraphAPIError]:
    """The class of an error answer: the code's class; for an unlisted code (or none) HTTP 429 is
    a rate limit, 401 an auth error and 5xx a server error, anything else an invalid request."""
    listed = ERROR_CLASSES.get(code) if code is not None else None
    if listed is ReEngagementError or listed is RateLimitError:
        return listed
    if http_status == 429:
        return RateLimitError
    if listed is not None:
        return listed
    if http_status == 401:
        return AuthError
    if http_status >= 500:
        return ServerError
    return InvalidRequestError


def error_from_response(
    http_status: int,
    body: Any,
    headers: Optional[Mapping[str, str]] = None,
    reason: Optional[str] = None,
) -> GraphAPIError:
    """The exception for an error answer (JSON ``{"error": {...}}`` or anything else)."""
    found = body.get("error") if isinstance(body, dict) else None
    error: Dict[str, Any] = found if isinstance(found, dict) else {}
    code = error.get("code")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    subcode = error.get("error_subcode")
    details = error.get("error_data")
    data: Dict[str, Any] = details if isinstance(details, dict) else {}
    retry_after = None
    if headers and headers.get("Retry-After"):
        try:
            retry_after = float(headers["Retry-After"])
        except ValueError:
            retry_after = None
    cls = error_class(http_status, code)
    return cls(
        str(error.get("message") or reason or f"HTTP {http_status}"),
        http_status=http_status,
        code=code,
        subcode=subcode if isinstance(subcode, int) else None,
        title=str(error.get("error_user_title") or error.get("type") or ""),
        details=str(data.get("details") or error.get("error_user_msg") or ""),
        fbtrace_id=error.get("fbtrace_id"),
        retry_after=retry_after,
    )
