"""The notification worker: ``python -m layanwarga.notifier`` sends the outbox over WhatsApp.

Plain Python (``requests``), no Rasa: it runs next to the dashboard and the assistant, as many
copies as wanted (rows are claimed one by one, see ``layanwarga.notifications``).

For each claimed row:

- inside the citizen's 24-hour window: the text, or the interactive message (reply buttons);
- outside it, or when the Graph API answers 131047 (re-engagement required): the approved
  template ``WHATSAPP_TEMPLATE_NAME`` (default ``layanwarga_notifikasi``) in
  ``WHATSAPP_TEMPLATE_LANGUAGE`` (default ``id``) with the text as its one body parameter;
- HTTP 429, Graph rate-limit codes (4, 80007, 130429, 131056), 5xx / transient codes and network
  failures are retried with exponential backoff (Retry-After honoured), up to
  ``notifications.MAX_ATTEMPTS``; anything else fails at once. A failed row shows its error on the
  ticket page and is re-queued from the dashboard.

Environment: ``WHATSAPP_API_BASE``, ``WHATSAPP_API_VERSION``, ``WHATSAPP_ACCESS_TOKEN``,
``WHATSAPP_PHONE_NUMBER_ID`` (as the connector), ``DATABASE_URL``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import requests
import urllib3

from whatsapp import messages

from . import notifications
from .inbound import mask

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
RATE_LIMIT_CODES = {4, 80007, 130429, 131056}
SERVER_CODES = {1, 2, 131000, 131016, 133004}
REENGAGEMENT_CODE = 131047


class ConfigurationError(RuntimeError):
    """A required setting is missing; the message names the environment variable."""


@dataclass(frozen=True)
class GraphSettings:
    api_base: str
    api_version: str
    access_token: str
    phone_number_id: str
    template_name: Optional[str] = notifications.DEFAULT_TEMPLATE_NAME
    template_language: str = notifications.DEFAULT_TEMPLATE_LANGUAGE
    timeout: float = 20.0

    def __repr__(self) -> str:  # never print the token
        return f"GraphSettings(api_base={self.api_base!r}, api_version={self.api_version!r}, phone_number_id={self.phone_number_id!r})"

    @property
    def messages_url(self) -> str:
        return f"{self.api_base.rstrip('/')}/{self.api_version.strip('/')}/{self.phone_number_id}/messages"

    @classmethod
    def from_env(cls, environ: Optional[Dict[str, str]] = None) -> "GraphSettings":
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = (env.get(name) or "").strip()
            if not value:
                raise ConfigurationError(f"{name} is not set: the notification worker cannot reach the Graph API.")
            return value

        template = (env.get("WHATSAPP_TEMPLATE_NAME") or notifications.DEFAULT_TEMPLATE_NAME).strip()
        return cls(
            api_base=(env.get("WHATSAPP_API_BASE") or DEFAULT_API_BASE).strip(),
            api_version=(env.get("WHATSAPP_API_VERSION") or DEFAULT_API_VERSION).strip(),
            access_token=required("WHATSAPP_ACCESS_TOKEN"),
            phone_number_id=required("WHATSAPP_PHONE_NUMBER_ID"),
            template_name=None if template.lower() in ("", "none", "off", "-") else template,
            template_language=(env.get("WHATSAPP_TEMPLATE_LANGUAGE") or notifications.DEFAULT_TEMPLATE_LANGUAGE).strip(),
            timeout=float(env.get("LAYANWARGA_NOTIFIER_TIMEOUT") or 20.0),
        )


class GraphError(Exception):
    def __init__(
        self,
        message: str,
        *,
        http_status: Optional[int] = None,
        code: Optional[int] = None,
        retryable: bool = False,
        retry_after: Optional[float] = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        # No answer, but the request may have reached Meta (read timeout, connection dropped
        # after sending): the message may have gone out. Callers that must never send twice
        # (the broadcast worker) do not resend these.
        self.maybe_sent = maybe_sent

    @property
    def reengagement(self) -> bool:
        return self.code == REENGAGEMENT_CODE

    def describe(self) -> str:
        """A short, token-free description for the ticket page and the log."""
        parts = [f"HTTP {self.http_status}" if self.http_status else "tidak ada respons"]
        if self.code is not None:
            parts.append(f"kode {self.code}")
        parts.append(str(self)[:300])
        return ", ".join(parts)


def _error(response: requests.Response) -> GraphError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    code = error.get("code")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    details = ""
    if isinstance(error.get("error_data"), dict):
        details = str(error["error_data"].get("details") or "")
    message = details or str(error.get("message") or response.reason or "Graph API error")
    retry_after = None
    if response.headers.get("Retry-After"):
        try:
            retry_after = float(response.headers["Retry-After"])
        except ValueError:
            retry_after = None
    status = response.status_code
    retryable = status == 429 or status >= 500 or code in RATE_LIMIT_CODES or code in SERVER_CODES
    return GraphError(message, http_status=status, code=code, retryable=retryable, retry_after=retry_after)


def request_may_have_arrived(exc: requests.RequestException) -> bool:
    """False only when the connection was never made (refused, DNS, connect timeout), so the
    request certainly did not reach the Graph API; True otherwise (read timeout, dropped)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        if isinstance(inner, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError)):
            return False
    return True


