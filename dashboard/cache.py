"""A small in-process cache for expensive pages (statistics): each result is kept ``max_age``
seconds, at most ``max_entries`` of them (the least recently used go first), and a key is
computed by one request at a time, so a burst of visitors asking for the same figures costs one
computation, not one each."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, Hashable, Tuple, TypeVar

T = TypeVar("T")


class TtlCache:
    def __init__(
        self, max_age: float, max_entries: int = 128, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self.clock = clock
        self._entries: "OrderedDict[Hashable, Tuple[float, Any]]" = OrderedDict()
        self._computing: Dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def _fresh(self, key: Hashable) -> Tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is not None and self.clock() - entry[0] < self.max_age:
            self._entries.move_to_end(key)
            return True, entry[1]
        return False, None

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The fresh cached value of ``key``, else ``compute()`` (once, however many ask at once)."""
        with self._lock:
            hit, value = self._fresh(key)
            if hit:
                return value
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:
            with self._lock:
                hit, value = self._fresh(key)
                if hit:
                    return value
            result = compute()
            with self._lock:
                self._entries[key] = (self.clock(), result)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                self._computing.pop(key, None)
            return result
