"""Every table of the ticket database, in one package (schema changes go through Alembic
migrations in ``migrations/versions/``; ``tests/core/test_schema.py`` compares the two).

One module per area; each declares its tables and the values their columns default to, and
nothing else: behaviour lives in the modules that use the tables, which import them from here
(``from layanwarga.models import Ticket``), never through another behaviour module. Importing
this package registers every table on ``Base.metadata``, so foreign keys and relationships
between areas resolve whatever a process imports first.

- ``citizens``: citizens, blocked senders
- ``tickets``: tickets, their numbering, history, files and the citizen's feedback
- ``conversations``: the staff-facing message log and the forms it is linked by
- ``handoffs``: conversations handed to an officer
- ``notifications``: the outbox of messages to citizens
- ``subscriptions``: subscriptions, announcements, their deliveries and the sender's lease
- ``staff``: dashboard accounts, sessions, login attempts, OPD settings, audit
- ``privacy``: citizens' data requests
- ``reports``: daily digests, local spools' counts
- ``connector``: the WhatsApp connector's journal and message statuses
- ``services``: the service catalogue: offices, services, their revisions, questions asked
- ``partners``: Open311 API keys
- ``supporters``: citizens following a complaint another citizen reported
- ``review``: the assistant's readings of messages, staff's flags and content staff's annotations
"""
from .base import Base, utcnow
from .citizens import BlockedSender, Citizen
from .connector import MessageStatus, ProcessedMessage
from .conversations import ConversationFlow, ConversationMessage
from .handoffs import Handoff
from .notifications import Notification
from .partners import ApiKey
from .privacy import DataRequest
from .reports import DigestRun, SpoolReport
from .services import Service, ServiceAgency, ServiceQuestion, ServiceRevision
from .review import NluReading, ReviewAnnotation, ReviewFlag
from .staff import AgencySetting, AuditEntry, LoginAttempt, StaffSession, StaffUser
from .supporters import Supporter
from .subscriptions import Announcement, AnnouncementDelivery, BroadcastLease, Subscription, SubscriptionEvent
from .tickets import KIND_COMPLAINT, KIND_LETTER, Media, NumberCounter, StateChange, Ticket, TicketFeedback

__all__ = [
    "Base",
    "utcnow",
    "KIND_COMPLAINT",
    "KIND_LETTER",
    "Supporter",
    "AgencySetting",
    "Announcement",
    "AnnouncementDelivery",
    "ApiKey",
    "AuditEntry",
    "BlockedSender",
    "BroadcastLease",
    "Citizen",
    "ConversationFlow",
    "ConversationMessage",
    "DataRequest",
    "DigestRun",
    "Handoff",
    "LoginAttempt",
    "Media",
    "MessageStatus",
    "Notification",
    "NluReading",
    "NumberCounter",
    "ProcessedMessage",
    "Service",
    "ServiceAgency",
    "ServiceQuestion",
    "ServiceRevision",
    "ReviewAnnotation",
    "ReviewFlag",
    "SpoolReport",
    "StaffSession",
    "StaffUser",
    "StateChange",
    "Subscription",
    "SubscriptionEvent",
    "Ticket",
    "TicketFeedback",
]
