"""Closing the loop from the citizen's side: buttons and typed answers confirm, rate or reopen
a resolved complaint; someone else's number is never touched."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from actions.complaints import ActionStartComplaint
from actions.fallback import ActionDefaultFallback
from actions.feedback import (
    ActionConfirmResolved,
    ActionNotResolved,
    ActionRate,
    ActionReopen,
    ActionShortReply,
    ValidateNotResolvedForm,
)
from layanwarga import db, feedback, notifications, states
from layanwarga.models import Ticket
from tests.dashboard.support import INST, complaint, ticket_id

from .conftest import make_tracker, run_action

SENDER = "6281234567890"


def resolved(key: str = "a1", sender: str = SENDER, category: str = "lapor_jalan_rusak") -> str:
    number = complaint(key, sender=sender, category=category).number
    tid = ticket_id(number)
    notifications.change_state_and_notify(INST, tid, states.DITERUSKAN, "staf:admin", agency_code="PUPR")
    notifications.change_state_and_notify(INST, tid, states.SELESAI, "staf:pupr", note="Sudah ditambal.")
    return number


def payload_tracker(intent: str, **entities: str):  # type: ignore[no-untyped-def]
    text = notifications.payload(intent, **entities)
    return make_tracker(
        text, intent, sender=SENDER, entities=[{"entity": k, "value": v} for k, v in entities.items()]
    )


def test_button_confirms_and_offers_the_rating_list(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved()
    run = run_action(
        ActionConfirmResolved(), payload_tracker("konfirmasi_selesai", nomor_tiket=number), domain
    )
    assert run.responses == ["utter_terima_kasih_konfirmasi", "utter_minta_nilai"]
    buttons = run.said("utter_minta_nilai")["buttons"]
    assert len(buttons) == 5 and all(len(b["title"]) <= 24 for b in buttons)
    assert buttons[0]["payload"] == f'/beri_nilai{{"nilai": "5", "nomor_tiket": "{number}"}}'
    assert run.slots["aduan_tiket_umpan_balik"] == number
    with db.session_scope() as session:
        assert feedback.for_ticket(session, ticket_id(number)).confirmation == feedback.CONFIRMED


def test_typed_confirmation_finds_the_waiting_complaint(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved()
    run = run_action(
        ActionConfirmResolved(), make_tracker("udah beres pak", "konfirmasi_selesai", sender=SENDER), domain
    )
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
    tracker = make_tracker(
        note_text,
        "inform",
        sender=SENDER,
        active_loop="belum_selesai_form",
        slots={"requested_slot": "aduan_catatan_belum_selesai", "aduan_tiket_umpan_balik": number},
    )
    form = run_action(ValidateNotResolvedForm(), tracker, domain)
    assert form.slots["aduan_catatan_belum_selesai"] == note_text
    tracker = make_tracker(
        note_text,
        "inform",
        sender=SENDER,
        slots={"aduan_tiket_umpan_balik": number, "aduan_catatan_belum_selesai": note_text},
    )
    run = run_action(ActionReopen(), tracker, domain)
    assert run.responses == ["utter_dibuka_kembali"]
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalars().one()
        assert ticket.state == states.DIPROSES
        assert ticket.history[-1].actor == "warga" and note_text in ticket.history[-1].note


def test_a_menu_request_is_not_taken_as_the_note(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker(
        "batal",
        "batal",
        sender=SENDER,
        active_loop="belum_selesai_form",
        slots={"requested_slot": "aduan_catatan_belum_selesai"},
    )
    assert "aduan_catatan_belum_selesai" not in run_action(ValidateNotResolvedForm(), tracker, domain).slots


def test_someone_elses_ticket_is_unknown(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved(sender="6280000000001")
    run = run_action(ActionNotResolved(), payload_tracker("belum_selesai", nomor_tiket=number), domain)
    assert run.responses == ["utter_umpan_balik_tidak_ditemukan"]
    assert any(e.get("event") == "followup" and e.get("name") == "action_listen" for e in run.events)
    run = run_action(
        ActionConfirmResolved(), payload_tracker("konfirmasi_selesai", nomor_tiket=number), domain
    )
    assert run.responses == ["utter_umpan_balik_tidak_ditemukan"]
    run = run_action(ActionRate(), payload_tracker("beri_nilai", nilai="1", nomor_tiket=number), domain)
    assert run.responses == ["utter_umpan_balik_tidak_ditemukan"]


# -- typed answers to the closing questions -----------------------------------------------------------
def typed(text: str, intent: str, events=None):  # type: ignore[no-untyped-def]
    return make_tracker(text, intent, sender=SENDER, events=events)


def asked_rating(number: str):  # type: ignore[no-untyped-def]
    """The events of a turn that ended with the rating question."""
    from .conftest import user_event

    return [
        user_event("udah beres", "konfirmasi_selesai"),
        {"event": "action", "name": "action_konfirmasi_selesai"},
        {"event": "slot", "name": "aduan_tiket_umpan_balik", "value": number},
    ]


def confirmation_of(number: str) -> str:
    with db.session_scope() as session:
        return feedback.for_ticket(session, ticket_id(number)).confirmation


@pytest.mark.parametrize(
    "text,intent",
    [
        ("udh nyala pak, makasih bnyk", "thanks"),
        ("makasih pak", "thanks"),
        ("ya", "affirm"),
        ("iya sdh", "affirm"),
        ("mantap pak", "nlu_fallback"),
        ("sip, udah aman", "inform"),
    ],
)
def test_a_typed_yes_to_the_closing_question_confirms_and_asks_the_rating(
    text, intent, db_url, domain
) -> None:  # type: ignore[no-untyped-def]
    """Was: "udh nyala pak, makasih bnyk" got "Sama-sama" and the confirmation was lost."""
    number = resolved()
    action = ActionDefaultFallback() if intent == "nlu_fallback" else ActionShortReply()
    run = run_action(action, typed(text, intent), domain)
    assert run.responses == ["utter_terima_kasih_konfirmasi", "utter_minta_nilai"]
    assert confirmation_of(number) == feedback.CONFIRMED


@pytest.mark.parametrize(
    "text,intent,value",
    [
        ("5", "inform", 5),
        ("lima", "nlu_fallback", 5),
        ("4 aja", "inform", 4),
        ("puas banget", "nlu_fallback", 5),
        ("puas", "nlu_fallback", 4),
        ("cukup", "goodbye", 3),
        ("kurang puas", "nlu_fallback", 2),
        ("tidak puas", "deny", 1),
    ],
)
def test_a_typed_rating_after_the_rating_question_counts(text, intent, value, db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved()
    run_action(ActionConfirmResolved(), payload_tracker("konfirmasi_selesai", nomor_tiket=number), domain)
    action = ActionDefaultFallback() if intent == "nlu_fallback" else ActionShortReply()
    run = run_action(action, typed(text, intent, events=asked_rating(number)), domain)
    assert run.said("utter_terima_kasih_nilai")["rating"] == str(value)
    with db.session_scope() as session:
        assert session.execute(select(Ticket.rating).where(Ticket.number == number)).scalar_one() == value


@pytest.mark.parametrize(
    "text,intent",
    [
        ("belum pak masih gelap", "belum_selesai"),
        ("lampunya masih mati pak", "lapor_lampu_padam"),
        ("tidak, lampunya masih sama saja", "deny"),
        ("belum ada petugas yang datang", "nlu_fallback"),
    ],
)
def test_a_typed_not_yet_that_says_what_is_wrong_reopens_at_once(text, intent, db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved(category="lapor_lampu_padam")
    action = {
        "belum_selesai": ActionNotResolved(),
        "lapor_lampu_padam": ActionStartComplaint(),
        "nlu_fallback": ActionDefaultFallback(),
    }.get(intent, ActionShortReply())
    run = run_action(action, typed(text, intent), domain)
    assert run.responses == ["utter_maaf_belum_selesai", "utter_dibuka_kembali"]
    assert any(e.get("event") == "followup" and e.get("name") == "action_listen" for e in run.events)
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalars().one()
        assert ticket.state == states.DIPROSES and text in ticket.history[-1].note


def test_a_bare_not_yet_asks_what_is_still_wrong(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    number = resolved()
    run = run_action(ActionShortReply(), typed("blm", "deny"), domain)
    assert run.responses == ["utter_maaf_belum_selesai"]
    assert run.slots["aduan_tiket_umpan_balik"] == number
    assert any(e.get("event") == "followup" and e.get("name") == "belum_selesai_form" for e in run.events)


def test_short_replies_with_no_waiting_question_get_their_usual_answer(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    assert run_action(ActionShortReply(), typed("makasih bnyk", "thanks"), domain).responses == [
        "utter_sama_sama"
    ]
    assert run_action(ActionShortReply(), typed("ya", "affirm"), domain).responses == ["utter_anything_else"]
    assert run_action(ActionShortReply(), typed("dah dulu ya", "goodbye"), domain).responses == [
        "utter_goodbye"
    ]
    assert run_action(ActionShortReply(), typed("5", "inform"), domain).responses == ["utter_default"]


def test_a_new_report_of_another_kind_is_no_answer(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    """ "Jalan depan masih rusak" while a street-light complaint waits starts a new report."""
    number = resolved(category="lapor_lampu_padam")
    run = run_action(
        ActionStartComplaint(), typed("jalan depan sekolah masih rusak parah", "lapor_jalan_rusak"), domain
    )
    assert run.slots["aduan_kategori"] == "lapor_jalan_rusak"
    assert confirmation_of(number) == feedback.WAITING


def test_a_reply_after_the_citizen_moved_on_is_no_answer(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    """Once the citizen wrote about something else, "makasih" is thanks for that."""
    from layanwarga import conversation_log

    number = resolved()
    with db.session_scope() as session:
        asked = feedback.for_ticket(session, ticket_id(number)).asked_at
    conversation_log.log_inbound(SENDER, "kantor buka jam berapa", at=asked + dt.timedelta(minutes=5))
    conversation_log.log_inbound(SENDER, "makasih", at=asked + dt.timedelta(minutes=6))
    run = run_action(ActionShortReply(), typed("makasih", "thanks"), domain)
    assert run.responses == ["utter_sama_sama"] and confirmation_of(number) == feedback.WAITING
    # A rating is only read right after the rating question.
    run = run_action(ActionShortReply(), typed("5", "inform"), domain)
    assert run.responses == ["utter_default"]


def test_tapping_belum_selesai_asks_before_any_complaint_about_the_answer(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    """Was: "Mohon jelaskan sedikit lebih lengkap…" right after the tap, before the citizen wrote
    anything: the form checked the note the start had just emptied."""
    number = resolved()
    tap = notifications.payload("belum_selesai", nomor_tiket=number)
    started = run_action(ActionNotResolved(), payload_tracker("belum_selesai", nomor_tiket=number), domain)
    tracker = make_tracker(
        tap,
        "belum_selesai",
        sender=SENDER,
        slots={"aduan_tiket_umpan_balik": number},
        entities=[{"entity": "nomor_tiket", "value": number}],
    )
    # As Rasa activates the form: the start action's events after the citizen's tap.
    tracker.events += [{"event": "action", "name": "action_belum_selesai"}] + [
        e for e in started.events if e.get("event") == "slot"
    ]
    run = run_action(ValidateNotResolvedForm(), tracker, domain)
    assert run.messages == []
    assert run.slots["aduan_catatan_belum_selesai"] is None
