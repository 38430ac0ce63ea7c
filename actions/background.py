"""Work the action server does in the background, in one thread per process:

- keeping its submissions spool clean: entries of citizens who asked for erasure and entries
  older than the retention period go (``layanwarga.retention.maintain_spool``), before
  anything is replayed from it;
- storing confirmed submissions that waited for the ticket database (``layanwarga.pending``);
- erasing the conversation store of citizens who asked for erasure (``layanwarga.privacy``).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Optional

from layanwarga import pending, privacy, retention
from layanwarga.config import get_institution

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 10.0
_worker: Optional[threading.Thread] = None
_lock = threading.Lock()


def run_once() -> None:
    inst = get_institution()
    queue = pending.spool()
    retention.maintain_spool(queue, inst)
    if len(queue):
        pending.complete_waiting(inst)
    privacy.erase_conversations()


def _forever(stop: threading.Event) -> None:
    while not stop.wait(INTERVAL_SECONDS):
        try:
            run_once()
        except Exception:  # noqa: BLE001 - keep the worker alive; its work stays queued
            logger.exception("Background work of the action server failed")


def ensure_worker() -> None:
    """Start the background thread once per process (``LAYANWARGA_BACKGROUND=0`` disables it,
    for tests that drive ``run_once`` themselves)."""
    global _worker
    if os.environ.get("LAYANWARGA_BACKGROUND", "1") == "0":
        return
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_forever, args=(threading.Event(),), name="layanwarga-background", daemon=True)
            _worker.start()
