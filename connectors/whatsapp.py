"""WhatsApp Cloud API input channel for Rasa: ``connectors.whatsapp.WhatsAppInput``.

Routes (under ``/webhooks/whatsapp`` on ``rasa run``):

- ``GET  /``         health check.
- ``GET  /webhook``  Meta's verification handshake (``hub.mode`` / ``hub.verify_token`` /
  ``hub.challenge``): echoes the challenge, 403 on a wrong token.
- ``POST /webhook``  notifications. Checks, in order: size (413), signature over the raw bytes
  (401 missing, 403 wrong), JSON and ``object`` (400). Then the batch is parsed, its messages
  written to the journal and queued, and the answer is 200 at once; the work happens afterwards
  (``WebhookProcessor``). When the journal cannot be written the answer is 503, so Meta delivers
  the messages again instead of their being lost; otherwise, once the signature is good, 200.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from layanwarga import migrate, runtime
from layanwarga.redaction import install_log_masking
from rasa_extensions import action_failures
from whatsapp.aio import AsyncClient
from whatsapp.signature import SIGNATURE_HEADER, SignatureCheck, check_signature

from . import journal
from .executor import BlockingRunner
from .settings import SettingsError, WhatsAppSettings, load_settings
from .whatsapp_output import WhatsAppOutput
from .whatsapp_parse import MalformedBody, decode_body, parse_body
from .whatsapp_processor import CHANNEL_NAME, JournalUnavailable, WebhookProcessor

logger = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 6 * 3600
SHUTDOWN_DRAIN_SECONDS = 10.0


class WhatsAppInput(InputChannel):
    """Receives WhatsApp Cloud API webhooks and hands citizens' messages to Rasa."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WhatsAppInput":
        try:
            runtime.require_safe("whatsapp")
            settings = load_settings(credentials)
            migrate.require_current("rasa run (WhatsApp channel)", settings.database_url)
        except (SettingsError, runtime.UnsafeConfiguration, migrate.SchemaNotCurrent) as error:
            raise RasaException(str(error)) from None
        install_log_masking()
        # A turn whose custom action could not run fails (and is replayed) instead of losing
        # the action's events (rasa_extensions.action_failures).
        action_failures.install()
        return cls(settings)

    def __init__(
        self,
        settings: WhatsAppSettings,
        *,
        client: Optional[AsyncClient] = None,
        journal_: Optional[journal.Journal] = None,
        runner: Optional[BlockingRunner] = None,
    ) -> None:
        if settings.app_secret is None and not settings.insecure_dev_mode:
            raise RasaException("whatsapp: an app secret is required outside the insecure development mode")
        self.settings = settings
        self.runner = runner or BlockingRunner()
        self.client = client or AsyncClient(settings.graph)
        if journal_ is None:
            # Leases outlive a few missed renewals (one per replay round).
            lease = max(journal.DEFAULT_LEASE, dt.timedelta(seconds=4 * settings.replay_interval))
            if settings.dedupe_backend == "memory":
                journal_ = journal.MemoryJournal(lease=lease)
            else:
                retention = max(journal.DEFAULT_RETENTION, dt.timedelta(days=settings.dedupe_retention_days))
                journal_ = journal.SqlJournal(
                    self.runner,
                    instance=settings.instance,
                    url=settings.database_url,
                    lease=lease,
                    retention=retention,
                )
        self.journal = journal_
        self.processor: Optional[WebhookProcessor] = None
        self._purge_task: Optional["asyncio.Task[None]"] = None
        self._replay_task: Optional["asyncio.Task[None]"] = None
        # Latency of the synchronous part of POST handling (seconds), for monitoring/tests.
        self.last_ack_seconds: Optional[float] = None

    # -- Rasa hooks ------------------------------------------------------------------------------
    def get_output_channel(self) -> OutputChannel:
        """For messages Rasa sends on its own (e.g. ``trigger_intent`` from the dashboard)."""
        if self.processor is not None:
            return self.processor.output_channel()
        return WhatsAppOutput(self.client, self.settings)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        processor = WebhookProcessor(self.settings, self.client, self.journal, self.runner, on_new_message)
        self.processor = processor
        bp = Blueprint("whatsapp_webhook", __name__)

        @bp.listener("after_server_start")
        async def start_purge(app: Any, loop: Any) -> None:
            agent = getattr(app.ctx, "agent", None)
            if agent is not None:
                endpoint = getattr(agent, "action_endpoint", None)
                processor.use_action_endpoint(endpoint.url if endpoint is not None else None)
                processor.use_agent(agent)
            self._purge_task = asyncio.get_running_loop().create_task(self._purge_forever())
            self._replay_task = asyncio.get_running_loop().create_task(processor.replay_forever())

        @bp.listener("before_server_stop")
        async def drain(app: Any, loop: Any) -> None:
            await self.shutdown()

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            """Health and readiness: 503 while ``rasa run`` has no model (its model server had
            none to give yet), when Rasa would drop every message; the probe keeps it out."""
            if not processor.assistant_ready():
                return response.json({"status": "no model loaded"}, status=503)
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return self._verify(request)

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            started = time.perf_counter()
            try:
                return await self._receive(request, processor)
            finally:
                self.last_ack_seconds = time.perf_counter() - started

        return bp

    # -- handlers ------------------------------------------------------------------------------
    def _verify(self, request: Request) -> HTTPResponse:
        mode = request.args.get("hub.mode")
        token = request.args.get("hub.verify_token") or ""
        challenge = request.args.get("hub.challenge")
        token_ok = hmac.compare_digest(token.encode("utf-8"), self.settings.verify_token.encode("utf-8"))
        if mode == "subscribe" and token_ok:
            if not challenge:
                return response.text("missing hub.challenge", status=400)
            logger.info("WhatsApp webhook verified by Meta")
            return response.text(challenge, status=200)
        logger.warning(
            "WhatsApp webhook verification refused from %s (mode=%r, token %s)",
            request.ip,
            mode,
            "matches" if token_ok else "does not match WHATSAPP_VERIFY_TOKEN",
        )
        return response.text("forbidden", status=403)

    async def _receive(self, request: Request, processor: WebhookProcessor) -> HTTPResponse:
        raw: bytes = request.body or b""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if len(raw) > limit or (declared and declared.isdigit() and int(declared) > limit):
            logger.warning(
                "WhatsApp webhook body of %d bytes from %s refused (limit %d)", len(raw), request.ip, limit
            )
            return response.text("payload too large", status=413)

        if self.settings.app_secret is not None:
            check = check_signature(self.settings.app_secret, raw, request.headers.get(SIGNATURE_HEADER))
            if check is SignatureCheck.MISSING:
                logger.warning("WhatsApp webhook without %s from %s refused", SIGNATURE_HEADER, request.ip)
                return response.text("missing signature", status=401)
            if check is not SignatureCheck.VALID:
                logger.warning(
                    "WhatsApp webhook with a %s signature from %s refused (check WHATSAPP_APP_SECRET)",
                    check.value,
                    request.ip,
                )
                return response.text("invalid signature", status=403)

        try:
            data = decode_body(raw)
        except MalformedBody as error:
            logger.warning("WhatsApp webhook from %s refused: %s", request.ip, error)
            return response.text("bad request", status=400)

        try:
            batch = parse_body(data)
            # Awaited before the 200: each message takes its place in its citizen's line
            # (shared by all instances when Redis is configured; connectors/ordering.py).
            await processor.admit(batch)
            logger.debug(
                "WhatsApp webhook: %d messages, %d statuses, %d errors queued",
                len(batch.messages),
                len(batch.statuses),
                len(batch.errors),
            )
        except JournalUnavailable:
            # Logged by the processor. Not acknowledged: Meta delivers the body again later.
            return response.text("journal unavailable", status=503)
        except Exception:  # noqa: BLE001 - signed by Meta: answer 200 so it is not redelivered forever
            logger.exception("WhatsApp webhook body could not be queued (answered 200)")
        return response.text("OK", status=200)

    # -- housekeeping ----------------------------------------------------------------------------
    async def _purge_forever(self) -> None:
        while True:
            try:
                removed = await self.journal.purge()
                if removed:
                    logger.info("Purged %d processed WhatsApp message ids past retention", removed)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                logger.exception("Purging processed WhatsApp message ids failed")
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)

    async def shutdown(self, timeout: float = SHUTDOWN_DRAIN_SECONDS) -> None:
        """Finish queued work (bounded), then release the HTTP session and threads."""
        for task in (self._purge_task, self._replay_task):
            if task is not None:
                task.cancel()
        self._purge_task = self._replay_task = None
        if self.processor is not None and not await self.processor.join(timeout):
            logger.error("WhatsApp processing did not finish within %.0f s of shutdown", timeout)
            await self.processor.queues.cancel()
        await self.client.close()
        if self.processor is not None:
            await self.processor.close()
        self.runner.shutdown()
