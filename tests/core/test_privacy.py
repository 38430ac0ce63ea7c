"""Data rights: a citizen sees what is held and can have it erased everywhere, while the
tickets stay as anonymous records for the statistics."""
from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.future import create_engine

from layanwarga import conversation_log, db, privacy, tickets
from layanwarga.config import get_institution
from layanwarga.models import Citizen, Media, StateChange, Ticket, utcnow

INST = get_institution()
SENDER, OTHER = "6281234567890", "6289876543210"


def submit(sender: str, key: str, media_ids=()) -> str:  # type: ignore[no-untyped-def]
    return tickets.submit_letter_request(
        INST,
        tickets.LetterDraft(letter_type="sktm", sender=sender, idempotency_key=key, applicant_name="Siti Aminah",
                            applicant_nik="6271024507850003", applicant_address="Jl. A RT 1 RW 2",
                            applicant_phone="+6281234567890", purpose="Berobat", media_ids=media_ids),
    ).number


def test_a_citizen_sees_what_is_held(db_url: str) -> None:
    number = submit(SENDER, "k1")
    with db.session_scope() as session:
        conversation_log.add(session, sender=SENDER, direction="in", text="halo", actor="warga")
    held = privacy.summary(SENDER)
    assert held.known and held.letter_requests == [number] and held.messages == 1
    assert held.phone_masked == "6281*****7890"
    assert not privacy.summary("6280000000000").known


def test_erasure_removes_personal_data_everywhere_but_keeps_anonymous_tickets(db_url: str, tmp_path: Path) -> None:
    photo, shared = tmp_path / "ktp.jpg", tmp_path / "shared.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    shared.write_bytes(b"\xff\xd8\xff")
    with db.session_scope() as session:
        rows = [Media(storage_path=str(photo)), Media(storage_path=str(shared))]
        session.add_all(rows)
        session.flush()
        ids = [m.id for m in rows]
    mine = submit(SENDER, "k1", ids)
    theirs = submit(OTHER, "k2")
    with db.session_scope() as session:
        other_ticket = session.execute(select(Ticket.id).where(Ticket.number == theirs)).scalar_one()
        session.add(Media(storage_path=str(shared), ticket_id=other_ticket))
        conversation_log.add(session, sender=SENDER, direction="in", text="nik saya ...", actor="warga")

    report = privacy.erase(SENDER)
    assert (report.tickets_anonymised, report.files_deleted) == (1, 1)
    assert not photo.exists() and shared.exists()  # another citizen's ticket still holds that file
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == mine)).scalar_one()
        assert (ticket.state, ticket.category) == ("diajukan", "sktm")  # the statistics keep it
        assert ticket.citizen_id is None and ticket.applicant_nik is None and ticket.applicant_name is None
        assert ticket.description == privacy.ERASED_TEXT
        assert all(h.note is None for h in session.execute(select(StateChange).where(StateChange.ticket_id == ticket.id)).scalars())
        assert session.execute(select(func.count(Citizen.id)).where(Citizen.wa_id == SENDER)).scalar_one() == 0
        assert session.execute(select(func.count(conversation_log.ConversationMessage.id))).scalar_one() == 0
        assert session.execute(select(Ticket).where(Ticket.number == theirs)).scalar_one().applicant_name == "Siti Aminah"
        request = session.execute(select(privacy.DataRequest).where(privacy.DataRequest.kind == "hapus")).scalar_one()
        assert request.status == "menunggu_percakapan" and SENDER not in request.requester


def test_the_conversation_store_is_erased_after_the_erasing_turn(db_url: str, tmp_path: Path) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_extensions.tracker_store import LayanWargaTrackerStore

    tracker_db = tmp_path / "tracker.db"
    store = LayanWargaTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tracker_db))
    for sender in (SENDER, OTHER):
        tracker = DialogueStateTracker(sender, [])
        tracker.update(UserUttered("hapus data saya"))
        asyncio.run(store.save(tracker))
    privacy.erase(SENDER)
    url = f"sqlite:///{tracker_db}"
    assert privacy.erase_conversations(tracker_url=url) == 0  # too early: the turn is still running
    assert privacy.erase_conversations(utcnow() + dt.timedelta(minutes=5), tracker_url=url) == 1
    with create_engine(url).connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT DISTINCT sender_id FROM events"))] == [OTHER]
    with db.session_scope() as session:
        request = session.execute(select(privacy.DataRequest)).scalar_one()
        assert request.status == "selesai" and request.sender_pending is None
