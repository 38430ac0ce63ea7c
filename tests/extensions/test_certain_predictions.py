"""TED is skipped only where it cannot change the outcome (rasa_extensions.certain_predictions,
in the policies of rasa_extensions.policies): with the trained model, at every step of one long
conversation made of the project's stories, the ensemble picks the same action with the same
events and flags as when TED always runs, and TED really is skipped for most predictions; after
a rejected action, and while the patches are not switched on, it always runs."""

from __future__ import annotations

import random
from typing import Any, List, Tuple

import numpy as np
import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from tests.extensions.model_support import (
    combined,
    ensemble_prediction,
    long_conversation,
    patched_predict,
    rasas_own_code,
    rasas_predict,
)


@pytest.fixture
def ted_runs(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """Counts TED's real predictions (its featurisation runs only then)."""
    runs: List[int] = []
    real = TEDPolicy._featurize_tracker

    def counting(self: TEDPolicy, *args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TEDPolicy, "_featurize_tracker", counting)
    return runs


@pytest.mark.parametrize("confident_ted", [False, True])
def test_the_ensemble_decides_as_when_ted_always_runs(
    agent: Agent,
    project: Tuple[Domain, List[List[Event]]],
    monkeypatch: pytest.MonkeyPatch,
    ted_runs: List[int],
    confident_ted: bool,
) -> None:
    """On the project's stories (memorised, or covered by rules) and on random messages
    answered as the model decides. This model's TED is never sure enough to win against the
    rules' fallback (0.3); a TED made certain of its choice (confidence 1.0) wins wherever no
    rule or story is certain, and must still be asked there."""
    if confident_ted:
        real_pick = TEDPolicy._pick_confidence

        def certain_pick(self: TEDPolicy, *args: Any, **kwargs: Any) -> Any:
            confidences, is_e2e = real_pick(self, *args, **kwargs)
            certain = np.zeros_like(confidences)
            certain[np.argmax(confidences)] = 1.0
            return certain, is_e2e

        monkeypatch.setattr(TEDPolicy, "_pick_confidence", certain_pick)
    _, story_events = project
    domain = agent.processor.domain  # type: ignore[union-attr]
    winners: List[str] = []
    skipped = 0

    def compare(tracker: DialogueStateTracker) -> Any:
        nonlocal skipped
        ted_runs.clear()
        ensemble_prediction(agent, tracker)  # through the prediction graph, as Rasa runs it
        skipped += not ted_runs
        decided = combined(agent, tracker, patched_predict)
        assert decided == combined(agent, tracker, rasas_predict)
        winners.append(decided[0])
        return decided

    stories = DialogueStateTracker("6281100000021", domain.slots)
    for event in long_conversation(story_events, 40):
        stories.update(event)
        if isinstance(event, ActionExecuted):
            compare(stories)
    rng = random.Random(7)
    wandering = DialogueStateTracker("6281100000023", domain.slots)
    wandering.update(ActionExecuted("action_listen"))
    for turn in range(60):
        intent = rng.choice(domain.intents)
        wandering.update(UserUttered(f"pesan {turn}", {"name": intent, "confidence": 1.0}))
        for _ in range(4):
            probabilities = compare(wandering)[1]
            action = domain.action_names_or_texts[probabilities.index(max(probabilities))]
            wandering.update(ActionExecuted(action))
            if action == "action_listen":
                break
    assert len(winners) > 250
    assert skipped > len(winners) / 2
    assert (winners.count("LayanWargaTEDPolicy") >= 10) is confident_ted


def report_started(domain: Domain, sender: str) -> DialogueStateTracker:
    """A citizen's first message asks to report a damaged road: a rule starts the form."""
    tracker = DialogueStateTracker(sender, domain.slots)
    for event in [
        ActionExecuted("action_listen"),
        UserUttered("mau lapor jalan rusak", {"name": "lapor_jalan_rusak", "confidence": 1.0}),
    ]:
        tracker.update(event)
    return tracker


def test_after_a_rejected_action_ted_always_runs(agent: Agent, ted_runs: List[int]) -> None:
    domain = agent.processor.domain  # type: ignore[union-attr]
    tracker = report_started(domain, "6281100000022")
    ensemble_prediction(agent, tracker)
    assert not ted_runs  # a rule starts the form: TED is spared
    tracker.update(ActionExecutionRejected("lapor_jalan_rusak_form"))
    ensemble_prediction(agent, tracker)
    assert ted_runs
    assert combined(agent, tracker, patched_predict) == combined(agent, tracker, rasas_predict)


def test_with_the_patches_off_ted_always_runs(agent: Agent, ted_runs: List[int]) -> None:
    """LAYANWARGA_RASA_PATCHES=off (or an untested Rasa) leaves the policies as Rasa's."""
    domain = agent.processor.domain  # type: ignore[union-attr]
    tracker = report_started(domain, "6281100000024")
    with rasas_own_code():
        ensemble_prediction(agent, tracker)
    assert ted_runs
