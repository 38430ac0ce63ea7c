"""Test support for the WhatsApp connector: a fake Graph API and a running webhook server.

``FakeGraph`` is a real HTTP server (aiohttp.web on a free localhost port) that speaks the parts of
the Graph API the connector uses, records every request and can be told to fail.
``RunningChannel`` serves the connector's real Sanic blueprint on another free port, with an
``on_new_message`` callback that collects the ``UserMessage`` objects Rasa would receive.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp
from aiohttp import web
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors.journal import Journal
from connectors.settings import WhatsAppSettings, load_settings
from connectors.whatsapp import WhatsAppInput
from whatsapp.signature import sign

PAYLOAD_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "wa_payloads"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "100000000000001"
API_VERSION = "v21.0"


def payload_names() -> List[str]:
    return sorted(p.stem for p in PAYLOAD_DIR.glob("*.json"))


def payload_bytes(name: str) -> bytes:
    return (PAYLOAD_DIR / f"{name}.json").read_bytes()


def payload(name: str) -> Dict[str, Any]:
    return json.loads(payload_bytes(name))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def text_body(
    text: str,
    *,
    wa_id: Optional[str] = "6281234567890",
    user_id: Optional[str] = None,
    message_id: Optional[str] = None,
    timestamp: str = "1767225600",
    name: str = "Budi",
) -> Dict[str, Any]:
    """A webhook body with one text message (Meta's shape)."""
    return messages_body(
        [text_message(text, wa_id=wa_id, user_id=user_id, message_id=message_id, timestamp=timestamp)],
        wa_id=wa_id,
        user_id=user_id,
        name=name,
    )


def text_message(
    text: str,
    *,
    wa_id: Optional[str] = "6281234567890",
    user_id: Optional[str] = None,
    message_id: Optional[str] = None,
    timestamp: str = "1767225600",
) -> Dict[str, Any]:
    message: Dict[str, Any] = {
        "id": message_id or f"wamid.test.{uuid.uuid4().hex}",
        "timestamp": timestamp,
        "type": "text",
        "text": {"body": text},
    }
    if wa_id:
        message["from"] = wa_id
    if user_id:
        message["from_user_id"] = user_id
    return message


def messages_body(
    messages: List[Dict[str, Any]],
    *,
    wa_id: Optional[str] = "6281234567890",
    user_id: Optional[str] = None,
    name: str = "Budi",
    extra_value: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    contact: Dict[str, Any] = {"profile": {"name": name}}
    if wa_id:
        contact["wa_id"] = wa_id
    if user_id:
        contact["user_id"] = user_id
    value: Dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [contact],
        "messages": messages,
    }
    value.update(extra_value or {})
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }


@dataclass
class Recorded:
    method: str
    path: str
    headers: Dict[str, str]
    json: Any
    query: Dict[str, str]
    at: float


@dataclass
class Scripted:
    status: int
    body: Any
    headers: Dict[str, str] = field(default_factory=dict)


def graph_error(
    code: int, message: str = "error", status: int = 400, subcode: Optional[int] = None
) -> Scripted:
    error: Dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "TRACE",
    }
    if subcode:
        error["error_subcode"] = subcode
    if code == 131047:
        error["error_data"] = {
            "messaging_product": "whatsapp",
            "details": "Message failed to send because more than 24 hours have passed",
        }
    return Scripted(status, {"error": error})


class FakeGraph:
    """A local Graph API: ``POST /{v}/{phone_id}/messages``, ``GET /{v}/{media_id}``, downloads."""

    def __init__(self) -> None:
        self.requests: List[Recorded] = []
        self.script: List[Scripted] = []  # responses for the next message POSTs (sends only)
        self.read_script: List[Scripted] = []  # responses for the next read receipts
        self.media: Dict[str, Dict[str, Any]] = {}
        self.send_delay = 0.0
        self.download_failures: List[Scripted] = []
        # The same local server plays the action server's /health for the connector's probe.
        self.action_server_up = True
        self._counter = 0
        self._runner: Optional[web.AppRunner] = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test API -------------------------------------------------------------------------------
    @property
    def sent(self) -> List[Dict[str, Any]]:
        """Message bodies POSTed (read receipts excluded), in arrival order."""
        return [
            r.json
            for r in self.requests
            if r.method == "POST" and r.path.endswith("/messages") and r.json.get("status") != "read"
        ]

    @property
    def reads(self) -> List[Dict[str, Any]]:
        return [
            r.json for r in self.requests if r.method == "POST" and r.json and r.json.get("status") == "read"
        ]

    def fail_next(self, *responses: Scripted) -> None:
        self.script.extend(responses)

    def add_media(
        self,
        media_id: str,
        content: bytes,
        mime: str,
        *,
        declared_size: Optional[int] = None,
        download_mime: Optional[str] = None,
    ) -> None:
        self.media[media_id] = {
            "content": content,
            "mime": mime,
            "declared_size": declared_size,
            "download_mime": download_mime or mime,
        }

    # -- server ---------------------------------------------------------------------------------
    async def __aenter__(self) -> "FakeGraph":
        app = web.Application()
        app.router.add_post("/{version}/{phone_id}/messages", self._messages)
        app.router.add_get("/download/{media_id}", self._download)
        app.router.add_get("/health", self._health)
        app.router.add_get("/{version}/{media_id}", self._media_info)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _record(self, request: web.Request, body: Any) -> None:
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.headers),
                body,
                dict(request.query),
                asyncio.get_running_loop().time(),
            )
        )

    @staticmethod
    def _respond(scripted: Scripted) -> web.Response:
        return web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}"

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if not self._authorised(request):
            return self._respond(graph_error(190, "Invalid OAuth access token.", status=401))
        if body.get("status") == "read":
            if self.read_script:
                return self._respond(self.read_script.pop(0))
            return web.json_response({"success": True})
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        if self.script:
            return self._respond(self.script.pop(0))
        self._counter += 1
        to = body.get("to") or body.get("recipient")
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": str(to).lstrip("+")}],
                "messages": [{"id": f"wamid.OUT.{self._counter}"}],
            }
        )

    async def _health(self, request: web.Request) -> web.Response:
        if self.action_server_up:
            return web.json_response({"status": "ok"})
        return web.Response(status=503)

    async def _media_info(self, request: web.Request) -> web.Response:
        self._record(request, None)
        media_id = request.match_info["media_id"]
        item = self.media.get(media_id)
        if item is None:
            return self._respond(graph_error(100, "Unsupported get request."))
        content = item["content"]
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/download/{media_id}",
                "mime_type": item["mime"],
                "sha256": hashlib.sha256(content).hexdigest(),
                "file_size": item["declared_size"] if item["declared_size"] is not None else len(content),
                "id": media_id,
            }
        )

    async def _download(self, request: web.Request) -> web.StreamResponse:
        self._record(request, None)
        if not self._authorised(request):
            return web.Response(status=401)
        if self.download_failures:
            return self._respond(self.download_failures.pop(0))
        item = self.media[request.match_info["media_id"]]
        return web.Response(body=item["content"], content_type=item["download_mime"])


