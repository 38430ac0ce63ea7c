"""Phone numbers as people type them, checked with libphonenumber (``phonenumbers``): in E.164
form (``+6281234567890``) for letter requests, and as WhatsApp's own id (``6281234567890``, the
``wa_id`` / ``from`` of every webhook) wherever a number must match a WhatsApp sender."""

from __future__ import annotations

from typing import Optional

import phonenumbers

DEFAULT_REGION = "ID"


def normalise(text: str, region: str = DEFAULT_REGION) -> Optional[str]:
    """The number in ``text`` in E.164 form, or None when it is not a valid phone number
    (``0812 3456 7890``, ``+62 812-3456-7890`` and ``6281234567890`` are all accepted)."""
    candidate = text.strip()
    if candidate.isdigit() and candidate.startswith("62"):
        candidate = f"+{candidate}"
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def from_whatsapp_id(wa_id: str) -> Optional[str]:
    """The phone number behind a WhatsApp id, when there is a valid one: a ``wa_id`` is the
    number with its country code and no "+"; a username user (BSUID) has none."""
    if not wa_id.isdigit():
        return None
    return normalise(f"+{wa_id}")


def whatsapp_id(text: str, region: str = DEFAULT_REGION) -> Optional[str]:
    """The WhatsApp id of a typed number (E.164 without the "+": ``0812 3456 7890`` and
    ``+62 812-3456-7890`` both give ``6281234567890``), or None when it is not a valid number."""
    number = normalise(text, region)
    return number[1:] if number else None
