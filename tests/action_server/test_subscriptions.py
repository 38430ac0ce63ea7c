"""Subscribing and unsubscribing in the conversation: explicit opt-in recorded with its time,
one message to stop, also from inside any form."""

from __future__ import annotations

import dataclasses

import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction
from sqlalchemy import select

from actions import subscriptions as actions
from actions.complaints import ValidateLaporJalanRusakForm
from actions.subscriptions import (
    ActionAskSubscriptionArea,
    ActionAskSubscriptionConsent,
    ActionAskSubscriptionTopic,
    ActionStartSubscription,
    ActionSubscribe,
    ActionUnsubscribe,
    ValidateSubscriptionForm,
)
from layanwarga import db, subscriptions
from layanwarga.config import get_institution
from layanwarga.models import Subscription, SubscriptionEvent

from .conftest import make_tracker, run_action

INST = get_institution()
FORM = "langganan_form"


def ask(slot: str, **slots: str) -> dict:
    return {"requested_slot": slot, **slots}


def test_the_start_offers_the_topics_from_configuration(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ActionStartSubscription(), make_tracker("langganan info", "langganan_info"), domain)
    assert run.responses == ["utter_langganan_mulai"]
    assert run.slots == {"langganan_topik": None, "langganan_wilayah": None, "langganan_setuju": None}
    rows = run_action(ActionAskSubscriptionTopic(), make_tracker(), domain).said("utter_ask_langganan_topik")[
        "buttons"
    ]
    assert [r["title"] for r in rows] == [t.label for t in INST.subscriptions.topics.values()] + [
        "Semua topik"
    ]
    assert all(len(r["title"]) <= 24 and len(r["description"]) <= 72 for r in rows)
    assert rows[2]["payload"] == '/inform{"pilihan": "bencana"}'
    areas = run_action(ActionAskSubscriptionArea(), make_tracker(), domain).said(
        "utter_ask_langganan_wilayah"
    )["buttons"]
    assert [r["title"] for r in areas][-1] == "Semua kelurahan" and len(areas) == len(
        INST.subscriptions.areas
    ) + 1


def test_a_topic_named_in_the_first_message_is_taken(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    run = run_action(
        ActionStartSubscription(), make_tracker("aku mau dikabari jadwal vaksin", "langganan_info"), domain
    )
    assert run.slots["langganan_topik"] == "jadwal_layanan"


def test_current_subscriptions_are_shown_at_the_start(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    subscriptions.subscribe(INST, "6281234567890", "bencana", "panarung")
    run = run_action(ActionStartSubscription(), make_tracker("langganan info", "langganan_info"), domain)
    assert run.said("utter_langganan_aktif")["subscriptions"] == "• Info bencana, untuk Kelurahan Panarung"


def test_without_configuration_the_service_says_it_is_not_offered(domain, db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(actions, "get_institution", lambda: dataclasses.replace(INST, subscriptions=None))
    run = run_action(ActionStartSubscription(), make_tracker("langganan info", "langganan_info"), domain)
    assert run.responses == ["utter_langganan_tidak_tersedia"]
    assert FollowupAction("action_listen") in run.events


@pytest.mark.parametrize(
    "text, intent, entities, expected",
    [
        ('/inform{"pilihan": "bencana"}', "inform", [{"entity": "pilihan", "value": "bencana"}], "bencana"),
        ("info bencana", "langganan_info", None, "bencana"),
        ("jadwal layanan", "inform", None, "jadwal_layanan"),
        ("semua aja", "affirm", None, "*"),
        ('/inform{"pilihan": "*"}', "inform", [{"entity": "pilihan", "value": "*"}], "*"),
    ],
)
def test_topic_answers(domain, text, intent, entities, expected) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker(text, intent, entities=entities, slots=ask("langganan_topik"), active_loop=FORM)
    assert run_action(ValidateSubscriptionForm(), tracker, domain).slots["langganan_topik"] == expected


def test_an_unclear_topic_is_asked_again(domain) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker("hmm apa ya", "inform", slots=ask("langganan_topik"), active_loop=FORM)
    run = run_action(ValidateSubscriptionForm(), tracker, domain)
    assert run.slots["langganan_topik"] is None and "utter_langganan_topik_pilih" in run.responses


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Panarung", "panarung"),
        ("kel. pahandut seberang", "pahandut-seberang"),
        ("sy tinggal di tanjung pinang", "tanjung-pinang"),
        ("semua kelurahan", "*"),
        ("Jakarta", None),
    ],
)
def test_area_answers(domain, text, expected) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker(
        text, "inform", slots=ask("langganan_wilayah", langganan_topik="bencana"), active_loop=FORM
    )
    run = run_action(ValidateSubscriptionForm(), tracker, domain)
    assert run.slots["langganan_wilayah"] == expected
    assert ("utter_langganan_wilayah_pilih" in run.responses) == (expected is None)


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("/affirm", "affirm", "ya"),
        ("ya setuju", "affirm", "ya"),
        ("/deny", "deny", "tidak"),
        ("gak ah", "inform", "tidak"),
        ("boleh", "inform", "ya"),
        ("apa itu", "inform", None),
        ("ngga", "nlu_fallback", "tidak"),
        ("ndak usah", "inform", "tidak"),
    ],
)
def test_consent_answers(domain, text, intent, expected) -> None:  # type: ignore[no-untyped-def]
    slots = ask("langganan_setuju", langganan_topik="bencana", langganan_wilayah="panarung")
    run = run_action(
        ValidateSubscriptionForm(), make_tracker(text, intent, slots=slots, active_loop=FORM), domain
    )
    assert run.slots["langganan_setuju"] == expected


