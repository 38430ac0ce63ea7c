"""Work the action server does in the background, in one thread per process, from the moment
the server starts (rasa-sdk's plugin hook, ``rasa_sdk_plugins``) and then every
``INTERVAL_SECONDS``:

- keeping its submissions spool clean: entries of citizens who asked for erasure and entries
  older than the retention period go (``layanwarga.retention.maintain_spool``), before
  anything is replayed from it;
- storing confirmed submissions that waited for the ticket database, saying in the log what
  waits and what was stored, and reporting what is left for the dashboard
  (``layanwarga.pending.drain``): a submission kept before a restart is stored at start, not
  after the next failure;
- erasing the conversation store of citizens who asked for erasure (``layanwarga.privacy``).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Optional

import pluggy

from layanwarga import pending, privacy, retention
from layanwarga.config import get_institution

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 10.0
_worker: Optional[threading.Thread] = None
_lock = threading.Lock()
hookimpl = pluggy.HookimplMarker("rasa_sdk")


def run_once() -> None:
    inst = get_institution()
    retention.maintain_spool(pending.spool(), inst)
    pending.drain(inst)
    try:
        privacy.erase_conversations()
    except pending.DATABASE_ERRORS as error:  # the outage is already in the log; no traceback every pass
        logger.warning(
            "Erasure requests cannot be read while the ticket database is down: %s",
            getattr(error, "orig", None) or error,
        )


def _forever(stop: threading.Event) -> None:
    while True:
        try:
            run_once()
        except Exception:  # noqa: BLE001 - keep the worker alive; its work stays queued
            logger.exception("Background work of the action server failed")
        if stop.wait(INTERVAL_SECONDS):
            return


def ensure_worker() -> None:
    """Start the background thread once per process (``LAYANWARGA_BACKGROUND=0`` disables it,
    for tests that drive ``run_once`` themselves); its first pass runs at once."""
    global _worker
    if os.environ.get("LAYANWARGA_BACKGROUND", "1") == "0":
        return
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(
                target=_forever, args=(threading.Event(),), name="layanwarga-background", daemon=True
            )
            _worker.start()


@hookimpl
def attach_sanic_app_extensions(app: Any) -> None:
    """rasa-sdk's hook for the action server's Sanic app: start the background work when the
    server has started, so what waited through a restart is handled without a new failure."""

    async def start(_app: Any, _loop: Any) -> None:
        ensure_worker()

    app.register_listener(start, "after_server_start")
