"""TED is not asked when a rule or a memorised story has already decided the next action.

Rasa 3.6 runs every policy for every prediction and then picks one
(``DefaultPolicyPredictionEnsemble._pick_best_policy``): the highest confidence wins, ties go to
the higher priority, and end-to-end or no-user predictions overrule the rest. When the
RulePolicy or MemoizationPolicy predicts an action with confidence 1.0, TED (priority 1, its
confidences at most 1.0) cannot win, yet its TensorFlow inference was the largest single cost
of a turn (about 40 % of the prediction loop; ``scripts/benchmark_load.py --profile``), two to
four times a turn.

So Rule and Memoization (``rasa_extensions.policies``' subclasses) leave a note on the tracker
when they are certain (``note_if_certain``), and TED, asked next (the prediction graph runs the
policies in the order of config.yml: Rule, Memoization, then TED), answers "no prediction" (all
zeros, as Rasa's TED does without a model) when a note for this very tracker state says a policy
of higher priority is certain (``ted_may_skip``). TED still runs whenever the note could be wrong
about the outcome:

- no note, or one left at another point of the conversation (events since) - so if the graph
  ever ran TED first, TED would simply run;
- TED could make an end-to-end prediction (trained on text), which would overrule the others;
- the last action was rejected (Rasa then sets that action's confidence to 0.0 everywhere, and
  a certain prediction may lose it);
- the patches are not switched on (``rasa_extensions.patches``).

The ensemble's choice, its events and its flags are the same as when TED runs
(``tests/extensions/test_certain_predictions.py`` checks this on the trained model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

from rasa_extensions import patches

_NOTE = "_layanwarga_certain_prediction"


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


def note_if_certain(tracker: DialogueStateTracker, prediction: PolicyPrediction) -> None:
    """After a Rule or Memoization prediction: note on the tracker that a policy of this
    priority is certain at this point of the conversation, if it is."""
    if prediction.max_confidence >= 1.0:
        known = _note(tracker)
        priority = max(prediction.policy_priority, known.priority if known else prediction.policy_priority)
        events = tracker.events
        tracker.__dict__[_NOTE] = _Note(len(events), events[-1] if events else None, priority)


def ted_may_skip(ted: TEDPolicy, tracker: DialogueStateTracker) -> bool:
    """Whether TED's prediction cannot change the ensemble's choice here (see above)."""
    if not patches.switched_on():
        return False
    note = _note(tracker)
    return (
        note is not None
        and note.priority > ted.priority
        and not _could_predict_from_text(ted)
        and not _last_action_rejected(tracker)
    )