def test_the_consent_question_says_what_arrives_and_how_to_stop(domain) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker(slots={"langganan_topik": "bencana", "langganan_wilayah": "panarung"})
    message = run_action(ActionAskSubscriptionConsent(), tracker, domain).said("utter_ask_langganan_setuju")
    assert "*Info bencana*" in message["consent"] and "Kelurahan Panarung" in message["consent"]
    assert "BERHENTI LANGGANAN" in message["consent"] and "Berhenti langganan" in message["consent"]


def test_an_explicit_yes_records_the_opt_in_with_its_time_and_text(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    slots = {"langganan_topik": "bencana", "langganan_wilayah": "panarung", "langganan_setuju": "ya"}
    tracker = make_tracker("/affirm", "affirm", slots=slots, metadata={"message_id": "wamid.YES1"})
    run = run_action(ActionSubscribe(), tracker, domain)
    assert run.said("utter_langganan_berhasil")["topic"] == "Info bencana"
    assert run.slots["langganan_topik"] is None and ActiveLoop(None) in run.events
    with db.session_scope() as session:
        row = session.execute(select(Subscription)).scalar_one()
        assert row.active and row.opted_in_at is not None and row.consent_message_id == "wamid.YES1"
        assert row.consent_text == subscriptions.consent_text(INST, "bencana", "panarung")
        event = session.execute(select(SubscriptionEvent)).scalar_one()
        assert event.action == "subscribe" and event.message_id == "wamid.YES1"
    again = run_action(ActionSubscribe(), tracker, domain)
    assert again.responses == ["utter_langganan_sudah"]


def test_no_yes_no_subscription(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    slots = {"langganan_topik": "bencana", "langganan_wilayah": "panarung", "langganan_setuju": "tidak"}
    run = run_action(ActionSubscribe(), make_tracker("/deny", "deny", slots=slots), domain)
    assert run.responses == ["utter_langganan_tidak_jadi"]
    assert subscriptions.active_for(INST, "6281234567890") == []


def test_one_message_stops_everything(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    subscriptions.subscribe(INST, "6281234567890", "bencana", "panarung")
    subscriptions.subscribe(INST, "6281234567890", subscriptions.ALL, subscriptions.ALL)
    run = run_action(ActionUnsubscribe(), make_tracker("berhenti langganan", "berhenti_langganan"), domain)
    assert run.responses == ["utter_langganan_berhenti"] and run.events == []
    assert subscriptions.active_for(INST, "6281234567890") == []
    again = run_action(ActionUnsubscribe(), make_tracker("/berhenti_langganan", "berhenti_langganan"), domain)
    assert again.responses == ["utter_langganan_tidak_ada"]


def test_unsubscribing_inside_a_form_leaves_it(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    subscriptions.subscribe(INST, "6281234567890", "bencana", "panarung")
    slots = {
        "requested_slot": "aduan_deskripsi",
        "aduan_kategori": "lapor_jalan_rusak",
        "flow_id": "f1",
        "aduan_deskripsi": None,
    }
    in_report = make_tracker(
        "/berhenti_langganan", "berhenti_langganan", slots=slots, active_loop="lapor_jalan_rusak_form"
    )
    # The report's form does not take the message as an answer: the form is rejected ...
    validation = run_action(ValidateLaporJalanRusakForm(), in_report, domain)
    assert validation.slots == {}
    # ... and the unsubscribe rule runs, leaving the form and forgetting what it collected.
    run = run_action(ActionUnsubscribe(), in_report, domain)
    assert run.responses == ["utter_langganan_berhenti", "utter_langganan_form_dihentikan"]
    assert (
        ActiveLoop(None) in run.events
        and run.slots["aduan_kategori"] is None
        and run.slots["flow_id"] is None
    )
    assert subscriptions.active_for(INST, "6281234567890") == []


def test_a_weakly_understood_stop_inside_a_form_stays_an_answer(domain) -> None:  # type: ignore[no-untyped-def]
    slots = {"requested_slot": "langganan_topik"}
    tracker = make_tracker(
        "stop info bencana", "berhenti_langganan", confidence=0.5, slots=slots, active_loop=FORM
    )
    assert run_action(ValidateSubscriptionForm(), tracker, domain).slots["langganan_topik"] == "bencana"
