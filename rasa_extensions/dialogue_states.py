"""Dialogue states computed once per conversation, not once per prediction.

Every policy asks for the conversation's past states before each prediction
(``Domain.states_for_tracker_history``, via ``tracker.past_states``), and Rasa 3.6 answers by
replaying the whole session event by event: Rule, Memoization and TED each do it, two to four
times a turn. The cost grows with the conversation: at turn 150-200 of one session this replay
was half of the Rasa process's event loop (py-spy, ``scripts/benchmark_load.py --profile-long``).

The states of a conversation only grow at its end, so this module keeps, per conversation and
per way of asking (the three flags), where the last replay stopped: the replayed tracker, the
states so far and the two loop variables. The next call replays only the events it has not seen.
Events are matched by identity: the tracker store hands the same event objects from turn to turn
(``rasa_extensions.tracker_store``), and any difference (a new tracker built from the database,
a rewind, a form turn that Rasa's ``applied_events`` folds away) resumes from the newest
checkpoint before it, or replays everything as before. The answer is the same list of states
Rasa computes (checked against Rasa's own function in ``tests/extensions``); callers modify the
returned states' user input in place (``_choose_last_user_input``), so each call gets its own
copies of that.
"""

from __future__ import annotations

import collections
import itertools
import json
import operator
import threading
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional, Set, Text, Tuple

from rasa.shared.core.constants import ACTION_LISTEN_NAME, PREVIOUS_ACTION, USER
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_extensions.tracker_copy import copy_tracker

# Conversations x ways of asking kept; one entry holds references to the session's events.
MAX_ENTRIES = 512
# Replay positions kept per entry, newest last: the end of the last replay and the last few
# ``action_listen`` (a form's next turn folds away the events since its previous execution,
# which came after the citizen's previous message).
CHECKPOINTS = 6

_original = Domain.states_for_tracker_history
_original_applied_events = DialogueStateTracker.applied_events
_MEMO = "_layanwarga_applied_events"
_installed = False


@dataclass
class _Replay:
    """Where a replay stands: after ``position`` applied events, before the next one (a
    checkpoint: its tracker is copied before being replayed further)."""

    position: int
    tracker: DialogueStateTracker
    states: int
    last_ml_action_sub_state: Optional[Dict[Text, Any]]
    turn_was_hidden: bool


@dataclass
class _Entry:
    events: List[Event]
    states: List[State]
    checkpoints: Deque[_Replay] = field(default_factory=lambda: collections.deque(maxlen=CHECKPOINTS))


_cache: "collections.OrderedDict[Tuple[Any, ...], _Entry]" = collections.OrderedDict()
_lock = threading.Lock()


def copy_states(states: List[State]) -> List[State]:
    """Copies the callers may change: a new dict per state and a new ``user`` sub-state.

    Rasa 3.6 changes returned states only there (``_choose_last_user_input`` and
    ``_remove_user_text_if_intent`` delete keys of ``state["user"]``); the other sub-states
    (slots, previous action, active loop) are shared with the cache, read-only. Sub-states
    that Rasa's own list shares between states (a rule-only turn repeats the previous user
    input) stay shared in the copy.
    """
    copies: Dict[int, Dict[Text, Any]] = {}
    result = []
    for state in states:
        user = state.get(USER)
        if user is None:
            result.append(dict(state))
            continue
        twin = copies.get(id(user))
        if twin is None:
            twin = copies[id(user)] = dict(user)
        result.append({**state, USER: twin})
    return result


@dataclass
class _AppliedMemo:
    length: int
    last_event: Optional[Event]
    applied: List[Event]
    loop_names: Set[Optional[Text]]


# Events that make Rasa's applied_events look back or start over: after one of these (or an
# action of a loop) the list is rebuilt from the whole session.
_REWRITING = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)


def _applied(tracker: DialogueStateTracker) -> List[Event]:
    """The tracker's applied events, kept up to date as events are appended.

    Rasa asks for them many times a turn (each policy, the session check, ``get_last_event_for``)
    and each time rebuilds them from the whole session. Events are only ever appended, so the
    length and the last event identify the list, and plain new events (messages, actions that
    are not loops, slots, bot utterances) just extend it. The memo lives on the tracker itself
    (trackers compare by their events and cannot be dictionary keys). Callers here only read
    the list.
    """
    events = tracker.events
    length = len(events)
    last_event = events[-1] if events else None
    memo: Optional[_AppliedMemo] = tracker.__dict__.get(_MEMO)
    if memo is not None and memo.length == length and memo.last_event is last_event:
        return memo.applied
    if memo is not None and 0 < memo.length < length and events[memo.length - 1] is memo.last_event:
        new_events = list(itertools.islice(events, memo.length, None))
        if not any(
            isinstance(e, _REWRITING) or (isinstance(e, ActionExecuted) and e.action_name in memo.loop_names)
            for e in new_events
        ):
            memo.applied = memo.applied + new_events
            memo.length, memo.last_event = length, last_event
            return memo.applied
    applied = _original_applied_events(tracker)
    loop_names = {e.name for e in events if isinstance(e, ActiveLoop) and e.name}
    tracker.__dict__[_MEMO] = _AppliedMemo(length, last_event, applied, loop_names)
    return applied


def applied_events(self: DialogueStateTracker) -> List[Event]:
    """Rasa's ``DialogueStateTracker.applied_events``, memoised (a new list for every caller)."""
    return list(_applied(self))


