"""Merging a duplicate complaint into the survivor: its citizens become supporters and are told
the new number through the outbox, both histories keep it, the duplicate closes; splitting
takes it out again (an undo within a day, later only with a reason)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from layanwarga import db, merging, public_tickets, states, supporters
from layanwarga.models import Citizen, Notification, Supporter, Ticket
from tests.dashboard.support import INST, complaint, ticket_id

A, B, C = "6281111111111", "6282222222222", "6283333333333"


def setup_pair() -> tuple:
    survivor = complaint("s", sender=A).number
    duplicate = complaint("d", sender=B, anonymous=True).number
    supporters.follow(
        INST, supporters.FollowDraft(number=duplicate, sender=C, idempotency_key="c", note="sama")
    )
    return survivor, duplicate


def merge(duplicate: str, survivor: str, now: dt.datetime | None = None) -> merging.MergeResult:
    with db.session_scope(write=True) as session:
        return merging.merge(INST, session, duplicate, survivor, "staf:admin", now=now)


def test_merge_moves_citizens_tells_them_and_keeps_both_histories(db_url: str) -> None:
    survivor, duplicate = setup_pair()
    result = merge(duplicate, survivor)
    assert result.moved == 2
    with db.session_scope() as session:
        s, d = session.get(Ticket, ticket_id(survivor)), session.get(Ticket, ticket_id(duplicate))
        assert s.supporter_count == 2 and d.state == states.DITOLAK and d.details["merged_into"] == survivor
        moved = (
            session.execute(select(Supporter).where(Supporter.ticket_id == s.id).order_by(Supporter.id))
            .scalars()
            .all()
        )
        assert [m.is_anonymous for m in moved] == [True, False]  # the duplicate's reporter stays anonymous
        assert "digabung" in (s.history[-1].internal_note or "") and survivor in (d.history[-1].note or "")
        told = (
            session.execute(select(Notification).where(Notification.kind == merging.KIND_MERGE))
            .scalars()
            .all()
        )
        assert {session.get(Citizen, n.citizen_id).wa_id for n in told} == {B, C}
        assert all(f"*{survivor}*" in n.text for n in told)


@pytest.mark.parametrize("bad", ["same", "closed", "category"])
def test_a_merge_that_makes_no_sense_is_refused(db_url: str, bad: str) -> None:
    survivor, duplicate = setup_pair()
    if bad == "same":
        survivor = duplicate
    elif bad == "category":
        survivor = complaint("x", category="lapor_sampah").number
    else:
        merge(duplicate, survivor)
    with pytest.raises(merging.MergeError):
        merge(duplicate, survivor)


def test_split_within_a_day_undoes_the_merge(db_url: str) -> None:
    survivor, duplicate = setup_pair()
    merge(duplicate, survivor)
    with db.session_scope(write=True) as session:
        result = merging.split(INST, session, duplicate, "staf:admin")
    assert result.notified == 2
    with db.session_scope() as session:
        s, d = session.get(Ticket, ticket_id(survivor)), session.get(Ticket, ticket_id(duplicate))
        assert s.supporter_count == 0 and d.state == states.BARU and d.closed_at is None
        assert "merged_into" not in d.details and len(d.history) == 3  # received, merged, split


def test_after_a_day_a_split_needs_a_reason(db_url: str) -> None:
    survivor, duplicate = setup_pair()
    merge(duplicate, survivor, now=dt.datetime.utcnow() - dt.timedelta(days=2))
    with db.session_scope(write=True) as session, pytest.raises(merging.SplitNeedsReason):
        merging.split(INST, session, duplicate, "staf:admin")
    with db.session_scope(write=True) as session:
        merging.split(INST, session, duplicate, "staf:admin", reason="Lampu di tiang yang berbeda")
    with db.session_scope() as session:
        assert "tiang yang berbeda" in session.get(Ticket, ticket_id(survivor)).history[-1].internal_note


def test_a_ticket_the_caller_may_not_act_on_reads_as_unknown(db_url: str) -> None:
    survivor, duplicate = setup_pair()
    hidden = ticket_id(survivor)

    def allowed(ticket: Ticket) -> bool:
        return ticket.id != hidden

    with db.session_scope(write=True) as session, pytest.raises(merging.MergeError) as refused:
        merging.merge(INST, session, duplicate, survivor, "staf:pupr", allowed=allowed)
    assert str(refused.value) == f"Aduan {survivor} tidak ditemukan."  # as for a number that does not exist
    merge(duplicate, survivor)
    with db.session_scope(write=True) as session, pytest.raises(merging.MergeError, match="minta admin"):
        merging.split(INST, session, duplicate, "staf:pupr", allowed=allowed)
    with db.session_scope() as session:
        assert merging.merged_into(session.get(Ticket, ticket_id(duplicate))) == survivor
        merged = session.execute(select(Ticket.number).where(merging.is_merged())).scalars().all()
        assert merged == [duplicate]


def test_the_public_reads_a_merged_duplicate_as_merged_not_rejected(db_url: str) -> None:
    survivor, duplicate = setup_pair()
    merge(duplicate, survivor)
    with db.session_scope() as session:
        found = public_tickets.find(session, INST, duplicate)  # a row of the public columns
        whole = public_tickets.public_view(INST, session.get(Ticket, ticket_id(duplicate)))
        kept = public_tickets.find(session, INST, survivor)
    assert found is not None and found.state_label == whole.state_label == f"Digabung ke {survivor}"
    assert found.status == public_tickets.CLOSED
    assert kept is not None and kept.state_label == states.LABELS[kept.state]
