"""Column types of the ticket database."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..crypto import decrypt, encrypt


class EncryptedText(TypeDecorator):
    """A text column stored encrypted (``layanwarga.crypto``); Python code only ever sees clear
    text, and a value stored before encryption is read as it is."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Optional[str], dialect: Dialect) -> Optional[str]:
        return encrypt(value)

    def process_result_value(self, value: Optional[str], dialect: Dialect) -> Optional[str]:
        return decrypt(value)
