"""No form complains about an answer before the citizen gave one.

When a form starts, the action that started it has just emptied the form's slots; rasa-sdk
validates every slot set after the citizen's message, so a validator that treats "empty" as a
bad answer sent its complaint before the first question ("Mohon jelaskan sedikit lebih
lengkap…" right after tapping "Belum selesai"). This runs every form's validation as Rasa does
when the form starts, for every letter and complaint flow, and expects silence."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import ActionExecutor

from actions.flow import FlowFormValidation, flow_slots

from .conftest import make_tracker, run_action


def validations() -> List[FlowFormValidation]:
    executor = ActionExecutor()
    executor.register_package("actions")
    found = [
        run.__self__ for run in executor.actions.values() if isinstance(run.__self__, FlowFormValidation)
    ]
    return sorted(found, key=lambda action: action.name())


FORM_CONTEXT: Dict[str, Dict[str, Any]] = {
    "sktm_form": {"surat_jenis": "sktm", "surat_untuk": "keluarga"},
    "sku_form": {"surat_jenis": "sku", "surat_untuk": "keluarga"},
    "domisili_form": {"surat_jenis": "domisili", "surat_untuk": "keluarga"},
}


def test_every_form_is_covered() -> None:
    names = {action.name() for action in validations()}
    assert {
        "validate_sktm_form",
        "validate_lapor_jalan_rusak_form",
        "validate_belum_selesai_form",
        "validate_langganan_form",
        "validate_hapus_data_form",
    } <= names


@pytest.mark.parametrize("action", validations(), ids=lambda action: action.name())
def test_a_starting_form_says_nothing_before_the_first_answer(action: FlowFormValidation, domain) -> None:  # type: ignore[no-untyped-def]
    form = action.name().removeprefix("validate_")
    context = FORM_CONTEXT.get(form, {})
    tracker = make_tracker("/mulai", "mulai", slots=dict(context), active_loop=form)
    emptied = [slot for slot in flow_slots(domain) if slot not in context]
    tracker.events += [{"event": "action", "name": "action_start"}] + [
        {"event": "slot", "name": slot, "value": None} for slot in emptied
    ]
    run = run_action(action, tracker, domain)
    assert run.messages == []