class GraphSender:
    """Synchronous ``POST /{version}/{phone_number_id}/messages`` with a bearer token."""

    def __init__(self, settings: GraphSettings, http: Optional[requests.Session] = None) -> None:
        self.settings = settings
        self.http = http or requests.Session()
        self.http.headers.update({"User-Agent": "LayanWarga-Notifier/1.0"})

    def send(self, body: Dict[str, Any]) -> Optional[str]:
        """Send one message body; returns the WhatsApp message id (wamid)."""
        try:
            response = self.http.post(
                self.settings.messages_url,
                json=body,
                headers={"Authorization": f"Bearer {self.settings.access_token}"},
                timeout=self.settings.timeout,
            )
        except requests.RequestException as exc:
            raise GraphError(
                f"Koneksi ke Graph API gagal: {type(exc).__name__}", retryable=True, maybe_sent=request_may_have_arrived(exc)
            ) from None
        if response.status_code >= 400:
            raise _error(response)
        try:
            data = response.json()
        except ValueError:
            data = {}
        messages = data.get("messages") if isinstance(data, dict) else None
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return messages[0].get("id")
        return None


def envelope(recipient: str, is_phone: bool) -> Dict[str, Any]:
    """The addressing part of a message body: ``to`` a phone, else ``recipient`` a BSUID."""
    return messages.with_recipient(recipient, {}, phone=is_phone)


def free_form_body(delivery: notifications.Delivery) -> Dict[str, Any]:
    """The row's message as it is: reply buttons when it has them, else its text."""
    if delivery.interactive:
        message = messages.interactive_message(delivery.interactive)
    else:
        message = messages.text_message(delivery.text)
    return messages.with_recipient(delivery.recipient, message, phone=delivery.is_phone)


def template_body(delivery: notifications.Delivery, name: str, language: str) -> Dict[str, Any]:
    """The approved template carrying the row's text (outside the 24-hour window)."""
    template = messages.template_message(name, language, delivery.text)
    return messages.with_recipient(delivery.recipient, template, phone=delivery.is_phone)


