"""Webhook signature verification (``X-Hub-Signature-256``).

Meta signs the exact bytes it sends, and it sends non-ASCII text escaped (``\\u00e9``). The HMAC
must therefore be computed over the raw request body: re-serialising parsed JSON changes the
bytes and breaks every message with an accent or an emoji.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum
from typing import Optional

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


class SignatureCheck(Enum):
    VALID = "valid"
    MISSING = "missing"
    MALFORMED = "malformed"
    MISMATCH = "mismatch"


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta would send for ``raw_body`` (also used by tests and the simulator)."""
    digest = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def check_signature(app_secret: str, raw_body: bytes, header: Optional[str]) -> SignatureCheck:
    """Compare the header with the HMAC-SHA256 of the raw body, in constant time."""
    if not header:
        return SignatureCheck.MISSING
    header = header.strip()
    if not header.lower().startswith(_PREFIX) or len(header) != len(_PREFIX) + 64:
        return SignatureCheck.MALFORMED
    expected = sign(app_secret, raw_body)
    # Hex digests are case-insensitive; compare the normalised ASCII bytes in constant time.
    received = (_PREFIX + header[len(_PREFIX) :].lower()).encode("ascii", "replace")
    if hmac.compare_digest(expected.encode("ascii"), received):
        return SignatureCheck.VALID
    return SignatureCheck.MISMATCH
