"""Closing the loop: confirm, reopen with the citizen's note, rate 1-5; own tickets only."""

from __future__ import annotations

from layanwarga import db, feedback, notifications, states
from layanwarga.models import StateChange, Ticket
from tests.dashboard.support import INST, complaint, ticket_id

SENDER = "6281234567890"


def resolved(key: str = "f1", sender: str = SENDER) -> str:
    view = complaint(key, sender=sender)
    tid = ticket_id(view.number)
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    notifications.change_state_and_notify(INST, tid, states.SELESAI, "staf:pupr", note="Sudah ditambal.")
    return view.number


def test_confirm_then_rate(db_url: str) -> None:
    number = resolved()
    assert feedback.pending_number(SENDER) == number
    assert feedback.confirm(SENDER, number).ok
    outcome = feedback.rate(SENDER, number, "4")
    assert outcome.ok and outcome.rating == 4
    with db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id(number))
        assert ticket.rating == 4 and ticket.state == states.SELESAI
        row = feedback.for_ticket(session, ticket.id)
        assert row.confirmation == feedback.CONFIRMED and row.rating == 4


def test_not_resolved_reopens_with_the_note(db_url: str) -> None:
    number = resolved()
    assert feedback.reopen(SENDER, None, "Lubangnya masih ada, cuma ditimbun tanah").ok
    with db.session_scope() as session:
        ticket = session.get(Ticket, ticket_id(number))
        assert ticket.state == states.DIPROSES and ticket.closed_at is None
        last: StateChange = ticket.history[-1]
        assert (last.from_state, last.to_state, last.actor) == ("selesai", "diproses", "warga")
        assert "masih ada" in last.note
        assert feedback.for_ticket(session, ticket.id).reopen_count == 1
    # Reopened: nothing left to confirm or rate until it is resolved again.
    assert feedback.confirm(SENDER, number).status == "not_resolved"
    assert feedback.rate(SENDER, number, 5).status == "not_resolved"


def test_someone_elses_ticket_reads_as_unknown(db_url: str) -> None:
    number = resolved(sender="6280000000001")
    assert feedback.confirm(SENDER, number).status == "not_found"
    assert feedback.reopen(SENDER, number, "bohong").status == "not_found"
    assert feedback.rate(SENDER, number, 1).status == "not_found"
    assert feedback.pending_number(SENDER) is None


def test_bad_ratings_are_refused(db_url: str) -> None:
    number = resolved()
    for value in ("0", "6", "lima", None):
        assert feedback.rate(SENDER, number, value).status == "bad_rating"