SAMPLE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 200 + b"\xff\xd9"
SAMPLE_PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def register_sample_media(graph: FakeGraph) -> None:
    """The files the corpus's media messages point at."""
    graph.add_media("1003383421387256", SAMPLE_JPEG, "image/jpeg")  # image_with_caption_and_url
    graph.add_media("1234567890987654321", SAMPLE_PDF, "application/pdf")  # document_pdf
    graph.add_media("765756756", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "video/mp4")


def make_settings(
    api_base: str, tmp_path: Optional[Path] = None, database_url: Optional[str] = None, **overrides: Any
) -> WhatsAppSettings:
    creds: Dict[str, Any] = {
        "verify_token": VERIFY_TOKEN,
        "app_secret": APP_SECRET,
        "access_token": ACCESS_TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "api_base": api_base,
        "api_version": API_VERSION,
        "backoff_base": 0.001,
        "backoff_max": 0.01,
        "pair_rate_burst": 1000,
        "request_timeout": 5,
        "action_server_url": f"{api_base}/webhook",
        "replay_interval": 0.05,
        "max_messages_per_minute": 1000,  # flood limits have their own tests
    }
    if database_url:
        creds["database_url"] = database_url
    if tmp_path is not None:
        creds["media_dir"] = str(tmp_path / "media")
    creds.update(overrides)
    return load_settings(creds, environ={})


OnMessage = Callable[[UserMessage], Awaitable[None]]


class RunningChannel:
    """The connector's blueprint served by a real Sanic server on localhost."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        *,
        on_message: Optional[OnMessage] = None,
        journal_: Optional[Journal] = None,
        channel: Optional[WhatsAppInput] = None,
        agent: Any = None,
    ) -> None:
        self.settings = settings
        self.channel = channel or WhatsAppInput(settings, journal_=journal_)
        self.received: List[UserMessage] = []
        self._on_message = on_message
        self._agent = agent  # what `rasa run` puts in app.ctx.agent (its endpoints)
        self._server: Any = None
        self.port = 0

    async def _collect(self, message: UserMessage) -> None:
        self.received.append(message)
        if self._on_message is not None:
            await self._on_message(message)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/whatsapp/webhook"

    async def __aenter__(self) -> "RunningChannel":
        app = Sanic(f"wa_test_{uuid.uuid4().hex}")
        app.config.ACCESS_LOG = False
        if self._agent is not None:
            app.ctx.agent = self._agent
        app.blueprint(self.channel.blueprint(self._collect), url_prefix="/webhooks/whatsapp")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        await self._server.after_start()
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.http.close()
        await self._server.before_stop()  # drains the queues, closes the Graph session
        self._server.close()
        await self._server.wait_closed()
        await self._server.after_stop()

    async def post(
        self, body: Any, *, signature: Optional[str] = "auto", headers: Optional[Dict[str, str]] = None
    ) -> aiohttp.ClientResponse:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        all_headers = {"Content-Type": "application/json"}
        if signature == "auto":
            all_headers["X-Hub-Signature-256"] = sign(self.settings.app_secret or "", raw)
        elif signature is not None:
            all_headers["X-Hub-Signature-256"] = signature
        all_headers.update(headers or {})
        async with self.http.post(self.webhook_url, data=raw, headers=all_headers) as resp:
            await resp.read()
            return resp

    async def get(self, params: Dict[str, str]) -> aiohttp.ClientResponse:
        async with self.http.get(self.webhook_url, params=params) as resp:
            await resp.read()
            return resp

    async def join(self, timeout: float = 10.0) -> None:
        assert self.channel.processor is not None
        assert await self.channel.processor.join(timeout), "processing did not finish"
