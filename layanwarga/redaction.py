"""Masking identifiers (NIK, KK numbers) in free text: stored conversations and log lines.

Any run of 16 digits, typed with or without spaces, dots or dashes, is treated as an identity
number: a mistyped NIK or a Kartu Keluarga number is as personal as a valid NIK. The masked form
keeps the region prefix and the serial (``6271********0003``), like the rest of the service.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from .nik import mask

IDENTIFIER = re.compile(r"(?<![\dA-Za-z])\d(?:[ .\-]?\d){15}(?![\dA-Za-z])")


def mask_identifiers(text: str) -> str:
    if not text or not any(ch.isdigit() for ch in text):
        return text
    return IDENTIFIER.sub(lambda m: mask(m.group(0)), text)


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
    (ours, Rasa's, a library's) it goes through. Idempotent."""
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
        return record

    masking_factory.masks_identifiers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)
