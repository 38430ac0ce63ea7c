"""The announcement worker: ``python -m layanwarga.broadcast`` sends queued announcements.

Plain Python, no Rasa; it reaches the Graph API as the notifier does (the ``whatsapp``
package's sync client, the same settings from credentials.yml and the ``WHATSAPP_*``
variables). It is its own process, next to the notifier, so a broadcast to thousands of citizens
never delays a staff reply in the outbox.

**Throughput.** A token bucket holds the sends to ``subscriptions.messages_per_second`` from
``instansi.yml`` (burst: a tenth of a second's worth). Sending threads (enough for the rate:
Graph API calls take 100-300 ms) only make the calls, each taking a token right before its own;
the dispatching thread does the database work in small batches (a "wave" of rows marked
``sending`` in one transaction, finished sends recorded together), so the database is not the
bottleneck. A "slow down" answer stops every thread for the Retry-After (or a growing pause).
Announcements share the number's throughput, so only one worker sends at a time: it holds a
lease in the database (``broadcast_leases``) and renews it; a second copy waits and takes over
when the first stops.

**Exactly once.** Rows are claimed in one ``UPDATE … WHERE status='pending'`` (one winner across
processes); right before their Graph API calls rows turn ``sending`` (only while still claimed by
this worker, never more than there are threads), and after the call ``sent`` with the WhatsApp
message id. After a crash, rows merely ``claimed`` go back to ``pending`` (they were never
attempted) and the run resumes; a row left ``sending`` may have gone out, so it becomes
``unknown`` and is never resent. A citizen who unsubscribed after the announcement was queued is
skipped.

**Failures**, by the class Meta's error code has in the one error table (``whatsapp.errors``):

- *slow down* — ``RateLimitError`` (HTTP 429, codes 4, 80007, 130429, 131056): nothing was
  sent; the row waits and is tried again without counting as a failure (at most
  ``max_throttled`` times);
- *temporary* — ``ServerError`` (HTTP 5xx, codes 1, 2, 131000, 131016, 133004) or no
  connection at all (``NetworkError``): retried once after ``retry_delay``;
- *no answer after sending* — read timeout, connection dropped (``maybe_sent``): ``unknown``,
  never resent;
- *the token, the account or the template* — classes that ``stops_everyone`` (``AuthError``: 0, 3,
  10, 190, 200-299, 131005, 131031, 131045, 133010; ``AccountError``: 368, 131042;
  ``TemplateError``: 132000, 132001, 132005, 132007, 132012, 132015, 132016): nobody could
  receive it, so the announcement is *paused* with the error for staff, and the row waits; so
  is an announcement whose last ``breaker_threshold`` sends all failed with the same code;
- anything else (e.g. 100, 131008, 131009, 131026, 131051): this recipient failed.

Failures WhatsApp reports later in a status webhook (``message_statuses``) are retried once when
the code is temporary (``whatsapp.errors.RETRY_ON_STATUS_CODES``: 1, 2, 130429, 131000, 131016,
131053, 131056, 133004) and the announcement was queued less than a day ago; 131026
(undeliverable), 131049 (Meta's marketing limit per user: retrying would not help), 131047 and
the template errors are not retried; 131050 (the user stopped marketing messages from this
business, ``STOPPED_MARKETING_CODE``) also ends the citizen's subscriptions.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import logging
import math
import os
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from sqlalchemy import and_, bindparam, case, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from whatsapp import messages
from whatsapp.errors import RETRY_ON_STATUS_CODES, STOPPED_MARKETING_CODE, GraphAPIError, RateLimitError
from whatsapp.settings import CREDENTIALS_FILE, GraphSettings, SettingsError, load_worker_settings
from whatsapp.sync import SyncClient

from . import conversation_log, media, migrate, runtime
from .config import ConfigError, Institution, get_institution
from .db import session_scope
from .inbound import mask
from .models import (
    Announcement,
    AnnouncementDelivery,
    BroadcastLease,
    Citizen,
    ConversationMessage,
    Handoff,
    Media,
    MessageStatus,
)
from .models.handoffs import OPEN as HANDOFF_OPEN
from .models.subscriptions import (
    D_CLAIMED,
    D_FAILED,
    D_PENDING,
    D_SENDING,
    D_SENT,
    D_SKIPPED,
    D_UNKNOWN,
    DONE,
    PAUSED,
    SENDING,
)
from .redaction import install_log_masking, mask_identifiers
from .subscriptions import (
    SOURCE_STOPPED_MARKETING,
    _deactivate,
    render,
    subscribed_among,
    template_object,
    topic_label,
)

logger = logging.getLogger(__name__)

LEASE_NAME = "broadcast"
# How long an uploaded WhatsApp media id is used (Meta keeps it 30 days).
MEDIA_ID_LIFETIME = dt.timedelta(days=25)
# Finished sends are recorded in batches: half the threads' worth, or after this many seconds.
FLUSH_AFTER = 0.1
# A wave of sends starts when half the threads are free, or any after this many seconds.
WAVE_WAIT = 0.05
UPLOAD_ATTEMPTS = 5  # temporary upload failures (backoff 5 s, 10 s, ...) before pausing
ANNOUNCEMENT_IMAGE_TYPES = ("image/jpeg", "image/png")
ANNOUNCEMENT_IMAGE_MAX_BYTES = 5 * 1024 * 1024  # WhatsApp's limit for images


def _now() -> dt.datetime:
    return dt.datetime.utcnow()


class ConfigurationError(RuntimeError):
    """The institution's configuration has nothing to broadcast; the message says what is missing."""


