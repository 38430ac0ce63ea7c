"""Helpers for comparing the trained model's predictions with and without a patch."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List

from rasa.core.agent import Agent
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_extensions import patches


def long_conversation(stories: List[List[Event]], count: int) -> Iterator[Event]:
    """``count`` stories one after the other as one conversation, with a typed message and an
    ``action_unlikely_intent`` (which the ML policies skip) now and then."""
    for number, events in enumerate(stories[:count]):
        for event in events:
            if isinstance(event, UserUttered) and number % 4 == 0:
                event = UserUttered(f"pesan {number}", event.intent, event.entities)
            yield event
            if isinstance(event, UserUttered) and number % 5 == 2:
                yield ActionExecuted("action_unlikely_intent")


def graph_components(agent: Agent) -> Dict[str, Any]:
    """The prediction graph's components by node name (Rasa keeps them on its runner)."""
    assert agent.processor is not None
    nodes = agent.processor.graph_runner._instantiated_nodes  # type: ignore[attr-defined]
    return {name: node._component for name, node in nodes.items()}


def policies(agent: Agent) -> Dict[str, Any]:
    return {
        name: c for name, c in graph_components(agent).items() if name.startswith("run_") and "Policy" in name
    }


def ensemble_prediction(agent: Agent, tracker: DialogueStateTracker) -> Any:
    """What the processor would do next, as a comparable value."""
    assert agent.processor is not None
    prediction = agent.processor._predict_next_with_tracker(tracker.copy())
    return (
        prediction.policy_name,
        prediction.max_confidence_index,
        round(prediction.max_confidence, 6),
        prediction.events,
        prediction.hide_rule_turn,
        prediction.is_end_to_end_prediction,
        prediction.is_no_user_prediction,
        prediction.action_metadata,
    )


def comparable(prediction: Any) -> Any:
    return (
        prediction.policy_name,
        [round(p, 6) for p in prediction.probabilities],
        prediction.events,
        prediction.hide_rule_turn,
        prediction.is_end_to_end_prediction,
        prediction.is_no_user_prediction,
        prediction.action_metadata,
    )


def policy_predictions(
    agent: Agent, tracker: DialogueStateTracker, predict: Callable[[Any], Callable[..., Any]]
) -> List[Any]:
    """Each policy's prediction with ``predict(policy)`` as its function, highest priority
    first (TED last, as in the prediction graph)."""
    assert agent.processor is not None
    rule_only = graph_components(agent)["rule_only_data_provider"].provide()
    ordered = sorted(policies(agent).values(), key=lambda policy: -policy.priority)
    copy = tracker.copy()
    return [
        predict(policy)(policy, copy, agent.processor.domain, rule_only_data=rule_only) for policy in ordered
    ]


def combined(
    agent: Agent, tracker: DialogueStateTracker, predict: Callable[[Any], Callable[..., Any]]
) -> Any:
    """The ensemble's choice among the policies' predictions made with ``predict``.

    The graph keeps the policies' functions it was built with, so a patch of
    ``predict_action_probabilities`` made later reaches it only through this."""
    assert agent.processor is not None
    copy = tracker.copy()
    found = policy_predictions(agent, copy, predict)
    return comparable(
        graph_components(agent)["select_prediction"].combine_predictions(found, copy, agent.processor.domain)
    )


@contextlib.contextmanager
def rasas_own_code() -> Iterator[None]:
    """Within the block the project's policies, featurizer and SpacyNLP answer as their Rasa
    parents, as when the patches are not switched on (the installed patches stay)."""
    saved = patches._switched_on
    patches._switched_on = False
    try:
        yield
    finally:
        patches._switched_on = saved


def rasa_parent(policy: Any) -> type:
    """The Rasa class a project policy (rasa_extensions.policies) extends."""
    return next(cls for cls in type(policy).__mro__ if cls.__module__.startswith("rasa."))


def patched_predict(policy: Any) -> Callable[..., Any]:
    """The policy's own ``predict_action_probabilities`` (with the TED shortcut)."""
    return type(policy).predict_action_probabilities


def rasas_predict(policy: Any) -> Callable[..., Any]:
    """Its Rasa parent's ``predict_action_probabilities``: TED always runs, as in Rasa (the
    states are still the project featurizer's)."""
    return rasa_parent(policy).predict_action_probabilities


def predictions(agent: Agent, tracker: DialogueStateTracker) -> List[Any]:
    """What each policy (TED always run, as Rasa does) and the ensemble predict, as
    comparable values."""
    return [comparable(p) for p in policy_predictions(agent, tracker, rasas_predict)] + [
        combined(agent, tracker, rasas_predict),
        ensemble_prediction(agent, tracker),
    ]
