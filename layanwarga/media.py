"""Storage of photos and documents citizens send (plain Python, no Rasa import).

Files live under one media directory that the connector, the action server and the dashboard
all reach (``LAYANWARGA_MEDIA_DIR``, default ``var/media`` in the project; a shared volume when
several instances run). Each file is named by its SHA-256 under ``YYYY/MM/`` and recorded in the
``media`` table with its absolute ``storage_path``, so readers need no configuration of their own.

Limits are checked twice: on what WhatsApp declares (MIME type, size) before downloading, and on
the bytes themselves (real size, magic bytes) before storing, so a renamed executable never lands
in the folder staff open photos from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from .config import PROJECT_ROOT
from .db import session_scope
from .models import Media
from .redaction import mask_identifiers

logger = logging.getLogger(__name__)

MEDIA_DIR_ENV_VAR = "LAYANWARGA_MEDIA_DIR"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_ALLOWED_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")

EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
}

# Polite explanations a citizen reads when a file is refused.
REJECTION_TEXT = {
    "too_large": (
        "Mohon maaf, Bapak/Ibu, berkas yang dikirim terlalu besar (maksimal {max_size}). "
        "Silakan kirim foto atau dokumen yang lebih kecil."
    ),
    "type_not_allowed": (
        "Mohon maaf, Bapak/Ibu, jenis berkas tersebut belum dapat kami terima. "
        "Silakan kirim foto (JPG, PNG, WEBP) atau dokumen PDF."
    ),
    "empty": "Mohon maaf, Bapak/Ibu, berkas yang dikirim kosong. Silakan kirim ulang.",
    "download_failed": (
        "Mohon maaf, Bapak/Ibu, berkas tersebut gagal kami terima karena gangguan teknis. "
        "Silakan kirim ulang beberapa saat lagi."
    ),
}


class MediaRejected(Exception):
    """A file the service will not store; ``reason`` is a key of ``REJECTION_TEXT``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    def citizen_text(self, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
        template = REJECTION_TEXT.get(self.reason, REJECTION_TEXT["download_failed"])
        return template.format(max_size=human_size(max_bytes))


def human_size(size: int) -> str:
    """``16 MB``, ``1,5 MB``, ``32 KB``: a limit as a citizen reads it (Indonesian decimal comma)."""
    mb = size / (1024 * 1024)
    if mb >= 1:
        return f"{mb:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " MB"
    return f"{max(1, size // 1024)} KB"


@dataclass(frozen=True)
class StoredMedia:
    id: int
    storage_path: str
    sha256: str
    size_bytes: int
    mime_type: str


def media_root(override: Optional[os.PathLike] = None) -> Path:
    """The media directory: the override, else ``LAYANWARGA_MEDIA_DIR``, else ``var/media``."""
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(MEDIA_DIR_ENV_VAR)
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "var" / "media"


def normalise_mime(value: Optional[str]) -> str:
    return (value or "").split(";")[0].strip().lower()


def check_declared(
    mime_type: Optional[str],
    size: Optional[int],
    *,
    allowed: Iterable[str] = DEFAULT_ALLOWED_TYPES,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> None:
    """Refuse early on what WhatsApp declares (before downloading anything)."""
    mime = normalise_mime(mime_type)
    if mime and mime not in set(allowed):
        raise MediaRejected("type_not_allowed", mime)
    if size is not None and size > max_bytes:
        raise MediaRejected("too_large", f"{size} bytes")


def sniff_mime(content: bytes) -> Optional[str]:
    """The MIME type the bytes really are, for the types we accept (None when unknown)."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content[4:8] == b"ftyp":
        return "video/mp4"
    return None


def check_content(
    content: bytes,
    mime_type: Optional[str],
    *,
    allowed: Iterable[str] = DEFAULT_ALLOWED_TYPES,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> str:
    """Check the downloaded bytes; returns the MIME type to store."""
    allowed = set(allowed)
    if not content:
        raise MediaRejected("empty")
    if len(content) > max_bytes:
        raise MediaRejected("too_large", f"{len(content)} bytes")
    declared = normalise_mime(mime_type)
    sniffed = sniff_mime(content)
    if sniffed == "video/mp4" and declared.startswith("video/"):
        sniffed = declared  # ISO media containers (mp4, 3gp) share one signature
    mime = sniffed or declared
    if not mime or mime not in allowed:
        raise MediaRejected("type_not_allowed", mime or "unknown")
    if sniffed and declared and declared != sniffed and declared in allowed:
        logger.info("Media declared as %s is really %s; storing as %s", declared, sniffed, sniffed)
    if sniffed is None and mime in ("image/jpeg", "image/png", "image/webp", "application/pdf"):
        # We know these formats' signatures: bytes that do not match are not what they claim.
        raise MediaRejected("type_not_allowed", f"content does not look like {mime}")
    return mime


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: Optional[str]) -> Optional[str]:
    """A citizen-supplied filename reduced to something harmless to show (never used as a path)."""
    if not name:
        return None
    cleaned = _SAFE_NAME.sub("_", os.path.basename(str(name))).strip(" .")
    return cleaned[:120] or None


def store_media(
    content: bytes,
    *,
    mime_type: Optional[str],
    whatsapp_media_id: Optional[str] = None,
    citizen_id: Optional[int] = None,
    caption: Optional[str] = None,
    purpose: str = "whatsapp_inbound",
    media_dir: Optional[os.PathLike] = None,
    allowed: Iterable[str] = DEFAULT_ALLOWED_TYPES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    now: Optional[dt.datetime] = None,
    url: Optional[str] = None,
) -> StoredMedia:
    """Check, write (atomically) and record one file; raises ``MediaRejected`` when refused."""
    mime = check_content(content, mime_type, allowed=allowed, max_bytes=max_bytes)
    digest = hashlib.sha256(content).hexdigest()
    now = now or dt.datetime.utcnow()
    folder = media_root(media_dir) / f"{now:%Y}" / f"{now:%m}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}{EXTENSIONS.get(mime, '.bin')}"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.chmod(tmp, 0o640)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    with session_scope(url) as session:
        row = Media(
            whatsapp_media_id=whatsapp_media_id,
            citizen_id=citizen_id,
            purpose=purpose,
            mime_type=mime,
            sha256=digest,
            size_bytes=len(content),
            storage_path=str(path),
            caption=mask_identifiers(caption) if caption else caption,  # shown to staff: NIKs masked
        )
        session.add(row)
        session.flush()
        media_id = int(row.id)
    return StoredMedia(
        id=media_id, storage_path=str(path), sha256=digest, size_bytes=len(content), mime_type=mime
    )


def resolve(storage_path: str) -> Path:
    """The file of a ``media.storage_path`` (absolute, or relative to the media directory)."""
    path = Path(storage_path)
    return path if path.is_absolute() else media_root() / path
