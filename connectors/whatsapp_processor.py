"""Background processing of webhook batches, after the webhook has answered 200.

Order per sender has two levels: in this process a FIFO per sender (``SenderQueues``); across
instances a ticket per message taken before the 200, in Redis when ``REDIS_URL`` is set
(``connectors.ordering``), so a citizen's messages run one at a time, in the order written, even
when the load balancer spreads them over several ``rasa run`` instances.

Before the webhook answers 200, a citizen over the flood limit has the excess dropped (logged,
one polite note per window; nothing written, read-marked or answered), and every other message
of the batch is written to the journal (``connectors.journal``) under its dedupe key: a redelivery, or a copy another instance already
took in, stops there, and what is written survives this process. Then, for each new message, in
order per sender:

1. reactions and revokes are logged; system messages update the citizen's identity;
2. a blocked sender stops here; otherwise record the citizen (phone and/or BSUID, profile name,
   last inbound time = 24-h window);
3. mark the message read with the typing indicator;
4. download and store media (with limits; refused files get a polite reply);
5. log it for staff, and in the same unit of work mark it held in the journal with what the
   assistant will receive; during a handoff to an officer the assistant's dialogue does not run,
   but the citizen is never left unanswered (``_during_handoff``: an emergency gets the
   emergency numbers at once, *batal* leaves the queue, *menu* says where they stand);
6. hand a ``UserMessage`` to Rasa with a ``WhatsAppOutput`` to answer through.

The journal entry is finished when one of these ends the message (answered, or rightly not
answered). When the turn cannot run (the action server or the conversation store is down, or
the action server dies in the middle of the turn: ``rasa_extensions.action_failures``), the
message stays held, the citizen is told once, and later messages of the same citizen wait behind
it; ``replay_forever`` runs them in order when the assistant is back, and takes over the
unfinished messages of an instance that died.

Statuses are recorded in the background too, never as user text, in batches
(``StatusBatcher``). Storage calls run in a thread pool (``BlockingRunner``), so the event loop
never waits on the database; that thread still competes with Rasa for the GIL, so lookups that
always run together share one unit of work (claim; blocklist + citizen; conversation log +
handoff; one per reply for its status and its log line).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import hashlib
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Protocol, Set, Tuple

from rasa.core.channels.channel import UserMessage

from layanwarga import blocklist, calendar, conversation_log, handoff, inbound, media
from layanwarga.config import Institution, get_institution
from layanwarga.formatting import format_time
from layanwarga.inbound import mask
from rasa_extensions.action_failures import ActionServerUnavailable, failing_turns
from rasa_extensions.tracker_store import TrackerStoreUnavailable
from whatsapp import statuses as wa_statuses
from whatsapp.aio import AsyncClient, DownloadTooLarge
from whatsapp.errors import GraphAPIError

from . import journal
from .executor import BlockingRunner
from .limits import RATE_LIMITED_TEXT, TOO_LONG_TEXT, make_rate_limiter
from .ordering import CitizenOrdering, Ticket, make_ordering
from .replay import APOLOGY_DEFERRED, AssistantHealth
from .sender_queues import SenderQueues
from .settings import WhatsAppSettings
from .status_batcher import StatusBatcher
from .whatsapp_output import WhatsAppOutput
from .whatsapp_parse import InboundMessage, ParsedBatch, StatusUpdate, object_of, text_of
from .whatsapp_rasa import INTENT_MEDIA, Disposition, MediaRef, Translation, log_text, translate

logger = logging.getLogger(__name__)


class Assistant(Protocol):
    """What the connector uses of Rasa's ``Agent`` (``app.ctx.agent`` inside ``rasa run``)."""

    domain: Any

    def is_ready(self) -> bool: ...

    async def parse_message(self, message_data: str) -> Dict[str, Any]: ...


CHANNEL_NAME = "whatsapp"
# A message whose turn failed ``journal.MAX_ATTEMPTS`` times: said once, with a way forward.
APOLOGY_TEXT = (
    "Mohon maaf, Bapak/Ibu, pesan terakhir Anda tidak dapat kami proses karena gangguan teknis. "
    "Silakan tulis ulang dengan kata lain, atau ketik *petugas* untuk dilayani petugas kami."
)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# Not the citizen's words, never counted against the flood limit: reactions and deleted messages
# (logged only) and WhatsApp's own notices (a changed number).
NEVER_LIMITED = ("reaction", "revoke", "system")
# Intents answered for a citizen waiting for an officer (docs/DESIGN.md's intent contract).
EMERGENCY_INTENT, LEAVE_INTENT = "darurat", "batal"
STATUS_INTENTS = ("bantuan", "greet")


