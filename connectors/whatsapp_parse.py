"""WhatsApp webhook body -> typed updates.

Reads every entry, every change, every message, status and error of a batch (Meta aggregates up
to 1000 updates per POST), in payload order. Parsing never raises on odd shapes: a part that
cannot be understood is reported in ``ParsedBatch.problems`` and skipped, the rest is kept.

Every field of a body may hold any JSON value, whatever Meta documents. Code reading a field
goes through ``text_of``, ``object_of``, ``list_of`` or ``number_of``, which give the type the
field should have or nothing, so a ``true`` where a list belongs is the same as an absent list.
Text is cleaned once, here: a lone UTF-16 surrogate (the valid JSON escape ``\\ud800``) becomes
U+FFFD, so no later step (the NLU, the database, a log line) meets a string it cannot encode.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

WHATSAPP_OBJECT = "whatsapp_business_account"

# A \uD800-\uDFFF escape in the raw body: only then can the decoded text hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedBody(ValueError):
    """The request body is not a WhatsApp webhook notification (answered with a 4xx)."""


@dataclass(frozen=True)
class WebhookError:
    """An entry of an ``errors`` array (value-level, message-level or status-level)."""

    code: Optional[int]
    title: str = ""
    message: str = ""
    details: str = ""
    href: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> "WebhookError":
        data = data if isinstance(data, dict) else {}
        number = number_of(data.get("code"))
        code = int(number) if number is not None and number.is_integer() else None
        return cls(
            code=code,
            title=text_of(data.get("title")) or "",
            message=text_of(data.get("message")) or "",
            details=text_of(object_of(data.get("error_data")).get("details")) or "",
            href=text_of(data.get("href")) or "",
        )

    def as_dict(self) -> Dict[str, Any]:
        return {"code": self.code, "title": self.title, "message": self.message, "details": self.details}


@dataclass(frozen=True)
class ContactInfo:
    """One ``contacts[]`` entry of a change: who the sender (or recipient) is."""

    wa_id: Optional[str] = None
    user_id: Optional[str] = None
    parent_user_id: Optional[str] = None
    profile_name: Optional[str] = None
    username: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Any) -> "ContactInfo":
        data = object_of(data)
        profile = object_of(data.get("profile"))
        return cls(
            wa_id=text_of(data.get("wa_id")),
            user_id=text_of(data.get("user_id")),
            parent_user_id=text_of(data.get("parent_user_id")),
            profile_name=text_of(profile.get("name")),
            username=text_of(profile.get("username")),
        )


@dataclass(frozen=True)
class InboundMessage:
    """One ``messages[]`` object with the context of its change."""

    id: str
    type: str
    timestamp: Optional[str]
    wa_id: Optional[str]
    user_id: Optional[str]
    parent_user_id: Optional[str]
    profile_name: Optional[str]
    username: Optional[str]
    phone_number_id: Optional[str]
    display_phone_number: Optional[str]
    raw: Dict[str, Any]
    errors: Tuple[WebhookError, ...] = ()
    position: Tuple[int, int, int] = (0, 0, 0)

    @property
    def sender(self) -> str:
        """The conversation key: the phone (``from``) when known, else the BSUID."""
        return self.wa_id or self.user_id or ""

    def to_journal(self) -> Dict[str, Any]:
        """What the connector's journal keeps to process this message again after a crash."""
        return {
            "id": self.id,
            "type": self.type,
            "timestamp": self.timestamp,
            "wa_id": self.wa_id,
            "user_id": self.user_id,
            "parent_user_id": self.parent_user_id,
            "profile_name": self.profile_name,
            "username": self.username,
            "phone_number_id": self.phone_number_id,
            "display_phone_number": self.display_phone_number,
            "raw": self.raw,
            "position": list(self.position),
        }

    @classmethod
    def from_journal(cls, data: Dict[str, Any]) -> "InboundMessage":
        """The message ``to_journal`` kept (KeyError when it is not one)."""
        raw = object_of(data["raw"])
        position = list_of(data.get("position"))
        return cls(
            id=text_of(data.get("id")) or "",
            type=text_of(data.get("type")) or "unknown",
            timestamp=text_of(data.get("timestamp")),
            wa_id=text_of(data.get("wa_id")),
            user_id=text_of(data.get("user_id")),
            parent_user_id=text_of(data.get("parent_user_id")),
            profile_name=text_of(data.get("profile_name")),
            username=text_of(data.get("username")),
            phone_number_id=text_of(data.get("phone_number_id")),
            display_phone_number=text_of(data.get("display_phone_number")),
            raw=raw,
            errors=_errors(raw.get("errors")),
            position=tuple(int(p) for p in position) if len(position) == 3 else (0, 0, 0),  # type: ignore[arg-type]
        )

    @property
    def body(self) -> Dict[str, Any]:
        """The type-specific object (``raw["text"]``, ``raw["image"]``...), or {}."""
        return object_of(self.raw.get(self.type))

    @property
    def context(self) -> Optional[Dict[str, Any]]:
        return object_of(self.raw.get("context")) or None


