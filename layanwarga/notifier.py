"""The notification worker: ``python -m layanwarga.notifier`` sends the outbox over WhatsApp.

Plain Python, no Rasa: it runs next to the dashboard and the assistant, as many copies as wanted
(rows are claimed one by one, see ``layanwarga.notifications``). It reaches the Graph API
through the ``whatsapp`` package (its sync client and message builder), with the settings the
connector uses, resolved the same way (``whatsapp.settings``): the WhatsApp channel's section
of credentials.yml (``--credentials``, default ``credentials.yml`` here when it exists), then
the ``WHATSAPP_*`` variables, then defaults.

For each claimed row:

- inside the citizen's 24-hour window: the text, or the interactive message (reply buttons);
- outside it, or when the Graph API answers that the window is closed (``ReEngagementError``):
  the approved template ``WHATSAPP_TEMPLATE_NAME`` (default ``layanwarga_notifikasi``) in
  ``WHATSAPP_TEMPLATE_LANGUAGE`` (default ``id``) with the text as its one body parameter;
- errors the error table calls retryable (rate limits, server errors, no answer:
  ``whatsapp.errors``) are retried with the outbox's backoff (Retry-After honoured), up to
  ``notifications.MAX_ATTEMPTS``; anything else fails at once. A failed row shows its error on
  the ticket page and is re-queued from the dashboard.

Environment: ``WHATSAPP_API_BASE``, ``WHATSAPP_API_VERSION``, ``WHATSAPP_ACCESS_TOKEN``,
``WHATSAPP_PHONE_NUMBER_ID`` (as the connector), ``LAYANWARGA_NOTIFIER_TIMEOUT`` (seconds per
Graph API call, when credentials.yml sets no ``request_timeout``), ``DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple

from whatsapp import messages, statuses
from whatsapp.errors import GraphAPIError, ReEngagementError
from whatsapp.settings import CREDENTIALS_FILE, GraphSettings, SettingsError, load_worker_settings
from whatsapp.sync import SyncClient

from . import handoff, migrate, notifications, runtime
from .inbound import mask
from .redaction import install_log_masking

logger = logging.getLogger(__name__)

NO_TEMPLATE_TEXT = (
    "Di luar jendela 24 jam dan tidak ada template pesan yang disetujui (WHATSAPP_TEMPLATE_NAME)."
)

# A template as sent: name, language, body parameters (kept on the outbox row).
TemplateUse = Tuple[str, str, List[str]]


def free_form_body(delivery: notifications.Delivery) -> Dict[str, Any]:
    """The row's message as it is: reply buttons when it has them, else its text."""
    if delivery.interactive:
        message = messages.interactive_message(delivery.interactive)
    else:
        message = messages.text_message(delivery.text)
    return messages.with_recipient(delivery.recipient, message, phone=delivery.is_phone)


class NoTemplate(Exception):
    """Outside the 24-hour window with no approved template configured: nothing can be sent."""


class Notifier:
    """Claims due outbox rows and sends them."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        url: Optional[str] = None,
        client: Optional[SyncClient] = None,
    ) -> None:
        self.settings = settings
        self.url = url
        self.client = client or SyncClient(settings)

    def _send(
        self, notification_id: int, delivery: notifications.Delivery
    ) -> Tuple[Optional[str], str, Optional[TemplateUse]]:
        """Send the row's message; returns the WhatsApp message id, how it went and the template
        when one was sent (outside the 24-hour window)."""
        if delivery.in_window:
            try:
                via = "interactive" if delivery.interactive else "text"
                return self.client.send(free_form_body(delivery)), via, None
            except ReEngagementError:
                logger.info(
                    "Notification %s: outside the 24-h window per Graph API; sending the template",
                    notification_id,
                )
        name, language = self.settings.template_name, self.settings.template_language
        if not name:
            raise NoTemplate()
        text = delivery.text if self.settings.template_text_param else None
        template = messages.template_message(name, language, text)
        wamid = self.client.send(
            messages.with_recipient(delivery.recipient, template, phone=delivery.is_phone)
        )
        return (
            wamid,
            "template",
            (name, language, [messages.template_param(text)] if text is not None else []),
        )

    def _failed(
        self,
        notification_id: int,
        delivery: notifications.Delivery,
        error: str,
        *,
        retryable: bool,
        retry_after: Optional[float] = None,
    ) -> str:
        status = notifications.mark_error(
            notification_id, error, retryable=retryable, retry_after=retry_after, url=self.url
        )
        log = logger.warning if status == notifications.PENDING else logger.error
        log(
            "Notification %s to %s (ticket %s) not sent, attempt %d: %s -> %s",
            notification_id,
            mask(delivery.recipient),
            delivery.ticket_number or "-",
            delivery.attempts,
            error,
            status,
        )
        return status

    def process(self, notification_id: int, now: Optional[dt.datetime] = None) -> str:
        """Send one claimed row; returns its new status."""
        delivery = notifications.delivery(notification_id, now, url=self.url)
        if delivery is None:
            return notifications.FAILED
        if not delivery.recipient:
            return notifications.mark_error(
                notification_id,
                "Warga tidak memiliki nomor WhatsApp atau ID pengguna.",
                retryable=False,
                url=self.url,
            )
        try:
            wamid, via, template = self._send(notification_id, delivery)
        except GraphAPIError as error:
            return self._failed(
                notification_id,
                delivery,
                error.describe(),
                retryable=error.retryable,
                retry_after=error.retry_after,
            )
        except NoTemplate:
            return self._failed(notification_id, delivery, NO_TEMPLATE_TEXT, retryable=False)
        except Exception as exc:  # noqa: BLE001 - never leave a row in "sending" because of a bug
            logger.exception("Notification %s: unexpected error while sending", notification_id)
            return notifications.mark_error(
                notification_id, f"Kesalahan internal: {type(exc).__name__}", retryable=True, url=self.url
            )
        notifications.mark_sent(notification_id, wamid or None, via, template=template, url=self.url)
        if wamid:
            try:
                statuses.record_sent(wamid, delivery.recipient, url=self.url)
            except Exception:  # noqa: BLE001 - delivery statuses are a convenience, the send happened
                logger.exception("Could not record the sent status of notification %s", notification_id)
        logger.info("Notification %s sent to %s via %s", notification_id, mask(delivery.recipient), via)
        return notifications.SENT

    def run_once(self, limit: int = 20) -> int:
        """Send what is due now; returns how many rows were handled. Citizens no officer
        answered in time are handed back to the assistant first (their notice goes out now)."""
        handoff.expire_unanswered(url=self.url)
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
    parser.add_argument(
        "--credentials",
        default=CREDENTIALS_FILE,
        help="credentials.yml whose WhatsApp section is read before the environment (default: %(default)s)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=float(os.environ.get("LAYANWARGA_NOTIFIER_INTERVAL") or 2.0),
        help="seconds between polls when the outbox is empty (default 2)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()

    try:
        runtime.require_safe("notifier")
        settings = load_worker_settings(args.credentials)
        migrate.require_current("the notifier")
    except (SettingsError, runtime.UnsafeConfiguration, migrate.SchemaNotCurrent) as exc:
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
