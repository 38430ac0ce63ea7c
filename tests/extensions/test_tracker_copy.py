"""A tracker copied from its state (rasa_extensions.tracker_copy) is the tracker Rasa's replaying
copy gives, field by field, at every step of conversations built from the project's rules and
stories; and changing the copy leaves the original alone."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ConversationPaused, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_extensions import tracker_copy


def fields(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """Every attribute, slots as (class, every attribute) and events as the event objects."""
    result = dict(vars(tracker))
    result["slots"] = {name: (type(slot), vars(slot)) for name, slot in tracker.slots.items()}
    result["events"] = [id(event) for event in tracker.events]
    result.pop("_layanwarga_applied_events", None)  # rasa_extensions.dialogue_states' memo
    return result


def test_the_copy_equals_rasas_replaying_copy(project: Tuple[Domain, List[List[Event]]]) -> None:
    domain, stories = project
    tracker = DialogueStateTracker("6281100000005", domain.slots)
    tracker.model_id, tracker.assistant_id = "model-1", "layanwarga"  # what the processor sets
    extra: List[Event] = [SlotSet(domain.slots[0].name, "nilai"), ConversationPaused()]
    steps = 0
    for events in stories + [extra]:
        for event in events:
            tracker.update(event)
            steps += 1
            assert fields(tracker.copy()) == fields(tracker_copy.original(tracker))
    assert steps > 500


def test_changing_the_copy_leaves_the_original_alone(project: Tuple[Domain, List[List[Event]]]) -> None:
    domain, stories = project
    tracker = DialogueStateTracker("6281100000006", domain.slots)
    for events in stories[:20]:
        for event in events:
            tracker.update(event)
    tracker.change_loop_to("form_lapor_jalan_rusak")
    before = fields(tracker)
    copied = tracker.copy()
    copied.reject_action("form_lapor_jalan_rusak")  # these two change the active loop in place
    copied.interrupt_loop(True)
    copied.update(ActionExecuted("action_listen"))
    copied.update(UserUttered("halo", {"name": "greet", "confidence": 1.0}))
    copied.update(SlotSet(domain.slots[0].name, "lain"))
    copied.set_latest_action({"action_name": "utter_greet"})
    assert fields(tracker) == before
    assert not tracker.active_loop.rejected and not tracker.active_loop.is_interrupted
