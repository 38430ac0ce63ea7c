"""Rasa's RulePolicy, MemoizationPolicy and TEDPolicy with two shortcuts, named in config.yml.

    policies:
      - name: rasa_extensions.policies.LayanWargaRulePolicy
      - name: rasa_extensions.policies.LayanWargaMemoizationPolicy
      - name: rasa_extensions.policies.LayanWargaTEDPolicy

Custom policies as Rasa 3.6 documents them: subclasses registered with the default recipe,
trained, stored and loaded by Rasa's own code. Each answers exactly as its parent (compared on
the trained model in ``tests/extensions``), for less work per prediction:

- the policies get only the recent dialogue states (``rasa_extensions.prediction_states``):
  Memoization and TED through their featurizer, the RulePolicy through ``_prediction_states``;
- TED is not asked when the RulePolicy or Memoization is already certain of the next action
  (``rasa_extensions.certain_predictions``): they leave a note, TED reads it. The prediction
  graph runs the policies in the order listed, so TED must come after them.

While the patches are not switched on (``LAYANWARGA_RASA_PATCHES=off``, an untested Rasa, or
Rasa started without ``python -m rasa_extensions``; see ``rasa_extensions.patches``) each
policy does what its parent does.

Rasa compares a few class names exactly, which these subclasses do not match: training warns
that "'RulePolicy' is not included in the model's policy configuration" (the subclass still
has every rule, ``restart`` and ``back`` included), and ``rasa test``'s
``in_training_data_fraction`` counts no prediction as memorised (it looks for policy names
ending in ``_RulePolicy``/``_MemoizationPolicy``). Neither changes what the assistant does.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_extensions.certain_predictions import note_if_certain, ted_may_skip
from rasa_extensions.prediction_states import recent_states_featurizer, rule_policy_states


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class LayanWargaRulePolicy(RulePolicy):
    """Rasa's RulePolicy: checks only the states its rules can reach, notes a certain prediction."""

    def _prediction_states(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        use_text_for_last_user_input: bool = False,
        rule_only_data: Optional[Dict[Text, Any]] = None,
    ) -> List[State]:
        recent = rule_policy_states(self, tracker, domain, use_text_for_last_user_input, rule_only_data)
        if recent is None:
            return super()._prediction_states(tracker, domain, use_text_for_last_user_input, rule_only_data)
        return recent

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        prediction = super().predict_action_probabilities(tracker, domain, rule_only_data, **kwargs)
        note_if_certain(tracker, prediction)
        return prediction


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class LayanWargaMemoizationPolicy(MemoizationPolicy):
    """Rasa's MemoizationPolicy: copies only its ``max_history`` states, notes a certain prediction."""

    def _standard_featurizer(self) -> TrackerFeaturizer:
        return recent_states_featurizer(super()._standard_featurizer())

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        prediction = super().predict_action_probabilities(tracker, domain, rule_only_data, **kwargs)
        note_if_certain(tracker, prediction)
        return prediction


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class LayanWargaTEDPolicy(TEDPolicy):
    """Rasa's TEDPolicy: copies only its ``max_history`` states, and is not asked where a
    rule or memorised story of higher priority is already certain."""

    def _standard_featurizer(self) -> TrackerFeaturizer:
        return recent_states_featurizer(super()._standard_featurizer())

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        if ted_may_skip(self, tracker):
            return self._prediction(self._default_predictions(domain))
        return super().predict_action_probabilities(tracker, domain, rule_only_data, **kwargs)
