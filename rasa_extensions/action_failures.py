"""A custom action the action server could not run fails the WhatsApp turn instead of emptying it.

Rasa 3.6's ``MessageProcessor._run_action`` catches every exception of an action: when the
action server is down, dies in the middle of a call, times out or answers 5xx, Rasa logs "the
actions events are lost", saves the turn without them and listens again. The citizen gets no
answer, and the message (say, the location a complaint form asked for) is gone from the
conversation: it was acknowledged to Meta, so nothing delivers it again.

``install`` wraps ``RemoteAction.run``. Inside a turn the WhatsApp connector runs with
``failing_turns()`` (and only there: the REST channel, Rasa's HTTP API and ``rasa test`` keep
Rasa's behaviour), such a failure raises ``ActionServerUnavailable``. It derives from
``BaseException`` precisely so that ``_run_action``'s ``except Exception`` lets it through: the
processor stops before saving the tracker, Rasa's lock store releases the conversation (its
``finally``), and the connector keeps the message in its journal to run the whole turn again
once the action server answers (``connectors.whatsapp_processor``). A rejection
(``ActionExecutionRejection``, the action server's 400) is the action's answer, not a failure,
and passes unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from typing import Any, Callable, Iterator, Optional

import aiohttp
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.exceptions import RasaException

_failing_turns: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "layanwarga_failing_turns", default=False
)
_original_run: Optional[Callable[..., Any]] = None


class ActionServerUnavailable(BaseException):
    """The action server could not run a custom action during a turn that must not lose it."""


@contextlib.contextmanager
def failing_turns() -> Iterator[None]:
    """Within this block (one turn, one task), an action the server could not run fails the turn."""
    token = _failing_turns.set(True)
    try:
        yield
    finally:
        _failing_turns.reset(token)


def install() -> None:
    """Wrap ``RemoteAction.run`` (idempotent)."""
    global _original_run
    if _original_run is not None:
        return
    _original_run = original = RemoteAction.run

    @functools.wraps(original)
    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except ActionExecutionRejection:
            raise
        except (RasaException, aiohttp.ClientError, asyncio.TimeoutError) as error:
            if not _failing_turns.get():
                raise
            raise ActionServerUnavailable(f"custom action {self.name()!r} could not run: {error}") from error

    RemoteAction.run = run  # type: ignore[assignment]
