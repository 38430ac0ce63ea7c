"""The complaint form offers open reports near the place before anything is stored: the list
is asked right after the place, a pick makes the submission a follow (supporter, photo, choices
kept), "new report" stores a new ticket, and the rahasia choice reaches the ticket."""

from __future__ import annotations

from sqlalchemy import func, select

from actions.complaints import ActionAskAduanIkuti, ActionSubmitComplaint, ValidateLaporLampuPadamForm
from layanwarga import db, nearby
from layanwarga.models import Supporter, Ticket
from tests.dashboard.support import complaint

from .conftest import make_tracker, run_action

FORM = "lapor_lampu_padam_form"
LAT, LON = -2.2100, 113.9200
PIN = {
    "location": {"latitude": LAT + 20 / 111_320, "longitude": LON, "name": "Depan masjid", "address": None}
}
NEIGHBOUR = "6282222222222"


def first_light(**overrides: object) -> str:
    values = dict(
        category="lapor_lampu_padam", description="Lampu jalan depan masjid mati", latitude=LAT, longitude=LON
    )
    values.update(overrides)
    return complaint("first", sender="6281111111111", **values).number  # type: ignore[arg-type]


def in_form(text: str, intent: str = "inform", requested: str = "aduan_lokasi", slots=None, **kw):  # type: ignore[no-untyped-def]
    values = {
        "aduan_kategori": "lapor_lampu_padam",
        "flow_id": "f2",
        "requested_slot": requested,
        "aduan_deskripsi": "lampu jalan mati gelap",
    }
    values.update(slots or {})
    return make_tracker(text, intent, sender=NEIGHBOUR, slots=values, active_loop=FORM, **kw)


def test_a_pin_near_an_open_report_asks_to_follow_it_next(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    number = first_light()
    run = run_action(
        ValidateLaporLampuPadamForm(), in_form("/kirim_lokasi", "kirim_lokasi", metadata=PIN), domain
    )
    assert run.slots["requested_slot"] == "aduan_ikuti"
    asked = run_action(
        ActionAskAduanIkuti(),
        in_form(
            "",
            requested="aduan_ikuti",
            slots={
                "aduan_lokasi": "Depan masjid",
                "aduan_lat": PIN["location"]["latitude"],
                "aduan_lon": LON,
            },
        ),
        domain,
    )
    assert asked.slots["aduan_serupa"] == [number]
    buttons = asked.messages[0]["buttons"]
    assert buttons[0]["title"] == number and buttons[0]["description"].startswith("±20 m")
    assert buttons[-1]["title"] == nearby.NEW_REPORT


def test_far_away_the_form_goes_straight_to_photos(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    first_light(latitude=LAT + 0.02)  # about 2 km north
    run = run_action(
        ValidateLaporLampuPadamForm(), in_form("/kirim_lokasi", "kirim_lokasi", metadata=PIN), domain
    )
    # The form's own slots: Rasa asks the next of them (the photos).
    assert "requested_slot" not in run.slots and run.slots["aduan_lat"] == PIN["location"]["latitude"]


def test_an_anonymous_report_is_offered_without_its_text(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    first_light(anonymous=True)
    asked = run_action(
        ActionAskAduanIkuti(),
        in_form(
            "",
            requested="aduan_ikuti",
            slots={"aduan_lokasi": "Depan masjid", "aduan_lat": LAT, "aduan_lon": LON},
        ),
        domain,
    )
    row = asked.messages[0]["buttons"][0]["description"]
    assert nearby.PRIVATE_TEXT in row and "masjid" not in row


def test_answers_to_the_offer(domain) -> None:  # type: ignore[no-untyped-def]
    offered = {"aduan_serupa": ["ADU-2026-00001", "ADU-2026-00002"], "aduan_lokasi": "x"}

    def answer(text: str, intent: str = "inform", entities=None):  # type: ignore[no-untyped-def]
        tracker = in_form(text, intent, requested="aduan_ikuti", slots=offered, entities=entities)
        return run_action(ValidateLaporLampuPadamForm(), tracker, domain).slots.get("aduan_ikuti")

    picked = [{"entity": "pilihan", "value": "ikuti:ADU-2026-00002"}]
    assert answer('/affirm{"pilihan": "ikuti:ADU-2026-00002"}', "affirm", picked) == "ADU-2026-00002"
    assert answer('/deny{"pilihan": "baru"}', "deny", [{"entity": "pilihan", "value": "baru"}]) == "baru"
    assert answer("yang 1 pak") == "ADU-2026-00001"
    assert answer("bukan, itu beda", "deny") == "baru"
    assert answer("ADU-2026-00002 sama") == "ADU-2026-00002"
    # A number that was not offered is not followed.
    assert (
        answer(
            '/affirm{"pilihan": "ikuti:ADU-2026-00099"}',
            "affirm",
            [{"entity": "pilihan", "value": "ikuti:ADU-2026-00099"}],
        )
        is None
    )


def test_rahasia_is_asked_apart_from_anonim(domain) -> None:  # type: ignore[no-untyped-def]
    for text, intent, expected in (
        ("/affirm", "affirm", True),
        ("/deny", "deny", False),
        ("jangan dipublikasikan", "inform", True),
        ("boleh saja", "inform", False),
    ):
        run = run_action(
            ValidateLaporLampuPadamForm(), in_form(text, intent, requested="aduan_rahasia"), domain
        )
        assert run.slots["aduan_rahasia"] is expected, text


def confirmed(**slots: object):  # type: ignore[no-untyped-def]
    values = {
        "flow_id": "f2",
        "aduan_kategori": "lapor_lampu_padam",
        "aduan_deskripsi": "Lampu depan masjid masih mati",
        "aduan_lokasi": "Depan masjid",
        "aduan_lat": LAT,
        "aduan_lon": LON,
        "aduan_media": [],
        "aduan_foto": "dilewati",
        "aduan_anonim": False,
        "aduan_rahasia": True,
        "aduan_konfirmasi": "kirim",
    }
    values.update(slots)
    return make_tracker("/affirm", "affirm", sender=NEIGHBOUR, slots=values)


def test_following_stores_a_supporter_not_a_ticket(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    number = first_light()
    run = run_action(ActionSubmitComplaint(), confirmed(aduan_ikuti=number, aduan_anonim=True), domain)
    said = run.said("utter_aduan_diikuti")
    assert said["number"] == number and said["supporters"] == 1
    assert run.slots["aduan_ikuti"] is None and run.slots["flow_id"] is None
    with db.session_scope() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1
        supporter = session.execute(select(Supporter)).scalars().one()
        assert supporter.is_anonymous and supporter.is_confidential and "masih mati" in supporter.note


def test_a_new_report_keeps_the_rahasia_choice(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    run_action(ActionSubmitComplaint(), confirmed(aduan_ikuti=nearby.NEW_REPORT_ID), domain).said(
        "utter_aduan_terkirim"
    )
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket)).scalars().one()
        assert ticket.is_confidential and not ticket.is_anonymous
