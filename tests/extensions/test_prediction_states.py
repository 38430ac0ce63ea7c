"""The policies get only their recent states (rasa_extensions.prediction_states) and predict
exactly what they predict from the whole session: state for state against Rasa's featurizer, and
prediction for prediction (Rule, Memoization, TED and the ensemble) with the trained model, at
every step of one long conversation made of the project's stories."""
from __future__ import annotations

from typing import List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

import rasa_extensions  # noqa: F401 - importing the package installs the patches
from rasa_extensions import dialogue_states, prediction_states
from tests.extensions.model_support import long_conversation, policies, predictions

@pytest.mark.parametrize("max_history", [1, 4, 5])
def test_ml_policies_get_rasas_slice_of_the_states(project: Tuple[Domain, List[List[Event]]], max_history: int) -> None:
    domain, story_events = project
    dialogue_states.clear()
    featurizer = MaxHistoryTrackerFeaturizer(max_history=max_history)
    rule_only = {"slots": [s.name for s in domain.slots][:3], "loops": list(domain.form_names)[:2]}
    ways = [
        {},
        {"use_text_for_last_user_input": True},
        {"ignore_rule_only_turns": True, "rule_only_data": rule_only, "ignore_action_unlikely_intent": True},
        {"ignore_action_unlikely_intent": True, "use_text_for_last_user_input": True},
    ]
    tracker = DialogueStateTracker("6281100000011", domain.slots)
    checked = 0
    for event in long_conversation(story_events, 60):
        tracker.update(event)
        if isinstance(event, ActionExecuted):
            for asked in ways:
                expected = prediction_states.original_featurizer_prediction_states(featurizer, [tracker], domain, **asked)
                assert featurizer.prediction_states([tracker], domain, **asked) == expected
            checked += 1
    assert checked > 150


def test_every_policy_predicts_as_from_the_whole_session(
    agent: Agent, project: Tuple[Domain, List[List[Event]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, story_events = project
    domain = agent.processor.domain  # type: ignore[union-attr]
    rule_policy = next(p for p in policies(agent).values() if isinstance(p, RulePolicy))
    horizon = prediction_states.rule_horizon(rule_policy)
    assert 2 <= horizon < 30
    dialogue_states.clear()
    tracker = DialogueStateTracker("6281100000012", domain.slots)
    compared = 0
    for event in long_conversation(story_events, 40):
        tracker.update(event)
        if not isinstance(event, ActionExecuted):
            continue
        ours = predictions(agent, tracker)
        with monkeypatch.context() as rasa_own:
            rasa_own.setattr(MaxHistoryTrackerFeaturizer, "prediction_states", prediction_states._original_featurizer)
            rasa_own.setattr(RulePolicy, "_prediction_states", prediction_states._original_rule_states)
            rasas = predictions(agent, tracker)
            whole = RulePolicy._prediction_states(rule_policy, tracker, domain)
        assert ours == rasas
        recent = rule_policy._prediction_states(tracker, domain)
        assert recent == whole[-(horizon + 1):]
        compared += 1
    assert compared > 100 and len(whole) > 3 * (horizon + 1)
