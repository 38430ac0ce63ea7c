"""The simulated WhatsApp: citizens, their conversations with the business, media, webhooks.

One ``Simulator`` holds all state in memory and plays Meta's part both ways:

- citizens "type" (chat page, tests, benchmark): each message becomes a signed Cloud API webhook
  POSTed to the connector, one citizen's messages in order, retried with backoff on failure;
- the business answers through the Graph API (``server.py`` routes to ``graph_send`` etc.):
  requests are checked like Meta checks them, recorded, shown to the citizen, and answered with
  ``sent`` / ``delivered`` / ``read`` status webhooks (``failed`` with 131047 outside the 24-h
  window, asynchronously, as Meta does);
- mark-as-read turns the citizen's ticks blue and shows "mengetik…" while the typing indicator
  lasts (until the next reply or 25 s).

Every change is an event with a global sequence number: the chat page follows them over
server-sent events, tests long-poll them, the benchmark awaits them in-process.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Deque, Dict, Iterable, List, Optional, Set, Tuple

import aiohttp

from . import graph_rules, payloads, templates
from .config import SimulatorConfig

logger = logging.getLogger(__name__)

CITIZEN = "citizen"
BOT = "bot"
# Ticks of a citizen's own message: sent (one grey), delivered to the business (two grey),
# read by the business (two blue); failed = the webhook could not be delivered.
STATUS_ORDER = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


@dataclass
class MediaFile:
    id: str
    data: bytes
    mime_type: str
    owner: str  # CITIZEN (sent by a citizen) or BOT (uploaded by the business)
    filename: Optional[str] = None
    created: float = field(default_factory=time.time)

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ChatMessage:
    """One message of a conversation, from the citizen or from the business (bot)."""

    seq: int
    id: str
    citizen: str
    author: str
    type: str
    content: Dict[str, Any]  # citizen: the webhook `messages[]` object; bot: the Graph API body
    view: Dict[str, Any]
    timestamp: float
    status: str = "sent"
    # Citizen messages: the exact webhook bytes, and how their delivery went.
    raw: Optional[bytes] = None
    attempts: int = 0
    posted_at: Optional[float] = None  # perf_counter() of the first POST
    acked_at: Optional[float] = None  # perf_counter() of the 200
    http_status: Optional[int] = None
    delivery_error: Optional[str] = None
    # Bot messages: when the Graph API call arrived, and failures reported by status webhook.
    received_at: Optional[float] = None
    errors: Optional[List[Dict[str, Any]]] = None
    statuses_sent: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "seq": self.seq,
            "id": self.id,
            "citizen": self.citizen,
            "author": self.author,
            "type": self.type,
            "view": self.view,
            "timestamp": self.timestamp,
            "status": self.status,
        }
        if self.author == CITIZEN:
            data.update(
                attempts=self.attempts,
                http_status=self.http_status,
                delivery_error=self.delivery_error,
                posted_at=self.posted_at,
                acked_at=self.acked_at,
                message=self.content,
            )
        else:
            data.update(received_at=self.received_at, errors=self.errors, body=self.content)
        return data


@dataclass
class Citizen:
    key: str  # wa_id, or the BSUID for a username user without a phone
    name: str
    wa_id: Optional[str]
    user_id: Optional[str]
    messages: List[ChatMessage] = field(default_factory=list)
    last_message_at: Optional[float] = None  # wall time of the citizen's last message (24-h window)
    typing_until: float = 0.0
    conversation_id: str = field(default_factory=lambda: secrets.token_hex(16))
    outbox: Deque[ChatMessage] = field(default_factory=collections.deque)
    worker: Optional["asyncio.Task[None]"] = None

    def to_dict(self) -> Dict[str, Any]:
        last = self.messages[-1].to_dict() if self.messages else None
        return {
            "key": self.key,
            "name": self.name,
            "wa_id": self.wa_id,
            "user_id": self.user_id,
            "typing": self.typing_until > time.time(),
            "last_message": last,
            "unread": sum(1 for m in self.messages if m.author == BOT and m.status in ("sent", "delivered")),
            "count": len(self.messages),
        }


@dataclass
class GraphCall:
    """One request the business made to the Graph API, and the answer it got."""

    at: float
    method: str
    path: str
    body: Any
    status: int
    response: Any

    def to_dict(self) -> Dict[str, Any]:
        return {
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "status": self.status,
            "response": self.response,
        }


class SimulatorError(Exception):
    """A request to the simulator's own API that cannot be carried out (HTTP 400/404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Simulator:
    def __init__(self, config: Optional[SimulatorConfig] = None) -> None:
        self.config = config or SimulatorConfig()
        self.business = payloads.Business(
            waba_id=self.config.waba_id,
            phone_number_id=self.config.phone_number_id,
            display_phone_number=self.config.display_phone_number,
        )
        self.templates = (
            self.config.templates
            if self.config.templates is not None
            else templates.project_templates(os.environ)
        )
        self.citizens: Dict[str, Citizen] = {}
        self.messages: Dict[str, ChatMessage] = {}
        self.media: Dict[str, MediaFile] = {}
        self.graph_calls: Deque[GraphCall] = collections.deque(maxlen=20000)
        # Mark-as-read calls per citizen message id: more than one means a message was
        # processed twice (the benchmark's duplicate check).
        self.read_marks: Dict[str, int] = collections.Counter()
        self.webhook_posts = 0
        self.webhook_failures = 0
        self.webhook_verified: Optional[bool] = None
        self.webhook_note = "belum diperiksa"
        # Faults to inject into the next Graph API sends: (http status, Meta error code).
        self.faults: Deque[Tuple[int, int]] = collections.deque()
        self.event_seq = 0
        self._message_seq = 0
        self._changed = asyncio.Event()
        self._subscribers: Set["asyncio.Queue[Optional[Dict[str, Any]]]"] = set()
        self._listeners: List[Callable[[Dict[str, Any]], None]] = []
        self._session: Optional[aiohttp.ClientSession] = None
        self._post_slots: Optional[asyncio.Semaphore] = None
        self._tasks: Set["asyncio.Task[Any]"] = set()
        for phone, name in self.config.citizens:
            self.add_citizen(name=name, wa_id=phone)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.webhook_timeout),
                connector=aiohttp.TCPConnector(limit=self.config.max_concurrent_posts, ttl_dns_cache=300),
                headers={"User-Agent": payloads.WEBHOOK_USER_AGENT},
            )
            self._post_slots = asyncio.Semaphore(self.config.max_concurrent_posts)
        if self.config.verify_on_start:
            self._spawn(self._verify_until_ok())

    def end_streams(self) -> None:
        """Tell every open event stream (chat pages) to finish: the server is going down."""
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(None)
            except asyncio.QueueFull:
                pass

    async def close(self) -> None:
        self.end_streams()
        for task in list(self._tasks):
            task.cancel()
        for citizen in self.citizens.values():
            if citizen.worker is not None:
                citizen.worker.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _spawn(self, coro: Awaitable[Any]) -> "asyncio.Task[Any]":
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- events ------------------------------------------------------------------------------
    def _emit(self, kind: str, **data: Any) -> None:
        self.event_seq += 1
        event = {"seq": self.event_seq, "kind": kind, **data}
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._subscribers.discard(queue)
        for listener in self._listeners:
            listener(event)
        self._changed.set()
        self._changed = asyncio.Event()

    def subscribe(self) -> "asyncio.Queue[Optional[Dict[str, Any]]]":
        """A queue of every future event; ``None`` means the simulator is shutting down."""
        queue: "asyncio.Queue[Optional[Dict[str, Any]]]" = asyncio.Queue(maxsize=5000)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: "asyncio.Queue[Optional[Dict[str, Any]]]") -> None:
        self._subscribers.discard(queue)

    def add_listener(self, listener: Callable[[Dict[str, Any]], None]) -> None:
        """Call ``listener(event)`` synchronously on every event (the benchmark's hook)."""
        self._listeners.append(listener)

    async def wait_event(self, after: int, timeout: float) -> int:
        """Wait until an event newer than ``after`` happened (or ``timeout``); the current seq."""
        if self.event_seq > after:
            return self.event_seq
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        return self.event_seq

    # -- citizens ----------------------------------------------------------------------------
    def add_citizen(
        self, *, name: str, wa_id: Optional[str] = None, user_id: Optional[str] = None
    ) -> Citizen:
        wa_id = "".join(ch for ch in (wa_id or "") if ch.isdigit()) or None
        if not wa_id and not user_id:
            raise SimulatorError("a citizen needs a phone number (wa_id) or a user id")
        if wa_id and not 8 <= len(wa_id) <= 15:
            raise SimulatorError("the phone number must have 8 to 15 digits, with the country code (62...)")
        key = wa_id or str(user_id)
        existing = self.citizens.get(key)
        if existing is not None:
            if name and name != existing.name:
                existing.name = name
            return existing
        citizen = Citizen(key=key, name=name.strip() or key, wa_id=wa_id, user_id=user_id)
        self.citizens[key] = citizen
        self._emit("citizen", citizen=citizen.to_dict())
        return citizen

    def citizen(self, key: str) -> Citizen:
        citizen = self.citizens.get(key) or self.citizens.get("".join(ch for ch in key if ch.isdigit()))
        if citizen is None:
            raise SimulatorError(f"unknown citizen {key!r}", status=404)
        return citizen

    def _recipient(self, body: Dict[str, Any]) -> Citizen:
        """The citizen a business message is for (``to`` = phone, ``recipient`` = BSUID)."""
        to = str(body.get("to") or "").strip()
        if to:
            wa_id = "".join(ch for ch in to if ch.isdigit())
            citizen = self.citizens.get(wa_id)
            if citizen is None:
                # A number nobody simulated yet (e.g. a proactive notification): it appears.
                citizen = self.add_citizen(name="+" + wa_id, wa_id=wa_id)
            return citizen
        recipient = str(body.get("recipient") or "").strip()
        for citizen in self.citizens.values():
            if citizen.user_id == recipient or citizen.wa_id == recipient:
                return citizen
        return self.add_citizen(name=recipient, user_id=recipient)

    def age_window(self, key: str, hours: float) -> None:
        """Pretend the citizen's last message was ``hours`` earlier (tests of the 24-h window)."""
        citizen = self.citizen(key)
        if citizen.last_message_at is not None:
            citizen.last_message_at -= hours * 3600

    # -- citizen -> business -----------------------------------------------------------------
    def _new_seq(self) -> int:
        self._message_seq += 1
        return self._message_seq

    def send_from_citizen(
        self,
        key: str,
        kind: str,
        content: Dict[str, Any],
        *,
        view: Dict[str, Any],
        context: Optional[Dict[str, Any]] = None,
    ) -> ChatMessage:
        """Queue a citizen's message: it is shown at once and POSTed as a signed webhook."""
        if self._session is None:
            raise SimulatorError("the simulator is not started", status=503)
        citizen = self.citizen(key)
        message_id = payloads.wamid(citizen.wa_id or citizen.key)
        now = time.time()
        obj = payloads.message_object(
            kind,
            content,
            wa_id=citizen.wa_id,
            user_id=citizen.user_id,
            message_id=message_id,
            timestamp=str(int(now)),
            context=context,
        )
        body = payloads.inbound_body(
            self.business, obj, wa_id=citizen.wa_id, user_id=citizen.user_id, name=citizen.name
        )
        message = ChatMessage(
            seq=self._new_seq(),
            id=message_id,
            citizen=citizen.key,
            author=CITIZEN,
            type=kind,
            content=obj,
            view=view,
            timestamp=now,
            status="sent",
            raw=payloads.encode_body(body),
        )
        citizen.messages.append(message)
        citizen.last_message_at = now
        self.messages[message_id] = message
        self._emit("message", message=message.to_dict())
        citizen.outbox.append(message)
        if citizen.worker is None or citizen.worker.done():
            citizen.worker = asyncio.get_running_loop().create_task(self._deliver_outbox(citizen))
        return message

    def send_text(self, key: str, text: str) -> ChatMessage:
        text = text.strip()
        if not text:
            raise SimulatorError("empty message")
        return self.send_from_citizen(key, "text", payloads.text_content(text), view={"text": text})

    def send_reply(self, key: str, bot_message_id: str, reply_id: str) -> ChatMessage:
        """Tap a reply button or choose a list row of one of the business's messages."""
        bot_message = self.messages.get(bot_message_id)
        if bot_message is None or bot_message.author != BOT or bot_message.citizen != self.citizen(key).key:
            raise SimulatorError("no such business message in this conversation", status=404)
        view = bot_message.view
        for button in view.get("buttons") or []:
            if button["id"] == reply_id and button.get("quick_reply"):
                # A template's quick-reply button arrives as a "button" message with its payload.
                content = payloads.template_button_content(button["id"], button["title"])
                return self.send_from_citizen(
                    key,
                    "button",
                    content,
                    view={"text": button["title"], "reply_to": bot_message_id},
                    context={"from": self.config.display_phone_number, "id": bot_message_id},
                )
            if button["id"] == reply_id:
                content = payloads.button_reply_content(button["id"], button["title"])
                return self.send_from_citizen(
                    key,
                    "interactive",
                    content,
                    view={"text": button["title"], "reply_to": bot_message_id},
                    context={"from": self.config.display_phone_number, "id": bot_message_id},
                )
        for section in (view.get("list") or {}).get("sections") or []:
            for row in section["rows"]:
                if row["id"] == reply_id:
                    content = payloads.list_reply_content(row["id"], row["title"], row.get("description"))
                    return self.send_from_citizen(
                        key,
                        "interactive",
                        content,
                        view={
                            "text": row["title"],
                            "description": row.get("description"),
                            "reply_to": bot_message_id,
                        },
                        context={"from": self.config.display_phone_number, "id": bot_message_id},
                    )
        raise SimulatorError(f"the message has no button or row with id {reply_id!r}")

    def send_choice(self, key: str, title: str) -> ChatMessage:
        """Tap the button / list row titled ``title`` on the latest business message offering it."""
        citizen = self.citizen(key)
        wanted = title.strip().casefold()
        for message in reversed(citizen.messages):
            if message.author != BOT:
                continue
            options = list(message.view.get("buttons") or [])
            for section in (message.view.get("list") or {}).get("sections") or []:
                options.extend(section["rows"])
            for option in options:
                if str(option["title"]).strip().casefold() == wanted:
                    return self.send_reply(key, message.id, option["id"])
        raise SimulatorError(f"no button or list row titled {title!r} in this conversation", status=404)

    def send_location(
        self,
        key: str,
        latitude: float,
        longitude: float,
        name: Optional[str] = None,
        address: Optional[str] = None,
    ) -> ChatMessage:
        content = payloads.location_content(float(latitude), float(longitude), name or None, address or None)
        return self.send_from_citizen(
            key, "location", content, view={"location": content, "text": name or ""}
        )

    def send_image(
        self, key: str, data: bytes, mime_type: str = "image/jpeg", caption: Optional[str] = None
    ) -> ChatMessage:
        if not data:
            raise SimulatorError("empty image")
        media = self.store_media(data, mime_type, owner=CITIZEN)
        content = payloads.image_content(media.id, mime_type, data, caption or None)
        return self.send_from_citizen(
            key,
            "image",
            content,
            view={"text": caption or "", "media": {"id": media.id, "mime_type": mime_type}},
        )

    def redeliver(self, message_id: str) -> ChatMessage:
        """Post a citizen message's webhook again, byte for byte (Meta's at-least-once delivery)."""
        message = self.messages.get(message_id)
        if message is None or message.author != CITIZEN or message.raw is None:
            raise SimulatorError("no such citizen message", status=404)
        self._spawn(self._post_with_retries(message.raw, message=None))
        return message

    async def _deliver_outbox(self, citizen: Citizen) -> None:
        while citizen.outbox:
            message = citizen.outbox[0]
            await self._post_with_retries(message.raw or b"", message=message)
            citizen.outbox.popleft()

    async def _post_with_retries(self, raw: bytes, *, message: Optional[ChatMessage]) -> bool:
        """POST until a 200 (backoff 1 s, 2 s, 4 s ... 60 s) for ``retry_for`` seconds."""
        started = time.monotonic()
        delay = self.config.retry_base
        while True:
            status, error = await self._post(raw, message)
            if status == 200:
                if message is not None:
                    message.http_status = 200
                    message.delivery_error = None
                    self._set_status(message, "delivered")
                return True
            self.webhook_failures += 1
            if message is not None:
                message.http_status = status
                message.delivery_error = error
                self._emit("delivery", message=message.to_dict())
            if time.monotonic() - started + delay > self.config.retry_for:
                if message is not None:
                    self._set_status(message, "failed")
                logger.warning("Webhook given up after %.0f s: %s", time.monotonic() - started, error)
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.retry_max)

    async def _post(self, raw: bytes, message: Optional[ChatMessage]) -> Tuple[Optional[int], Optional[str]]:
        assert self._session is not None and self._post_slots is not None
        headers = {"Content-Type": "application/json", **payloads.sign(self.config.app_secret, raw)}
        async with self._post_slots:
            if message is not None:
                message.attempts += 1
                if message.posted_at is None:
                    message.posted_at = time.perf_counter()
            self.webhook_posts += 1
            try:
                async with self._session.post(self.config.webhook_url, data=raw, headers=headers) as response:
                    await response.read()
                    if message is not None and response.status == 200 and message.acked_at is None:
                        message.acked_at = time.perf_counter()
                    return response.status, None if response.status == 200 else f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def _set_status(self, message: ChatMessage, status: str) -> None:
        if STATUS_ORDER.get(status, 0) <= STATUS_ORDER.get(message.status, 0) and status != "failed":
            return
        message.status = status
        self._emit(
            "status", message_id=message.id, citizen=message.citizen, status=status, author=message.author
        )

    # -- webhook verification --------------------------------------------------------------------
    async def verify_webhook(self) -> bool:
        """Meta's handshake: GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=..."""
        assert self._session is not None
        challenge = str(secrets.randbelow(10**9))
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": self.config.verify_token,
            "hub.challenge": challenge,
        }
        try:
            async with self._session.get(self.config.webhook_url, params=params) as response:
                text = await response.text()
                ok = response.status == 200 and text == challenge
                note = "terverifikasi" if ok else f"ditolak (HTTP {response.status})"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            ok, note = False, f"tidak terjangkau ({type(exc).__name__})"
        if ok != self.webhook_verified or note != self.webhook_note:
            self.webhook_verified, self.webhook_note = ok, note
            self._emit("webhook", verified=ok, note=note)
        return ok

    async def _verify_until_ok(self) -> None:
        while not await self.verify_webhook():
            await asyncio.sleep(2.0)

    # -- business -> citizen: the Graph API ----------------------------------------------------
    def check_token(self, authorization: Optional[str]) -> Optional[Tuple[int, Dict[str, Any]]]:
        expected = f"Bearer {self.config.access_token}"
        if not authorization:
            return payloads.graph_error(
                401, 190, "An active access token must be used to query information about the current user."
            )
        if not hmac.compare_digest(authorization.strip().encode(), expected.encode()):
            return payloads.graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        return None

    def _log_call(self, method: str, path: str, body: Any, status: int, response: Any) -> None:
        self.graph_calls.append(GraphCall(time.time(), method, path, body, status, response))

    def graph_messages(self, phone_number_id: str, body: Any, path: str) -> Tuple[int, Dict[str, Any]]:
        """``POST /{version}/{phone_number_id}/messages``: send, or mark read."""
        status, response = self._graph_messages(phone_number_id, body)
        self._log_call("POST", path, body, status, response)
        return status, response

    def _graph_messages(self, phone_number_id: str, body: Any) -> Tuple[int, Dict[str, Any]]:
        if phone_number_id != self.config.phone_number_id:
            return payloads.graph_error(
                400,
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation.",
                subcode=33,
                error_type="GraphMethodException",
            )
        if not isinstance(body, dict):
            return payloads.graph_error(400, 100, "(#100) Invalid parameter")
        if body.get("status") == "read":
            return self._mark_read(body)
        if self.faults:
            http_status, code = self.faults.popleft()
            return payloads.graph_error(http_status, code, f"(#{code}) Simulated failure")
        problem = graph_rules.check_message(
            body, lambda mid: mid in self.media and self.media[mid].owner == BOT
        )
        if problem is None and body.get("type") == "template":
            problem = templates.check(self.templates, body["template"])
        if problem is not None:
            return problem
        citizen = self._recipient(body)
        kind = body.get("type", "text")
        message_id = payloads.wamid(citizen.wa_id or citizen.key)
        message = ChatMessage(
            seq=self._new_seq(),
            id=message_id,
            citizen=citizen.key,
            author=BOT,
            type=kind,
            content=body,
            view=graph_rules.summary(body, self.templates),
            timestamp=time.time(),
            status="sent",
            received_at=time.perf_counter(),
        )
        outside_window = (
            self.config.enforce_window
            and kind != "template"
            and (
                citizen.last_message_at is None
                or time.time() - citizen.last_message_at > self.config.window_seconds
            )
        )
        if outside_window:
            # Meta accepts the request and reports the failure later, in a status webhook.
            message.status = "failed"
            message.errors = [payloads.REENGAGEMENT_ERROR]
        citizen.messages.append(message)
        self.messages[message_id] = message
        if citizen.typing_until:
            citizen.typing_until = 0.0
            self._emit("typing", citizen=citizen.key, typing=False)
        self._emit("message", message=message.to_dict())
        if self.config.send_statuses:
            self._spawn(self._status_sequence(citizen, message))
        contact: Dict[str, Any] = {"input": body.get("to") or body.get("recipient")}
        if citizen.wa_id:
            contact["wa_id"] = citizen.wa_id
        if citizen.user_id:
            contact["user_id"] = citizen.user_id
        sent: Dict[str, Any] = {"id": message_id}
        if kind == "template":
            sent["message_status"] = "accepted"
        return 200, {"messaging_product": "whatsapp", "contacts": [contact], "messages": [sent]}

    def _mark_read(self, body: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
        message = self.messages.get(str(body.get("message_id") or ""))
        if message is None or message.author != CITIZEN:
            return payloads.graph_error(400, 100, "(#100) Invalid parameter", details="Unknown message_id.")
        self.read_marks[message.id] += 1
        citizen = self.citizens[message.citizen]
        # Reading a message reads every earlier one too, as on a phone.
        for earlier in citizen.messages:
            if earlier.author == CITIZEN and earlier.seq <= message.seq:
                self._set_status(earlier, "read")
        typing = body.get("typing_indicator")
        if isinstance(typing, dict) and typing.get("type") == "text":
            citizen.typing_until = time.time() + self.config.typing_seconds
            self._emit("typing", citizen=citizen.key, typing=True)
            self._spawn(self._typing_timeout(citizen, citizen.typing_until))
        return 200, {"success": True}

    async def _typing_timeout(self, citizen: Citizen, until: float) -> None:
        await asyncio.sleep(max(0.0, until - time.time()))
        if citizen.typing_until == until:
            citizen.typing_until = 0.0
            self._emit("typing", citizen=citizen.key, typing=False)

    async def _status_sequence(self, citizen: Citizen, message: ChatMessage) -> None:
        delay = self.config.status_delay
        await asyncio.sleep(delay)
        if message.status == "failed":
            await self._post_status(citizen, message, "failed", errors=message.errors)
            return
        await self._post_status(citizen, message, "sent")
        await asyncio.sleep(delay)
        self._set_status(message, "delivered")
        await self._post_status(citizen, message, "delivered")
        if self.config.auto_read:
            await asyncio.sleep(delay)
            await self.read_business_message(message)

    async def read_business_message(self, message: ChatMessage) -> None:
        if message.status in ("read", "failed") or "read" in message.statuses_sent:
            return
        self._set_status(message, "read")
        if self.config.send_statuses:
            await self._post_status(self.citizens[message.citizen], message, "read")

    def read_conversation(self, key: str) -> int:
        """The citizen opened the chat: every delivered business message becomes read."""
        citizen = self.citizen(key)
        unread = [m for m in citizen.messages if m.author == BOT and m.status in ("sent", "delivered")]
        for message in unread:
            self._spawn(self.read_business_message(message))
        return len(unread)

    async def _post_status(
        self,
        citizen: Citizen,
        message: ChatMessage,
        status: str,
        errors: Optional[List[Dict[str, Any]]] = None,
    ) -> None:
        if status in message.statuses_sent:
            return
        message.statuses_sent.append(status)
        entry = payloads.status_object(
            message.id,
            status,
            recipient_wa_id=citizen.wa_id,
            recipient_user_id=citizen.user_id if not citizen.wa_id else None,
            timestamp=payloads.unix_now(),
            conversation_id=citizen.conversation_id,
            errors=errors,
        )
        contact = (
            payloads.contact_block(wa_id=citizen.wa_id, user_id=citizen.user_id, name=citizen.name)
            if citizen.user_id
            else None
        )
        raw = payloads.encode_body(payloads.status_body(self.business, [entry], contact))
        await self._post_with_retries(raw, message=None)

    # -- media ---------------------------------------------------------------------------------
    def store_media(
        self, data: bytes, mime_type: str, *, owner: str, filename: Optional[str] = None
    ) -> MediaFile:
        media = MediaFile(
            id=payloads.media_id(),
            data=data,
            mime_type=mime_type.split(";")[0].strip().lower(),
            owner=owner,
            filename=filename,
        )
        self.media[media.id] = media
        return media

    def _url_hash(self, media_id: str, expires: int) -> str:
        key = self.config.app_secret.encode("utf-8")
        return hmac.new(key, f"{media_id}|{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def media_info(self, media_id: str) -> Tuple[int, Dict[str, Any]]:
        """``GET /{version}/{media_id}``: a short-lived download URL (5 minutes)."""
        media = self.media.get(media_id)
        if media is None:
            status, response = payloads.graph_error(
                400,
                100,
                f"Unsupported get request. Object with ID '{media_id}' does not exist, cannot be loaded due to "
                "missing permissions, or does not support this operation.",
                subcode=33,
                error_type="GraphMethodException",
            )
        else:
            expires = int(time.time() + self.config.media_url_ttl)
            url = (
                f"{self.config.base_url}/whatsapp_business/attachments/?mid={media.id}&ext={expires}"
                f"&hash={self._url_hash(media.id, expires)}"
            )
            status, response = (
                200,
                {
                    "messaging_product": "whatsapp",
                    "url": url,
                    "mime_type": media.mime_type,
                    "sha256": media.sha256_hex,
                    "file_size": len(media.data),
                    "id": media.id,
                },
            )
        self._log_call("GET", f"/{media_id}", None, status, response)
        return status, response

    def media_download(self, media_id: str, expires: str, url_hash: str) -> Optional[MediaFile]:
        """The file behind a download URL, if the URL is genuine and not expired."""
        media = self.media.get(media_id)
        if media is None or not expires.isdigit() or int(expires) < time.time():
            return None
        if not hmac.compare_digest(url_hash, self._url_hash(media_id, int(expires))):
            return None
        return media

    def delete_media(self, media_id: str) -> Tuple[int, Dict[str, Any]]:
        media = self.media.get(media_id)
        if media is None or media.owner != BOT:
            return payloads.graph_error(400, 100, "(#100) Invalid parameter")
        del self.media[media_id]
        return 200, {"success": True}

    # -- queries for tests and the page ---------------------------------------------------------
    def conversation(self, key: str, after: int = 0) -> List[Dict[str, Any]]:
        return [m.to_dict() for m in self.citizen(key).messages if m.seq > after]

    def state(self) -> Dict[str, Any]:
        return {
            "business": {
                "name": self.config.business_name,
                "display_phone_number": self.config.display_phone_number,
                "phone_number_id": self.config.phone_number_id,
            },
            "webhook": {
                "url": self.config.webhook_url,
                "verified": self.webhook_verified,
                "note": self.webhook_note,
            },
            "citizens": [c.to_dict() for c in self.citizens.values()],
            "event_seq": self.event_seq,
        }

    def stats(self) -> Dict[str, Any]:
        bots = [m for m in self.messages.values() if m.author == BOT]
        return {
            "citizens": len(self.citizens),
            "citizen_messages": sum(1 for m in self.messages.values() if m.author == CITIZEN),
            "business_messages": len(bots),
            "failed_business_messages": sum(1 for m in bots if m.status == "failed"),
            "webhook_posts": self.webhook_posts,
            "webhook_failures": self.webhook_failures,
            "graph_errors": sum(1 for c in self.graph_calls if c.status >= 400),
            "duplicate_read_marks": sum(1 for n in self.read_marks.values() if n > 1),
        }

    def graph_log(self, since: float = 0.0) -> List[Dict[str, Any]]:
        return [c.to_dict() for c in self.graph_calls if c.at >= since]

    def inject_faults(self, faults: Iterable[Tuple[int, int]]) -> None:
        self.faults.extend(faults)
