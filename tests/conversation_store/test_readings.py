"""The conversation store hands the review queue the assistant's reading of each message it
answered (issue 27): intent, confidence and top guesses, whether it fell back, and whether a form
took the text as an answer; one row per message, on the store's own thread."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from layanwarga import db
from layanwarga.models import NluReading
from rasa_extensions.tracker_store import LayanWargaTrackerStore

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain"))
SENDER = "6281234500009"


def said(text: str, intent: str, confidence: float, message_id: str) -> UserUttered:
    ranking = [
        {"name": intent, "confidence": confidence},
        {"name": "lapor_banjir", "confidence": 0.2},
        {"name": "greet", "confidence": 0.1},
        {"name": "thanks", "confidence": 0.05},
    ]
    return UserUttered(
        text,
        intent={"name": intent, "confidence": confidence},
        parse_data={
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": ranking,
            "text": text,
        },
        message_id=message_id,
    )


def test_each_turn_records_its_reading(db_url: str, tmp_path: Path) -> None:
    store = LayanWargaTrackerStore(
        domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), record_readings=True
    )
    form = DOMAIN.form_names[0]
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    tracker.update(said("jalan bolong nik 6271014506850003", "lapor_jalan_rusak", 0.35, "wamid.1"))
    tracker.update(ActionExecuted("action_default_fallback"))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))
    tracker.update(said("jl mawar 3", "inform", 0.2, "wamid.2"))
    tracker.update(ActionExecuted(form))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))
    with db.session_scope() as session:
        rows = list(session.execute(select(NluReading).order_by(NluReading.id)).scalars())
    assert [(r.message_id, r.intent, r.fell_back, r.in_form) for r in rows] == [
        ("wamid.1", "lapor_jalan_rusak", True, False),
        ("wamid.2", "inform", False, True),
    ]
    assert rows[0].text == "jalan bolong nik 6271********0003"
    assert json.loads(rows[0].guesses) == [["lapor_jalan_rusak", 0.35], ["lapor_banjir", 0.2], ["greet", 0.1]]
    assert rows[0].confidence == 0.35


def test_nothing_is_recorded_unless_asked(db_url: str, tmp_path: Path) -> None:
    store = LayanWargaTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    tracker = DialogueStateTracker(SENDER, DOMAIN.slots)
    tracker.update(said("halo", "greet", 0.9, "wamid.3"))
    asyncio.run(store.save(tracker))
    with db.session_scope() as session:
        assert session.execute(select(NluReading.id)).first() is None
