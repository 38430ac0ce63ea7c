"""``DialogueStateTracker.copy()`` without replaying the conversation.

Before running each action Rasa 3.6 copies the tracker (``MessageProcessor._run_action``), and
its ``copy()`` builds an empty tracker and replays every event of the session into it: a cost
that grows with the conversation, paid two to four times a turn. The tracker's state is exactly
what those events produce, so the copy here takes that state directly: the same event objects
(a new list), copies of the slots (made once: Rasa's ``init_copy`` copies them too), and the
few state fields events set (``_SHARED``, ``_COPIED``). Settings
that Rasa's copy does not carry over (model and assistant id, sender source) are left out the
same way, because the copy starts from ``init_copy()`` as Rasa's does.

A tracker that keeps only its last events (``max_event_history``) is still replayed: there the
events no longer produce the state, and Rasa's copy differs from it on purpose. So is one
without a domain's slots (``AnySlotDict``, training data), which makes slots up as asked.
``tests/extensions/test_tracker_copy.py`` compares both copies field by field.
"""

from __future__ import annotations

import copy
import copyreg
from typing import Dict

from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import AnySlotDict, DialogueStateTracker

# Everything ``DialogueStateTracker._reset`` and the events' ``apply_to`` set, apart from slots:
# values and event objects (shared, as a replay shares them) ...
_SHARED = ("_paused", "followup_action", "latest_message", "latest_bot_utterance")
# ... and objects that are changed in place (``reject_action``, ``interrupt_loop``), copied.
_COPIED = ("latest_action", "active_loop")

# Slot classes whose copy.copy is the plain one (state in __dict__), found on first use.
_PLAIN_COPY: Dict[type, bool] = {}

_original_copy = DialogueStateTracker.copy
_installed = False


def copy_tracker(self: DialogueStateTracker) -> DialogueStateTracker:
    """Rasa's ``DialogueStateTracker.copy``, from the tracker's state instead of a replay."""
    if self._max_event_history is not None or isinstance(self.slots, AnySlotDict):
        return _original_copy(self)
    if type(self).init_copy is DialogueStateTracker.init_copy:
        # ``init_copy`` without its copies of the slots, which are replaced right below.
        clone = DialogueStateTracker(
            self.sender_id or DEFAULT_SENDER_ID, None, is_rule_tracker=self.is_rule_tracker
        )
    else:
        clone = self.init_copy()
    clone.events = self._create_events(list(self.events))
    clone.slots = {name: _copy_slot(slot) for name, slot in self.slots.items()}
    for name in _SHARED:
        setattr(clone, name, getattr(self, name))
    for name in _COPIED:
        setattr(clone, name, copy.copy(getattr(self, name)))
    return clone


def _plain(cls: type) -> bool:
    """Whether ``copy.copy`` of an instance is a new object with the same ``__dict__``."""
    return (
        not hasattr(cls, "__copy__")
        and not hasattr(cls, "__setstate__")
        and not copyreg._slotnames(cls)
        and cls.__reduce_ex__ is object.__reduce_ex__
        and cls.__reduce__ is object.__reduce__
        and getattr(cls, "__getstate__", None) is getattr(object, "__getstate__", None)
    )


def _copy_slot(slot: Slot) -> Slot:
    """``copy.copy(slot)`` without the generic protocol for the slot classes it allows (Rasa's)."""
    cls = type(slot)
    plain = _PLAIN_COPY.get(cls)
    if plain is None:
        plain = _PLAIN_COPY[cls] = _plain(cls)
    if not plain:
        return copy.copy(slot)
    clone = object.__new__(cls)
    clone.__dict__.update(slot.__dict__)
    return clone


def original(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """Rasa's own copy (the reference the tests compare with)."""
    return _original_copy(tracker)


def install() -> None:
    """Make ``DialogueStateTracker.copy`` copy the state (idempotent)."""
    global _installed
    if not _installed:
        DialogueStateTracker.copy = copy_tracker  # type: ignore[assignment]
        _installed = True
