"""What a ticket page shows of a request's details and files, in words a clerk reads: labelled
facts instead of stored keys and Python values, each document photo named by the requirement it
fulfils, attachments in a conversation named by what they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from layanwarga.models import Media, Ticket

# The letter forms' details (actions/letters.py ActionSubmitLetter) and a partner's complaint's,
# as a clerk reads them.
DETAIL_LABELS = {
    "nama_usaha": "Nama usaha",
    "jenis_usaha": "Jenis usaha",
    "alamat_usaha": "Alamat usaha",
    "usaha_sejak": "Usaha berjalan sejak",
    "tinggal_sejak": "Tinggal di alamat ini sejak",
    "nik_dikonfirmasi_pemohon": "Pemeriksaan NIK",
    # A partner's complaint (Open311, dashboard/views/open311.py).
    "mitra": "Dikirim oleh mitra (Open311)",
    "mitra_account_id": "Nomor akun pelapor di sistem mitra",
    "media_url": "Tautan foto dari mitra",
}
DETAIL_VALUES = {
    (
        "nik_dikonfirmasi_pemohon",
        True,
    ): "Pola NIK tidak lazim; pemohon menyatakan sudah benar. Cocokkan dengan KTP.",
}
# Details that tell who the reporter is, hidden with their name from those who may not see it.
IDENTIFYING_DETAILS = frozenset({"mitra_account_id"})
# The documents of a letter request: [{"persyaratan": requirement, "media_id": photo}, ...].
DOCUMENTS = "dokumen"
ATTACHMENT_LABELS = {
    "image": "📷 Foto",
    "document": "📄 Dokumen",
    "video": "🎥 Video",
    "audio": "🔊 Rekaman suara",
}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if isinstance(value, Mapping):
        return "; ".join(f"{str(k).replace('_', ' ')}: {_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value)
    return str(value)


def detail_rows(details: Optional[Mapping[str, Any]], hide_identity: bool = False) -> List[Tuple[str, str]]:
    """(label, text) per stored detail; the documents are shown with their photos instead."""
    rows = []
    for key, value in (details or {}).items():
        if key == DOCUMENTS or value in (None, "", [], {}) or (hide_identity and key in IDENTIFYING_DETAILS):
            continue
        label = DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())
        known = DETAIL_VALUES.get((key, value)) if isinstance(value, (bool, str, int)) else None
        rows.append((label, known or _text(value)))
    return rows


@dataclass(frozen=True)
class MediaItem:
    id: int
    label: str
    is_image: bool


def _document_labels(session: Session, ticket: Ticket) -> Dict[Any, str]:
    """Media id (and stored file) -> the requirement it fulfils. A resubmitted request's
    documents are copies of the rejected one's, with new ids but the same file."""
    labels: Dict[Any, str] = {}
    for document in ticket.detail(DOCUMENTS) or []:
        if isinstance(document, Mapping) and isinstance(document.get("media_id"), int):
            labels[document["media_id"]] = str(document.get("persyaratan") or "").strip()
    own = {m.id for m in ticket.media}
    others = [media_id for media_id in labels if media_id not in own]
    if others:
        for media_id, path in session.execute(
            select(Media.id, Media.storage_path).where(Media.id.in_(others))
        ):
            labels.setdefault(path, labels[media_id])
    return labels


def media_items(session: Session, ticket: Ticket) -> List[MediaItem]:
    """The ticket's photos and documents, each with a label: the requirement for a letter
    request's document, else the citizen's caption, else "Foto 1", "Dokumen 2", ..."""
    labels = _document_labels(session, ticket)
    items = []
    for index, media in enumerate(ticket.media, start=1):
        is_image = (media.mime_type or "").startswith("image/")
        label = labels.get(media.id) or labels.get(media.storage_path) or (media.caption or "").strip()
        items.append(
            MediaItem(int(media.id), label or f"{'Foto' if is_image else 'Dokumen'} {index}", is_image)
        )
    return items


def attachment_label(kind: Optional[str]) -> str:
    """How a conversation line's attachment reads, by the WhatsApp message type it came as."""
    return ATTACHMENT_LABELS.get(kind or "", "📎 Lampiran")
