"""A durable local queue: work that must not be lost while a dependency is down.

Each item is one JSON file, written atomically (temporary file, fsync, rename), named so that
sorting by name gives arrival order. Used by the WhatsApp connector for messages that arrive
while the assistant cannot take them, and by the action server for confirmed submissions that
could not reach the ticket database. Deliberately on the local disk: it must work exactly when
the shared databases do not.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

logger = logging.getLogger(__name__)

_counter = itertools.count()
_lock = threading.Lock()


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def put(self, group: str, item: Dict[str, Any]) -> Path:
        """Store ``item`` for ``group`` (a sender, a conversation); returns its file."""
        with _lock:
            sequence = next(_counter)
        tag = hashlib.sha256(group.encode("utf-8")).hexdigest()[:16]
        name = f"{time.time_ns():020d}-{os.getpid()}-{sequence:06d}-{tag}.json"
        target = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        payload = json.dumps({"group": group, "item": item}, ensure_ascii=False)
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        return target

    def entries(self) -> List[Tuple[Path, str, Dict[str, Any]]]:
        """Every stored item, oldest first, as (file, group, item)."""
        result = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                logger.error("Unreadable spool file %s kept aside: %s", path, error)
                path.rename(path.with_suffix(".broken"))
                continue
            result.append((path, data["group"], data["item"]))
        return result

    def groups(self) -> set:
        return {group for _, group, _ in self.entries()}

    def has(self, group: str) -> bool:
        return group in self.groups()

    def __iter__(self) -> Iterator[Tuple[Path, str, Dict[str, Any]]]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(list(self.directory.glob("*.json")))

    @staticmethod
    def remove(path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