@dataclass(frozen=True)
class BroadcastOptions:
    messages_per_second: float
    concurrency: int = 8
    batch_size: int = 200
    retry_delay: dt.timedelta = dt.timedelta(seconds=30)
    retry_window: dt.timedelta = dt.timedelta(hours=24)
    lease_seconds: float = 15.0
    stale_after: dt.timedelta = dt.timedelta(seconds=120)
    max_throttled: int = 20
    breaker_threshold: int = 25
    poll_interval: float = 1.0
    status_sync_interval: float = 5.0

    @property
    def burst(self) -> float:
        return max(1.0, self.messages_per_second / 10)

    @classmethod
    def from_institution(cls, inst: Institution, **overrides: Any) -> "BroadcastOptions":
        """The rate from ``instansi.yml``; enough threads for it when none are given."""
        if inst.subscriptions is None:
            raise ConfigurationError(
                "instansi.yml has no subscriptions section: there is nothing to broadcast."
            )
        values: Dict[str, Any] = {"messages_per_second": inst.subscriptions.messages_per_second}
        values.update({k: v for k, v in overrides.items() if v is not None})
        values.setdefault("concurrency", threads_for(values["messages_per_second"]))
        return cls(**values)


def threads_for(rate: float) -> int:
    """Sending threads to keep ``rate`` up when each Graph API call takes up to ~0.4 s (Meta's
    usual 100-300 ms, with room): at least 8, at most 64."""
    return max(8, min(64, math.ceil(rate * 0.4)))


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, ``capacity`` at once; thread-safe.

    ``pause(seconds)`` holds every caller back (the Graph API asked us to slow down)."""

    def __init__(
        self,
        rate: float,
        capacity: Optional[float] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate / 10))
        self.clock = clock
        self._tokens = self.capacity
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._turn = threading.Lock()

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def try_acquire(self) -> float:
        """Take a token and return 0, or return how long to wait before trying again."""
        with self._lock:
            now = self.clock()
            if now < self._paused_until:
                return self._paused_until - now
            self._refill(now)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate

    def acquire(
        self, stop: Optional[threading.Event] = None, sleep: Callable[[float], Any] = time.sleep
    ) -> bool:
        """Block until a token is taken (True) or ``stop`` is set (False).

        One waiting thread at a time sleeps until the next token; the others queue on a lock
        instead of all waking for every token (dozens of threads would burn a core)."""
        while not self._turn.acquire(timeout=0.5):
            if stop is not None and stop.is_set():
                return False
        try:
            while True:
                if stop is not None and stop.is_set():
                    return False
                wait = self.try_acquire()
                if wait <= 0:
                    return True
                if stop is not None:
                    stop.wait(min(wait, 0.5))
                else:
                    sleep(min(wait, 0.5))
        finally:
            self._turn.release()

    def pause(self, seconds: float) -> None:
        with self._lock:
            now = self.clock()
            self._paused_until = max(self._paused_until, now + seconds)
            self._tokens = 0.0
            self._updated = max(self._updated, self._paused_until)


@dataclass(frozen=True)
class Claimed:
    id: int
    token: str


@dataclass(frozen=True)
class Prepared:
    """What one send needs, read in the transaction that marked the row ``sending``."""

    id: int
    token: str
    announcement_id: int
    recipient: str
    is_phone: bool
    citizen_id: int
    body: Dict[str, Any]
    log_text: str
    retries: int


@dataclass
class Result:
    """What one sending thread saw; recorded by the dispatcher with others in one transaction."""

    prepared: Prepared
    wamid: Optional[str] = None
    error: Optional[GraphAPIError] = None
    crashed: Optional[str] = None  # an unexpected exception's type: the outcome is unknown
    unsent: bool = False  # stopping before the call: certainly not sent
    wait: float = 0.0  # the pause after a "slow down" answer
    done_at: float = field(default_factory=time.monotonic)


@dataclass
class _Breaker:
    code: Optional[int] = None
    count: int = 0


class Broadcaster:
    """Claims due deliveries of announcements being sent, and sends them at the configured rate."""

    def __init__(
        self,
        inst: Institution,
        settings: GraphSettings,
        options: BroadcastOptions,
        *,
        url: Optional[str] = None,
        client: Optional[SyncClient] = None,
        worker_id: Optional[str] = None,
    ) -> None:
        self.inst = inst
        self.settings = settings
        self.options = options
        self.url = url
        # One kept-alive connection per sending thread.
        self.client = client or SyncClient(settings, connections=options.concurrency)
        self.worker_id = worker_id or uuid.uuid4().hex[:16]
        self.bucket = TokenBucket(options.messages_per_second, options.burst)
        self.pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="broadcast")
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._results: List[Result] = []
        self._in_flight = 0
        self._is_leader = False
        self._batch = 0
        self._throttle_streak = 0
        self._breakers: Dict[int, _Breaker] = {}
        self._last_status_sync = 0.0
        self._upload_failures: Dict[int, Tuple[int, float]] = {}  # announcement -> (failures, retry at)
        self.stop_event = threading.Event()
        self.sent_count = 0

    # -- lease -----------------------------------------------------------------------------------
    def hold_lease(self) -> bool:
        """Take or renew the sending lease; True while this worker may send."""
        now = _now()
        expires = now + dt.timedelta(seconds=self.options.lease_seconds)
        with session_scope(self.url, write=True) as session:
            result = session.execute(
                update(BroadcastLease)
                .where(BroadcastLease.name == LEASE_NAME)
                .where((BroadcastLease.owner == self.worker_id) | (BroadcastLease.expires_at < now))
                .values(owner=self.worker_id, expires_at=expires)
                .execution_options(synchronize_session=False)
            )
            won = result.rowcount == 1
            if not won and session.get(BroadcastLease, LEASE_NAME) is None:
                dialect = session.get_bind().dialect.name
                insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
                statement = insert(BroadcastLease).values(
                    name=LEASE_NAME, owner=self.worker_id, expires_at=expires
                )
                won = (
                    session.execute(statement.on_conflict_do_nothing(index_elements=["name"])).rowcount or 0
                ) == 1
        if won and not self._is_leader:
            logger.info("Broadcast worker %s holds the sending lease", self.worker_id)
            if self._in_flight == 0 and not self._results:
                self.recover(everything=True)
        elif not won and self._is_leader:
            logger.warning("Broadcast worker %s lost the sending lease", self.worker_id)
        self._is_leader = won
        return won

    def release_lease(self) -> None:
        with session_scope(self.url) as session:
            session.execute(
                update(BroadcastLease)
                .where(BroadcastLease.name == LEASE_NAME, BroadcastLease.owner == self.worker_id)
                .values(expires_at=_now() - dt.timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )
        self._is_leader = False

    # -- recovery, statuses, completion ------------------------------------------------------
    def recover(self, *, everything: bool = False) -> Tuple[int, int]:
        """Rows of a worker that stopped: ``claimed`` -> pending (never attempted), ``sending`` ->
        unknown (may have gone out; never resent). With ``everything`` (this worker just took the
        lease and has nothing under way) every such row is another worker's; otherwise only rows
        older than ``stale_after``."""
        now = _now()
        cutoff = now if everything else now - self.options.stale_after
        with session_scope(self.url) as session:
            back = (
                session.execute(
                    update(AnnouncementDelivery)
                    .where(
                        AnnouncementDelivery.status == D_CLAIMED, AnnouncementDelivery.claimed_at <= cutoff
                    )
                    .values(status=D_PENDING, claim_token=None, updated_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount
                or 0
            )
            lost = (
                session.execute(
                    update(AnnouncementDelivery)
                    .where(
                        AnnouncementDelivery.status == D_SENDING, AnnouncementDelivery.updated_at <= cutoff
                    )
                    .values(
                        status=D_UNKNOWN,
                        updated_at=now,
                        error_text=(
                            "Status tidak pasti: pengirim berhenti saat mengirim pesan ini. Tidak dikirim ulang "
                            "agar warga tidak menerima pesan dua kali."
                        ),
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
                or 0
            )
        if back or lost:
            logger.warning(
                "Recovered deliveries of a stopped worker: %d back in the queue, %d unknown", back, lost
            )
        return int(back), int(lost)

    def sync_statuses(self, now: Optional[dt.datetime] = None) -> int:
        """Sent rows WhatsApp reported failed: retried once when the code allows, else failed."""
        now = now or _now()
        recent = now - dt.timedelta(days=30)
        changed = 0
        with session_scope(self.url, write=True) as session:
            rows = session.execute(
                select(
                    AnnouncementDelivery, MessageStatus.error_code, MessageStatus.error_title, Announcement
                )
                .join(MessageStatus, MessageStatus.message_id == AnnouncementDelivery.wamid)
                .join(Announcement, Announcement.id == AnnouncementDelivery.announcement_id)
                .where(
                    AnnouncementDelivery.status == D_SENT,
                    MessageStatus.status == "failed",
                    Announcement.queued_at >= recent,
                )
                .limit(1000)
            ).all()
            for delivery, code, title, announcement in rows:
                changed += 1
                detail = f"WhatsApp melaporkan gagal sampai: kode {code}, {title or 'tanpa keterangan'}"
                delivery.error_code = code
                delivery.updated_at = now
                if code == STOPPED_MARKETING_CODE and delivery.citizen_id:
                    _deactivate(session, int(delivery.citizen_id), SOURCE_STOPPED_MARKETING, None, now)
                if (
                    code in RETRY_ON_STATUS_CODES
                    and delivery.retries == 0
                    and announcement.status in (SENDING, PAUSED, DONE)
                    and announcement.queued_at is not None
                    and now - announcement.queued_at < self.options.retry_window
                ):
                    delivery.status = D_PENDING
                    delivery.retries = 1
                    delivery.wamid = None
                    delivery.claim_token = None
                    delivery.next_attempt_at = now + self.options.retry_delay
                    delivery.error_text = f"{detail}. Dikirim ulang sekali."
                    if announcement.status == DONE:
                        announcement.status = SENDING
                        announcement.finished_at = None
                else:
                    delivery.status = D_FAILED
                    delivery.error_text = detail
        if changed:
            logger.info("%d announcement deliveries were reported failed by WhatsApp", changed)
        return changed

    def finish(self) -> int:
        """Announcements being sent with nothing left to send are done."""
        now = _now()
        open_rows = exists().where(
            and_(
                AnnouncementDelivery.announcement_id == Announcement.id,
                AnnouncementDelivery.status.in_((D_PENDING, D_CLAIMED, D_SENDING)),
            )
        )
        with session_scope(self.url) as session:
            result = session.execute(
                update(Announcement)
                .where(Announcement.status == SENDING, ~open_rows)
                .values(status=DONE, finished_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            count = int(result.rowcount or 0)
        if count:
            logger.info("%d announcements finished sending", count)
        return count

    # -- images ------------------------------------------------------------------------------
    def ensure_media(self) -> None:
        """Upload the picture of each announcement being sent once (WhatsApp media id)."""
        cutoff = _now() - MEDIA_ID_LIFETIME
        with session_scope(self.url) as session:
            due = session.execute(
                select(Announcement.id, Media.storage_path, Media.mime_type)
                .join(Media, Media.id == Announcement.image_media_id)
                .where(
                    Announcement.status == SENDING,
                    (Announcement.whatsapp_media_id.is_(None))
                    | (Announcement.whatsapp_media_uploaded_at < cutoff),
                )
            ).all()
        for announcement_id, path, mime in due:
            failures, retry_at = self._upload_failures.get(announcement_id, (0, 0.0))
            if time.monotonic() < retry_at:
                continue
            mime = mime or "image/jpeg"
            try:
                content = media.resolve(path).read_bytes()
                media_id = self.client.upload_media(
                    content, mime, f"pengumuman{media.EXTENSIONS.get(mime, '.jpg')}"
                )
            except (OSError, GraphAPIError) as error:
                failures += 1
                retryable = (
                    isinstance(error, GraphAPIError) and error.retryable and failures < UPLOAD_ATTEMPTS
                )
                note = (
                    error.describe()
                    if isinstance(error, GraphAPIError)
                    else f"berkas gambar tidak terbaca ({type(error).__name__})"
                )
                logger.error(
                    "Announcement %d: image upload failed (attempt %d): %s", announcement_id, failures, note
                )
                if retryable:
                    self._upload_failures[announcement_id] = (
                        failures,
                        time.monotonic() + min(300.0, 5.0 * 2 ** (failures - 1)),
                    )
                else:
                    self._upload_failures.pop(announcement_id, None)
                    self._pause(announcement_id, f"Gambar gagal diunggah ke WhatsApp: {note}")
                continue
            self._upload_failures.pop(announcement_id, None)
            with session_scope(self.url) as session:
                session.execute(
                    update(Announcement)
                    .where(Announcement.id == announcement_id)
                    .values(whatsapp_media_id=media_id, whatsapp_media_uploaded_at=_now())
                    .execution_options(synchronize_session=False)
                )

    def _pause(self, announcement_id: int, note: str) -> None:
        with session_scope(self.url) as session:
            session.execute(
                update(Announcement)
                .where(Announcement.id == announcement_id, Announcement.status == SENDING)
                .values(status=PAUSED, status_note=note[:2000], updated_at=_now())
                .execution_options(synchronize_session=False)
            )
        logger.error("Announcement %d paused: %s", announcement_id, note)

    # -- claiming ----------------------------------------------------------------------------
    def claim(self, limit: int) -> List[Claimed]:
        """Reserve up to ``limit`` due rows of announcements being sent, oldest first."""
        now = _now()
        self._batch += 1
        token = f"{self.worker_id}:{self._batch}"
        due = (
            select(AnnouncementDelivery.id)
            .join(Announcement, Announcement.id == AnnouncementDelivery.announcement_id)
            .where(
                AnnouncementDelivery.status == D_PENDING,
                AnnouncementDelivery.next_attempt_at <= now,
                Announcement.status == SENDING,
                (Announcement.image_media_id.is_(None)) | (Announcement.whatsapp_media_id.isnot(None)),
            )
            .order_by(AnnouncementDelivery.announcement_id, AnnouncementDelivery.id)
            .limit(limit)
        )
        with session_scope(self.url, write=True) as session:
            ids = list(session.execute(due).scalars())
            if not ids:
                return []
            session.execute(
                update(AnnouncementDelivery)
                .where(AnnouncementDelivery.id.in_(ids), AnnouncementDelivery.status == D_PENDING)
                .values(status=D_CLAIMED, claim_token=token, claimed_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        with session_scope(self.url) as session:
            mine = session.execute(
                select(AnnouncementDelivery.id)
                .where(AnnouncementDelivery.claim_token == token, AnnouncementDelivery.status == D_CLAIMED)
                .order_by(AnnouncementDelivery.id)
            ).scalars()
            return [Claimed(int(i), token) for i in mine]

    def unclaim(self, rows: List[Claimed]) -> None:
        """Give back rows this worker claimed but did not attempt (stopping)."""
        if not rows:
            return
        with session_scope(self.url) as session:
            for row in rows:
                session.execute(
                    update(AnnouncementDelivery)
                    .where(
                        AnnouncementDelivery.id == row.id,
                        AnnouncementDelivery.claim_token == row.token,
                        AnnouncementDelivery.status == D_CLAIMED,
                    )
                    .values(status=D_PENDING, claim_token=None, updated_at=_now())
                    .execution_options(synchronize_session=False)
                )

    # -- preparing, sending, recording ----------------------------------------------------------
    def prepare_many(self, rows: List[Claimed]) -> List[Prepared]:
        """Mark claimed rows ``sending`` and read what their sends need, in one transaction.

        Rows not to be sent (any more) are left out: those of an announcement paused or stopped
        meanwhile go back to ``pending``; a citizen who unsubscribed or was erased is skipped."""
        if not rows:
            return []
        now = _now()
        tokens = {row.id: row.token for row in rows}
        prepared: List[Prepared] = []
        with session_scope(self.url, write=True) as session:
            # FOR UPDATE: on PostgreSQL a worker taking over (recover) waits for this transaction.
            deliveries = (
                session.execute(
                    select(AnnouncementDelivery)
                    .where(AnnouncementDelivery.id.in_(list(tokens)))
                    .order_by(AnnouncementDelivery.id)
                    .with_for_update()
                )
                .scalars()
                .all()
            )
            mine = [d for d in deliveries if d.status == D_CLAIMED and d.claim_token == tokens.get(d.id)]
            announcements = {
                a.id: a
                for a in session.execute(
                    select(Announcement).where(Announcement.id.in_({d.announcement_id for d in mine}))
                ).scalars()
            }
            citizen_ids = [d.citizen_id for d in mine if d.citizen_id]
            people = (
                {
                    c.id: c
                    for c in session.execute(select(Citizen).where(Citizen.id.in_(citizen_ids))).scalars()
                }
                if citizen_ids
                else {}
            )
            wanted: Dict[int, set] = {}
            for announcement in announcements.values():
                ids = [d.citizen_id for d in mine if d.announcement_id == announcement.id and d.citizen_id]
                wanted[announcement.id] = subscribed_among(
                    session, ids, announcement.topic, announcement.area
                )
            for delivery in mine:
                announcement = announcements.get(delivery.announcement_id)
                if announcement is None or announcement.status != SENDING:
                    delivery.status, delivery.claim_token, delivery.updated_at = D_PENDING, None, now
                    continue
                citizen = people.get(delivery.citizen_id) if delivery.citizen_id else None
                recipient = (citizen.wa_id or citizen.user_id) if citizen is not None else None
                if citizen is None or not recipient:
                    delivery.status, delivery.updated_at = D_SKIPPED, now
                    delivery.error_text = "Data warga sudah dihapus."
                    continue
                if citizen.id not in wanted.get(announcement.id, set()):
                    delivery.status, delivery.updated_at = D_SKIPPED, now
                    delivery.error_text = "Warga sudah berhenti berlangganan sebelum pesan dikirim."
                    continue
                rendered = render(self.inst, announcement)
                body = messages.with_recipient(
                    recipient,
                    {
                        "type": "template",
                        "template": template_object(rendered, announcement.whatsapp_media_id),
                        "biz_opaque_callback_data": f"pengumuman:{announcement.id}:{delivery.id}",
                    },
                    phone=bool(citizen.wa_id),
                )
                delivery.status = D_SENDING
                delivery.attempts = int(delivery.attempts or 0) + 1
                delivery.updated_at = now
                prepared.append(
                    Prepared(
                        id=int(delivery.id),
                        token=str(delivery.claim_token),
                        announcement_id=int(announcement.id),
                        recipient=recipient,
                        is_phone=bool(citizen.wa_id),
                        citizen_id=int(citizen.id),
                        body=body,
                        log_text=f"[Pengumuman – {topic_label(self.inst, announcement.topic)}] {rendered.text_parameter}",
                        retries=int(delivery.retries or 0),
                    )
                )
        return prepared

    def _send_one(self, prepared: Prepared) -> None:
        """A sending thread: take a token, make the Graph API call, hand the result back."""
        result = Result(prepared)
        try:
            if not self.bucket.acquire(self.stop_event):
                result.unsent = True
            else:
                try:
                    result.wamid = self.client.send(prepared.body) or None
                except GraphAPIError as error:
                    result.error = error
                    if isinstance(error, RateLimitError):
                        # Every thread holds back at once, not only after the result is recorded.
                        with self._lock:
                            self._throttle_streak += 1
                            streak = self._throttle_streak
                        result.wait = max(error.retry_after or 0.0, min(60.0, 2.0 ** (streak - 1)))
                        self.bucket.pause(result.wait)
                except Exception as exc:  # noqa: BLE001 - a bug after the row turned "sending": never resend it
                    logger.exception(
                        "Announcement %d delivery %d: unexpected error while sending",
                        prepared.announcement_id,
                        prepared.id,
                    )
                    result.crashed = type(exc).__name__
        finally:
            with self._cond:
                self._results.append(result)
                self._in_flight -= 1
                self._cond.notify_all()

    def record_many(self, results: List["Result"]) -> None:
        """Store what happened to sent rows, in one transaction (only for rows still ours).

        Successful sends, the bulk of the work, are one executemany UPDATE plus one bulk INSERT
        into the conversation log staff read; other outcomes are rare and written one by one."""
        if not results:
            return
        now = _now()
        pauses: Dict[int, str] = {}
        with session_scope(self.url, write=True) as session:
            owners = dict(
                session.execute(
                    select(AnnouncementDelivery.id, AnnouncementDelivery.claim_token).where(
                        AnnouncementDelivery.id.in_([r.prepared.id for r in results])
                    )
                ).all()
            )
            sent: List[Tuple["Result", Dict[str, Any]]] = []
            for result in results:
                if owners.get(result.prepared.id) != result.prepared.token:
                    continue  # given back or recovered by another worker meanwhile
                values = self._outcome(result, now, pauses)
                if values["status"] == D_SENT:
                    sent.append((result, values))
                    continue
                session.execute(
                    update(AnnouncementDelivery)
                    .where(AnnouncementDelivery.id == result.prepared.id)
                    .values(updated_at=now, **values)
                    .execution_options(synchronize_session=False)
                )
            if sent:
                session.execute(
                    update(AnnouncementDelivery.__table__)
                    .where(AnnouncementDelivery.__table__.c.id == bindparam("b_id"))
                    .values(
                        status=D_SENT,
                        wamid=bindparam("b_wamid"),
                        sent_at=now,
                        updated_at=now,
                        error_code=None,
                        error_text=bindparam("b_note"),
                    ),
                    [
                        {"b_id": r.prepared.id, "b_wamid": v["wamid"], "b_note": v["error_text"]}
                        for r, v in sent
                    ],
                )
                senders = list({r.prepared.recipient for r, _ in sent})
                open_handoffs = dict(
                    session.execute(
                        select(Handoff.sender, Handoff.id).where(
                            Handoff.sender.in_(senders), Handoff.state == HANDOFF_OPEN
                        )
                    ).all()
                )
                session.execute(
                    insert(ConversationMessage.__table__),
                    [
                        {
                            "citizen_id": r.prepared.citizen_id,
                            "sender": r.prepared.recipient[:128],
                            "direction": conversation_log.DIRECTION_OUT,
                            "kind": "template",
                            "text": mask_identifiers(r.prepared.log_text)[: conversation_log.TEXT_LIMIT],
                            "wamid": (r.wamid or None) and r.wamid[:255],
                            "actor": conversation_log.ACTOR_SYSTEM,
                            "handoff_id": open_handoffs.get(r.prepared.recipient),
                            "created_at": now.replace(microsecond=0),
                            "media_id": None,
                            "notification_id": None,
                        }
                        for r, _ in sent
                    ],
                )
            for announcement_id, note in pauses.items():
                session.execute(
                    update(Announcement)
                    .where(Announcement.id == announcement_id, Announcement.status == SENDING)
                    .values(status=PAUSED, status_note=note[:2000], updated_at=now)
                    .execution_options(synchronize_session=False)
                )
        for announcement_id, note in pauses.items():
            logger.error("Announcement %d paused: %s", announcement_id, note)

    def _outcome(self, result: "Result", now: dt.datetime, pauses: Dict[int, str]) -> Dict[str, Any]:
        """The row's new values for one result (see the module docstring for the rules)."""
        prepared = result.prepared
        who = mask(prepared.recipient)
        if result.unsent:
            return {"status": D_PENDING, "claim_token": None, "attempts": AnnouncementDelivery.attempts - 1}
        if result.crashed:
            return {"status": D_UNKNOWN, "error_text": f"Kesalahan internal saat mengirim: {result.crashed}"}
        error = result.error
        if error is None:
            with self._lock:
                self._throttle_streak = 0
                self._breakers.pop(prepared.announcement_id, None)
                self.sent_count += 1
            return {
                "status": D_SENT,
                "wamid": result.wamid,
                "sent_at": now,
                "error_code": None,
                "error_text": "Terkirim pada percobaan ulang." if prepared.retries else None,
            }
        code, text = error.code, error.describe()[:2000]
        if isinstance(error, RateLimitError):
            logger.warning(
                "Announcement %d to %s: asked to slow down (%s); pausing %.1f s",
                prepared.announcement_id,
                who,
                text,
                result.wait,
            )
            return {
                "status": case(
                    (AnnouncementDelivery.throttled >= self.options.max_throttled, D_FAILED), else_=D_PENDING
                ),
                "claim_token": None,
                "throttled": AnnouncementDelivery.throttled + 1,
                "error_code": code,
                "error_text": text,
                "next_attempt_at": now + dt.timedelta(seconds=result.wait),
            }
        if error.maybe_sent:
            logger.error(
                "Announcement %d to %s: outcome unknown (%s); not resending",
                prepared.announcement_id,
                who,
                text,
            )
            return {
                "status": D_UNKNOWN,
                "error_code": code,
                "error_text": f"Tidak ada jawaban setelah pesan dikirim ({text}); tidak dikirim ulang.",
            }
        if error.stops_everyone:
            pauses[prepared.announcement_id] = (
                f"WhatsApp menolak pengiriman ({text}). Periksa template dan akses, lalu lanjutkan."
            )
            return {
                "status": D_PENDING,
                "claim_token": None,
                "error_code": code,
                "error_text": text,
                "next_attempt_at": now,
                "attempts": AnnouncementDelivery.attempts - 1,
            }
        if error.retryable and prepared.retries == 0:
            logger.warning(
                "Announcement %d to %s failed (%s); retrying once", prepared.announcement_id, who, text
            )
            return {
                "status": D_PENDING,
                "claim_token": None,
                "retries": 1,
                "error_code": code,
                "error_text": f"{text}. Dikirim ulang sekali.",
                "next_attempt_at": now + self.options.retry_delay,
            }
        logger.error("Announcement %d to %s failed: %s", prepared.announcement_id, who, text)
        with self._lock:
            breaker = self._breakers.setdefault(prepared.announcement_id, _Breaker())
            if breaker.code == code:
                breaker.count += 1
            else:
                breaker.code, breaker.count = code, 1
            if breaker.count >= self.options.breaker_threshold:
                self._breakers.pop(prepared.announcement_id, None)
                pauses[prepared.announcement_id] = (
                    f"{self.options.breaker_threshold} pesan berturut-turut gagal dengan kesalahan yang sama ({text}). "
                    "Periksa template dan pengaturan, lalu lanjutkan."
                )
        return {"status": D_FAILED, "error_code": code, "error_text": text}

    def flush(self, force: bool = False) -> int:
        """Record finished sends: when enough have gathered, when the oldest waited long
        enough, or when ``force``d. Returns how many were recorded."""
        with self._cond:
            if not self._results:
                return 0
            due = (
                force
                or len(self._results) >= self.flush_size
                or time.monotonic() - self._results[0].done_at >= FLUSH_AFTER
            )
            if not due:
                return 0
            results, self._results = self._results, []
        try:
            self.record_many(results)
        except Exception:
            # Database briefly unavailable: keep them and try again (the rows stay "sending").
            with self._cond:
                self._results = results + self._results
            raise
        return len(results)

    @property
    def flush_size(self) -> int:
        return max(1, self.options.concurrency // 2)

    def _await_slots(self, wanted: int) -> int:
        """Free sending threads (at least ``wanted``, or any after a short wait), recording
        finished sends meanwhile; 0 when stopping."""
        waited_since = time.monotonic()
        while True:
            self.flush()
            with self._cond:
                if self.stop_event.is_set():
                    return 0
                # Results not yet recorded keep their slot: rows "sending" never outnumber the
                # threads, which bounds what a crash can leave "unknown".
                free = self.options.concurrency - self._in_flight - len(self._results)
                if free >= wanted or (free > 0 and time.monotonic() - waited_since >= WAVE_WAIT):
                    return free
                self._cond.wait(timeout=0.02)

    # -- the loop ---------------------------------------------------------------------------------
    def run_once(self) -> int:
        """One cycle: lease, housekeeping, then send one claimed batch. Returns rows dispatched."""
        self.flush(force=True)
        if not self.hold_lease():
            return 0
        self.recover()
        if time.monotonic() - self._last_status_sync >= self.options.status_sync_interval:
            self.sync_statuses()
            self._last_status_sync = time.monotonic()
        self.finish()
        self.ensure_media()
        rows = collections.deque(self.claim(self.claim_limit))
        dispatched = 0
        renewed = time.monotonic()
        while rows:
            free = self._await_slots(min(len(rows), self.flush_size))
            if not free:
                break
            wave = [rows.popleft() for _ in range(min(free, len(rows)))]
            prepared = self.prepare_many(wave)
            with self._cond:
                self._in_flight += len(prepared)
            for item in prepared:
                self.pool.submit(self._send_one, item)
            dispatched += len(wave)
            if time.monotonic() - renewed > self.options.lease_seconds / 3:
                renewed = time.monotonic()
                if not self.hold_lease():
                    break
        self.unclaim(list(rows))
        return dispatched

    @property
    def claim_limit(self) -> int:
        """Rows to reserve at once: about two seconds of sending, at least one per thread."""
        two_seconds = int(self.options.messages_per_second * 2)
        return max(1, min(self.options.batch_size, max(self.options.concurrency, two_seconds)))

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every dispatched send has finished and been recorded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.flush(force=True)
            with self._cond:
                if self._in_flight == 0 and not self._results:
                    return True
                self._cond.wait(timeout=0.02)
        return False

    def pending_due(self) -> bool:
        """Whether rows of announcements being sent wait (now or after a backoff)."""
        with session_scope(self.url) as session:
            return (
                session.execute(
                    select(AnnouncementDelivery.id)
                    .join(Announcement, Announcement.id == AnnouncementDelivery.announcement_id)
                    .where(
                        Announcement.status == SENDING,
                        AnnouncementDelivery.status.in_((D_PENDING, D_CLAIMED, D_SENDING)),
                    )
                    .limit(1)
                ).first()
                is not None
            )

    def run_until_idle(self, timeout: float = 3600.0) -> int:
        """Send until no announcement has rows left (tests, ``--once``); returns messages sent."""
        deadline = time.monotonic() + timeout
        before = self.sent_count
        while time.monotonic() < deadline and not self.stop_event.is_set():
            dispatched = self.run_once()
            if not dispatched:
                self.wait_idle()
                self.sync_statuses()
                self.finish()
                if not self.pending_due():
                    break
                self.stop_event.wait(min(self.options.poll_interval, 0.2))
        self.wait_idle()
        self.finish()
        return self.sent_count - before

    def run_forever(self) -> None:
        logger.info(
            "Broadcast worker %s started: %.1f messages/s, %d threads (%r)",
            self.worker_id,
            self.options.messages_per_second,
            self.options.concurrency,
            self.settings,
        )
        while not self.stop_event.is_set():
            try:
                dispatched = self.run_once()
            except Exception:  # noqa: BLE001 - database briefly unavailable: wait and go on
                logger.exception("Broadcast cycle failed; retrying in 5 s")
                self.stop_event.wait(5)
                continue
            if not dispatched:
                self.stop_event.wait(self.options.poll_interval)
        self.close()
        logger.info("Broadcast worker %s stopped", self.worker_id)

    def close(self) -> None:
        self.stop_event.set()
        self.wait_idle(timeout=self.settings.timeout + 5)
        self.pool.shutdown(wait=True)
        try:
            self.release_lease()
        except Exception:  # noqa: BLE001
            logger.exception("Could not release the sending lease")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m layanwarga.broadcast", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--once", action="store_true", help="send everything queued now, then exit")
    parser.add_argument(
        "--credentials",
        default=CREDENTIALS_FILE,
        help="credentials.yml whose WhatsApp section is read before the environment (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="messages per second (default: subscriptions.messages_per_second in instansi.yml)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=int(os.environ.get("LAYANWARGA_BROADCAST_CONCURRENCY") or 0) or None,
        help="Graph API calls at once (default: enough for the rate, 8 to 64)",
    )
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls when idle (default 1)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()
    try:
        runtime.require_safe("broadcast")
        settings = load_worker_settings(args.credentials)
        migrate.require_current("the announcement worker")
        inst = get_institution()
        options = BroadcastOptions.from_institution(
            inst,
            messages_per_second=args.rate,
            concurrency=max(1, args.concurrency) if args.concurrency else None,
            poll_interval=args.interval,
        )
    except (
        SettingsError,
        ConfigurationError,
        ConfigError,
        runtime.UnsafeConfiguration,
        migrate.SchemaNotCurrent,
    ) as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    broadcaster = Broadcaster(inst, settings, options)
    if args.once:
        sent = broadcaster.run_until_idle()
        broadcaster.close()
        print(f"{sent} announcement messages sent")
        return 0
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: broadcaster.stop_event.set())
    broadcaster.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
