"""Typed inbound WhatsApp messages -> the text and metadata Rasa receives.

The mapping is the channel's contract with the dialogue (see docs/DESIGN.md and the connector's
README section):

- text: the body; interactive ``button_reply`` / ``list_reply`` and template ``button``: the
  reply id / payload when it is a ``/intent{...}`` payload, else the title / text the citizen saw;
- location: ``/kirim_lokasi`` with ``metadata["location"]``;
- image / document / video: the caption, else ``/kirim_media``, with ``metadata["media"]`` once
  the file is stored (done by the processor; see ``MediaRef``);
- contacts: a short text listing names and phones, with ``metadata["contacts"]``;
- audio, sticker, order, nfm_reply, unsupported and unknown types: ``/pesan_tidak_didukung`` with
  ``metadata["unsupported_type"]`` (the domain answers politely);
- reactions and revokes are logged, system messages update the citizen's identity: neither is
  ever user text.

Every message's metadata carries wa_id, user_id, profile_name, message_id, timestamp,
phone_number_id and context (reply / forwarded information).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from .whatsapp_parse import InboundMessage, list_of, number_of, object_of, text_of

INTENT_LOCATION = "/kirim_lokasi"
INTENT_MEDIA = "/kirim_media"
INTENT_UNSUPPORTED = "/pesan_tidak_didukung"
INTENT_GREET = "/greet"

MEDIA_TYPES = ("image", "document", "video")


class Disposition(Enum):
    RASA = "rasa"  # hand text + metadata to Rasa
    MEDIA = "media"  # download and store first, then hand to Rasa
    REACTION = "reaction"  # log only
    REVOKE = "revoke"  # log only
    SYSTEM = "system"  # identity change, never text


@dataclass(frozen=True)
class MediaRef:
    """A media object of an inbound message, still to be downloaded."""

    type: str
    media_id: Optional[str]
    mime_type: Optional[str]
    sha256: Optional[str]
    filename: Optional[str]
    caption: Optional[str]
    url: Optional[str]


@dataclass
class Translation:
    disposition: Disposition
    text: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    media: Optional[MediaRef] = None


def base_metadata(message: InboundMessage) -> Dict[str, Any]:
    """The metadata every message carries into the tracker."""
    meta: Dict[str, Any] = {
        "wa_id": message.wa_id,
        "user_id": message.user_id,
        "profile_name": message.profile_name,
        "message_id": message.id,
        "timestamp": message.timestamp,
        "phone_number_id": message.phone_number_id,
        "context": dict(message.context) if message.context else None,
        "message_type": message.type,
    }
    if message.username:
        meta["username"] = message.username
    if message.parent_user_id:
        meta["parent_user_id"] = message.parent_user_id
    referral = object_of(message.raw.get("referral"))
    if referral:
        meta["referral"] = referral
    return meta


def _choice_text(reply_id: Any, title: Any) -> str:
    """A reply id that is a Rasa payload (``/intent{...}``) wins, else what the citizen tapped."""
    reply_id = text_of(reply_id) or ""
    title = text_of(title) or ""
    if reply_id.startswith("/"):
        return reply_id
    return title or reply_id


def _unsupported(message: InboundMessage, meta: Dict[str, Any], kind: str, **extra: Any) -> Translation:
    meta["unsupported_type"] = kind
    if message.errors:
        meta["errors"] = [e.as_dict() for e in message.errors]
    meta.update(extra)
    return Translation(Disposition.RASA, INTENT_UNSUPPORTED, meta)


def _contacts(message: InboundMessage, meta: Dict[str, Any]) -> Translation:
    shared: List[Dict[str, Any]] = []
    for contact in list_of(message.raw.get("contacts")):
        if not isinstance(contact, dict):
            continue
        name = object_of(contact.get("name"))
        display = text_of(name.get("formatted_name")) or text_of(name.get("first_name")) or ""
        phones = [
            phone
            for p in list_of(contact.get("phones"))
            if (phone := text_of(object_of(p).get("phone")) or text_of(object_of(p).get("wa_id")))
        ]
        shared.append({"name": display, "phones": phones})
    meta["contacts"] = shared
    parts = []
    for item in shared:
        numbers = ", ".join(item["phones"])
        parts.append(
            f"{item['name'] or 'Tanpa nama'} ({numbers})" if numbers else (item["name"] or "Tanpa nama")
        )
    text = "Kontak dibagikan: " + "; ".join(parts) if parts else "Kontak dibagikan"
    return Translation(Disposition.RASA, text, meta)


def translate(message: InboundMessage) -> Translation:
    """Decide what happens with one inbound message and what Rasa receives."""
    meta = base_metadata(message)
    kind = message.type
    body = message.body

    if kind == "text":
        text = text_of(body.get("body"))
        return (
            Translation(Disposition.RASA, text, meta) if text else _unsupported(message, meta, "empty_text")
        )

    if kind == "interactive":
        itype = text_of(body.get("type"))
        reply = object_of(body.get(itype)) if itype in ("button_reply", "list_reply") else {}
        if reply:
            meta["interactive"] = {
                "type": itype,
                "id": text_of(reply.get("id")),
                "title": text_of(reply.get("title")),
                "description": text_of(reply.get("description")),
            }
            return Translation(Disposition.RASA, _choice_text(reply.get("id"), reply.get("title")), meta)
        return _unsupported(message, meta, itype or "interactive")

    if kind == "button":
        meta["button"] = {"payload": text_of(body.get("payload")), "text": text_of(body.get("text"))}
        return Translation(Disposition.RASA, _choice_text(body.get("payload"), body.get("text")), meta)

    if kind == "location":
        meta["location"] = {
            "latitude": number_of(body.get("latitude")),
            "longitude": number_of(body.get("longitude")),
            "name": text_of(body.get("name")),
            "address": text_of(body.get("address")),
            "url": text_of(body.get("url")),
        }
        return Translation(Disposition.RASA, INTENT_LOCATION, meta)

    if kind in MEDIA_TYPES:
        ref = MediaRef(
            type=kind,
            media_id=text_of(body.get("id")),
            mime_type=((text_of(body.get("mime_type")) or "").split(";")[0].strip().lower() or None),
            sha256=text_of(body.get("sha256")),
            filename=text_of(body.get("filename")),
            caption=text_of(body.get("caption")),
            url=text_of(body.get("url")),
        )
        return Translation(Disposition.MEDIA, ref.caption or INTENT_MEDIA, meta, media=ref)

    if kind == "contacts":
        return _contacts(message, meta)

    if kind == "reaction":
        return Translation(Disposition.REACTION, None, meta)
    if kind == "revoke":
        return Translation(Disposition.REVOKE, None, meta)
    if kind == "system":
        return Translation(Disposition.SYSTEM, None, meta)

    if kind == "request_welcome":
        # The citizen opened the chat for the first time: greet them.
        return Translation(Disposition.RASA, INTENT_GREET, meta)

    if kind == "audio":
        return _unsupported(message, meta, "audio", voice=body.get("voice") is True)
    if kind == "unsupported":
        return _unsupported(message, meta, text_of(body.get("type")) or "unsupported")
    # sticker, order and any type WhatsApp adds later.
    return _unsupported(message, meta, kind)


def log_text(text: Optional[str], metadata: Dict[str, Any]) -> Optional[str]:
    """What staff read for a message: the button's title rather than its payload, a readable
    place for a pin, the caption (or nothing) for a photo."""
    interactive = metadata.get("interactive") or metadata.get("button") or {}
    title = interactive.get("title") or interactive.get("text")
    if title:
        return str(title)
    pin = metadata.get("location")
    if isinstance(pin, dict):
        label = ", ".join(str(p) for p in (pin.get("name"), pin.get("address")) if p)
        return f"[lokasi] {label} ({pin.get('latitude')}, {pin.get('longitude')})".replace(
            "[lokasi]  (", "[lokasi] ("
        )
    if text in (INTENT_MEDIA, INTENT_LOCATION):
        return None
    return text
