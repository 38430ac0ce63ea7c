"""The notification outbox: texts composed once, enqueued atomically with the state change,
claimed once across workers, in order per citizen, failures kept visible."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, update

from layanwarga import conversation_log, db, feedback, notifications, states
from layanwarga.models import Notification, StateChange, Ticket
from tests.dashboard.support import INST, complaint, letter, ticket_id


def _rows(ticket: int):  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        return notifications.for_ticket(session, ticket)


def test_state_change_and_message_are_stored_together(db_url: str) -> None:
    view = complaint("n1")
    tid = ticket_id(view.number)
    result = notifications.change_state_and_notify(
        INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR"
    )
    assert result.state == states.DITERUSKAN and result.notification_id
    [row] = _rows(tid)
    assert row.status == notifications.PENDING and row.kind == notifications.KIND_STATE
    assert view.number in row.text and INST.agencies["PUPR"].name in row.text
    with db.session_scope() as session:
        history = (
            session.execute(select(StateChange).where(StateChange.ticket_id == tid).order_by(StateChange.id))
            .scalars()
            .all()
        )
        assert [(h.to_state, h.actor) for h in history] == [("baru", "warga"), ("diteruskan", "staf:admin")]
        # The citizen's conversation shows what was sent, linked to the outbox row.
        logged = conversation_log.history(session, "6281234567890")
        assert logged[-1].notification_id == row.id and logged[-1].direction == "out"


def test_refused_transition_stores_nothing(db_url: str) -> None:
    tid = ticket_id(complaint("n2").number)
    with pytest.raises(states.TransitionError):
        notifications.change_state_and_notify(INST, tid, states.SELESAI, "staf:admin", note="")
    assert _rows(tid) == []
    with db.session_scope() as session:
        assert session.get(Ticket, tid).state == states.BARU


def test_resolved_complaint_asks_for_confirmation_with_buttons(db_url: str) -> None:
    view = complaint("n3")
    tid = ticket_id(view.number)
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    notifications.change_state_and_notify(
        INST, tid, states.SELESAI, "staf:pupr", note="Lubang sudah ditambal."
    )
    row = _rows(tid)[-1]
    assert "Lubang sudah ditambal." in row.text
    buttons = row.interactive["action"]["buttons"]
    assert [b["reply"]["title"] for b in buttons] == ["Sudah selesai", "Belum selesai"]
    assert buttons[0]["reply"]["id"] == f'/konfirmasi_selesai{{"nomor_tiket": "{view.number}"}}'
    assert buttons[1]["reply"]["id"].startswith("/belum_selesai{")
    assert all(len(b["reply"]["title"]) <= 20 for b in buttons)
    assert len(row.interactive["body"]["text"]) <= 1024
    with db.session_scope() as session:
        assert feedback.for_ticket(session, tid).confirmation == feedback.WAITING


def test_rejection_carries_the_reason_and_how_to_resubmit(db_url: str) -> None:
    tid = ticket_id(letter("n4").number)
    notifications.change_state_and_notify(
        INST, tid, states.DITOLAK, "staf:surat", note="Foto KK tidak terbaca."
    )
    text = _rows(tid)[-1].text
    assert "Foto KK tidak terbaca." in text
    assert "ajukan SKTM" in text and "Foto Kartu Keluarga (KK)" in text


def test_ready_letter_says_where_and_when(db_url: str) -> None:
    tid = ticket_id(letter("n5").number)
    notifications.change_state_and_notify(INST, tid, states.DIVERIFIKASI, "staf:surat")
    notifications.change_state_and_notify(INST, tid, states.SIAP_DIAMBIL, "staf:surat")
    text = _rows(tid)[-1].text
    assert INST.letters["sktm"].pickup in text
    assert "Senin–Kamis: 07.30–16.00" in text


def test_complaint_texts_exist_for_every_staff_transition(db_url: str) -> None:
    tid = ticket_id(complaint("n6").number)
    for target, note, agency in [
        (states.DIVERIFIKASI, None, None),
        (states.DITERUSKAN, None, "PUPR"),
        (states.DITERUSKAN, "Salah OPD", "PERKIM"),
        (states.DIPROSES, "Tim dijadwalkan Kamis", None),
        (states.DITOLAK, "Lokasi di luar wilayah", None),
    ]:
        notifications.change_state_and_notify(INST, tid, target, "staf:admin", note=note, agency_code=agency)
    texts = [row.text for row in _rows(tid)]
    assert len(texts) == 5
    assert "kami alihkan" in texts[2] and INST.agencies["PERKIM"].name in texts[2]
    assert "Tim dijadwalkan Kamis" in texts[3]
    assert "Lokasi di luar wilayah" in texts[4] and "lapor" in texts[4]
    for text in texts:
        assert "Bapak/Ibu" in text


def test_claims_are_exclusive_across_concurrent_workers(db_url: str) -> None:
    for i in range(12):
        tid = ticket_id(complaint(f"c{i}", sender=f"62812000000{i:02d}").number)
        notifications.change_state_and_notify(INST, tid, states.DIVERIFIKASI, "staf:admin")
    claimed: list = []
    lock = threading.Lock()

    def worker() -> None:
        ids = notifications.claim_due(50)
        with lock:
            claimed.extend(ids)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 12


def test_one_citizen_gets_messages_in_order(db_url: str) -> None:
    tid = ticket_id(complaint("o1").number)
    notifications.change_state_and_notify(INST, tid, states.DIVERIFIKASI, "staf:admin")
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    first, second = [r.id for r in _rows(tid)]
    assert notifications.claim_due(10) == [first]
    # The first waits for a retry: the second must not overtake it.
    notifications.mark_error(first, "HTTP 500", retryable=True)
    assert notifications.claim_due(10) == []
    with db.session_scope() as session:
        session.execute(
            update(Notification)
            .where(Notification.id == first)
            .values(next_attempt_at=dt.datetime(2000, 1, 1))
        )
    assert notifications.claim_due(10) == [first]


def test_retry_backoff_then_failure_after_max_attempts(db_url: str) -> None:
    tid = ticket_id(complaint("r1").number)
    notifications.change_state_and_notify(INST, tid, states.DIVERIFIKASI, "staf:admin")
    [row] = _rows(tid)
    now = dt.datetime(2026, 11, 23, 3, 0)
    for attempt in range(1, notifications.MAX_ATTEMPTS + 1):
        with db.session_scope() as session:
            session.execute(update(Notification).where(Notification.id == row.id).values(next_attempt_at=now))
        assert notifications.claim_due(5, now=now) == [row.id]
        status = notifications.mark_error(row.id, "HTTP 503", retryable=True, now=now)
        assert status == (
            notifications.FAILED if attempt == notifications.MAX_ATTEMPTS else notifications.PENDING
        )
    failed = _rows(tid)[0]
    assert failed.status == notifications.FAILED and "HTTP 503" in failed.last_error
    with db.session_scope() as session:
        assert notifications.retry(session, row.id, "staf:admin") is True
    again = _rows(tid)[0]
    assert again.status == notifications.PENDING and again.attempts == 0


def test_backoff_grows_and_is_capped() -> None:
    assert notifications.backoff(1) == dt.timedelta(seconds=30)
    assert notifications.backoff(2) == dt.timedelta(seconds=60)
    assert notifications.backoff(20) == notifications.BACKOFF_MAX
    assert notifications.backoff(1, retry_after=120) == dt.timedelta(seconds=120)


def test_row_stuck_in_sending_becomes_failed_not_resent(db_url: str) -> None:
    tid = ticket_id(complaint("s1").number)
    notifications.change_state_and_notify(INST, tid, states.DIVERIFIKASI, "staf:admin")
    [claimed] = notifications.claim_due(5)
    with db.session_scope() as session:
        session.execute(
            update(Notification)
            .where(Notification.id == claimed)
            .values(claimed_at=dt.datetime.utcnow() - dt.timedelta(hours=1))
        )
    assert notifications.expire_stale() == 1
    row = _rows(tid)[0]
    assert row.status == notifications.FAILED and "tidak diketahui" in row.last_error
    assert notifications.claim_due(5) == []


def test_same_state_change_is_never_enqueued_twice(db_url: str) -> None:
    tid = ticket_id(complaint("d1").number)
    notifications.change_state_and_notify(INST, tid, states.DIVERIFIKASI, "staf:admin")
    [row] = _rows(tid)
    with db.session_scope() as session:
        from layanwarga.models import Citizen

        citizen = session.get(Citizen, row.citizen_id)
        again = notifications.enqueue(
            session,
            citizen=citizen,
            message=notifications.Outgoing("x"),
            kind="status",
            actor="t",
            dedupe_key=row.dedupe_key,
        )
        assert again.id == row.id
        assert session.execute(select(func.count(Notification.id))).scalar_one() == 1


def test_an_emoji_never_pushes_a_button_title_or_text_over_whatsapps_limits(db_url: str) -> None:
    """Meta counts its limits in UTF-16 units: 'Belum selesai 😟😟😟😟' is 18 characters but 22
    units, over the button title's 20, and 3,000 🙏 are 6,000 units, over a text's 4,096. What the
    outbox stores is what the notifier sends, so it must pass the simulator's copy of Meta's rules."""
    from simulator.graph_rules import check_message
    from whatsapp import messages

    tid = ticket_id(complaint("e1").number)
    notifications.change_state_and_notify(INST, tid, states.DIVERIFIKASI, "staf:admin")
    citizen_id = _rows(tid)[0].citizen_id
    with db.session_scope() as session:
        from layanwarga.models import Citizen

        citizen = session.get(Citizen, citizen_id)
        buttons = notifications.enqueue(
            session,
            citizen=citizen,
            kind=notifications.KIND_OTHER,
            actor="t",
            message=notifications.Outgoing(
                "Apakah jalannya sudah diperbaiki? 🙏",
                (
                    ("/konfirmasi_selesai", "Sudah selesai 👍👍👍👍"),
                    ("/belum_selesai", "Belum selesai 😟😟😟😟"),
                ),
            ),
        )
        long_text = notifications.enqueue(
            session,
            citizen=citizen,
            kind=notifications.KIND_OTHER,
            actor="t",
            message=notifications.Outgoing("🙏" * 3000),
        )
        stored = [(buttons.text, buttons.interactive), (long_text.text, long_text.interactive)]
    [(_, interactive), (text, no_buttons)] = stored
    assert no_buttons is None
    assert all(messages.units(b["reply"]["title"]) <= 20 for b in interactive["action"]["buttons"])
    assert messages.units(text) <= 4096
    as_stored = [
        {"type": "interactive", "interactive": interactive},
        {"type": "text", "text": {"body": text}},
    ]
    for message in as_stored:
        assert check_message(messages.with_recipient("6281234567890", message), lambda _: True) is None
