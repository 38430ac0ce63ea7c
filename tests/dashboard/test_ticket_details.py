"""A request's details and documents as a clerk reads them: labelled facts, no stored keys or
Python values, every document photo named by its requirement, also when a rejected request was
resubmitted with the same documents (copies with new ids)."""

from __future__ import annotations

from pathlib import Path
from typing import List

from sqlalchemy import select

from dashboard.ticket_details import attachment_label, detail_rows, media_items
from layanwarga import db, tickets
from layanwarga.models import Media, Ticket
from tests.dashboard.support import INST, MONDAY_MORNING

SENDER = "6281277770002"


def test_details_are_labelled_and_written_out() -> None:
    rows = detail_rows(
        {
            "nama_usaha": "Warung Bu Sri",
            "usaha_sejak": "2019",
            "nik_dikonfirmasi_pemohon": True,
            "dokumen": [{"persyaratan": "Foto KTP pemohon", "media_id": 3}],
            "catatan_baru": ["a", "b"],
            "kosong": "",
        }
    )
    assert rows == [
        ("Nama usaha", "Warung Bu Sri"),
        ("Usaha berjalan sejak", "2019"),
        ("Pemeriksaan NIK", "Pola NIK tidak lazim; pemohon menyatakan sudah benar. Cocokkan dengan KTP."),
        ("Catatan baru", "a; b"),
    ]


def test_attachments_are_named_by_what_they_are() -> None:
    assert [attachment_label(k) for k in ("image", "document", None)] == [
        "📷 Foto",
        "📄 Dokumen",
        "📎 Lampiran",
    ]


def _documents(folder: Path, count: int) -> List[int]:
    ids = []
    for index in range(count):
        path = folder / f"doc{index}.jpg"
        path.write_bytes(b"\xff\xd8\xff\xe0" + bytes([index]) * 40)
        with db.session_scope() as session:
            row = Media(mime_type="image/jpeg", storage_path=str(path), size_bytes=44)
            session.add(row)
            session.flush()
            ids.append(int(row.id))
    return ids


def _request(key: str, photos: List[int]) -> str:
    requirements = INST.letters["sktm"].requirements
    draft = tickets.LetterDraft(
        letter_type="sktm",
        sender=SENDER,
        idempotency_key=key,
        applicant_name="Budi",
        applicant_nik="6271014506850003",
        applicant_address="Jl. Kenanga 5",
        applicant_phone="081298765432",
        purpose="Sekolah / beasiswa",
        details={"dokumen": [{"persyaratan": r, "media_id": m} for r, m in zip(requirements, photos)]},
        media_ids=photos,
    )
    return tickets.submit_letter_request(INST, draft, now=MONDAY_MORNING).number


def test_each_document_is_named_by_its_requirement_also_after_a_resubmission(
    db_url: str, tmp_path: Path
) -> None:
    requirements = list(INST.letters["sktm"].requirements)
    photos = _documents(tmp_path, len(requirements))
    first = _request("first", photos)
    second = _request("again", photos)  # the citizen resubmits with the documents already sent
    with db.session_scope() as session:
        for number in (first, second):
            ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalars().one()
            assert [item.label for item in media_items(session, ticket)] == requirements, number
        copies = session.execute(select(Ticket).where(Ticket.number == second)).scalars().one().media
        assert not {m.id for m in copies} & set(photos)
