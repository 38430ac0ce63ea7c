"""Human handoff: pausing the assistant for one citizen, the live inbox, handing back."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

from layanwarga import conversation_log, db, handoff, notifications
from layanwarga.models import Handoff, Notification, StaffUser
from tests.dashboard.support import INST, make_user

SENDER = "6281234567890"
MONDAY_MORNING = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)  # 09.00 WIB
SATURDAY_NIGHT = dt.datetime(2026, 11, 28, 14, 0, tzinfo=dt.timezone.utc)  # 21.00 WIB


def test_open_pauses_the_assistant_and_is_idempotent(db_url: str) -> None:
    assert handoff.is_active(SENDER) is False
    first = handoff.open_handoff(SENDER, "minta_petugas", inst=INST, now=MONDAY_MORNING)
    again = handoff.open_handoff(SENDER, "minta_petugas", inst=INST, now=MONDAY_MORNING)
    assert first.created and not again.created and again.id == first.id
    assert first.office_open and first.next_opening is None
    assert handoff.is_active(SENDER) is True
    assert handoff.is_active("6289999999999") is False


def test_outside_office_hours_says_when_an_officer_answers(db_url: str) -> None:
    opened = handoff.open_handoff(SENDER, inst=INST, now=SATURDAY_NIGHT)
    assert opened.office_open is False
    assert opened.next_opening == dt.datetime(2026, 11, 30, 7, 30, tzinfo=INST.timezone)
    with db.session_scope() as session:
        assert session.get(Handoff, opened.id).opened_outside_hours is True


def test_concurrent_opens_make_one_handoff(db_url: str) -> None:
    results: list = []

    def open_one() -> None:
        results.append(handoff.open_handoff(SENDER, inst=INST))

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.id for r in results}) == 1 and sum(r.created for r in results) == 1
    with db.session_scope() as session:
        assert session.execute(select(func.count(Handoff.id))).scalar_one() == 1


def test_messages_while_paused_are_kept_with_unread_counts(db_url: str) -> None:
    conversation_log.log_inbound(SENDER, "saya mau bicara dengan petugas", wamid="wamid.1")
    opened = handoff.open_handoff(SENDER, inst=INST)
    conversation_log.log_inbound(SENDER, "lampu di gang 3 mati sudah seminggu", wamid="wamid.2")
    last = conversation_log.log_inbound(SENDER, "halo?", wamid="wamid.3")
    with db.session_scope() as session:
        [summary] = handoff.list_open(session)
        assert summary.id == opened.id and summary.unread == 3 and summary.last_text == "halo?"
        handoff.mark_read(session, opened.id, last)
    with db.session_scope() as session:
        assert handoff.list_open(session)[0].unread == 0
        texts = [m.text for m in conversation_log.history(session, SENDER)]
        assert texts == ["saya mau bicara dengan petugas", "lampu di gang 3 mati sudah seminggu", "halo?"]


def test_staff_reply_goes_through_the_outbox_and_hand_back_tells_the_citizen(db_url: str) -> None:
    uid = make_user("front", "admin")
    opened = handoff.open_handoff(SENDER, inst=INST)
    with db.session_scope(write=True) as session:
        user = session.get(StaffUser, uid)
        nid = handoff.reply(session, opened.id, "Selamat pagi Bapak, kami bantu cek.", user)
    with db.session_scope() as session:
        row = session.get(Notification, nid)
        assert row.kind == notifications.KIND_CHAT and row.created_by == "staf:front"
        h = session.get(Handoff, opened.id)
        assert h.first_response_at is not None and h.assigned_to == uid
    assert handoff.close_handoff(opened.id, actor="staf:front", inst=INST) is True
    assert handoff.close_handoff(opened.id, actor="staf:front", inst=INST) is False
    assert handoff.is_active(SENDER) is False
    with db.session_scope() as session:
        last = session.execute(select(Notification).order_by(Notification.id.desc())).scalars().first()
        assert last.kind == notifications.KIND_HANDOFF and "kembali dilayani asisten" in last.text
        assert handoff.list_open(session) == []
    # A new request later opens a new handoff.
    assert handoff.open_handoff(SENDER, inst=INST).created


def test_reply_to_a_closed_handoff_is_refused(db_url: str) -> None:
    import pytest

    uid = make_user("front2", "admin")
    opened = handoff.open_handoff(SENDER, inst=INST)
    handoff.close_handoff(opened.id, notify=False, inst=INST)
    with db.session_scope() as session:
        with pytest.raises(LookupError):
            handoff.reply(session, opened.id, "halo", session.get(StaffUser, uid))


def test_conversation_history_after_id(db_url: str) -> None:
    ids = [conversation_log.log_inbound(SENDER, f"pesan {i}") for i in range(5)]
    conversation_log.log_outbound(SENDER, "balasan asisten")
    with db.session_scope() as session:
        later = conversation_log.history(session, SENDER, after_id=ids[2])
        assert [m.text for m in later] == ["pesan 3", "pesan 4", "balasan asisten"]
        assert later[-1].direction == "out" and later[-1].actor == "asisten"
        assert [m.text for m in conversation_log.history(session, SENDER, limit=2)] == [
            "pesan 4",
            "balasan asisten",
        ]


def test_nik_numbers_are_masked_in_the_conversation_log(db_url: str) -> None:
    conversation_log.log_inbound(SENDER, "NIK saya 6271 0145 0685 0003 pak")
    with db.session_scope() as session:
        [message] = conversation_log.history(session, SENDER)
    assert "6271********0003" in message.text and "0145" not in message.text


# -- a citizen waiting for an officer is never left without an answer (issue 26 item 1) ----------
def test_the_wait_counts_from_opening_in_office_hours_and_from_the_next_opening_outside(db_url: str) -> None:
    inside = MONDAY_MORNING.replace(tzinfo=None)
    assert handoff.answer_due(INST, inside, False) == inside + dt.timedelta(minutes=INST.handoff_wait_minutes)
    # Saturday 21.00 WIB: the office opens Monday 07.30 WIB (00.30 UTC); the wait starts then.
    assert handoff.answer_due(INST, SATURDAY_NIGHT.replace(tzinfo=None), True) == (
        dt.datetime(2026, 11, 30, 0, 30) + dt.timedelta(minutes=INST.handoff_wait_minutes)
    )


def test_an_unanswered_citizen_is_told_and_handed_back_once(db_url: str) -> None:
    opened = handoff.open_handoff(SENDER, inst=INST, now=MONDAY_MORNING)
    due = MONDAY_MORNING.replace(tzinfo=None) + dt.timedelta(minutes=INST.handoff_wait_minutes)
    assert handoff.expire_unanswered(INST, now=due - dt.timedelta(seconds=1)) == []
    assert handoff.expire_unanswered(INST, now=due) == [opened.id]
    assert handoff.expire_unanswered(INST, now=due) == []  # once
    assert handoff.is_active(SENDER) is False
    with db.session_scope() as session:
        row = session.get(Handoff, opened.id)
        assert row.closed_by == handoff.CLOSED_UNANSWERED
        [notice] = session.execute(select(Notification)).scalars().all()
        assert f"dalam {INST.handoff_wait_minutes} menit" in notice.text and "*petugas*" in notice.text


def test_an_answered_citizen_is_never_handed_back_by_the_clock(db_url: str) -> None:
    opened = handoff.open_handoff(SENDER, inst=INST, now=MONDAY_MORNING)
    officer = make_user("petugas1", "admin")
    with db.session_scope(write=True) as session:
        handoff.reply(
            session, opened.id, "Selamat pagi, ada yang bisa kami bantu?", session.get(StaffUser, officer)
        )
    later = MONDAY_MORNING.replace(tzinfo=None) + dt.timedelta(hours=5)
    assert handoff.expire_unanswered(INST, now=later) == []
    assert handoff.is_active(SENDER) is True


def test_the_waiting_citizen_hears_once_that_messages_are_forwarded(db_url: str) -> None:
    opened = handoff.open_handoff(SENDER, inst=INST, now=MONDAY_MORNING)
    assert handoff.remind_once(SENDER) is True
    assert handoff.remind_once(SENDER) is False
    assert handoff.flag_emergency(SENDER) == opened.id
    with db.session_scope() as session:
        assert session.get(Handoff, opened.id).emergency_at is not None
    assert handoff.leave(SENDER) is True and handoff.is_active(SENDER) is False
    assert handoff.leave(SENDER) is False
    assert handoff.flag_emergency(SENDER) is None
