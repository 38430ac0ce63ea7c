"""The policies' prediction states: only the recent ones are copied and handed over.

Each prediction Rasa 3.6 asks for all states of the session (``MaxHistoryTrackerFeaturizer.
prediction_states``), copies them, and only then keeps the last ``max_history`` (TED 5,
Memoization 4). The RulePolicy keeps them all (its featurizer has no ``max_history``): it
checks every rule against every state back to the first, formats them all for a debug log and,
when no rule applies, writes them all into a JSON key. That is work in proportion to the
session, two to four predictions a turn: at turn 200 of one session it was most of what still
grew per turn (cProfile of turns 2-21 against turns 181-200).

Here the states come from ``rasa_extensions.dialogue_states`` uncopied, the recent ones are
picked, and only those are copied and given to Rasa's own ``_choose_last_user_input`` (which
changes them in place). The answer is the same:

- ML policies (``RecentStatesFeaturizer``, the featurizer of ``rasa_extensions.policies``'
  Memoization and TED): the last ``max_history`` states, counted after dropping
  ``action_unlikely_intent`` states where Rasa drops them, exactly Rasa's slice.
- RulePolicy (``rule_policy_states``, for ``rasa_extensions.policies.LayanWargaRulePolicy``):
  one state more than its longest rule (``RulePolicy._get_possible_keys`` accepts every rule
  at any state further back than the rule is long, so older states change nothing; the extra
  state keeps the "no rule" key longer than any rule key, so ``hide_rule_turn`` stays false as
  with the whole session). Only its debug log shows fewer states.

Trackers from training data (``TrackerWithCachedStates``, whose states Rasa caches itself and
whose training code edits every state) go through Rasa's code, and so does everything while
the patches are not switched on (``rasa_extensions.patches``).
``tests/extensions/test_prediction_states.py`` compares predictions and states with Rasa's.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Dict, List, Optional, Text

from rasa.core.featurizers.tracker_featurizers import (
    MaxHistoryTrackerFeaturizer,
    TrackerFeaturizer,
    _is_prev_action_unlikely_intent_in_state,
)
from rasa.core.policies.rule_policy import (
    RULES,
    RULES_FOR_LOOP_UNHAPPY_PATH,
    RULES_NOT_IN_STORIES,
    RulePolicy,
)
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_extensions import patches
from rasa_extensions.dialogue_states import copy_states, shared_states

_HORIZON = "_layanwarga_rule_horizon"


def recent_states(
    states: List[State], keep: Optional[int], ignore_action_unlikely_intent: bool
) -> List[State]:
    """The last ``keep`` states (all for None), skipping ``action_unlikely_intent`` states
    if asked: Rasa's filter-then-slice, looking only as far back as it must."""
    if not ignore_action_unlikely_intent:
        return states[-keep:] if keep else states
    picked: List[State] = []
    for state in reversed(states):
        if not _is_prev_action_unlikely_intent_in_state(state):
            picked.append(state)
            if keep and len(picked) == keep:
                break
    picked.reverse()
    return picked


def _is_live(tracker: DialogueStateTracker) -> bool:
    """A conversation's tracker, not one generated from training data."""
    return not isinstance(tracker, TrackerWithCachedStates)


def _prediction_states(
    featurizer: MaxHistoryTrackerFeaturizer,
    tracker: DialogueStateTracker,
    domain: Domain,
    keep: Optional[int],
    use_text_for_last_user_input: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: Optional[Dict[Text, Any]],
    ignore_action_unlikely_intent: bool,
) -> List[State]:
    states = shared_states(domain, tracker, False, ignore_rule_only_turns, rule_only_data)
    recent = [copy_states(recent_states(states, keep, ignore_action_unlikely_intent))]
    featurizer._choose_last_user_input(recent, use_text_for_last_user_input)
    return recent[0]


# Registered under its own name: the trained model stores the featurizer by this name, and
# Rasa's TrackerFeaturizer.load finds the class again by it.
@TrackerFeaturizer.register("rasa_extensions.RecentStatesFeaturizer")
class RecentStatesFeaturizer(MaxHistoryTrackerFeaturizer):
    """Rasa's ``MaxHistoryTrackerFeaturizer``, copying only the last ``max_history`` states
    for a prediction."""

    def prediction_states(
        self,
        trackers: List[DialogueStateTracker],
        domain: Domain,
        use_text_for_last_user_input: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        ignore_action_unlikely_intent: bool = False,
    ) -> List[List[State]]:
        if not patches.switched_on() or not all(_is_live(t) for t in trackers):
            return super().prediction_states(
                trackers,
                domain,
                use_text_for_last_user_input,
                ignore_rule_only_turns,
                rule_only_data,
                ignore_action_unlikely_intent,
            )
        return [
            _prediction_states(
                self,
                tracker,
                domain,
                self.max_history,
                use_text_for_last_user_input,
                ignore_rule_only_turns,
                rule_only_data,
                ignore_action_unlikely_intent,
            )
            for tracker in trackers
        ]


def recent_states_featurizer(standard: TrackerFeaturizer) -> TrackerFeaturizer:
    """A policy's standard featurizer as a ``RecentStatesFeaturizer`` (another kind unchanged)."""
    if type(standard) is not MaxHistoryTrackerFeaturizer:
        return standard
    return RecentStatesFeaturizer(standard.state_featurizer, standard.max_history, standard.remove_duplicates)


@functools.lru_cache(maxsize=4096)
def _key_length(key: Text) -> int:
    return len(json.loads(key)) if key.startswith("[") else 0


def rule_horizon(policy: RulePolicy) -> int:
    """States of the longest rule key the policy knows (rules, unhappy loop paths, rules not
    in stories). Computed once per trained lookup."""
    lookup = policy.lookup
    cached = getattr(policy, _HORIZON, None)
    if cached is not None and cached[0] is lookup:
        return cached[1]
    keys = [
        *lookup.get(RULES, {}),
        *lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {}),
        *lookup.get(RULES_NOT_IN_STORIES, []),
    ]
    horizon = max((_key_length(key) for key in keys), default=0)
    setattr(policy, _HORIZON, (lookup, horizon))
    return horizon


def rule_policy_states(
    policy: RulePolicy,
    tracker: DialogueStateTracker,
    domain: Domain,
    use_text_for_last_user_input: bool,
    rule_only_data: Optional[Dict[Text, Any]],
) -> Optional[List[State]]:
    """The RulePolicy's prediction states, one more than its longest rule; None where Rasa's
    own code must answer (the patches off, training data, another featurizer)."""
    featurizer = policy.featurizer
    if (
        not patches.switched_on()
        or not _is_live(tracker)
        or not isinstance(featurizer, MaxHistoryTrackerFeaturizer)
        or featurizer.max_history
    ):
        return None
    # Policy._prediction_states's flags for a policy on rule data: both off.
    return _prediction_states(
        featurizer,
        tracker,
        domain,
        rule_horizon(policy) + 1,
        use_text_for_last_user_input,
        False,
        rule_only_data,
        False,
    )
