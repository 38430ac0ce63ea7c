"""WhatsApp Cloud API webhook bodies, ids and signatures, shaped like Meta's.

Everything here is pure (no I/O): the simulator, the tests and the benchmark build the same bytes.

Details that matter to a connector and that Meta really does:

- the body is compact JSON with non-ASCII characters escaped as ``\\uXXXX`` and ``/`` escaped as
  ``\\/``, so a connector that re-serialises the JSON before checking the signature fails, as it
  would in production;
- ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, key = app secret>`` (and the
  legacy ``X-Hub-Signature: sha1=...``);
- message ids look like ``wamid.`` + base64 of a small binary structure, media ids are long
  decimal numbers, timestamps are Unix seconds as strings;
- ``contacts[].profile.name`` / ``wa_id``, and for username users (2026) only ``user_id`` /
  ``from_user_id`` (a business-scoped user id, BSUID) without ``from``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any, Dict, List, Optional, Tuple

SIGNATURE_HEADER = "X-Hub-Signature-256"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"
WEBHOOK_USER_AGENT = "facebookexternalua"


def wamid(phone: str = "") -> str:
    """A message id like Meta's (``wamid.HBgN...``): base64 of a small frame holding the phone and a random hex id."""
    digits = "".join(ch for ch in phone if ch.isdigit())[:20] or "0"
    random_hex = secrets.token_hex(10).upper().encode("ascii")
    raw = (
        b"\x1c\x18"
        + bytes([len(digits)])
        + digits.encode("ascii")
        + b"\x15\x02\x00\x12\x18\x14"
        + random_hex
        + b"\x00"
    )
    return "wamid." + base64.b64encode(raw).decode("ascii")


def media_id() -> str:
    """A media id like Meta's: a 16-digit decimal number as a string."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def bsuid(country: str = "ID") -> str:
    """A business-scoped user id like ``ID.1234567890123456``."""
    return f"{country}.{10**15 + secrets.randbelow(9 * 10**15)}"


def fbtrace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(9)).decode("ascii").rstrip("=")


def unix_now() -> str:
    return str(int(time.time()))


def encode_body(body: Dict[str, Any]) -> bytes:
    """Serialise a webhook body the way Meta does (compact, ASCII-only, ``\\/`` escaped)."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def sign(app_secret: str, raw: bytes) -> Dict[str, str]:
    """The signature headers Meta puts on a webhook POST."""
    key = app_secret.encode("utf-8")
    return {
        SIGNATURE_HEADER: "sha256=" + hmac.new(key, raw, hashlib.sha256).hexdigest(),
        LEGACY_SIGNATURE_HEADER: "sha1=" + hmac.new(key, raw, hashlib.sha1).hexdigest(),
    }


def sha256_b64(data: bytes) -> str:
    """The ``sha256`` of a media object in a webhook (base64 of the digest)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class Business:
    """The business phone number the simulated citizens write to."""

    def __init__(self, *, waba_id: str, phone_number_id: str, display_phone_number: str) -> None:
        self.waba_id = waba_id
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number

    def envelope(self, value: Dict[str, Any]) -> Dict[str, Any]:
        """Wrap one ``value`` in ``{"object": ..., "entry": [{"id", "changes": [...]}]}``."""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.waba_id,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.display_phone_number,
                                    "phone_number_id": self.phone_number_id,
                                },
                                **value,
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }


def contact_block(*, wa_id: Optional[str], user_id: Optional[str], name: str) -> Dict[str, Any]:
    contact: Dict[str, Any] = {"profile": {"name": name}}
    if wa_id:
        contact["wa_id"] = wa_id
    if user_id:
        contact["user_id"] = user_id
    return contact


def message_object(
    kind: str,
    content: Dict[str, Any],
    *,
    wa_id: Optional[str],
    user_id: Optional[str],
    message_id: str,
    timestamp: str,
    context: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """One ``messages[]`` entry: ``from`` (or ``from_user_id``), id, timestamp, type, content."""
    message: Dict[str, Any] = {}
    if context:
        message["context"] = context
    if wa_id:
        message["from"] = wa_id
    if user_id:
        message["from_user_id"] = user_id
    message.update({"id": message_id, "timestamp": timestamp, "type": kind, kind: content})
    return message


def inbound_body(
    business: Business,
    message: Dict[str, Any],
    *,
    wa_id: Optional[str],
    user_id: Optional[str],
    name: str,
) -> Dict[str, Any]:
    """A complete webhook body carrying one citizen message."""
    return business.envelope(
        {"contacts": [contact_block(wa_id=wa_id, user_id=user_id, name=name)], "messages": [message]}
    )


def text_content(text: str) -> Dict[str, Any]:
    return {"body": text}


def button_reply_content(reply_id: str, title: str) -> Dict[str, Any]:
    return {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}


def template_button_content(payload: str, text: str) -> Dict[str, Any]:
    """A tap on a template's quick-reply button (message type ``button``)."""
    return {"payload": payload, "text": text}


