"""Closing the loop from the citizen's side: buttons and typed answers confirm, rate or reopen
a resolved complaint; someone else's number is never touched."""
from __future__ import annotations

from sqlalchemy import select

from actions.feedback import (
    ActionConfirmResolved,
    ActionNotResolved,
    ActionRate,
    ActionReopen,
    ValidateNotResolvedForm,
)
from layanwarga import db, feedback, notifications, states
from layanwarga.models import Ticket
from tests.dashboard.support import INST, complaint, ticket_id

from .conftest import make_tracker, run_action

SENDER = "6281234567890"


def resolved(key: str = "a1", sender: str = SENDER) -> str:
    number = complaint(key, sender=sender).number
    tid = ticket_id(number)
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    notifications.change_state_and_notify(INST, tid, states.SELESAI, "staf:pupr", note="Sudah ditambal.")
    return number


def payload_tracker(intent: str, **entities: str):  # type: ignore[no-untyped-def]
    text = notifications.payload(intent, **entities)
    return make_tracker(text, intent, sender=SENDER, entities=[{"entity": k, "value": v} for k, v in entities.items()])


def test_button_confirms_and_offers_the_rating_list(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved()
    run = run_action(ActionConfirmResolved(), payload_tracker("konfirmasi_selesai", nomor_tiket=number), domain)
    assert run.responses == ["utter_terima_kasih_konfirmasi", "utter_minta_nilai"]
    buttons = run.said("utter_minta_nilai")["buttons"]
    assert len(buttons) == 5 and all(len(b["title"]) <= 24 for b in buttons)
    assert buttons[0]["payload"] == f'/beri_nilai{{"nilai": "5", "nomor_tiket": "{number}"}}'
    assert run.slots["aduan_tiket_umpan_balik"] == number
    with db.session_scope() as session:
        assert feedback.for_ticket(session, ticket_id(number)).confirmation == feedback.CONFIRMED


def test_typed_confirmation_finds_the_waiting_complaint(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved()
    run = run_action(ActionConfirmResolved(), make_tracker("udah beres pak", "konfirmasi_selesai", sender=SENDER), domain)
    assert run.said("utter_minta_nilai")["number"] == number


def test_rating_from_the_list_and_typed(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved()
    run = run_action(ActionRate(), payload_tracker("beri_nilai", nilai="4", nomor_tiket=number), domain)
    assert run.said("utter_terima_kasih_nilai")["rating"] == "4"
    run = run_action(ActionRate(), make_tracker("bintang lima deh", "beri_nilai", sender=SENDER), domain)
    assert run.said("utter_terima_kasih_nilai")["rating"] == "5"
    with db.session_scope() as session:
        assert session.execute(select(Ticket.rating).where(Ticket.number == number)).scalar_one() == 5
    # No value at all: ask again with the list.
    run = run_action(ActionRate(), make_tracker("mau kasih nilai", "beri_nilai", sender=SENDER), domain)
    assert run.responses == ["utter_minta_nilai"]


def test_not_resolved_asks_then_reopens_with_the_note(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved()
    run = run_action(ActionNotResolved(), payload_tracker("belum_selesai", nomor_tiket=number), domain)
    assert run.responses == ["utter_maaf_belum_selesai"]
    assert run.slots["aduan_tiket_umpan_balik"] == number
    # The form takes the next message as the note.
    note_text = "lubangnya cuma ditimbun tanah, sekarang berlubang lagi"
    tracker = make_tracker(note_text, "inform", sender=SENDER, active_loop="belum_selesai_form",
                           slots={"requested_slot": "aduan_catatan_belum_selesai", "aduan_tiket_umpan_balik": number})
    form = run_action(ValidateNotResolvedForm(), tracker, domain)
    assert form.slots["aduan_catatan_belum_selesai"] == note_text
    tracker = make_tracker(note_text, "inform", sender=SENDER,
                           slots={"aduan_tiket_umpan_balik": number, "aduan_catatan_belum_selesai": note_text})
    run = run_action(ActionReopen(), tracker, domain)
    assert run.responses == ["utter_dibuka_kembali"]
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalars().one()
        assert ticket.state == states.DIPROSES
        assert ticket.history[-1].actor == "warga" and note_text in ticket.history[-1].note


def test_a_menu_request_is_not_taken_as_the_note(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker("batal", "batal", sender=SENDER, active_loop="belum_selesai_form",
                           slots={"requested_slot": "aduan_catatan_belum_selesai"})
    assert "aduan_catatan_belum_selesai" not in run_action(ValidateNotResolvedForm(), tracker, domain).slots


def test_someone_elses_ticket_is_unknown(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved(sender="6280000000001")
    run = run_action(ActionNotResolved(), payload_tracker("belum_selesai", nomor_tiket=number), domain)
    assert run.responses == ["utter_umpan_balik_tidak_ditemukan"]
    assert any(e.get("event") == "followup" and e.get("name") == "action_listen" for e in run.events)
    run = run_action(ActionConfirmResolved(), payload_tracker("konfirmasi_selesai", nomor_tiket=number), domain)
    assert run.responses == ["utter_umpan_balik_tidak_ditemukan"]
    run = run_action(ActionRate(), payload_tracker("beri_nilai", nilai="1", nomor_tiket=number), domain)
    assert run.responses == ["utter_umpan_balik_tidak_ditemukan"]
