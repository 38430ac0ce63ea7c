"""General actions: office hours and location from configuration, fallback, session start."""

from __future__ import annotations

from actions.fallback import ActionDefaultFallback
from actions.general import ActionOfficeHours, ActionOfficeLocation, ActionSessionStart

from .conftest import make_tracker, run_action


def test_office_hours_come_from_configuration(domain) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ActionOfficeHours(), make_tracker("jam buka kapan", "jam_layanan"), domain)
    message = run.said("utter_jam_layanan")
    assert message["hours"].startswith("Senin–Kamis: 07.30–16.00")
    assert ("BUKA" in message["status"]) or ("TUTUP" in message["status"])
    assert message["office_name"] == "Kelurahan Langkai"


def test_office_location_gives_address_map_and_pin(domain) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ActionOfficeLocation(), make_tracker("kantor dimana", "lokasi_kantor"), domain)
    assert "Tjilik Riwut" in run.said("utter_lokasi_kantor")["address"]
    pins = [m["custom"] for m in run.messages if m.get("custom")]
    assert pins[0]["type"] == "location" and pins[0]["location"]["latitude"] == -2.2096


def test_fallback_reverts_and_offers_an_officer_after_two_misses(domain) -> None:  # type: ignore[no-untyped-def]
    first = run_action(ActionDefaultFallback(), make_tracker("asdfgh", "nlu_fallback"), domain)
    assert first.responses == ["utter_default"]
    assert first.events[-1]["event"] == "rewind"
    earlier = [
        {"event": "user", "text": "qwerty", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_default_fallback"},
    ]
    second = run_action(ActionDefaultFallback(), make_tracker("zxcv", "nlu_fallback", events=earlier), domain)
    assert second.responses == ["utter_fallback_offer_officer"]


def test_session_start_names_the_institution_and_keeps_slots(domain) -> None:  # type: ignore[no-untyped-def]
    """Slots carry over from the tracker's slots: the action server only gets the recent events,
    so a slot set early in a long session has no event left in what it receives."""
    slots = {"aduan_media": [3], "surat_nik": None, "service_name": "Nama lama"}
    run = run_action(ActionSessionStart(), make_tracker(slots=slots), domain)
    assert run.events[0]["event"] == "session_started"
    assert run.slots["service_name"] == "LayanWarga Langkai"
    assert run.slots["aduan_media"] == [3]
    assert "surat_nik" not in run.slots
    assert [e["value"] for e in run.events if e.get("name") == "service_name"] == ["LayanWarga Langkai"]
    assert (run.events[-1]["event"], run.events[-1]["name"]) == ("action", "action_listen")


def test_a_third_miss_in_a_row_hands_the_citizen_to_an_officer(domain) -> None:  # type: ignore[no-untyped-def]
    earlier = []
    for text in ("qwerty", "asdf"):
        earlier += [
            {"event": "user", "text": text, "parse_data": {"intent": {"name": "nlu_fallback"}}},
            {"event": "action", "name": "action_default_fallback"},
        ]
    third = run_action(ActionDefaultFallback(), make_tracker("zxcv", "nlu_fallback", events=earlier), domain)
    assert third.messages == []
    assert [e["event"] for e in third.events] == ["rewind", "followup"]
    assert third.events[-1]["name"] == "action_handoff"