class Notifier:
    """Claims due outbox rows and sends them."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        url: Optional[str] = None,
        sender: Optional[GraphSender] = None,
    ) -> None:
        self.settings = settings
        self.url = url
        self.sender = sender or GraphSender(settings)

    def _send_template(self, delivery: notifications.Delivery) -> str:
        if not self.settings.template_name:
            raise GraphError(
                "Di luar jendela 24 jam dan tidak ada template pesan yang disetujui (WHATSAPP_TEMPLATE_NAME).",
                retryable=False,
            )
        wamid = self.sender.send(template_body(delivery, self.settings.template_name, self.settings.template_language))
        return wamid or ""

    def process(self, notification_id: int, now: Optional[dt.datetime] = None) -> str:
        """Send one claimed row; returns its new status."""
        delivery = notifications.delivery(notification_id, now, url=self.url)
        if delivery is None:
            return notifications.FAILED
        if not delivery.recipient:
            return notifications.mark_error(notification_id, "Warga tidak memiliki nomor WhatsApp atau ID pengguna.", retryable=False, url=self.url)
        via = "template"
        template = None
        try:
            if delivery.in_window:
                try:
                    wamid = self.sender.send(free_form_body(delivery))
                    via = "interactive" if delivery.interactive else "text"
                except GraphError as error:
                    if not error.reengagement:
                        raise
                    logger.info("Notification %s: outside the 24-h window per Graph API; sending the template", notification_id)
                    wamid = self._send_template(delivery)
            else:
                wamid = self._send_template(delivery)
            if via == "template":
                template = (
                    self.settings.template_name or "",
                    self.settings.template_language,
                    [messages.template_param(delivery.text)],
                )
        except GraphError as error:
            status = notifications.mark_error(
                notification_id, error.describe(), retryable=error.retryable, retry_after=error.retry_after, url=self.url
            )
            log = logger.warning if status == notifications.PENDING else logger.error
            log(
                "Notification %s to %s (ticket %s) not sent, attempt %d: %s -> %s",
                notification_id, mask(delivery.recipient), delivery.ticket_number or "-", delivery.attempts,
                error.describe(), status,
            )
            return status
        except Exception as exc:  # noqa: BLE001 - never leave a row in "sending" because of a bug
            logger.exception("Notification %s: unexpected error while sending", notification_id)
            return notifications.mark_error(notification_id, f"Kesalahan internal: {type(exc).__name__}", retryable=True, url=self.url)
        notifications.mark_sent(
            notification_id, wamid or None, via, recipient=delivery.recipient, template=template, url=self.url
        )
        logger.info("Notification %s sent to %s via %s", notification_id, mask(delivery.recipient), via)
        return notifications.SENT

    def run_once(self, limit: int = 20) -> int:
        """Send what is due now; returns how many rows were handled."""
        notifications.expire_stale(url=self.url)
        notifications.sync_delivery_failures(url=self.url)
        claimed = notifications.claim_due(limit, url=self.url)
        for notification_id in claimed:
            self.process(notification_id)
        return len(claimed)

    def run_forever(self, interval: float = 2.0, stop: Optional[threading.Event] = None) -> None:
        stop = stop or threading.Event()
        logger.info("Notification worker started (%r)", self.settings)
        while not stop.is_set():
            try:
                handled = self.run_once()
            except Exception:  # noqa: BLE001 - database briefly unavailable: wait and go on
                logger.exception("Notification worker cycle failed; retrying in %.0f s", max(interval, 5))
                stop.wait(max(interval, 5))
                continue
            if not handled:
                stop.wait(interval)
        logger.info("Notification worker stopped")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m layanwarga.notifier", description=__doc__.split("\n")[0])
    parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
    parser.add_argument("--interval", type=float, default=float(os.environ.get("LAYANWARGA_NOTIFIER_INTERVAL") or 2.0),
                        help="seconds between polls when the outbox is empty (default 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from . import migrate, runtime
    from .redaction import install_log_masking

    install_log_masking()

    try:
        runtime.require_safe("notifier")
        settings = GraphSettings.from_env()
        migrate.require_current("the notifier")
    except (ConfigurationError, runtime.UnsafeConfiguration, migrate.SchemaNotCurrent) as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    notifier = Notifier(settings)
    if args.once:
        total = 0
        while True:
            handled = notifier.run_once()
            total += handled
            if not handled:
                break
        print(f"{total} notifications handled")
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    notifier.run_forever(args.interval, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
