"""One table of Meta's error codes (whatsapp.errors): each code raises the same class, with the
same retry and pause meaning, whichever client met it: the connector's async client or the
workers' sync client, both against a real HTTP server answering Meta's error bodies."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional, Tuple, Type

import pytest

from whatsapp.aio import AsyncClient
from whatsapp.errors import (
    ERROR_CLASSES,
    AccountError,
    AuthError,
    GraphAPIError,
    InvalidRequestError,
    NetworkError,
    RateLimitError,
    ReEngagementError,
    ServerError,
    TemplateError,
    error_class,
    error_from_response,
)
from whatsapp.settings import GraphSettings
from whatsapp.sync import SyncClient

BODY = {"messaging_product": "whatsapp", "to": "+6281234567890", "type": "text", "text": {"body": "Halo"}}


def test_error_classes_by_code() -> None:
    def err(status: int, code: int) -> Any:
        return error_from_response(status, {"error": {"code": code, "message": "m"}})

    assert isinstance(err(400, 131047), ReEngagementError)
    assert isinstance(err(429, 130429), RateLimitError) and err(429, 130429).retryable
    assert isinstance(err(400, 131056), RateLimitError)
    assert isinstance(err(401, 190), AuthError) and isinstance(err(403, 10), AuthError)
    assert isinstance(err(403, 200), AuthError) and isinstance(err(400, 131005), AuthError)
    assert isinstance(err(500, 1), ServerError) and isinstance(
        error_from_response(502, "bad gateway"), ServerError
    )
    assert isinstance(err(400, 100), InvalidRequestError) and not err(400, 100).retryable
    assert isinstance(err(400, 368), AccountError) and isinstance(err(404, 132001), TemplateError)


def test_what_each_class_means_for_the_workers() -> None:
    """Retry: rate limits, server errors, no answer. Pause an announcement: token, permission,
    account and template problems (nobody could receive it). A recipient's own problem: neither."""
    retried = {
        cls for cls in set(ERROR_CLASSES.values()) | {NetworkError, InvalidRequestError} if cls.retryable
    }
    assert retried == {RateLimitError, ServerError, NetworkError}
    for code in (
        0,
        3,
        10,
        190,
        200,
        299,
        368,
        131031,
        131042,
        132000,
        132001,
        132005,
        132007,
        132012,
        132015,
        132016,
    ):
        assert error_class(400, code).stops_everyone, code
    for code in (100, 131008, 131009, 131026, 131047, 131051, 130429, 131000):
        assert not error_class(400, code).stops_everyone, code


class ErrorServer:
    """A Graph API stand-in on a real port that answers every request with the scripted answer."""

    def __init__(self) -> None:
        self.answer: Tuple[int, Any] = (200, {"messages": [{"id": "wamid.ok"}]})
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = server.answer
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _reply  # noqa: N815

            def log_message(self, *args: Any) -> None:
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server() -> Iterator[ErrorServer]:
    running = ErrorServer()
    yield running
    running.close()


def _meta_error(code: Optional[int]) -> Dict[str, Any]:
    error: Dict[str, Any] = {"message": "error", "type": "OAuthException", "fbtrace_id": "Atrace"}
    if code is not None:
        error["code"] = code
    return {"error": error}


CASES: List[Tuple[int, Any]] = [(400, _meta_error(code)) for code in sorted(ERROR_CLASSES)] + [
    (400, _meta_error(100)),
    (400, _meta_error(131026)),
    (401, _meta_error(None)),
    (429, _meta_error(None)),
    (429, _meta_error(131047)),
    (500, _meta_error(None)),
    (503, "Service Unavailable"),
    (404, "not json"),
    # Where the clients' own tables used to disagree: a token error or a closed window on a 5xx.
    (500, _meta_error(190)),
    (503, _meta_error(131047)),
    (500, _meta_error(132001)),
]


def test_every_code_raises_the_same_class_from_both_clients(server: ErrorServer) -> None:
    settings = GraphSettings(access_token="t", phone_number_id="1", api_base=server.base, timeout=5)
    sync_client = SyncClient(settings)

    def from_sync() -> GraphAPIError:
        with pytest.raises(GraphAPIError) as raised:
            sync_client.send(BODY)
        return raised.value

    async def from_async(client: AsyncClient) -> GraphAPIError:
        with pytest.raises(GraphAPIError) as raised:
            await client.send_message(BODY, max_attempts=1)
        return raised.value

    async def run_all() -> List[Tuple[int, Any, GraphAPIError, GraphAPIError]]:
        client = AsyncClient(settings)
        seen = []
        try:
            for status, body in CASES:
                server.answer = (status, body)
                seen.append((status, body, from_sync(), await from_async(client)))
        finally:
            await client.close()
        return seen

    results = asyncio.run(run_all())
    for status, body, sync_error, async_error in results:
        code = body["error"].get("code") if isinstance(body, dict) else None
        expected: Type[GraphAPIError] = error_class(status, code)
        assert type(sync_error) is type(async_error) is expected, (status, code)
        assert sync_error.code == async_error.code == code
        assert sync_error.http_status == async_error.http_status == status
        assert sync_error.describe() == async_error.describe()
    assert {type(e) for _, _, e, _ in results} >= {
        ReEngagementError,
        RateLimitError,
        ServerError,
        AuthError,
        AccountError,
        TemplateError,
        InvalidRequestError,
    }


def test_no_answer_is_a_network_error_from_both_clients() -> None:
    """Nothing listens: both raise NetworkError, and both know the request never arrived."""
    settings = GraphSettings(access_token="t", phone_number_id="1", api_base="http://127.0.0.1:9", timeout=2)
    with pytest.raises(NetworkError) as sync_raised:
        SyncClient(settings).send(BODY)

    async def send() -> None:
        client = AsyncClient(settings)
        try:
            await client.send_message(BODY, max_attempts=1)
        finally:
            await client.close()

    with pytest.raises(NetworkError) as async_raised:
        asyncio.run(send())
    assert sync_raised.value.retryable and async_raised.value.retryable
    assert not sync_raised.value.maybe_sent and not async_raised.value.maybe_sent
