"""Background processing of webhook batches, after the webhook has answered 200.

Order per sender has two levels: in this process a FIFO per sender (``SenderQueues``); across
instances a ticket per message taken before the 200, in Redis when ``REDIS_URL`` is set
(``connectors.ordering``), so a citizen's messages run one at a time, in the order written, even
when the load balancer spreads them over several ``rasa run`` instances.

For each inbound message, in order per sender:

1. claim its dedupe key (``DedupeStore``): a redelivery, or a copy already taken in by another
   instance, stops here;
2. reactions and revokes are logged; system messages update the citizen's identity;
3. a blocked sender stops here; otherwise record the citizen (phone and/or BSUID, profile name,
   last inbound time = 24-h window);
4. mark the message read with the typing indicator;
5. download and store media (with limits; refused files get a polite reply);
6. log it for staff; during a handoff to an officer it stops here;
7. hand a ``UserMessage`` to Rasa with a ``WhatsAppOutput`` to answer through.

Statuses are recorded in the background too, never as user text, in batches
(``StatusBatcher``). Storage calls run in a thread pool (``BlockingRunner``), so the event loop
never waits on the database; that thread still competes with Rasa for the GIL, so lookups that
always run together share one unit of work (claim; blocklist + citizen; conversation log +
handoff; one per reply for its status and its log line).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import UserMessage

from layanwarga import conversation_log, handoff, inbound, media
from layanwarga.inbound import mask

from .dedupe import DedupeStore
from rasa_extensions.tracker_store import TrackerStoreUnavailable

from .executor import BlockingRunner
from .graph_client import DownloadTooLarge, GraphAPIError, GraphClient
from .limits import RATE_LIMITED_TEXT, TOO_LONG_TEXT, make_rate_limiter
from .ordering import CitizenOrdering, Ticket, make_ordering
from .replay import APOLOGY_DEFERRED, AssistantHealth, DeferredMessages
from .sender_queues import SenderQueues
from .settings import WhatsAppSettings
from .status_batcher import StatusBatcher
from .whatsapp_output import WhatsAppOutput
from .whatsapp_parse import InboundMessage, ParsedBatch, StatusUpdate, object_of, text_of
from .whatsapp_rasa import INTENT_MEDIA, Disposition, MediaRef, Translation, log_text, translate

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp"
APOLOGY_TEXT = (
    "Mohon maaf, Bapak/Ibu, pesan Anda belum dapat kami proses karena gangguan teknis. "
    "Silakan kirim ulang beberapa saat lagi."
)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class WebhookProcessor:
    """Turns parsed batches into stored statuses, identity updates and Rasa turns."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        client: GraphClient,
        dedupe: DedupeStore,
        runner: BlockingRunner,
        on_new_message: OnNewMessage,
    ) -> None:
        self.settings = settings
        self.client = client
        self.dedupe = dedupe
        self.runner = runner
        self.on_new_message = on_new_message
        self.queues = SenderQueues(settings.max_concurrent_senders)
        self.statuses = StatusBatcher(self._write_statuses)
        self.health = AssistantHealth(settings.action_server_url)
        self.rate_limiter = make_rate_limiter(settings.max_messages_per_minute, settings.redis_url)
        self.deferred = DeferredMessages(settings.spool_dir)
        self.ordering: CitizenOrdering = make_ordering(
            settings.ordering, settings.redis_url, prefix=settings.ordering_prefix,
            lease=settings.ordering_lease, max_wait=settings.ordering_max_wait,
        )

    # -- entry points (called by the webhook handler, on the loop) --------------------------------
    async def admit(self, batch: ParsedBatch) -> None:
        """Queue a batch, each message with its place in its citizen's line across instances.

        Awaited by the webhook handler *before* it answers 200: Meta sends a citizen's next
        message only after this one was acknowledged, so the tickets follow the citizen's order
        whichever instance receives each message. Costs one Redis round trip per message.
        """
        self._note_batch(batch)
        for message in batch.messages:
            async with self.ordering.admission(message.sender):
                ticket = await self.ordering.admit(message.sender)
                self.queues.submit(message.sender, self._job(message, ticket))

    def accept(self, batch: ParsedBatch) -> None:
        """Queue a batch without waiting (messages take their cross-instance ticket when they start)."""
        self._note_batch(batch)
        for message in batch.messages:
            self.queues.submit(message.sender, self._job(message))

    def _note_batch(self, batch: ParsedBatch) -> None:
        for phone_number_id, error in batch.errors:
            logger.warning(
                "WhatsApp webhook error for number %s: code %s %s %s",
                phone_number_id, error.code, error.title, error.details or error.message,
            )
        for problem in batch.problems:
            logger.warning("WhatsApp webhook: skipped malformed part: %s", problem)
        for field_name in batch.other_fields:
            logger.info("WhatsApp webhook field %r ignored (not subscribed to by LayanWarga)", field_name)
        if batch.statuses:
            self.statuses.add(self._status_records(batch.statuses))

    def _job(self, message: InboundMessage, ticket: Optional[Ticket] = None) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async with self.ordering.turn(message.sender, ticket):
                await self.handle_message(message)

        return run

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
    def _status_records(statuses: List[StatusUpdate]) -> List[inbound.StatusRecord]:
        """The records to store for a webhook's statuses; failures are logged on arrival."""
        records = []
        for status in statuses:
            error = status.errors[0] if status.errors else None
            if status.status == "failed":
                logger.warning(
                    "WhatsApp message %s to %s failed: code %s %s",
                    status.id, mask(status.recipient), error.code if error else "?",
                    (error.details or error.title) if error else "",
                )
            records.append(
                inbound.StatusRecord(
                    message_id=status.id,
                    status=status.status,
                    recipient=status.recipient,
                    error_code=error.code if error else None,
                    error_title=(error.title or error.message or None) if error else None,
                )
            )
        return records

    async def _write_statuses(self, records: List[inbound.StatusRecord]) -> None:
        """One batch of statuses, one unit of work (``StatusBatcher`` logs a failure)."""
        await self.runner.run(inbound.record_statuses, records, url=self.settings.database_url)

    # -- messages ------------------------------------------------------------------------------
    def output_channel(self) -> WhatsAppOutput:
        return WhatsAppOutput(self.client, self.settings, record_sent=self._record_sent)

    async def _record_sent(self, message_id: str, recipient: str, text: str) -> None:
        """A reply's ``accepted`` status and conversation-log line (``WhatsAppOutput`` logs a failure)."""
        await self.runner.run(
            inbound.record_outbound, message_id, recipient, text or None, url=self.settings.database_url
        )

    @staticmethod
    def dedupe_key(message: InboundMessage) -> str:
        message_id = message.id
        if not message_id:
            # No id at all (never seen from Meta): the message's own content identifies it.
            raw = json.dumps(message.raw, sort_keys=True, ensure_ascii=True).encode("utf-8")
            message_id = "noid:" + hashlib.sha256(raw).hexdigest()[:32]
        return inbound.dedupe_key(message_id, message.sender, message.timestamp)

    async def handle_message(self, message: InboundMessage) -> None:
        sender = message.sender
        key = self.dedupe_key(message)
        try:
            first = await self.dedupe.claim(key, sender)
        except Exception:  # noqa: BLE001
            # Without the shared store we cannot know; processing twice beats dropping a report.
            logger.exception("Dedupe store failed for message %s; processing it anyway", message.id)
            first = True
        if not first:
            logger.info("WhatsApp message %s from %s already processed; skipped", message.id, mask(sender))
            return

        translation = translate(message)
        if translation.disposition is Disposition.REACTION:
            reaction = message.body
            logger.info(
                "Reaction %r from %s to message %s (not passed to the assistant)",
                text_of(reaction.get("emoji")) or "(removed)", mask(sender), text_of(reaction.get("message_id")),
            )
            return
        if translation.disposition is Disposition.REVOKE:
            revoke = message.body
            logger.info(
                "Citizen %s deleted message %s (not passed to the assistant)",
                mask(sender), text_of(revoke.get("original_message_id")) or text_of(revoke.get("message_id")) or "?",
            )
            return
        if translation.disposition is Disposition.SYSTEM:
            await self._apply_system(message)
            return

        blocked, citizen_id = await self._admit(message)
        if blocked:
            return
        await self._mark_read(message)
        output = self.output_channel()
        if not await self._within_limits(message, translation, output):
            return

        text: Optional[str] = translation.text
        metadata: Dict[str, Any] = translation.metadata
        if translation.disposition is Disposition.MEDIA and translation.media is not None:
            result = await self._receive_media(message, translation, citizen_id, output)
            if result is None:
                return
            text, metadata = result

        if await self._log_inbound(message, text, metadata):
            return
        await self.deliver(sender, text, metadata, message.id or key, output)

    async def _log_inbound(self, message: InboundMessage, text: Optional[str], metadata: Dict[str, Any]) -> bool:
        """Add the message to the conversation staff read (never blocks the citizen's turn) and
        tell whether an officer has this conversation: then the assistant stays silent.

        One unit of work does both; when it fails, the handoff is looked up on its own."""
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
            )
        except Exception:  # noqa: BLE001
            logger.exception("Could not log message %s of %s for staff", message.id, mask(message.sender))
            return await self._in_handoff(message.sender)
        return logged.in_handoff

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
                mask(message.sender), message.id,
            )
            return False, await self._record_citizen(message)
        if admission.blocked:
            logger.info("Message %s from blocked sender %s not answered", message.id, mask(message.sender))
        return admission.blocked, admission.citizen_id

    async def _within_limits(self, message: InboundMessage, translation: Translation, output: WhatsAppOutput) -> bool:
        """Flood and size limits; a refused message is logged and explained, never silent."""
        verdict = await self.rate_limiter.check(message.sender)
        if not verdict.allowed:
            logger.warning("Message %s from %s over the rate limit; not answered", message.id, mask(message.sender))
            if verdict.notify:
                await output.send_text_message(message.sender, RATE_LIMITED_TEXT)
            return False
        text = translation.text or ""
        if len(text) > self.settings.max_text_chars:
            logger.warning("Message %s from %s too long (%d characters)", message.id, mask(message.sender), len(text))
            await output.send_text_message(
                message.sender, TOO_LONG_TEXT.format(length=len(text), limit=self.settings.max_text_chars)
            )
            return False
        return True

    # -- handing messages to the assistant -------------------------------------------------------
    async def deliver(
        self, sender: str, text: Optional[str], metadata: Dict[str, Any], message_id: str, output: WhatsAppOutput
    ) -> None:
        """Run the assistant's turn for one message, or keep the message for later when the
        assistant cannot take it (see ``connectors.replay``)."""
        if self.deferred.waiting_for(sender) or not await self.health.ready():
            await self._defer(sender, text, metadata, message_id, output)
            return
        if not await self._run_turn(sender, text, metadata, message_id, output):
            await self._defer(sender, text, metadata, message_id, output)

    async def _run_turn(
        self, sender: str, text: Optional[str], metadata: Dict[str, Any], message_id: str, output: WhatsAppOutput
    ) -> bool:
        """One Rasa turn; False when it could not start and the message must wait."""
        user_message = UserMessage(
            text, output, sender, input_channel=CHANNEL_NAME, message_id=message_id, metadata=metadata
        )
        try:
            await self.on_new_message(user_message)
            return True
        except TrackerStoreUnavailable as error:
            if error.phase == "retrieve":
                self.health.forget()
                return False
            logger.error(
                "Message %s from %s was answered but its turn could not be stored: %s", message_id, mask(sender), error
            )
            return True
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the citizen must not be left without an answer
            logger.exception("The assistant failed on WhatsApp message %s from %s", message_id, mask(sender))
            await output.send_text_message(sender, APOLOGY_TEXT)
            return True

    async def _defer(
        self, sender: str, text: Optional[str], metadata: Dict[str, Any], message_id: str, output: WhatsAppOutput
    ) -> None:
        first = await self.runner.run(
            self.deferred.defer, sender, {"text": text, "metadata": metadata, "message_id": message_id}
        )
        if first:
            await output.send_text_message(sender, APOLOGY_DEFERRED)

    def _replay_job(self, path: Any, sender: str, item: Dict[str, Any]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            replayed = False
            try:
                if not self.deferred.earlier_than(path, sender) and await self.health.ready():
                    async with self.ordering.turn(sender):
                        replayed = await self._run_turn(
                            sender, item.get("text"), item.get("metadata") or {}, item["message_id"],
                            self.output_channel(),
                        )
                    if replayed:
                        logger.info("Replayed waiting message %s from %s", item["message_id"], mask(sender))
            finally:
                self.deferred.done(path, sender, replayed)

        return run

    async def replay_once(self) -> int:
        """Queue every waiting message for replay if the assistant answers; returns how many."""
        if not await self.health.ready():
            return 0
        queued = 0
        for path, sender, item in list(self.deferred.due()):
            self.deferred.start(path)
            self.queues.submit(sender, self._replay_job(path, sender, item))
            queued += 1
        return queued

    async def replay_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.replay_interval)
            try:
                await self.replay_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep trying; the messages stay on disk
                logger.exception("Replaying waiting WhatsApp messages failed")

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
                mask(message.sender), identity.get("acknowledged") is True,
            )
        else:
            logger.info("WhatsApp system message %r for %s ignored", kind, mask(message.sender))

    async def _receive_media(
        self, message: InboundMessage, translation: Translation, citizen_id: Optional[int], output: WhatsAppOutput
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
            metadata["media_rejected"] = {"type": ref.type, "reason": rejected.reason, "mime_type": ref.mime_type}
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
                size = info.get("file_size")
                media.check_declared(
                    declared_mime, int(size) if str(size or "").isdigit() else None, allowed=allowed, max_bytes=limit
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
