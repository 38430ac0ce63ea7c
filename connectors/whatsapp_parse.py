"""WhatsApp webhook body -> typed updates.

Reads every entry, every change, every message, status and error of a batch (Meta aggregates up
to 1000 updates per POST), in payload order. Parsing never raises on odd shapes: a part that
cannot be understood is reported in ``ParsedBatch.problems`` and skipped, the rest is kept.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

WHATSAPP_OBJECT = "whatsapp_business_account"


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
        code = data.get("code")
        try:
            code = int(code) if code is not None else None
        except (TypeError, ValueError, OverflowError):  # OverflowError: Python's json reads Infinity
            code = None
        details = data.get("error_data", {})
        return cls(
            code=code,
            title=str(data.get("title") or ""),
            message=str(data.get("message") or ""),
            details=str(details.get("details") or "") if isinstance(details, dict) else "",
            href=str(data.get("href") or ""),
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
        data = data if isinstance(data, dict) else {}
        profile = data.get("profile") if isinstance(data.get("profile"), dict) else {}
        return cls(
            wa_id=_str_or_none(data.get("wa_id")),
            user_id=_str_or_none(data.get("user_id")),
            parent_user_id=_str_or_none(data.get("parent_user_id")),
            profile_name=_str_or_none(profile.get("name")),
            username=_str_or_none(profile.get("username")),
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

    @property
    def body(self) -> Dict[str, Any]:
        """The type-specific object (``raw["text"]``, ``raw["image"]``...), or {}."""
        value = self.raw.get(self.type)
        return value if isinstance(value, dict) else {}

    @property
    def context(self) -> Optional[Dict[str, Any]]:
        value = self.raw.get("context")
        return value if isinstance(value, dict) else None


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


def _str_or_none(value: Any) -> Optional[str]:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def decode_body(raw: bytes) -> Dict[str, Any]:
    """Parse the raw body and check it is a WhatsApp notification (cheap structural check)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"body is not valid JSON ({exc.__class__.__name__})") from None
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
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    phone_number_id = _str_or_none(metadata.get("phone_number_id"))
    display_number = _str_or_none(metadata.get("display_phone_number"))
    contacts = [
        ContactInfo.from_dict(c) for c in _as_list(batch, value.get("contacts"), f"{where}.contacts") if isinstance(c, dict)
    ]

    for error in _errors(value.get("errors")):
        batch.errors.append((phone_number_id, error))

    for m_idx, raw in enumerate(_as_list(batch, value.get("messages"), f"{where}.messages")):
        if not isinstance(raw, dict):
            batch.problems.append(f"{where}.messages[{m_idx}] is not an object")
            continue
        wa_id = _str_or_none(raw.get("from"))
        user_id = _str_or_none(raw.get("from_user_id"))
        contact = _match_contact(contacts, wa_id, user_id)
        # A message keyed only by its BSUID still gets the phone when the contact block has it.
        wa_id = wa_id or contact.wa_id
        user_id = user_id or contact.user_id
        if not wa_id and not user_id:
            batch.problems.append(f"{where}.messages[{m_idx}] has no sender (from / from_user_id)")
            continue
        batch.messages.append(
            InboundMessage(
                id=_str_or_none(raw.get("id")) or "",
                type=_str_or_none(raw.get("type")) or "unknown",
                timestamp=_str_or_none(raw.get("timestamp")),
                wa_id=wa_id,
                user_id=user_id,
                parent_user_id=_str_or_none(raw.get("from_parent_user_id")) or contact.parent_user_id,
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
        if not isinstance(raw, dict) or not raw.get("id") or not raw.get("status"):
            batch.problems.append(f"{where}.statuses[{s_idx}] has no id or status")
            continue
        batch.statuses.append(
            StatusUpdate(
                id=str(raw["id"]),
                status=str(raw["status"]).lower(),
                timestamp=_str_or_none(raw.get("timestamp")),
                recipient_id=_str_or_none(raw.get("recipient_id")),
                recipient_user_id=_str_or_none(raw.get("recipient_user_id")),
                phone_number_id=phone_number_id,
                errors=_errors(raw.get("errors")),
                raw=raw,
            )
        )
