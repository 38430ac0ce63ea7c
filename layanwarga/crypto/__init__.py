"""Encryption of personal data at rest (NIK, phone numbers of applicants, the local spools of
submissions and messages kept through an outage) and keyed hashes of identifiers.

Keys are Fernet keys (AES-128-CBC + HMAC-SHA256, from ``cryptography``) in
``LAYANWARGA_DATA_KEYS``, comma-separated, the current key first. Rotation: put a new key in
front, keep the old ones behind it, run ``python -m layanwarga.crypto rotate``
(``layanwarga.crypto.rotation``: re-encrypts every stored value with the current key, and the
spool folders of the machine it runs on), then drop the old keys. Without the variable, a
development key is created in ``var/data.key``; production mode refuses that
(``layanwarga.runtime``). Columns stored encrypted use ``layanwarga.models.types.EncryptedText``.

``keyed_digest`` is an HMAC-SHA256 whose key is derived (HKDF, one key per purpose) from a data
key: a pseudonym for a phone number that, unlike a plain hash, cannot be reversed by trying every
Indonesian mobile number without the key. ``keyed_digests`` gives the pseudonym under every
configured key, so values made before a rotation are still recognised while the old key is kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from functools import lru_cache
from typing import List, Optional, Tuple

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..config import PROJECT_ROOT

logger = logging.getLogger(__name__)

KEYS_ENV = "LAYANWARGA_DATA_KEYS"
DEV_KEY_FILE = PROJECT_ROOT / "var" / "data.key"
PREFIX = "fernet:"


class DataKeyError(RuntimeError):
    """No usable encryption key."""


def _dev_key() -> str:
    DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    if not DEV_KEY_FILE.exists():
        fd = os.open(DEV_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode())
        logger.warning("Created a development data key in %s (set %s in production)", DEV_KEY_FILE, KEYS_ENV)
    return DEV_KEY_FILE.read_text().strip()


def configured_keys() -> List[str]:
    raw = os.environ.get(KEYS_ENV, "").strip()
    return [k.strip() for k in raw.split(",") if k.strip()]


@lru_cache(maxsize=8)
def _cipher(keys: tuple) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError) as exc:
        raise DataKeyError(f"{KEYS_ENV} holds an invalid Fernet key: {exc}") from None


def cipher() -> MultiFernet:
    return _cipher(tuple(_keys()))


def encrypt(value: Optional[str]) -> Optional[str]:
    if value is None or value == "":
        return value
    return PREFIX + cipher().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(value: Optional[str]) -> Optional[str]:
    """The clear text of a stored value; a value stored before encryption is returned as is."""
    if not value or not value.startswith(PREFIX):
        return value
    try:
        return cipher().decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise DataKeyError("a stored value cannot be decrypted with the configured keys") from None


def encrypt_bytes(data: bytes) -> bytes:
    """A Fernet token of ``data`` under the current key (files: the spools)."""
    return cipher().encrypt(data)


def decrypt_bytes(token: bytes) -> Tuple[bytes, bool]:
    """The clear bytes of a token and whether it is under the current key (False: re-encrypt
    it). Raises ``DataKeyError`` when no configured key opens it."""
    keys = _keys()
    try:
        return Fernet(keys[0].encode()).decrypt(token), True
    except InvalidToken:
        pass
    try:
        return cipher().decrypt(token), False
    except InvalidToken:
        raise DataKeyError("a stored value cannot be decrypted with the configured keys") from None


def _keys() -> List[str]:
    return configured_keys() or [_dev_key()]


@lru_cache(maxsize=64)
def _purpose_key(key: str, purpose: str) -> bytes:
    material = base64.urlsafe_b64decode(key.encode())
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"layanwarga:{purpose}".encode()
    ).derive(material)


def keyed_digest(purpose: str, value: str, key: Optional[str] = None) -> str:
    """HMAC-SHA256 (hex) of ``value`` with the key derived for ``purpose`` from ``key`` (the
    current data key by default)."""
    secret = _purpose_key(key or _keys()[0], purpose)
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def keyed_digests(purpose: str, value: str) -> List[str]:
    """``keyed_digest`` under every configured key, the current one first."""
    return [keyed_digest(purpose, value, key) for key in _keys()]


def is_encrypted(value: Optional[str]) -> bool:
    return bool(value) and value.startswith(PREFIX)  # type: ignore[union-attr]