def list_reply_content(row_id: str, title: str, description: Optional[str] = None) -> Dict[str, Any]:
    reply: Dict[str, Any] = {"id": row_id, "title": title}
    if description:
        reply["description"] = description
    return {"type": "list_reply", "list_reply": reply}


def location_content(
    latitude: float, longitude: float, name: Optional[str] = None, address: Optional[str] = None
) -> Dict[str, Any]:
    content: Dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name:
        content["name"] = name
    if address:
        content["address"] = address
    return content


def image_content(media: str, mime_type: str, data: bytes, caption: Optional[str] = None) -> Dict[str, Any]:
    content: Dict[str, Any] = {}
    if caption:
        content["caption"] = caption
    content.update({"mime_type": mime_type, "sha256": sha256_b64(data), "id": media})
    return content


def status_object(
    message_id: str,
    status: str,
    *,
    recipient_wa_id: Optional[str],
    recipient_user_id: Optional[str],
    timestamp: str,
    conversation_id: Optional[str] = None,
    category: str = "service",
    errors: Optional[List[Dict[str, Any]]] = None,
) -> Dict[str, Any]:
    """One ``statuses[]`` entry as Meta sends it for a message the business sent."""
    entry: Dict[str, Any] = {"id": message_id, "status": status, "timestamp": timestamp}
    if recipient_wa_id:
        entry["recipient_id"] = recipient_wa_id
    if recipient_user_id:
        entry["recipient_user_id"] = recipient_user_id
    if status in ("sent", "delivered", "read") and conversation_id:
        entry["conversation"] = {"id": conversation_id, "origin": {"type": category}}
        if status == "sent":
            entry["conversation"]["expiration_timestamp"] = str(int(time.time()) + 24 * 3600)
        entry["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": category,
        }
    if errors:
        entry["errors"] = errors
    return entry


def status_body(
    business: Business, statuses: List[Dict[str, Any]], contact: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    value: Dict[str, Any] = {"statuses": statuses}
    if contact:
        # Since 2026 status webhooks may carry a contacts block too (never a message!).
        value["contacts"] = [contact]
    return business.envelope(value)


REENGAGEMENT_ERROR = {
    "code": 131047,
    "title": "Re-engagement message",
    "message": "Re-engagement message",
    "error_data": {
        "details": "Message failed to send because more than 24 hours have passed since the customer last "
        "replied to this number."
    },
    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
}


def graph_error(
    http_status: int,
    code: int,
    message: str,
    *,
    details: Optional[str] = None,
    subcode: Optional[int] = None,
    error_type: str = "OAuthException",
) -> Tuple[int, Dict[str, Any]]:
    """A Graph API error response: ``(HTTP status, {"error": {...}})`` as Meta returns it."""
    error: Dict[str, Any] = {"message": message, "type": error_type, "code": code, "fbtrace_id": fbtrace_id()}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return http_status, {"error": error}
