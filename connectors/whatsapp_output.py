"""The Rasa output channel for WhatsApp.

Rasa awaits each ``send_*`` call of a turn in order, and each call here awaits the Graph API's
answer (retries included) before returning, so several replies of one turn arrive in the order
the assistant produced them. Nothing raises into Rasa: every failure is logged with its context.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import OutputChannel

from layanwarga.inbound import mask
from whatsapp import messages as fmt
from whatsapp.aio import AsyncClient
from whatsapp.errors import GraphAPIError, ReEngagementError

from .settings import WhatsAppSettings

logger = logging.getLogger(__name__)

# (WhatsApp message id, recipient, readable text) of each message that went out.
SentRecorder = Callable[[str, str, str], Awaitable[None]]


class WhatsAppOutput(OutputChannel):
    """Sends Rasa's responses through the WhatsApp Cloud API."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def __init__(
        self,
        client: AsyncClient,
        settings: WhatsAppSettings,
        *,
        record_sent: Optional[SentRecorder] = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self._record_sent = record_sent
        # Recipients who already got the out-of-window template through this channel object
        # (one per turn): the other replies of the turn would fail the same way.
        self._template_sent: Set[str] = set()
        self.sent_ids: List[str] = []

    # -- Rasa's send methods --------------------------------------------------------------------
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for message in fmt.text_messages(text):
            await self.send_payload(recipient_id, message)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """An image by URL (``https://...``) or by an uploaded media id."""
        await self.send_payload(recipient_id, fmt.image_message(image, kwargs.get("caption")))

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        message = fmt.attachment_message(attachment)
        if message is None:
            logger.error(
                "Attachment for %s has no URL or media id; not sent: %r", mask(recipient_id), attachment
            )
            return
        await self.send_payload(recipient_id, message)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        messages = fmt.button_messages(text, buttons, list_button_label=self.settings.list_button_label)
        for message in messages:
            await self.send_payload(recipient_id, message)

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_elements(self, recipient_id: str, elements: Any, **kwargs: Any) -> None:
        for element in elements or []:
            title = str(element.get("title") or "").strip()
            subtitle = str(element.get("subtitle") or "").strip()
            text = f"*{title}*\n{subtitle}" if title and subtitle else (title or subtitle)
            if element.get("image_url"):
                await self.send_image_url(recipient_id, element["image_url"])
            await self.send_text_with_buttons(recipient_id, text, element.get("buttons") or [])

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """Passed through as a Graph API message body (templates, CTA URL, anything else).

        ``messaging_product`` and the recipient are added when missing. A custom payload of the
        form ``{"whatsapp": {...}}`` is unwrapped, so one response can carry bodies for several
        channels.
        """
        if not isinstance(json_message, dict):
            logger.error("Custom payload for %s is not an object; not sent", mask(recipient_id))
            return
        nested = json_message.get("whatsapp")
        body: Dict[str, Any] = nested if isinstance(nested, dict) else json_message
        if not body.get("type"):
            logger.error(
                "Custom payload for %s has no 'type'; not sent: %s", mask(recipient_id), sorted(body)
            )
            return
        await self.send_payload(recipient_id, dict(body), template_fallback=body.get("type") != "template")

    # -- sending --------------------------------------------------------------------------------
    async def send_payload(
        self, recipient_id: str, message: Dict[str, Any], *, template_fallback: bool = True
    ) -> Optional[str]:
        """Send one message body; returns its WhatsApp id, or None when it could not be sent."""
        payload = fmt.with_recipient(recipient_id, message)
        problems = fmt.limit_problems(message)
        if problems:
            # Our formatter never produces this; a custom payload might. Meta would reject it.
            logger.error(
                "WhatsApp %s message to %s breaks limits (%s); not sent",
                message.get("type"),
                mask(recipient_id),
                "; ".join(problems),
            )
            return None
        try:
            message_id = await self.client.send_message(payload, pace_key=recipient_id)
        except ReEngagementError as error:
            if template_fallback:
                return await self._send_template_instead(recipient_id, message, error)
            logger.error("Template to %s refused outside the 24-h window: %s", mask(recipient_id), error)
            return None
        except GraphAPIError as error:
            logger.error(
                "WhatsApp %s message to %s not sent: %s", message.get("type"), mask(recipient_id), error
            )
            return None
        except Exception:  # noqa: BLE001 - never raise into Rasa's loop
            logger.exception("WhatsApp %s message to %s not sent", message.get("type"), mask(recipient_id))
            return None
        await self._after_send(message_id, recipient_id, message)
        return message_id

    async def _send_template_instead(
        self, recipient_id: str, message: Dict[str, Any], error: GraphAPIError
    ) -> Optional[str]:
        name = self.settings.graph.template_name
        if not name:
            logger.error(
                "Outside the 24-h window for %s and no fallback template configured; message dropped: %s",
                mask(recipient_id),
                error,
            )
            return None
        if recipient_id in self._template_sent:
            logger.info("Outside the 24-h window for %s; template already sent this turn", mask(recipient_id))
            return None
        self._template_sent.add(recipient_id)
        text = fmt.summary_text(message) if self.settings.graph.template_text_param else None
        template = fmt.template_message(name, self.settings.graph.template_language, text)
        logger.info("Outside the 24-h window for %s (131047): sending template %r", mask(recipient_id), name)
        try:
            message_id = await self.client.send_message(
                fmt.with_recipient(recipient_id, template), pace_key=recipient_id
            )
        except GraphAPIError as template_error:
            logger.error("Fallback template %r to %s not sent: %s", name, mask(recipient_id), template_error)
            return None
        except Exception:  # noqa: BLE001
            logger.exception("Fallback template %r to %s not sent", name, mask(recipient_id))
            return None
        await self._after_send(message_id, recipient_id, template)
        return message_id

    async def _after_send(
        self, message_id: Optional[str], recipient_id: str, message: Dict[str, Any]
    ) -> None:
        if not message_id:
            logger.warning("Graph API accepted a message to %s but returned no id", mask(recipient_id))
            return
        self.sent_ids.append(message_id)
        if self._record_sent is None:
            return
        try:
            await self._record_sent(message_id, recipient_id, fmt.summary_text(message))
        except Exception:  # noqa: BLE001 - the message went out; only the bookkeeping failed
            logger.exception("Could not record sent message %s", message_id)