class JournalUnavailable(RuntimeError):
    """The batch's messages could not be written to the journal: the webhook must not answer 200
    (Meta redelivers what got no 200)."""


class Outcome(enum.Enum):
    """How handling one message ended, which decides its journal entry."""

    DONE = "done"  # answered, or rightly not answered
    WAITING = "waiting"  # the assistant could not take it: kept, replayed later
    FAILED = "failed"  # given up (``journal.MAX_ATTEMPTS``), the citizen told


class WebhookProcessor:
    """Turns parsed batches into stored statuses, identity updates and Rasa turns."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        client: AsyncClient,
        journal_: journal.Journal,
        runner: BlockingRunner,
        on_new_message: OnNewMessage,
    ) -> None:
        self.settings = settings
        self.client = client
        self.journal = journal_
        self.runner = runner
        self.on_new_message = on_new_message
        self.queues = SenderQueues(settings.max_concurrent_senders)
        self.statuses = StatusBatcher(self._write_statuses)
        self.health = AssistantHealth(settings.action_server_url, timeout=settings.health_timeout)
        self.rate_limiter = make_rate_limiter(settings.max_messages_per_minute, settings.redis_url)
        # Journal keys queued or running in this process (the replay loop leaves them alone).
        self._in_flight: Set[str] = set()
        # Per citizen, the keys waiting for the assistant; their later messages queue behind.
        self._waiting: Dict[str, Set[str]] = {}
        self._apologised: Set[str] = set()
        # Keys whose finish could not be written yet (database trouble): written by the replay loop.
        self._unwritten: Dict[str, str] = {}
        self._previous_life_taken = False
        # Keys finished while the replay loop reads the journal (its rows may predate that).
        self._finished_meanwhile: Optional[Set[str]] = None
        # The assistant (``use_agent``), for citizens waiting for an officer.
        self._agent: Optional[Assistant] = None
        self.ordering: CitizenOrdering = make_ordering(
            settings.ordering,
            settings.redis_url,
            prefix=settings.ordering_prefix,
            lease=settings.ordering_lease,
            max_wait=settings.ordering_max_wait,
        )

    def use_agent(self, agent: "Assistant") -> None:
        """The assistant, for messages of a citizen waiting for an officer (``rasa run`` passes
        its agent at start; without it those messages are only logged). Its model is read at
        each use: Rasa replaces the agent's processor and domain when it pulls a new model, and
        an instance started before the model server answered gets its first model that way."""
        self._agent = agent

    def assistant_ready(self) -> bool:
        """False only while the assistant given by ``rasa run`` has no model loaded."""
        return self._agent is None or self._agent.is_ready()

    def use_action_endpoint(self, url: Optional[str]) -> None:
        """Probe the action server Rasa itself calls (endpoints.yml's ``action_endpoint``; None:
        the assistant has none): one source of truth for where the action server is."""
        if self.settings.action_server_url and url != self.settings.action_server_url:
            logger.warning(
                "whatsapp: 'action_server_url' (%s) is ignored inside rasa run: the action server is "
                "endpoints.yml's action_endpoint (%s)",
                self.settings.action_server_url,
                url,
            )
        self.health = AssistantHealth(url, timeout=self.settings.health_timeout)

    # -- entry points (called by the webhook handler, on the loop) --------------------------------
    async def admit(self, batch: ParsedBatch) -> None:
        """Journal a batch's messages, then queue the new ones, each with its place in its
        citizen's line across instances.

        Awaited by the webhook handler *before* it answers 200. The journal write makes the
        message survive this process (``JournalUnavailable`` when it fails: no 200, so Meta
        redelivers). Meta sends a citizen's next message only after this one was acknowledged,
        so the ordering tickets follow the citizen's order whichever instance receives each
        message (one Redis round trip per message). A message that cannot get its ticket stays
        in the journal and is replayed.
        """
        self._note_batch(batch)
        if not batch.messages:
            return
        messages = [message for message in batch.messages if await self._within_rate(message)]
        if not messages:
            return
        keys = [self.dedupe_key(message) for message in messages]
        started = time.time()
        entries = [
            journal.Entry(key, message.sender, message.to_journal(), started + index * 1e-6)
            for index, (key, message) in enumerate(zip(keys, messages))
        ]
        # In flight before they exist in the journal: a replay round that reads the journal
        # while this batch is written must not take them.
        claimed = set(keys) - self._in_flight
        self._in_flight.update(claimed)
        try:
            fresh = await self.journal.take_in(entries)
        except Exception as error:  # noqa: BLE001 - reported to the webhook: no 200
            self._in_flight.difference_update(claimed)
            logger.exception(
                "Could not journal %d WhatsApp messages; Meta will deliver them again", len(entries)
            )
            raise JournalUnavailable(str(error)) from error
        self._in_flight.difference_update(claimed - {key for key, new in zip(keys, fresh) if new})
        for message, key, new in zip(messages, keys, fresh):
            if not new:
                logger.info(
                    "WhatsApp message %s from %s already taken in; skipped", message.id, mask(message.sender)
                )
                continue
            try:
                async with self.ordering.admission(message.sender):
                    ticket = await self.ordering.admit(message.sender)
                    self.queues.submit(message.sender, self._job(message, key, ticket))
            except Exception:  # noqa: BLE001 - journalled: the replay loop takes it
                self._in_flight.discard(key)
                logger.exception(
                    "Message %s from %s could not be queued; it will be replayed",
                    message.id,
                    mask(message.sender),
                )

    async def _within_rate(self, message: InboundMessage) -> bool:
        """The flood limit, counted before anything is written or sent for the message: a flood's
        excess costs no database write, no read receipt and no turn. The first refused message
        of a window gets one polite note (not for a blocked sender, who is never answered)."""
        if message.type in NEVER_LIMITED:
            return True
        verdict = await self.rate_limiter.check(message.sender)
        if verdict.allowed:
            return True
        logger.warning(
            "Message %s from %s over the rate limit; not answered", message.id, mask(message.sender)
        )
        if verdict.notify:
            self.queues.submit(message.sender, self._rate_note(message.sender))
        return False

    def _rate_note(self, sender: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                blocked = await self.runner.run(blocklist.is_blocked, sender, url=self.settings.database_url)
            except Exception:  # noqa: BLE001 - a note not sent is better than one sent to a blocked sender
                logger.exception("Block list lookup failed for %s; no rate-limit note sent", mask(sender))
                return
            if not blocked:
                await self.output_channel().send_text_message(sender, RATE_LIMITED_TEXT)

        return run

    def _note_batch(self, batch: ParsedBatch) -> None:
        for phone_number_id, error in batch.errors:
            logger.warning(
                "WhatsApp webhook error for number %s: code %s %s %s",
                phone_number_id,
                error.code,
                error.title,
                error.details or error.message,
            )
        for problem in batch.problems:
            logger.warning("WhatsApp webhook: skipped malformed part: %s", problem)
        for field_name in batch.other_fields:
            logger.info("WhatsApp webhook field %r ignored (not subscribed to by LayanWarga)", field_name)
        if batch.statuses:
            self.statuses.add(self._status_records(batch.statuses))

    def _job(
        self, message: InboundMessage, key: str, ticket: Optional[Ticket] = None
    ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            outcome = Outcome.FAILED
            try:
                async with self.ordering.turn(message.sender, ticket):
                    outcome = await self.handle_message(message, key)
            finally:
                await self._settle(key, message.sender, outcome)

        return run

    async def _settle(self, key: str, sender: str, outcome: Outcome) -> None:
        """Record how a message ended: finished in the journal, or waiting with its citizen.

        The key leaves ``_in_flight`` only after the journal says it is finished, so the replay
        loop never takes a message that has just been answered for one still waiting."""
        if outcome is Outcome.WAITING:
            self._waiting.setdefault(sender, set()).add(key)
            self._in_flight.discard(key)
            return
        waiting = self._waiting.get(sender)
        if waiting is not None:
            waiting.discard(key)
            if not waiting:
                del self._waiting[sender]
                self._apologised.discard(sender)
        state = journal.DONE if outcome is Outcome.DONE else journal.FAILED
        try:
            await self.journal.finish(key, state)
        except Exception:  # noqa: BLE001 - written again by the replay loop, never replayed meanwhile
            logger.exception("Could not finish journal entry of message %s from %s", key, mask(sender))
            self._unwritten[key] = state
        finally:
            if self._finished_meanwhile is not None:
                self._finished_meanwhile.add(key)
            self._in_flight.discard(key)

    async def close(self) -> None:
        """Write the statuses still waiting, release the shared stores' connections (after the
        queues are drained)."""
        await self.statuses.close()
        await self.rate_limiter.close()
        await self.ordering.close()

    async def join(self, timeout: Optional[float] = None) -> bool:
        """Wait until everything accepted so far is processed, statuses waiting for their batch
        written at once (tests, graceful shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            if not await self.queues.join(remaining):
                return False
            if self.statuses.busy:
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                if not await self.statuses.flush(remaining):
                    return False
                continue
            if not self.queues.active_senders:
                return True

    # -- statuses ----------------------------------------------------------------------------
    @staticmethod
    def _status_records(statuses: List[StatusUpdate]) -> List[wa_statuses.StatusRecord]:
        """The records to store for a webhook's statuses; failures are logged on arrival."""
        records = []
        for status in statuses:
            error = status.errors[0] if status.errors else None
            if status.status == "failed":
                logger.warning(
                    "WhatsApp message %s to %s failed: code %s %s",
                    status.id,
                    mask(status.recipient),
                    error.code if error else "?",
                    (error.details or error.title) if error else "",
                )
            records.append(
                wa_statuses.StatusRecord(
                    message_id=status.id,
                    status=status.status,
                    recipient=status.recipient,
                    error_code=error.code if error else None,
                    error_title=(error.title or error.message or None) if error else None,
                )
            )
        return records

    async def _write_statuses(self, records: List[wa_statuses.StatusRecord]) -> None:
        """One batch of statuses, one unit of work (``StatusBatcher`` logs a failure)."""
        await self.runner.run(wa_statuses.record_statuses, records, url=self.settings.database_url)

    # -- messages ------------------------------------------------------------------------------
    def output_channel(self) -> WhatsAppOutput:
        return WhatsAppOutput(self.client, self.settings, record_sent=self._record_sent)

    async def _record_sent(self, message_id: str, recipient: str, text: str) -> None:
        """A reply's ``accepted`` status and conversation-log line (``WhatsAppOutput`` logs a failure)."""
        await self.runner.run(
            wa_statuses.record_outbound, message_id, recipient, text or None, url=self.settings.database_url
        )

    @staticmethod
    def dedupe_key(message: InboundMessage) -> str:
        message_id = message.id
        if not message_id:
            # No id at all (never seen from Meta): the message's own content identifies it.
            raw = json.dumps(message.raw, sort_keys=True, ensure_ascii=True).encode("utf-8")
            message_id = "noid:" + hashlib.sha256(raw).hexdigest()[:32]
        return journal.dedupe_key(message_id, message.sender, message.timestamp)

    async def handle_message(self, message: InboundMessage, key: str, *, replay: bool = False) -> Outcome:
        """Steps 1-6 of the module docstring for a journalled message (``replay``: taken from the
        journal again, in order, so it does not wait behind the citizen's waiting messages)."""
        sender = message.sender
        translation = translate(message)
        if translation.disposition is Disposition.REACTION:
            reaction = message.body
            logger.info(
                "Reaction %r from %s to message %s (not passed to the assistant)",
                text_of(reaction.get("emoji")) or "(removed)",
                mask(sender),
                text_of(reaction.get("message_id")),
            )
            return Outcome.DONE
        if translation.disposition is Disposition.REVOKE:
            revoke = message.body
            logger.info(
                "Citizen %s deleted message %s (not passed to the assistant)",
                mask(sender),
                text_of(revoke.get("original_message_id")) or text_of(revoke.get("message_id")) or "?",
            )
            return Outcome.DONE
        if translation.disposition is Disposition.SYSTEM:
            await self._apply_system(message)
            return Outcome.DONE

        blocked, citizen_id = await self._admit(message)
        if blocked:
            return Outcome.DONE
        await self._mark_read(message)
        output = self.output_channel()
        if not await self._short_enough(message, translation, output):
            return Outcome.DONE

        text: Optional[str] = translation.text
        metadata: Dict[str, Any] = translation.metadata
        if translation.disposition is Disposition.MEDIA and translation.media is not None:
            result = await self._receive_media(message, translation, citizen_id, output)
            if result is None:
                return Outcome.DONE
            text, metadata = result

        message_id = message.id or key
        if await self._log_inbound(message, key, text, metadata, message_id):
            await self._during_handoff(sender, text, output)
            return Outcome.DONE
        return await self.deliver(sender, text, metadata, message_id, output, key=key, replay=replay)

    async def _log_inbound(
        self,
        message: InboundMessage,
        key: str,
        text: Optional[str],
        metadata: Dict[str, Any],
        message_id: str,
    ) -> bool:
        """Add the message to the conversation staff read (never blocks the citizen's turn), mark
        it held in the journal with what the assistant receives, and tell whether an officer has
        this conversation: then the assistant stays silent.

        One unit of work does all three; when it fails, the handoff is looked up on its own (the
        journal entry stays ``received``: a replay repeats the steps before the turn)."""
        hold = self.journal.holder(key, {"text": text, "metadata": metadata, "message_id": message_id})
        try:
            logged = await self.runner.run(
                conversation_log.log_inbound_checking_handoff,
                message.sender,
                log_text(text, metadata),
                wamid=message.id or None,
                kind=message.type,
                media_id=(metadata.get("media") or {}).get("media_db_id"),
                reply_to=text_of((message.context or {}).get("id")),
                url=self.settings.database_url,
                also=hold,
            )
        except Exception:  # noqa: BLE001
            logger.exception("Could not log message %s of %s for staff", message.id, mask(message.sender))
            return await self._in_handoff(message.sender)
        return logged.in_handoff

    async def _during_handoff(self, sender: str, text: Optional[str], output: WhatsAppOutput) -> None:
        """Answer a citizen waiting for an officer without talking over the officer: the
        message is already in the live chat; only what cannot wait gets an answer here."""
        url = self.settings.database_url
        inst = get_institution()
        if text == handoff.PAYLOAD_KEEP_WAITING:
            await output.send_text_message(sender, handoff.KEPT_WAITING_TEXT)
            return
        intent = await self._intent_of(text) if text and text != handoff.PAYLOAD_BACK_TO_ASSISTANT else None
        if intent == EMERGENCY_INTENT:
            await self.runner.run(handoff.flag_emergency, sender, url=url)
            await output.send_text_message(sender, self._emergency_text(inst))
        elif text == handoff.PAYLOAD_BACK_TO_ASSISTANT or intent == LEAVE_INTENT:
            if await self.runner.run(handoff.leave, sender, url=url):
                logger.info("Citizen %s left the queue for an officer", mask(sender))
                await output.send_text_message(
                    sender, handoff.LEFT_TEXT.format(service_name=inst.service_name)
                )
        elif intent in STATUS_INTENTS:
            since = await self.runner.run(handoff.waiting_since, sender, url=url)
            when = (
                format_time(calendar.now_local(inst, since.replace(tzinfo=dt.timezone.utc)).time())
                if since
                else "tadi"
            )
            await output.send_text_with_buttons(
                sender,
                handoff.WAITING_TEXT.format(since=when),
                [{"title": title, "payload": payload} for title, payload in handoff.WAITING_BUTTONS],
            )
        elif await self.runner.run(handoff.remind_once, sender, url=url):
            await output.send_text_message(sender, handoff.FORWARDED_TEXT)

    async def _intent_of(self, text: str) -> Optional[str]:
        """The assistant's reading of ``text`` (None without the assistant or when it fails)."""
        if self._agent is None or not self._agent.is_ready():
            return None
        try:
            parsed = await self._agent.parse_message(text)
        except Exception:  # noqa: BLE001 - the message is in the live chat; an officer reads it
            logger.exception("Could not read a message of a citizen waiting for an officer")
            return None
        return ((parsed or {}).get("intent") or {}).get("name")

    def _emergency_text(self, inst: Institution) -> str:
        """The assistant's own emergency answer (``utter_darurat``), numbers from instansi.yml."""
        domain = self._agent.domain if self._agent is not None else None
        variants = (domain.responses if domain is not None else {}).get("utter_darurat") or [{}]
        template = variants[0].get("text") or "🚨 Bila ada keadaan darurat, SEGERA hubungi:\n{numbers}"
        return template.replace("{numbers}", inst.emergency_list())

    async def _in_handoff(self, sender: str) -> bool:
        """Whether an officer has this conversation: then the assistant stays silent."""
        try:
            return await self.runner.run(handoff.is_active, sender, url=self.settings.database_url)
        except Exception:  # noqa: BLE001 - the assistant answers rather than nobody
            logger.exception("Handoff lookup failed for %s; the assistant answers", mask(sender))
            return False

    async def _admit(self, message: InboundMessage) -> Tuple[bool, Optional[int]]:
        """(blocked, citizen id): whether staff blocked this sender (abuse: logged, neither
        recorded, read-marked nor answered), else the citizen recorded with their 24-h window.

        One unit of work does both. When it fails the message is processed (a lookup failure
        must not silence a citizen) and the citizen is recorded in a unit of work of its own."""
        try:
            admission = await self.runner.run(
                inbound.admit_inbound,
                message.sender,
                wa_id=message.wa_id,
                user_id=message.user_id,
                profile_name=message.profile_name,
                inbound_at=self._inbound_at(message),
                url=self.settings.database_url,
            )
        except Exception:  # noqa: BLE001 - a lookup failure must not silence a citizen
            logger.exception(
                "Blocklist lookup with citizen record failed for %s (message %s); message processed",
                mask(message.sender),
                message.id,
            )
            return False, await self._record_citizen(message)
        if admission.blocked:
            logger.info("Message %s from blocked sender %s not answered", message.id, mask(message.sender))
        return admission.blocked, admission.citizen_id

    async def _short_enough(
        self, message: InboundMessage, translation: Translation, output: WhatsAppOutput
    ) -> bool:
        """The size limit; a refused message is logged and explained, never silent."""
        text = translation.text or ""
        if len(text) > self.settings.max_text_chars:
            logger.warning(
                "Message %s from %s too long (%d characters)", message.id, mask(message.sender), len(text)
            )
            await output.send_text_message(
                message.sender, TOO_LONG_TEXT.format(length=len(text), limit=self.settings.max_text_chars)
            )
            return False
        return True

    # -- handing messages to the assistant -------------------------------------------------------
    async def deliver(
        self,
        sender: str,
        text: Optional[str],
        metadata: Dict[str, Any],
        message_id: str,
        output: WhatsAppOutput,
        *,
        key: str,
        replay: bool = False,
    ) -> Outcome:
        """Run the assistant's turn for one message, or leave it waiting when the assistant
        cannot take it or an older message of the same citizen is still waiting (a replay is
        that older message, run in order by ``replay_once``)."""
        if (not replay and sender in self._waiting) or not await self.health.ready():
            return await self._wait(sender, message_id, output)
        return await self._run_turn(sender, text, metadata, message_id, output, key)

    async def _run_turn(
        self,
        sender: str,
        text: Optional[str],
        metadata: Dict[str, Any],
        message_id: str,
        output: WhatsAppOutput,
        key: str,
    ) -> Outcome:
        """One Rasa turn and how it ended."""
        user_message = UserMessage(
            text, output, sender, input_channel=CHANNEL_NAME, message_id=message_id, metadata=metadata
        )
        try:
            with failing_turns():
                await self.on_new_message(user_message)
            return Outcome.DONE
        except TrackerStoreUnavailable as error:
            if error.phase == "retrieve":
                self.health.forget()
                return await self._wait(sender, message_id, output)
            logger.error(
                "Message %s from %s was answered but its turn could not be stored: %s",
                message_id,
                mask(sender),
                error,
            )
            return Outcome.DONE
        except ActionServerUnavailable as error:
            # Nothing of the turn was stored: run again from the citizen's message later.
            logger.error(
                "The action server failed during the turn of message %s from %s: %s",
                message_id,
                mask(sender),
                error,
            )
            self.health.forget()
            return await self._retry_later(sender, message_id, output, key)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - retried; the citizen is never left without an answer
            logger.exception("The assistant failed on WhatsApp message %s from %s", message_id, mask(sender))
            return await self._retry_later(sender, message_id, output, key)

    async def _retry_later(self, sender: str, message_id: str, output: WhatsAppOutput, key: str) -> Outcome:
        """A turn that started and failed: wait and run again, up to ``journal.MAX_ATTEMPTS``."""
        try:
            attempts = await self.journal.count_attempt(key)
        except Exception:  # noqa: BLE001 - without the count, treat it as the last attempt
            logger.exception("Could not count the failed turns of message %s", message_id)
            attempts = journal.MAX_ATTEMPTS
        if attempts >= journal.MAX_ATTEMPTS:
            logger.error("Message %s from %s failed %d times; given up", message_id, mask(sender), attempts)
            await output.send_text_message(sender, APOLOGY_TEXT)
            return Outcome.FAILED
        return await self._wait(sender, message_id, output)

    async def _wait(self, sender: str, message_id: str, output: WhatsAppOutput) -> Outcome:
        """Leave the message held in the journal; the citizen is told once per outage."""
        logger.warning("Message %s from %s waits for the assistant", message_id, mask(sender))
        if sender not in self._apologised:
            self._apologised.add(sender)
            await output.send_text_message(sender, APOLOGY_DEFERRED)
        return Outcome.WAITING

    def _replay_job(self, row: journal.Unfinished) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            outcome = Outcome.FAILED
            try:
                async with self.ordering.turn(row.sender):
                    outcome = await self._replay(row)
                if outcome is Outcome.DONE:
                    logger.info("Replayed waiting message %s from %s", row.key, mask(row.sender))
            finally:
                await self._settle(row.key, row.sender, outcome)

        return run

    async def _replay(self, row: journal.Unfinished) -> Outcome:
        try:
            payload = row.payload()
            message = InboundMessage.from_journal(payload) if row.state == journal.RECEIVED else None
        except (KeyError, TypeError, ValueError) as error:
            logger.error(
                "Journalled message %s of %s cannot be read (%s); given up", row.key, mask(row.sender), error
            )
            return Outcome.FAILED
        if message is not None:
            return await self.handle_message(message, row.key, replay=True)
        journalled = payload.get("metadata")
        metadata: Dict[str, Any] = journalled if isinstance(journalled, dict) else {}
        return await self.deliver(
            row.sender,
            payload.get("text"),
            metadata,
            str(payload.get("message_id") or row.key),
            self.output_channel(),
            key=row.key,
            replay=True,
        )

    async def replay_once(self) -> int:
        """Keep the leases of this process's messages; when the assistant answers, queue every
        unfinished message this process owns or takes over, in order; returns how many."""
        for key, state in list(self._unwritten.items()):
            await self.journal.finish(key, state)
            del self._unwritten[key]
        await self.journal.renew()
        if not await self.health.ready():
            return 0
        self._finished_meanwhile = set()
        try:
            rows = await self.journal.take_over(previous_life=not self._previous_life_taken)
            finished = self._finished_meanwhile
        finally:
            self._finished_meanwhile = None
        self._previous_life_taken = True
        queued = 0
        for row in rows:
            if row.key in self._in_flight or row.key in self._unwritten or row.key in finished:
                continue
            self._in_flight.add(row.key)
            self.queues.submit(row.sender, self._replay_job(row))
            queued += 1
        return queued

    async def replay_forever(self) -> None:
        """``replay_once`` at start (what a previous life of this instance left) and then every
        ``replay_interval`` seconds."""
        while True:
            try:
                await self.replay_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep trying; the messages stay in the journal
                logger.exception("Replaying waiting WhatsApp messages failed")
            await asyncio.sleep(self.settings.replay_interval)

    @staticmethod
    def _inbound_at(message: InboundMessage) -> dt.datetime:
        """When the citizen wrote: the 24-h window runs from there (never a clock-skewed future)."""
        now = dt.datetime.utcnow().replace(microsecond=0)
        sent_at = inbound.parse_timestamp(message.timestamp)
        return min(sent_at, now) if sent_at else now

    async def _record_citizen(self, message: InboundMessage) -> Optional[int]:
        try:
            return await self.runner.run(
                inbound.record_inbound,
                wa_id=message.wa_id,
                user_id=message.user_id,
                profile_name=message.profile_name,
                inbound_at=self._inbound_at(message),
                url=self.settings.database_url,
            )
        except Exception:  # noqa: BLE001 - the conversation goes on; the action server upserts too
            logger.exception("Could not record citizen %s for message %s", mask(message.sender), message.id)
            return None

    async def _mark_read(self, message: InboundMessage) -> None:
        if not message.id:
            return
        try:
            await self.client.mark_read(message.id, typing=self.settings.typing_indicator)
        except GraphAPIError as error:
            logger.warning("Could not mark WhatsApp message %s read: %s", message.id, error)
        except Exception:  # noqa: BLE001
            logger.exception("Could not mark WhatsApp message %s read", message.id)

    async def _apply_system(self, message: InboundMessage) -> None:
        system = message.body
        kind = text_of(system.get("type"))
        if kind in ("user_changed_number", "customer_changed_number"):
            old = message.wa_id
            new = text_of(system.get("wa_id")) or text_of(system.get("new_wa_id"))
            if not old or not new:
                logger.warning("Number change without old/new number in message %s; ignored", message.id)
                return
            try:
                await self.runner.run(inbound.change_number, old, new, url=self.settings.database_url)
            except Exception:  # noqa: BLE001
                logger.exception("Could not apply number change %s -> %s", mask(old), mask(new))
                return
            logger.info("Citizen changed WhatsApp number %s -> %s", mask(old), mask(new))
        elif kind == "customer_identity_changed":
            identity = object_of(message.raw.get("identity"))
            logger.info(
                "WhatsApp identity of %s changed (reinstalled or new device; acknowledged=%s)",
                mask(message.sender),
                identity.get("acknowledged") is True,
            )
        else:
            logger.info("WhatsApp system message %r for %s ignored", kind, mask(message.sender))

    async def _receive_media(
        self,
        message: InboundMessage,
        translation: Translation,
        citizen_id: Optional[int],
        output: WhatsAppOutput,
    ) -> Optional[Tuple[Optional[str], Dict[str, Any]]]:
        """Download and store the file; returns (text, metadata) for Rasa, or None if nothing
        should reach the assistant (the citizen already got a polite explanation)."""
        ref = translation.media
        assert ref is not None
        metadata = translation.metadata
        settings = self.settings
        try:
            try:
                stored = await self._download_and_store(ref, citizen_id)
            except media.MediaRejected:
                raise
            except Exception as exc:  # noqa: BLE001 - disk, database...: tell the citizen, log it
                logger.exception("Storing WhatsApp media %s failed", ref.media_id)
                raise media.MediaRejected("download_failed", type(exc).__name__) from None
        except media.MediaRejected as rejected:
            logger.info(
                "%s from %s refused (%s %s)", ref.type, mask(message.sender), rejected.reason, rejected.detail
            )
            await output.send_text_message(message.sender, rejected.citizen_text(settings.max_media_bytes))
            metadata["media_rejected"] = {
                "type": ref.type,
                "reason": rejected.reason,
                "mime_type": ref.mime_type,
            }
            # The caption is still the citizen's words: pass it on, but never as a photo.
            return (ref.caption, metadata) if ref.caption else None
        metadata["media"] = {
            "type": ref.type,
            "whatsapp_media_id": ref.media_id,
            "mime_type": stored.mime_type,
            "sha256": stored.sha256,
            "filename": media.safe_filename(ref.filename),
            "media_db_id": stored.id,
            "storage_path": stored.storage_path,
            "size_bytes": stored.size_bytes,
        }
        return ref.caption or INTENT_MEDIA, metadata

    async def _download_and_store(self, ref: MediaRef, citizen_id: Optional[int]) -> media.StoredMedia:
        settings = self.settings
        allowed = settings.allowed_media_types
        limit = settings.max_media_bytes
        media.check_declared(ref.mime_type, None, allowed=allowed, max_bytes=limit)
        try:
            if ref.media_id:
                info = await self.client.media_info(ref.media_id)
                url = info.get("url")
                declared_mime = info.get("mime_type") or ref.mime_type
                size = str(info.get("file_size") or "")
                media.check_declared(
                    declared_mime, int(size) if size.isdigit() else None, allowed=allowed, max_bytes=limit
                )
            else:
                url, declared_mime = ref.url, ref.mime_type
            if not url:
                raise media.MediaRejected("download_failed", "no download URL")
            content, content_type = await self.client.download(str(url), max_bytes=limit)
        except DownloadTooLarge as error:
            raise media.MediaRejected("too_large", str(error)) from None
        except GraphAPIError as error:
            logger.error("Downloading WhatsApp media %s failed: %s", ref.media_id, error)
            raise media.MediaRejected("download_failed", str(error)) from None
        return await self.runner.run(
            media.store_media,
            content,
            mime_type=declared_mime or content_type,
            whatsapp_media_id=ref.media_id,
            citizen_id=citizen_id,
            caption=ref.caption,
            media_dir=settings.media_dir,
            allowed=allowed,
            max_bytes=limit,
            url=settings.database_url,
        )
