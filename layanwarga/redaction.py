"""Masking identity numbers (NIK, KK numbers) in free text: stored conversations, the message
log, log lines, ticket text and the analytics broker.

What counts as an identity number in text is ``layanwarga.nik.find_in_text``, the same rule the
letter form takes a typed NIK with: whatever the form accepts is masked here. The masked form
keeps the region prefix and the serial (``6271********0003``), like the rest of the service; a
run of digit groups that can be read as more than one NIK is masked as a whole.
"""

from __future__ import annotations

import logging
from typing import Any, List, Tuple

import phonenumbers

from .nik import NIK_LENGTH, ascii_digits, find_in_text
from .phones import DEFAULT_REGION

_VISIBLE = 4  # digits left readable at each end


def _masked(digits: str) -> str:
    return f"{digits[:_VISIBLE]}{'*' * (len(digits) - 2 * _VISIBLE)}{digits[-_VISIBLE:]}"


def mask_identifiers(text: str) -> str:
    if not text or len(text) < NIK_LENGTH:
        return text
    found = find_in_text(text)
    if not found:
        return text
    # Overlapping readings of one run of digits are masked together.
    spans: List[Tuple[int, int]] = []
    for item in found:
        if spans and item.start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], item.end))
        else:
            spans.append((item.start, item.end))
    parts, position = [], 0
    for start, end in spans:
        digits = ascii_digits("".join(ch for ch in text[start:end] if ch.isdecimal()))
        parts += [text[position:start], _masked(digits)]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def mask_phone_numbers(text: str) -> str:
    """Phone numbers written in ``text`` (``0812 3456 7890``, ``+62 812-3456-7890``) shown with
    their first four and last four digits only, as the data-rights summary shows a number.
    For pages that quote citizens to staff who need the words, not the number (the review queue);
    run ``mask_identifiers`` first, so a NIK is never read as a phone number."""
    if not text or sum(ch.isdigit() for ch in text) < 9:
        return text
    parts, position = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, DEFAULT_REGION, leniency=phonenumbers.Leniency.VALID):
        digits = "".join(ch for ch in match.raw_string if ch.isdigit())
        parts += [text[position : match.start], f"{digits[:4]}{'*' * max(len(digits) - 8, 1)}{digits[-4:]}"]
        position = match.end
    parts.append(text[position:])
    return "".join(parts)


def mask_value(value: Any) -> Any:
    """``mask_identifiers`` through strings, lists and dicts (event payloads, slot values)."""
    if isinstance(value, str):
        return mask_identifiers(value)
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    return value


def install_log_masking() -> None:
    """Mask identifiers in every log record created from now on, whichever logger or handler
    (ours, Rasa's, a library's) it goes through: the message, and the text of an exception or
    stack attached to it (an exception's message may quote what a citizen typed). Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_identifiers", False):
        return

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is left to logging
            return record
        masked = mask_identifiers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # Handlers format exc_info into exc_text only when it is empty: fill it masked.
            record.exc_text = mask_identifiers(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask_identifiers(record.stack_info)
        return record

    masking_factory.masks_identifiers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)
