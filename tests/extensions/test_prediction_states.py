"""The project's policies (rasa_extensions.policies) get only their recent states
(rasa_extensions.prediction_states) and predict exactly what Rasa's predict from the whole
session: state for state against Rasa's featurizer, and prediction for prediction (Rule,
Memoization, TED and the ensemble) with the trained model, at every step of one long
conversation made of the project's stories."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_extensions import dialogue_states, prediction_states
from rasa_extensions.policies import LayanWargaMemoizationPolicy, LayanWargaRulePolicy, LayanWargaTEDPolicy
from rasa_extensions.prediction_states import RecentStatesFeaturizer
from rasa_extensions.tracker_store import LayanWargaTrackerStore
from tests.extensions.model_support import long_conversation, policies, predictions, rasas_own_code


def test_the_model_runs_the_projects_policies_with_the_recent_states_featurizer(agent: Agent) -> None:
    """config.yml names them, and the featurizer survives training, storing and loading."""
    loaded = {type(policy): policy for policy in policies(agent).values()}
    assert set(loaded) == {LayanWargaRulePolicy, LayanWargaMemoizationPolicy, LayanWargaTEDPolicy}
    assert type(loaded[LayanWargaMemoizationPolicy].featurizer) is RecentStatesFeaturizer
    assert type(loaded[LayanWargaTEDPolicy].featurizer) is RecentStatesFeaturizer
    assert loaded[LayanWargaTEDPolicy].featurizer.max_history == 5


@pytest.mark.parametrize("max_history", [1, 4, 5])
def test_ml_policies_get_rasas_slice_of_the_states(
    project: Tuple[Domain, List[List[Event]]], max_history: int
) -> None:
    domain, story_events = project
    dialogue_states.clear()
    featurizer = RecentStatesFeaturizer(max_history=max_history)
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
                expected = MaxHistoryTrackerFeaturizer.prediction_states(
                    featurizer, [tracker], domain, **asked
                )
                assert featurizer.prediction_states([tracker], domain, **asked) == expected
            checked += 1
    assert checked > 150


def test_every_policy_predicts_as_from_the_whole_session(
    agent: Agent, project: Tuple[Domain, List[List[Event]]]
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
        with rasas_own_code():
            rasas = predictions(agent, tracker)
            whole = rule_policy._prediction_states(tracker, domain)
        assert ours == rasas
        recent = rule_policy._prediction_states(tracker, domain)
        assert recent == whole[-(horizon + 1) :]
        compared += 1
    assert compared > 100 and len(whole) > 3 * (horizon + 1)


def test_conversations_from_the_tracker_store_take_the_short_path(
    agent: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `rasa run` predicts on (a tracker from the project's store, and the copy Rasa makes
    before each action) never falls back to Rasa's whole-session path."""
    domain = agent.processor.domain  # type: ignore[union-attr]

    def whole_session(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("Rasa's own prediction_states was used")

    monkeypatch.setattr(MaxHistoryTrackerFeaturizer, "prediction_states", whole_session)
    monkeypatch.setattr(RulePolicy, "_prediction_states", whole_session)
    store = LayanWargaTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "tracker.db"))

    async def scenario() -> DialogueStateTracker:
        tracker = DialogueStateTracker("6281100000013", domain.slots)
        for event in [
            ActionExecuted("action_listen"),
            UserUttered("halo", {"name": "greet", "confidence": 1.0}),
        ]:
            tracker.update(event)
        await store.save(tracker)
        stored = await store.retrieve("6281100000013")
        assert stored is not None
        return stored

    stored = asyncio.run(scenario())
    for tracker in (stored, stored.copy()):
        for policy in policies(agent).values():
            policy.predict_action_probabilities(tracker, domain)
