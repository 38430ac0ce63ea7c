"""A city's catalogue on WhatsApp (issue 22): the sample Kota Palangka Raya with the shipped
starting set imported, whose kelurahan services are Kelurahan Langkai's. A citizen whose
kelurahan is known is answered from the services of that kelurahan, its kecamatan and the city,
never another kelurahan's: a Langkai citizen gets Langkai's SKTM from the catalogue, a Menteng
citizen the SKTM as Menteng issues it (configuration), a citizen not known yet is asked first."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from city_support import LANGKAI, MENTENG, write_city_config

from actions.requirements import ActionTellRequirements
from actions.service_answers import ANSWER_RESPONSE
from actions.units import SLOT_QUESTION, ActionChooseUnit
from layanwarga import citizen_units, db, services, unit_routing
from layanwarga.config import CONFIG_ENV_VAR, PROJECT_ROOT, get_institution

from .conftest import Run, make_tracker, run_action

SHIPPED = PROJECT_ROOT / "catalogue" / "layanan.yml"
SKTM = [{"entity": "layanan", "value": "sktm"}]
LANGKAI_CITIZEN, MENTENG_CITIZEN, NEW_CITIZEN = "6281200000001", "6281200000002", "6281200000003"


@pytest.fixture
def city_catalogue(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(CONFIG_ENV_VAR, str(write_city_config(tmp_path)))
    with db.session_scope(sqlite_url) as session:
        services.import_catalogue(session, *services.load_file(SHIPPED), tree=get_institution().units)
    for sender, unit in ((LANGKAI_CITIZEN, LANGKAI), (MENTENG_CITIZEN, MENTENG)):
        citizen_units.set_unit(sender, unit, unit_routing.SOURCE_CHOSEN)
    yield sqlite_url


def ask(domain: Dict[str, Any], sender: str, text: str, entities: List[dict] = ()) -> Run:  # type: ignore[assignment]
    tracker = make_tracker(text, "tanya_syarat", sender=sender, entities=list(entities))
    return run_action(ActionTellRequirements(), tracker, domain)


def test_a_letter_is_answered_by_the_citizens_own_kelurahan(domain, city_catalogue) -> None:  # type: ignore[no-untyped-def]
    langkai = ask(domain, LANGKAI_CITIZEN, "syarat sktm apa aja", SKTM).said(ANSWER_RESPONSE)
    assert langkai["office"].endswith("Kelurahan Langkai") and "Langkai" in langkai["place"]
    # Menteng has no SKTM of its own in the catalogue: Langkai's is not Menteng's answer.
    menteng = ask(domain, MENTENG_CITIZEN, "syarat sktm apa aja", SKTM)
    assert ANSWER_RESPONSE not in menteng.responses
    assert menteng.said("utter_syarat_surat")["pickup"].startswith("Loket pelayanan Kantor Kelurahan Menteng")


def test_a_citizen_not_known_yet_is_asked_then_answered_for_the_kelurahan_chosen(
    domain, city_catalogue
) -> None:  # type: ignore[no-untyped-def]
    asked = ask(domain, NEW_CITIZEN, "syarat sktm apa aja", SKTM)
    assert ANSWER_RESPONSE not in asked.responses and asked.slots[SLOT_QUESTION] == "syarat:sktm"
    tap = make_tracker(
        f'/pilih_unit{{"kode_unit": "{LANGKAI}"}}',
        "pilih_unit",
        sender=NEW_CITIZEN,
        entities=[{"entity": "kode_unit", "value": LANGKAI}],
        slots=asked.slots,
    )
    # The waiting question is answered from the catalogue, Langkai's service (one source).
    answered = run_action(ActionChooseUnit(), tap, domain)
    assert answered.said(ANSWER_RESPONSE)["name"] == "Surat Keterangan Tidak Mampu (SKTM)"


def test_another_kelurahans_own_service_is_not_offered(domain, city_catalogue) -> None:  # type: ignore[no-untyped-def]
    question = "surat keterangan ahli waris"
    assert (
        ask(domain, LANGKAI_CITIZEN, question).said(ANSWER_RESPONSE)["office"].endswith("Kelurahan Langkai")
    )
    elsewhere = ask(domain, MENTENG_CITIZEN, question)
    assert "ahli waris" not in str(elsewhere.messages) and "ahli-waris" not in str(elsewhere.messages)
    # The city's own (OPD) services serve every citizen.
    assert (
        ask(domain, MENTENG_CITIZEN, "syarat bikin skck")
        .said(ANSWER_RESPONSE)["name"]
        .startswith("Surat Keterangan Catatan Kepolisian")
    )
