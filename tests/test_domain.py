"""The domain, the data and the action server agree with each other.

`rasa data validate` reports responses sent only by custom actions as "not used in any story or
rule"; these tests make sure every response really is used somewhere, every custom action in the
domain exists in the action server, and every intent has NLU data or is a connector payload.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Set

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# Intents that only ever arrive as payloads from the WhatsApp connector.
PAYLOAD_ONLY_INTENTS = {"pesan_tidak_didukung", "pilih_unit"}
CONTRACT_INTENTS = {
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "bot_challenge",
    "out_of_scope",
    "bantuan",
    "batal",
    "lapor_jalan_rusak",
    "lapor_lampu_padam",
    "lapor_sampah",
    "lapor_banjir",
    "lapor_pelayanan",
    "lapor_ketertiban",
    "lapor_sosial",
    "sampaikan_aspirasi",
    "minta_sktm",
    "izin_usaha",
    "surat_domisili",
    "tanya_syarat",
    "cek_status",
    "jam_layanan",
    "lokasi_kantor",
    "minta_petugas",
    "darurat",
}


def _yaml_files(folder: str):  # type: ignore[no-untyped-def]
    for path in sorted((ROOT / folder).rglob("*.yml")):
        yield yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@pytest.fixture(scope="module")
def domain() -> dict:
    merged: dict = {"intents": [], "responses": {}, "actions": [], "forms": {}, "slots": {}}
    for part in _yaml_files("domain"):
        merged["intents"] += part.get("intents", [])
        merged["actions"] += part.get("actions", [])
        merged["responses"].update(part.get("responses", {}))
        merged["forms"].update(part.get("forms", {}))
        merged["slots"].update(part.get("slots", {}))
    return merged


def _steps_actions() -> Set[str]:
    used = set()
    for folder in ("data/rules", "data/stories", "tests/stories"):
        if not (ROOT / folder).exists():
            continue
        for part in _yaml_files(folder):
            for block in (part.get("rules") or []) + (part.get("stories") or []):
                used |= {step["action"] for step in block.get("steps", []) if "action" in step}
    return used


def _action_code() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").glob("*.py"))


def test_contract_intents_are_all_in_the_domain(domain: dict) -> None:
    assert CONTRACT_INTENTS <= set(domain["intents"])


def test_every_intent_has_nlu_examples_or_is_a_payload(domain: dict) -> None:
    trained = set()
    for part in _yaml_files("data/nlu"):
        trained |= {block["intent"] for block in part.get("nlu", []) if "intent" in block}
    assert set(domain["intents"]) - trained == PAYLOAD_ONLY_INTENTS
    assert trained <= set(domain["intents"])


def test_every_response_is_used(domain: dict) -> None:
    used_in_steps = _steps_actions()
    code = _action_code()
    sent_by_actions = set(re.findall(r'"(utter_[a-z_]+)"', code))
    asked_by_forms = set()
    for form, spec in domain["forms"].items():
        for slot in spec.get("required_slots", []):
            asked_by_forms |= {f"utter_ask_{slot}", f"utter_ask_{form}_{slot}"}
    asked_by_forms |= {f"utter_ask_{slot}" for slot in domain["slots"]}
    unused = set(domain["responses"]) - used_in_steps - sent_by_actions - asked_by_forms
    assert unused == set()


def test_every_response_an_action_sends_exists(domain: dict) -> None:
    sent = set(re.findall(r'"(utter_[a-z_]+)"', _action_code()))
    assert sent - set(domain["responses"]) == set()


def test_every_custom_action_is_served_by_the_action_server(domain: dict) -> None:
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    custom = {a for a in domain["actions"] if not a.startswith("utter_")}
    assert custom - set(executor.actions) == set()


def test_citizen_texts_address_bapak_ibu_politely(domain: dict) -> None:
    rude = re.compile(r"\b(kamu|lu|lo|elo|anda)\b", re.IGNORECASE)
    for name, variants in domain["responses"].items():
        for variant in variants:
            assert not rude.search(variant.get("text", "")), name


def test_every_response_renders_without_interpolation_errors(domain: dict) -> None:
    """Rasa fills `{slot}` placeholders in every string of a response, button payloads too.
    A payload's entity JSON must be written with doubled braces (`/inform{{"pilihan": "x"}}`),
    or Rasa logs an error for each message it sends; rendered, the payload is the plain
    `/intent{"entity": "value"}` the connector sends back when the button is tapped."""
    import copy
    import json

    from rasa.core.nlg.interpolator import interpolate
    from structlog.testing import capture_logs

    class Values(dict):
        """Slots, and any other plain name (a value the sending action passes, like {count})."""

        def __missing__(self, key: str) -> str:
            if key.isidentifier():
                return "1"
            raise KeyError(key)

    values = Values({name: None for name in domain["slots"]})
    for name, variants in domain["responses"].items():
        for variant in variants:
            with capture_logs() as logs:
                rendered = interpolate(copy.deepcopy(variant), values)
            assert [log for log in logs if log.get("log_level") == "error"] == [], name
            for button in rendered.get("buttons", []):
                payload = button["payload"]
                if "{" in payload:
                    assert json.loads(payload[payload.index("{") :]), (name, payload)
