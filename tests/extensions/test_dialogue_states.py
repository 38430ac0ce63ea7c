"""The policies' dialogue states, replayed only for new events (rasa_extensions.dialogue_states),
are exactly the states Rasa's own replay computes, for growing conversations built from the
project's rules and stories, with forms, rewinds and restarts, and for trackers rebuilt from the
database; and an extended conversation really is replayed only from where it stopped."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    Event,
    LoopInterrupted,
    Restarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_extensions import dialogue_states


def ways_of_asking(domain: Domain) -> List[Dict[str, Any]]:
    """How Rule, Memoization and TED ask (rule-only slots and loops taken from the domain)."""
    rule_only = {"slots": [s.name for s in domain.slots][:3], "loops": list(domain.form_names)[:2]}
    return [
        {},
        {"ignore_rule_only_turns": True, "rule_only_data": rule_only},
        {"omit_unset_slots": True, "ignore_rule_only_turns": True, "rule_only_data": rule_only},
    ]


def conversation(stories: List[List[Event]], rewinds: bool) -> Iterator[Event]:
    """The project's stories one after the other, as one long conversation; with ``rewinds``,
    the undo events Rasa uses (a rephrased message, a reverted action, a restart) and the
    unhappy paths of forms in between."""
    for number, events in enumerate(stories):
        yield from events
        if rewinds and number % 5 == 1:
            yield UserUttered("ulang", {"name": "greet", "confidence": 1.0})
            yield UserUtteranceReverted()
        if rewinds and number % 7 == 3:
            yield ActionExecuted("utter_greet")
            yield ActionReverted()
        if rewinds and number % 6 == 2:
            # The active loop is changed in place by these two (a replay checkpoint must not be).
            yield ActionExecutionRejected("form_lapor_jalan_rusak")
            yield LoopInterrupted(True)
        if rewinds and number == 20:
            yield Restarted()


def assert_same(domain: Domain, tracker: DialogueStateTracker, asked: Dict[str, Any]) -> None:
    expected = dialogue_states.original(domain, tracker, **asked)
    assert domain.states_for_tracker_history(tracker, **asked) == expected
    assert tracker.applied_events() == dialogue_states._original_applied_events(tracker)


@pytest.mark.parametrize("rewinds", [False, True])
def test_growing_conversation_gives_rasas_states(
    project: Tuple[Domain, List[List[Event]]], rewinds: bool
) -> None:
    domain, stories = project
    dialogue_states.clear()
    tracker = DialogueStateTracker("6281100000001", domain.slots)
    for count, event in enumerate(conversation(stories, rewinds), start=1):
        tracker.update(event)
        # Every step early on; further on every few steps (Rasa's own replay is the slow part).
        if count <= 200 or count % 9 == 0:
            for asked in ways_of_asking(domain):
                assert_same(domain, tracker, asked)
    assert count > 500


def test_copies_and_trackers_rebuilt_from_stored_events_give_rasas_states(
    project: Tuple[Domain, List[List[Event]]],
) -> None:
    domain, stories = project
    dialogue_states.clear()
    tracker = DialogueStateTracker("6281100000002", domain.slots)
    asked = ways_of_asking(domain)[1]
    for events in stories[:25]:
        for event in events:
            tracker.update(event)
        assert_same(domain, tracker, asked)
        # What the processor does before running an action: a copy plus the policy's events.
        temporary = tracker.copy()
        temporary.update(ActionExecuted("utter_greet"))
        assert_same(domain, temporary, asked)
        # What a tracker store without the cache returns: new event objects.
        rebuilt = DialogueStateTracker.from_dict(
            tracker.sender_id, [e.as_dict() for e in tracker.events], domain.slots
        )
        assert_same(domain, rebuilt, asked)
        assert_same(domain, tracker, asked)


def test_callers_get_their_own_list_of_applied_events(project: Tuple[Domain, List[List[Event]]]) -> None:
    domain, stories = project
    tracker = DialogueStateTracker("6281100000004", domain.slots)
    for event in stories[0]:
        tracker.update(event)
    first = tracker.applied_events()
    first.clear()
    assert tracker.applied_events() == dialogue_states._original_applied_events(tracker) != []


def test_an_extended_conversation_is_replayed_only_from_where_it_stopped(
    project: Tuple[Domain, List[List[Event]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    domain, stories = project
    dialogue_states.clear()
    tracker = DialogueStateTracker("6281100000003", domain.slots)
    for events in stories[:30]:
        for event in events:
            tracker.update(event)
    domain.states_for_tracker_history(tracker)
    states_built: List[Optional[str]] = []
    real = Domain.get_active_state

    def counting(self: Domain, tr: DialogueStateTracker, omit_unset_slots: bool = False) -> Dict[str, Any]:
        states_built.append(tr.latest_action_name)
        return real(self, tr, omit_unset_slots=omit_unset_slots)

    monkeypatch.setattr(Domain, "get_active_state", counting)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("halo", {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("utter_greet"))
    domain.states_for_tracker_history(tracker)
    # The state before the new action_listen, before utter_greet, and after it: nothing older.
    assert len(states_built) == 3


def test_what_the_featurizers_change_in_returned_states_does_not_reach_the_next_call(
    project: Tuple[Domain, List[List[Event]]],
) -> None:
    domain, stories = project
    dialogue_states.clear()
    tracker = DialogueStateTracker("6281100000007", domain.slots)
    for events in stories[:30]:
        for event in events:
            tracker.update(event)
    for asked in ways_of_asking(domain):
        for _ in range(2):
            states = domain.states_for_tracker_history(tracker, **asked)
            # What _choose_last_user_input and _remove_user_text_if_intent do to them.
            for state in states:
                for key in ("text", "intent", "entities"):
                    state.get("user", {}).pop(key, None)
            states.pop()
        assert_same(domain, tracker, asked)
