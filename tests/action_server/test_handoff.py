"""``minta_petugas``: the conversation goes to the live inbox; the citizen hears what happens
next, and when an officer answers outside office hours."""

from __future__ import annotations

import datetime as dt

from actions.handoff import ActionHandoff
from layanwarga import db, handoff

from .conftest import make_tracker, run_action

SENDER = "6281234567890"


def _freeze(monkeypatch, moment: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    real = handoff.open_handoff

    def at_moment(*args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("now", moment)
        return real(*args, **kwargs)

    monkeypatch.setattr(handoff, "open_handoff", at_moment)


def test_in_office_hours(db_url, domain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _freeze(monkeypatch, dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc))  # Monday 09.00 WIB
    run = run_action(
        ActionHandoff(), make_tracker("mau ngobrol sama petugas", "minta_petugas", sender=SENDER), domain
    )
    assert run.responses == ["utter_petugas_dihubungkan"]
    assert handoff.is_active(SENDER)
    again = run_action(ActionHandoff(), make_tracker("halo petugas", "minta_petugas", sender=SENDER), domain)
    assert again.responses == ["utter_petugas_sudah_terhubung"]


def test_outside_office_hours_says_when(db_url, domain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _freeze(monkeypatch, dt.datetime(2026, 11, 28, 14, 0, tzinfo=dt.timezone.utc))  # Saturday 21.00 WIB
    run = run_action(ActionHandoff(), make_tracker("petugas", "minta_petugas", sender=SENDER), domain)
    message = run.said("utter_petugas_di_luar_jam")
    assert message["next_opening"] == "Senin, 30 November 2026 pukul 07.30"
    assert message["emergency"] == "112"


def test_repeated_misunderstanding_is_recorded_as_the_reason(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    run_action(ActionHandoff(), make_tracker("asdf qwer", "nlu_fallback", sender=SENDER), domain)
    with db.session_scope() as session:
        assert handoff.active_for(session, SENDER).reason == handoff.REASON_NOT_UNDERSTOOD


def test_storage_failure_still_gives_a_phone_number(db_url, domain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database down")

    monkeypatch.setattr(handoff, "open_handoff", broken)
    run = run_action(ActionHandoff(), make_tracker("petugas", "minta_petugas", sender=SENDER), domain)
    assert run.said("utter_petugas_gagal")["phone"] == "(0536) 322-1001"


def test_officer_chosen_after_two_misunderstandings_counts_as_stuck(db_url, domain) -> None:  # type: ignore[no-untyped-def]
    earlier = [
        {"event": "user", "text": "qwerty", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_default_fallback"},
        {"event": "user", "text": "zxcv", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_default_fallback"},
    ]
    run_action(
        ActionHandoff(),
        make_tracker("/minta_petugas", "minta_petugas", sender=SENDER, events=earlier),
        domain,
    )
    with db.session_scope() as session:
        assert handoff.active_for(session, SENDER).reason == handoff.REASON_NOT_UNDERSTOOD
