"""Citizens' subscriptions to official information and staff announcements sent to them
(``layanwarga.subscriptions``, sent by ``layanwarga.broadcast``)."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from .base import Base, utcnow

# Announcement states.
DRAFT, SENDING, PAUSED, DONE, CANCELLED = "draft", "sending", "paused", "done", "cancelled"
# Delivery states. ``claimed``: reserved by the worker, not yet attempted (safe to give back);
# ``sending``: the Graph API call is under way (a crash here leaves the outcome ``unknown``).
D_PENDING, D_CLAIMED, D_SENDING, D_SENT = "pending", "claimed", "sending", "sent"
D_FAILED, D_UNKNOWN, D_SKIPPED, D_CANCELLED = "failed", "unknown", "skipped", "cancelled"


class Subscription(Base):
    """A citizen's opt-in to one topic (or all, ``*``) for one kelurahan (or all, ``*``)."""

    __tablename__ = "subscriptions"

    id = Column(Integer, primary_key=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False)
    topic = Column(String(40), nullable=False)
    area = Column(String(80), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    opted_in_at = Column(DateTime, nullable=False)
    consent_text = Column(Text, nullable=False)
    consent_message_id = Column(String(255), nullable=True)
    opted_out_at = Column(DateTime, nullable=True)
    opt_out_source = Column(String(40), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("citizen_id", "topic", "area", name="uq_subscriptions_citizen_topic_area"),
        Index("ix_subscriptions_active_topic_area", "active", "topic", "area"),
    )


class SubscriptionEvent(Base):
    """History of opt-ins and opt-outs (what was agreed to, when, through which message)."""

    __tablename__ = "subscription_events"

    id = Column(Integer, primary_key=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False, index=True)
    action = Column(String(12), nullable=False)  # "subscribe" / "unsubscribe"
    topic = Column(String(40), nullable=True)
    area = Column(String(80), nullable=True)
    source = Column(String(40), nullable=False)
    message_id = Column(String(255), nullable=True)
    consent_text = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Announcement(Base):
    __tablename__ = "announcements"

    id = Column(Integer, primary_key=True)
    title = Column(String(200), nullable=False)
    topic = Column(String(40), nullable=False)
    area = Column(String(80), nullable=False)
    text = Column(Text, nullable=False)
    image_media_id = Column(Integer, ForeignKey("media.id", ondelete="SET NULL"), nullable=True)
    whatsapp_media_id = Column(String(128), nullable=True)
    whatsapp_media_uploaded_at = Column(DateTime, nullable=True)
    status = Column(String(12), nullable=False, default=DRAFT)
    status_note = Column(Text, nullable=True)
    template_name = Column(String(512), nullable=True)
    template_language = Column(String(20), nullable=True)
    recipients = Column(Integer, nullable=False, default=0)
    created_by = Column(String(120), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    queued_by = Column(String(120), nullable=True)
    queued_at = Column(DateTime, nullable=True)
    finished_at = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_announcements_status", "status", "id"),)


class AnnouncementDelivery(Base):
    """One announcement to one citizen: claimed once, sent once, retried once when allowed."""

    __tablename__ = "announcement_deliveries"

    id = Column(Integer, primary_key=True)
    announcement_id = Column(Integer, ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True)
    status = Column(String(10), nullable=False, default=D_PENDING)
    attempts = Column(Integer, nullable=False, default=0)  # Graph API calls made
    retries = Column(Integer, nullable=False, default=0)  # re-sends after a failure (at most 1)
    throttled = Column(Integer, nullable=False, default=0)  # answers "slow down" (nothing sent)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    claim_token = Column(String(64), nullable=True)
    claimed_at = Column(DateTime, nullable=True)
    sent_at = Column(DateTime, nullable=True)
    wamid = Column(String(255), nullable=True, index=True)
    error_code = Column(Integer, nullable=True)
    error_text = Column(Text, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("announcement_id", "citizen_id", name="uq_announcement_deliveries_announcement_citizen"),
        Index("ix_announcement_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_announcement_deliveries_announcement_status", "announcement_id", "status"),
        Index("ix_announcement_deliveries_claim_token", "claim_token"),
    )


class BroadcastLease(Base):
    """Which broadcast worker may send now (one row per lease name). Announcements share the
    number's throughput, so one worker sends at the configured rate while others stand by."""

    __tablename__ = "broadcast_leases"

    name = Column(String(40), primary_key=True)
    owner = Column(String(120), nullable=True)
    expires_at = Column(DateTime, nullable=False)
