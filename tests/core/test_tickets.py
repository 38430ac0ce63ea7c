"""Ticket service: routing, SLA, idempotent submissions, ownership, state history."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from layanwarga import db, states, tickets
from layanwarga.config import get_institution
from layanwarga.models import Media, StateChange, Ticket

INST = get_institution()
MONDAY_MORNING = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)  # 09.00 WIB


def complaint(key: str = "k1", sender: str = "6281234567890", **overrides) -> tickets.ComplaintDraft:
    values = dict(
        category="lapor_jalan_rusak",
        description="Jalan berlubang besar di depan SDN 3",
        sender=sender,
        idempotency_key=key,
        reporter_name="Siti",
        location_text="Jl. Merdeka RT 3 RW 5",
        rt="3",
        rw="5",
    )
    values.update(overrides)
    return tickets.ComplaintDraft(**values)


def test_complaint_is_numbered_routed_and_given_a_due_date(db_url: str) -> None:
    result = tickets.submit_complaint(INST, complaint(), now=MONDAY_MORNING)
    assert result.number == "ADU-2026-00001"
    assert result.state == states.BARU
    assert result.agency_name == INST.agencies["PUPR"].name
    # 3 verification days + 7 follow-up days, counted in working days from Monday 23 November.
    assert result.due_date == dt.date(2026, 12, 7)
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert ticket.agency_code == "PUPR"
        assert [(h.from_state, h.to_state, h.actor) for h in ticket.history] == [(None, "baru", "warga")]


def test_same_submission_twice_creates_one_ticket(db_url: str) -> None:
    first = tickets.submit_complaint(INST, complaint(key="same"), now=MONDAY_MORNING)
    again = tickets.submit_complaint(INST, complaint(key="same"), now=MONDAY_MORNING)
    assert again.number == first.number and again.created is False
    with db.session_scope() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1


def test_concurrent_duplicate_submissions_create_one_ticket(db_url: str) -> None:
    results: list = []

    def submit() -> None:
        results.append(tickets.submit_complaint(INST, complaint(key="race"), now=MONDAY_MORNING))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.number for r in results}) == 1
    assert sum(r.created for r in results) == 1


def test_citizen_sees_only_own_tickets(db_url: str) -> None:
    mine = tickets.submit_complaint(INST, complaint(key="a", sender="628111"), now=MONDAY_MORNING)
    theirs = tickets.submit_complaint(INST, complaint(key="b", sender="628222"), now=MONDAY_MORNING)
    assert tickets.find_for_citizen(INST, "628111", mine.number) is not None
    assert tickets.find_for_citizen(INST, "628111", theirs.number) is None
    assert tickets.find_for_citizen(INST, "628111", "ADU-2026-09999") is None
    assert [t.number for t in tickets.recent_for_citizen(INST, "628111")] == [mine.number]


def test_recent_lists_complaints_and_letters_newest_first(db_url: str) -> None:
    first = tickets.submit_complaint(INST, complaint(key="c1"), now=MONDAY_MORNING)
    letter = tickets.submit_letter_request(
        INST,
        tickets.LetterDraft(
            letter_type="sktm",
            sender="6281234567890",
            idempotency_key="l1",
            applicant_name="Siti Aminah",
            applicant_nik="6271024507850003",
            applicant_address="Jl. Merdeka 5",
            applicant_phone="6281234567890",
            purpose="Berobat",
        ),
        now=MONDAY_MORNING + dt.timedelta(hours=1),
    )
    assert letter.number == "SKTM-2026-00001"
    assert letter.applicant_nik_masked == "6271********0003"
    recent = tickets.recent_for_citizen(INST, "6281234567890")
    assert [t.number for t in recent] == [letter.number, first.number]


def test_media_of_the_sender_is_attached_but_not_another_citizens(db_url: str) -> None:
    with db.session_scope() as session:
        from layanwarga import citizens

        other = citizens.upsert_sender(session, "628999")
        own_media = Media(whatsapp_media_id="m1", mime_type="image/jpeg")
        foreign_media = Media(whatsapp_media_id="m2", mime_type="image/jpeg", citizen_id=other.id)
        session.add_all([own_media, foreign_media])
        session.flush()
        ids = [own_media.id, foreign_media.id]
    tickets.submit_complaint(INST, complaint(media_ids=ids), now=MONDAY_MORNING)
    with db.session_scope() as session:
        attached = (
            session.execute(select(Media.whatsapp_media_id).where(Media.ticket_id.isnot(None)))
            .scalars()
            .all()
        )
    assert attached == ["m1"]


def test_state_changes_follow_the_workflow_and_keep_history(db_url: str) -> None:
    tickets.submit_complaint(INST, complaint(), now=MONDAY_MORNING)
    with db.session_scope() as session:
        ticket_id = session.execute(select(Ticket.id)).scalar_one()
    tickets.change_state(ticket_id, states.DIVERIFIKASI, "admin", "Lokasi benar")
    tickets.change_state(ticket_id, states.DITERUSKAN, "admin", "Ke DLH", agency_code="DLH")
    with pytest.raises(states.TransitionError):
        tickets.change_state(ticket_id, states.DIAJUKAN, "admin")
    with pytest.raises(states.TransitionError, match="wajib"):
        tickets.change_state(ticket_id, states.DITOLAK, "admin", "  ")
    with db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.agency_code == "DLH"
        history = session.execute(select(StateChange).order_by(StateChange.id)).scalars().all()
        assert [(h.to_state, h.actor, h.note) for h in history] == [
            ("baru", "warga", "Laporan diterima melalui WhatsApp."),
            ("diverifikasi", "admin", "Lokasi benar"),
            ("diteruskan", "admin", "Ke DLH"),
        ]