def _common_prefix(cached: List[Event], current: List[Event]) -> int:
    limit = min(len(cached), len(current))
    if limit and cached[limit - 1] is current[limit - 1] and cached[0] is current[0]:
        if all(map(operator.is_, cached, current)):
            return limit
    for index in range(limit):
        if cached[index] is not current[index]:
            return index
    return limit


def _key(
    domain: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: Optional[Dict[Text, Any]],
) -> Tuple[Any, ...]:
    rule_only = json.dumps(rule_only_data, sort_keys=True, default=str) if ignore_rule_only_turns else None
    return (
        id(domain),
        tracker.sender_id,
        tracker.is_rule_tracker,
        omit_unset_slots,
        ignore_rule_only_turns,
        rule_only,
    )


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: Optional[Dict[Text, Any]] = None,
) -> List[State]:
    """Rasa's ``Domain.states_for_tracker_history``, resuming from the last replay."""
    return copy_states(shared_states(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data))


def shared_states(
    domain: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: Optional[Dict[Text, Any]] = None,
) -> List[State]:
    """The states ``states_for_tracker_history`` answers, in a new list but not copied: the
    state dicts are the cache's, for callers that copy what they change (``copy_states``)."""
    key = _key(domain, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    applied = _applied(tracker)
    with _lock:
        # Out of the cache while it is replayed further: an exception midway leaves nothing half done.
        entry = _cache.pop(key, None)
    start: Optional[_Replay] = None
    if entry is not None:
        matched = _common_prefix(entry.events, applied)
        start = next((c for c in reversed(entry.checkpoints) if c.position <= matched), None)
    if start is not None:
        states = entry.states[: start.states]
        position, last_ml, hidden = start.position, start.last_ml_action_sub_state, start.turn_was_hidden
        kept = [c for c in entry.checkpoints if c.position <= start.position]
        if kept and kept[-1] is start and start.position == len(entry.events):
            # Where the last replay stopped: taken over, it becomes the new end point.
            replay = start.tracker
            kept.pop()
        else:
            replay = copy_tracker(start.tracker)
        checkpoints = collections.deque(kept, maxlen=CHECKPOINTS)
    else:
        replay, states, position, last_ml, hidden = tracker.init_copy(), [], 0, None, False
        checkpoints = collections.deque(maxlen=CHECKPOINTS)
    # Rasa's loop (generate_all_prior_trackers + states_for_tracker_history), resumable: a state
    # is taken before every ActionExecuted and once after the last event.
    first_checkpoint = _nth_listen_from_end(applied, position, CHECKPOINTS)
    for index in range(position, len(applied)):
        event = applied[index]
        if isinstance(event, ActionExecuted):
            if event.action_name == ACTION_LISTEN_NAME and index >= first_checkpoint and index > position:
                checkpoints.append(_Replay(index, copy_tracker(replay), len(states), last_ml, hidden))
            last_ml, hidden = _add_state(
                domain,
                states,
                replay,
                event.hide_rule_turn,
                last_ml,
                hidden,
                omit_unset_slots,
                ignore_rule_only_turns,
                rule_only_data,
            )
        replay.update(event)
    # Where this replay stopped, so that the next turn starts there (the state added below
    # only reads the replayed tracker).
    checkpoints.append(_Replay(len(applied), replay, len(states), last_ml, hidden))
    with _lock:
        _cache[key] = _Entry(events=applied, states=list(states), checkpoints=checkpoints)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    _add_state(
        domain,
        states,
        replay,
        False,
        last_ml,
        hidden,
        omit_unset_slots,
        ignore_rule_only_turns,
        rule_only_data,
    )
    return states


def _nth_listen_from_end(events: List[Event], start: int, count: int) -> int:
    """Index of the ``count``-th ``action_listen`` from the end at or after ``start``
    (checkpoints are only taken there: older ones would be dropped from the deque anyway)."""
    seen = 0
    for index in range(len(events) - 1, start - 1, -1):
        event = events[index]
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_LISTEN_NAME:
            seen += 1
            if seen == count:
                return index
    return start


def _add_state(
    domain: Domain,
    states: List[State],
    tracker: DialogueStateTracker,
    hide_rule_turn: bool,
    last_ml_action_sub_state: Optional[Dict[Text, Any]],
    turn_was_hidden: bool,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: Optional[Dict[Text, Any]],
) -> Tuple[Optional[Dict[Text, Any]], bool]:
    """One step of Rasa's loop body, unchanged; returns the two loop variables."""
    if ignore_rule_only_turns:
        if not turn_was_hidden:
            last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
        if not tracker.followup_action and not tracker.latest_action_name == tracker.active_loop_name:
            turn_was_hidden = hide_rule_turn
        if turn_was_hidden:
            return last_ml_action_sub_state, turn_was_hidden
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if states:
            domain._substitute_rule_only_user_input(state, states[-1])
        if last_ml_action_sub_state:
            state[PREVIOUS_ACTION] = last_ml_action_sub_state
    states.append(domain._clean_state(state))
    return last_ml_action_sub_state, turn_was_hidden


def clear() -> None:
    """Forget every conversation's replay (tests)."""
    with _lock:
        _cache.clear()


def install() -> None:
    """Route ``Domain.states_for_tracker_history`` through the cache and memoise
    ``DialogueStateTracker.applied_events`` (idempotent)."""
    global _installed
    if not _installed:
        Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[assignment]
        DialogueStateTracker.applied_events = applied_events  # type: ignore[assignment]
        _installed = True


def original(
    domain: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: Optional[Dict[Text, Any]] = None,
) -> List[State]:
    """Rasa's own function (the reference the tests compare with)."""
    return _original(domain, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