@dataclass(frozen=True)
class StatusUpdate:
    """One ``statuses[]`` object: the delivery state of a message the service sent."""

    id: str
    status: str
    timestamp: Optional[str]
    recipient_id: Optional[str]
    recipient_user_id: Optional[str]
    phone_number_id: Optional[str]
    errors: Tuple[WebhookError, ...] = ()
    raw: Dict[str, Any] = field(default_factory=dict)

    @property
    def recipient(self) -> Optional[str]:
        return self.recipient_id or self.recipient_user_id


@dataclass
class ParsedBatch:
    """Everything one webhook POST carried, in payload order."""

    messages: List[InboundMessage] = field(default_factory=list)
    statuses: List[StatusUpdate] = field(default_factory=list)
    errors: List[Tuple[Optional[str], WebhookError]] = field(default_factory=list)
    other_fields: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)

    @property
    def update_count(self) -> int:
        return len(self.messages) + len(self.statuses) + len(self.errors)


def text_of(value: Any) -> Optional[str]:
    """A string field: the stripped string (None when empty); a finite number written out (Meta
    sends some ids and timestamps as numbers); any other JSON value is no text at all."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def object_of(value: Any) -> Dict[str, Any]:
    """An object field, or {} for anything else."""
    return value if isinstance(value, dict) else {}


def list_of(value: Any) -> List[Any]:
    """A list field, or [] for anything else."""
    return value if isinstance(value, list) else []


def number_of(value: Any) -> Optional[float]:
    """A finite number given as a JSON number or a numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a float's range
        return None
    return number if math.isfinite(number) else None


def _clean_text(data: Any) -> Any:
    """``data`` with every lone surrogate in its strings (keys included) replaced by U+FFFD."""
    if isinstance(data, str):
        return _LONE_SURROGATE.sub("\ufffd", data)
    if isinstance(data, list):
        return [_clean_text(item) for item in data]
    if isinstance(data, dict):
        return {_clean_text(key): _clean_text(item) for key, item in data.items()}
    return data


def decode_body(raw: bytes) -> Dict[str, Any]:
    """Parse the raw body and check it is a WhatsApp notification (cheap structural check)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"body is not valid JSON ({exc.__class__.__name__})") from None
    if _SURROGATE_ESCAPE.search(raw):
        data = _clean_text(data)
    if not isinstance(data, dict):
        raise MalformedBody("body is not a JSON object")
    if data.get("object") != WHATSAPP_OBJECT:
        raise MalformedBody(f"object is {str(data.get('object'))[:60]!r}, not {WHATSAPP_OBJECT!r}")
    if not isinstance(data.get("entry"), list):
        raise MalformedBody("entry is missing or not a list")
    return data


def _match_contact(contacts: List[ContactInfo], wa_id: Optional[str], user_id: Optional[str]) -> ContactInfo:
    for contact in contacts:
        if (wa_id and contact.wa_id == wa_id) or (user_id and contact.user_id == user_id):
            return contact
    if len(contacts) == 1 and not (wa_id and contacts[0].wa_id and contacts[0].wa_id != wa_id):
        return contacts[0]
    return ContactInfo()


def _as_list(batch: "ParsedBatch", value: Any, where: str) -> List[Any]:
    """``value`` when it is a list; otherwise nothing, noting the odd shape (absent is fine)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    batch.problems.append(f"{where} is not a list")
    return []


