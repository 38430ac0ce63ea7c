"""Hostile input against every form's validation: any text, intent, entity or metadata at any
question. Validation answers with slot events and polite re-asks; it never raises."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Dict

from hypothesis import given, strategies as st
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.complaints import ValidateLaporJalanRusakForm, ValidateSampaikanAspirasiForm
from actions.letters import ValidateDomisiliForm, ValidateSktmForm, ValidateSkuForm

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain")).as_dict()
VALIDATORS = [
    ValidateLaporJalanRusakForm(),
    ValidateSampaikanAspirasiForm(),
    ValidateSktmForm(),
    ValidateSkuForm(),
    ValidateDomisiliForm(),
]
DYNAMIC_SLOTS = ["aduan_ubah_bagian", "surat_hubungan", "surat_nik_cek", "surat_ubah_bagian"]

any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=5,
)
texts = st.one_of(
    st.text(max_size=200),
    st.from_regex(r"\d{4}[ .]?\d{4}[ .]?\d{4}[ .]?\d{4}", fullmatch=True),
    st.sampled_from(
        [
            "/affirm",
            "/deny",
            "/lewati",
            "/batal",
            '/ubah{"pilihan": "lokasi"}',
            "/kirim_media",
            "/kirim_lokasi",
            "",
            "   ",
        ]
    ),
)
metadata = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {"media": st.one_of(st.fixed_dictionaries({"media_db_id": st.integers(1, 10**6)}), any_json)}
    ),
    st.fixed_dictionaries(
        {
            "location": st.one_of(
                st.fixed_dictionaries({"latitude": any_json, "longitude": any_json}), any_json
            )
        }
    ),
    st.dictionaries(st.text(max_size=10), any_json, max_size=3),
)
# Slots hold only what the actions put in them, so their values keep the declared types.
SLOT_VALUES = {
    "text": st.text(max_size=40) | st.from_regex(r"fernet:[A-Za-z0-9_=-]{10,40}", fullmatch=True),
    "bool": st.booleans(),
    "float": st.floats(0, 10),
    "list": st.lists(st.integers(1, 10**6), max_size=4),
    "any": any_json,
}
filled_slots = st.dictionaries(st.sampled_from(sorted(DOMAIN["slots"])), st.none(), max_size=5).flatmap(
    lambda chosen: st.fixed_dictionaries(
        {name: SLOT_VALUES.get(DOMAIN["slots"][name]["type"], any_json) for name in chosen}
    )
)
entities = st.lists(
    st.fixed_dictionaries(
        {"entity": st.sampled_from(["nik", "nomor_tiket", "layanan", "pilihan", "x"]), "value": any_json}
    ),
    max_size=3,
)


@given(
    validator=st.sampled_from(VALIDATORS),
    slot_index=st.integers(0, 40),
    text=texts,
    intent=st.sampled_from(DOMAIN["intents"]) | st.text(max_size=10),
    confidence=st.floats(0, 1),
    entities=entities,
    metadata=metadata,
    filled=filled_slots,
)
def test_any_answer_at_any_question_never_raises(
    validator, slot_index, text, intent, confidence, entities, metadata, filled
) -> None:  # type: ignore[no-untyped-def]
    form = validator.form_name()
    slots = DOMAIN["forms"][form]["required_slots"] + DYNAMIC_SLOTS
    requested = slots[slot_index % len(slots)]
    kind = (
        {"surat_jenis": "sktm" if "sktm" in form else "sku" if "sku" in form else "domisili"}
        if "aduan" not in requested
        else {}
    )
    values: Dict[str, Any] = {**filled, **kind, "requested_slot": requested}
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities,
        "metadata": metadata,
    }
    tracker = Tracker(
        "6281234567890",
        values,
        latest,
        [{"event": "user", **latest}],
        False,
        None,
        {"name": form},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(validator.run(dispatcher, tracker, DOMAIN))
    assert isinstance(events, list)
    assert all(isinstance(e, dict) and "event" in e for e in events)
    json.dumps(events, default=str)
