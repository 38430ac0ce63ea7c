"""Following a complaint: the follower becomes a supporter (once), their photo joins the ticket,
their anonymity choice is kept; every later state message and staff reply reaches them through
the outbox (a reply unless staff chose the reporter only), and they can answer the closing
question and rate on their own row."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from layanwarga import db, feedback, notifications, states, supporters
from layanwarga.models import Citizen, Media, Notification, Supporter, Ticket, TicketFeedback
from tests.dashboard.support import INST, complaint, ticket_id

REPORTER, NEIGHBOUR = "6281111111111", "6282222222222"


def follow(number: str, sender: str = NEIGHBOUR, key: str = "f1", **overrides: Any) -> supporters.FollowView:
    draft = supporters.FollowDraft(
        number=number, sender=sender, idempotency_key=key, note="Lampu ini mati juga", **overrides
    )
    return supporters.follow(INST, draft)


def test_following_adds_one_supporter_with_their_photo_and_choices(db_url: str) -> None:
    number = complaint("r1", sender=REPORTER).number
    with db.session_scope(write=True) as session:
        photo = Media(whatsapp_media_id="wamid.photo", purpose="aduan")
        session.add(photo)
        session.flush()
        photo_id = int(photo.id)
    view = follow(number.lower(), media_ids=[photo_id], anonymous=True, confidential=True)
    assert view.created and view.number == number and view.supporters == 1
    # Twice (a retried submission, or following again) stays one supporter.
    assert not follow(number, key="f2").created
    # The reporter does not become a supporter of their own report.
    assert not follow(number, sender=REPORTER, key="f3").created
    with db.session_scope() as session:
        rows = session.execute(select(Supporter)).scalars().all()
        assert len(rows) == 1 and rows[0].is_anonymous and rows[0].is_confidential
        assert rows[0].note == "Lampu ini mati juga"
        assert session.get(Media, photo_id).ticket_id == ticket_id(number)
        assert supporters.counts(session, [ticket_id(number)]) == {ticket_id(number): 1}


def test_only_an_open_complaint_can_be_followed(db_url: str) -> None:
    number = complaint("r1", sender=REPORTER).number
    notifications.change_state_and_notify(
        INST, ticket_id(number), states.DITOLAK, "staf:admin", note="Di luar wilayah."
    )
    with pytest.raises(supporters.NotFollowable):
        follow(number)
    with pytest.raises(supporters.NotFollowable):
        follow("ADU-2026-99999")


def test_supporters_get_every_later_state_message_and_the_closing_question(db_url: str) -> None:
    number = complaint("r1", sender=REPORTER).number
    follow(number)
    tid = ticket_id(number)
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    notifications.change_state_and_notify(INST, tid, states.SELESAI, "staf:pupr", note="Sudah diganti.")
    with db.session_scope() as session:
        sent = session.execute(select(Notification).order_by(Notification.id)).scalars().all()
        by_citizen: dict = {}
        for row in sent:
            by_citizen.setdefault(session.get(Citizen, row.citizen_id).sender_key, []).append(row)
        assert len(by_citizen[REPORTER]) == len(by_citizen[NEIGHBOUR]) == 2
        closing = by_citizen[NEIGHBOUR][-1]
        assert f"Laporan yang Bapak/Ibu ikuti *{number}*" in closing.text
        assert closing.interactive["type"] == "button"  # Sudah selesai / Belum selesai
    # Each answers and rates; the ticket's rating stays the reporter's.
    assert feedback.pending_number(NEIGHBOUR) == number
    assert feedback.rate(NEIGHBOUR, number, 2).ok
    assert feedback.rate(REPORTER, number, 5).ok
    with db.session_scope() as session:
        supporter = session.execute(select(Supporter)).scalars().one()
        assert supporter.rating == 2 and supporter.confirmation == feedback.CONFIRMED
        assert session.get(Ticket, tid).rating == 5
    # A supporter's "belum selesai" reopens the ticket.
    assert feedback.reopen(NEIGHBOUR, number, "Masih gelap malam ini").ok
    with db.session_scope() as session:
        assert session.get(Ticket, tid).state == states.DIPROSES
        assert session.execute(select(TicketFeedback)).scalars().one().reopen_count == 1


def test_a_stranger_still_cannot_answer(db_url: str) -> None:
    number = complaint("r1", sender=REPORTER).number
    tid = ticket_id(number)
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    notifications.change_state_and_notify(INST, tid, states.SELESAI, "staf:pupr", note="Sudah.")
    assert feedback.rate("6289999999999", number, 1).status == "not_found"


def test_a_staff_reply_reaches_every_supporter_unless_staff_chose_the_reporter_only(db_url: str) -> None:
    number = complaint("r1", sender=REPORTER, reporter_name="Rahasia Sekali", anonymous=True).number
    follow(number)
    follow(number, sender="6283333333333", key="f2")
    tid = ticket_id(number)
    with db.session_scope(write=True) as session:
        ticket = session.get(Ticket, tid)
        everyone = notifications.reply(INST, session, ticket, "Petugas datang besok pagi.", "staf:pupr")
        personal = notifications.reply(
            INST,
            session,
            ticket,
            "Mohon kirim foto lokasi yang lebih dekat.",
            "staf:pupr",
            audience=notifications.REPLY_REPORTER_ONLY,
        )
    assert (everyone.supporters, personal.supporters) == (2, 0)
    with db.session_scope() as session:
        rows = session.execute(select(Notification).order_by(Notification.id)).scalars().all()
        to = {row.dedupe_key: (session.get(Citizen, row.citizen_id).sender_key, row.text) for row in rows}
        assert all(row.kind == notifications.KIND_REPLY for row in rows)
        reporter_copy = to[f"reply:{everyone.change_id}"]
        assert reporter_copy[0] == REPORTER and f"terkait *{number}*:" in reporter_copy[1]
        copies = [value for key, value in to.items() if key.startswith(f"reply:{everyone.change_id}:")]
        assert sorted(sender for sender, _ in copies) == sorted([NEIGHBOUR, "6283333333333"])
        for _, text in copies:
            # About the report they follow; nothing around staff's text tells who reported it.
            assert f"terkait laporan yang Bapak/Ibu ikuti *{number}*:\nPetugas datang besok pagi." in text
            for secret in ("Rahasia", "Sekali", REPORTER, "Siti"):
                assert secret not in text
        # The personal question went to the reporter alone.
        assert [key for key in to if key.startswith(f"reply:{personal.change_id}")] == [
            f"reply:{personal.change_id}"
        ]
        recipients = notifications.recipients_by_change(rows)
        assert recipients[everyone.change_id] == notifications.Recipients(True, True, 2)
        assert recipients[personal.change_id] == notifications.Recipients(True, True, 0)
        history = session.get(Ticket, tid).history
        assert [h.note for h in history[-2:]] == [
            "Petugas datang besok pagi.",
            "Mohon kirim foto lokasi yang lebih dekat.",
        ]


def test_a_reply_to_an_unknown_audience_is_refused_and_queues_nothing(db_url: str) -> None:
    number = complaint("r1", sender=REPORTER).number
    follow(number)
    with pytest.raises(ValueError):
        with db.session_scope(write=True) as session:
            notifications.reply(
                INST,
                session,
                session.get(Ticket, ticket_id(number)),
                "Halo",
                "staf:admin",
                audience="semuanya",
            )
    with db.session_scope() as session:
        assert session.execute(select(Notification)).scalars().all() == []