def _errors(value: Any) -> Tuple[WebhookError, ...]:
    return tuple(WebhookError.from_dict(e) for e in value) if isinstance(value, list) else ()


def parse_body(data: Dict[str, Any]) -> ParsedBatch:
    """Every message, status and error of a decoded body, in order."""
    batch = ParsedBatch()
    for e_idx, entry in enumerate(_as_list(batch, data.get("entry"), "entry")):
        if not isinstance(entry, dict):
            batch.problems.append(f"entry[{e_idx}] is not an object")
            continue
        changes = entry.get("changes")
        if not isinstance(changes, list):
            batch.problems.append(f"entry[{e_idx}].changes is missing or not a list")
            continue
        for c_idx, change in enumerate(changes):
            where = f"entry[{e_idx}].changes[{c_idx}]"
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                batch.problems.append(f"{where} has no value object")
                continue
            field_name = change.get("field", "messages")
            value = change["value"]
            if field_name != "messages":
                batch.other_fields.append(str(field_name))
                continue
            _parse_value(batch, value, e_idx, c_idx, where)
    return batch


def _parse_value(batch: ParsedBatch, value: Dict[str, Any], e_idx: int, c_idx: int, where: str) -> None:
    metadata = object_of(value.get("metadata"))
    phone_number_id = text_of(metadata.get("phone_number_id"))
    display_number = text_of(metadata.get("display_phone_number"))
    contacts = [
        ContactInfo.from_dict(c)
        for c in _as_list(batch, value.get("contacts"), f"{where}.contacts")
        if isinstance(c, dict)
    ]

    for error in _errors(value.get("errors")):
        batch.errors.append((phone_number_id, error))

    for m_idx, raw in enumerate(_as_list(batch, value.get("messages"), f"{where}.messages")):
        if not isinstance(raw, dict):
            batch.problems.append(f"{where}.messages[{m_idx}] is not an object")
            continue
        wa_id = text_of(raw.get("from"))
        user_id = text_of(raw.get("from_user_id"))
        contact = _match_contact(contacts, wa_id, user_id)
        # A message keyed only by its BSUID still gets the phone when the contact block has it.
        wa_id = wa_id or contact.wa_id
        user_id = user_id or contact.user_id
        if not wa_id and not user_id:
            batch.problems.append(f"{where}.messages[{m_idx}] has no sender (from / from_user_id)")
            continue
        batch.messages.append(
            InboundMessage(
                id=text_of(raw.get("id")) or "",
                type=text_of(raw.get("type")) or "unknown",
                timestamp=text_of(raw.get("timestamp")),
                wa_id=wa_id,
                user_id=user_id,
                parent_user_id=text_of(raw.get("from_parent_user_id")) or contact.parent_user_id,
                profile_name=contact.profile_name,
                username=contact.username,
                phone_number_id=phone_number_id,
                display_phone_number=display_number,
                raw=raw,
                errors=_errors(raw.get("errors")),
                position=(e_idx, c_idx, m_idx),
            )
        )

    for s_idx, raw in enumerate(_as_list(batch, value.get("statuses"), f"{where}.statuses")):
        status_id = text_of(raw.get("id")) if isinstance(raw, dict) else None
        state = text_of(raw.get("status")) if isinstance(raw, dict) else None
        if not status_id or not state:
            batch.problems.append(f"{where}.statuses[{s_idx}] has no id or status")
            continue
        batch.statuses.append(
            StatusUpdate(
                id=status_id,
                status=state.lower(),
                timestamp=text_of(raw.get("timestamp")),
                recipient_id=text_of(raw.get("recipient_id")),
                recipient_user_id=text_of(raw.get("recipient_user_id")),
                phone_number_id=phone_number_id,
                errors=_errors(raw.get("errors")),
                raw=raw,
            )
        )
