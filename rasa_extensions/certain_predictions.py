"""TED is not asked when a rule or a memorised story has already decided the next action.

Rasa 3.6 runs every policy for every prediction and then picks one
(``DefaultPolicyPredictionEnsemble._pick_best_policy``): the highest confidence wins, ties go to
the higher priority, and end-to-end or no-user predictions overrule the rest. When the
RulePolicy or MemoizationPolicy predicts an action with confidence 1.0, TED (priority 1, its
confidences at most 1.0) cannot win, yet its TensorFlow inference was the largest single cost
of a turn (about 40 % of the prediction loop; ``scripts/benchmark_load.py --profile``), two to
four times a turn.

So Rule and Memoization leave a note on the tracker when they are certain, and TED, asked next
(the prediction graph runs Memoization, Rule, then TED), answers "no prediction" (all zeros, as
Rasa's TED does without a model) when a note for this very tracker state says a policy of
higher priority is certain. TED still runs whenever the note could be wrong about the outcome:

- no note, or one left at another point of the conversation (events since) - so if the graph
  ever ran TED first, TED would simply run;
- TED could make an end-to-end prediction (trained on text), which would overrule the others;
- the last action was rejected (Rasa then sets that action's confidence to 0.0 everywhere, and
  a certain prediction may lose it).

The ensemble's choice, its events and its flags are the same as when TED runs
(``tests/extensions/test_certain_predictions.py`` checks this on the trained model).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

_NOTE = "_layanwarga_certain_prediction"
_originals: Dict[type, Callable[..., PolicyPrediction]] = {}


@dataclass(frozen=True)
class _Note:
    """A certain prediction: where in the conversation, and the highest priority certain."""

    length: int
    last_event: Optional[Event]
    priority: int

    def is_for(self, tracker: DialogueStateTracker) -> bool:
        """Left at this point of this conversation: as many events, the same last one."""
        events = tracker.events
        return self.length == len(events) and self.last_event is (events[-1] if events else None)


def _note(tracker: DialogueStateTracker) -> Optional[_Note]:
    note = tracker.__dict__.get(_NOTE)
    return note if isinstance(note, _Note) and note.is_for(tracker) else None


def _last_action_rejected(tracker: DialogueStateTracker) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecutionRejected):
            return True
        if isinstance(event, ActionExecuted):
            return False
    return False


def _could_predict_from_text(ted: TEDPolicy) -> bool:
    fake_features = getattr(ted, "fake_features", None)
    return fake_features is None or TEXT in fake_features or bool(getattr(ted, "only_e2e", True))


def _noting(original: Callable[..., PolicyPrediction]) -> Callable[..., PolicyPrediction]:
    @functools.wraps(original)
    def predict_action_probabilities(
        self: Policy, tracker: DialogueStateTracker, domain: Domain, *args: Any, **kwargs: Any
    ) -> PolicyPrediction:
        prediction = original(self, tracker, domain, *args, **kwargs)
        if prediction.max_confidence >= 1.0:
            known = _note(tracker)
            priority = max(prediction.policy_priority, known.priority if known else prediction.policy_priority)
            events = tracker.events
            tracker.__dict__[_NOTE] = _Note(len(events), events[-1] if events else None, priority)
        return prediction

    return predict_action_probabilities


def _ted_predict(original: Callable[..., PolicyPrediction]) -> Callable[..., PolicyPrediction]:
    @functools.wraps(original)
    def predict_action_probabilities(
        self: TEDPolicy, tracker: DialogueStateTracker, domain: Domain, *args: Any, **kwargs: Any
    ) -> PolicyPrediction:
        note = _note(tracker)
        if (
            note is not None
            and note.priority > self.priority
            and not _could_predict_from_text(self)
            and not _last_action_rejected(tracker)
        ):
            return self._prediction(self._default_predictions(domain))
        return original(self, tracker, domain, *args, **kwargs)

    return predict_action_probabilities


def original(policy_class: type) -> Callable[..., PolicyPrediction]:
    """A policy class's own ``predict_action_probabilities`` (the tests compare with it)."""
    return _originals.get(policy_class, policy_class.predict_action_probabilities)  # type: ignore[attr-defined]


def install() -> None:
    """Let certain Rule and Memoization predictions spare TED's inference (idempotent)."""
    if _originals:
        return
    for policy_class, wrap in ((RulePolicy, _noting), (MemoizationPolicy, _noting), (TEDPolicy, _ted_predict)):
        _originals[policy_class] = policy_class.predict_action_probabilities
        policy_class.predict_action_probabilities = wrap(_originals[policy_class])  # type: ignore[assignment]
