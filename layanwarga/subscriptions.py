"""Official information on WhatsApp: citizens' subscriptions and staff announcements.

Citizens opt in explicitly over WhatsApp (``langganan info``: a topic from ``instansi.yml``, their
kelurahan, then "Ya, setuju" to a text that says what they will receive and how to stop). Each
opt-in is stored with its time, the exact text agreed to and the WhatsApp id of the "yes"
(``subscriptions``), and every opt-in and opt-out is kept in ``subscription_events``. One message
(``berhenti langganan``, or the announcement's quick-reply button) stops everything at once.

Staff compose an announcement on the dashboard (text, optional picture, topic, target kelurahan),
preview it exactly as citizens will see it, and send it. Sending *queues* it: one
``announcement_deliveries`` row per subscribed citizen, created in one statement with a unique
(announcement, citizen) pair, so nobody is queued twice. The broadcast worker
(``layanwarga.broadcast``) sends the rows as the approved template, throttled, and records each
WhatsApp message id; delivery states come from the webhook's statuses (``message_statuses``,
written by the connector) and are summarised per announcement here.

Personal data: a subscription is tied to the citizen record and erased with it (foreign keys
``ON DELETE CASCADE``); a delivery row keeps no identity of its own (``citizen_id`` becomes NULL
on erasure) so an announcement's figures stay right.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import (
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from whatsapp import messages

from . import citizens
from .config import Institution, SubscriptionSettings
from .db import session_scope
from .inbound import mask
from .models import (
    Announcement,
    AnnouncementDelivery,
    Citizen,
    MessageStatus,
    Subscription,
    SubscriptionEvent,
    utcnow,
)
from .models.subscriptions import (
    CANCELLED,
    D_CANCELLED,
    D_CLAIMED,
    D_FAILED,
    D_PENDING,
    D_SENDING,
    D_SENT,
    D_SKIPPED,
    D_UNKNOWN,
    DONE,
    DRAFT,
    PAUSED,
    SENDING,
)
from .staff_units import unit_choices

logger = logging.getLogger(__name__)

ALL = "*"  # a subscription or announcement for every topic / every kelurahan
UNSUBSCRIBE_PAYLOAD = "/berhenti_langganan"
SOURCE_WHATSAPP = "whatsapp"  # the citizen, by message
SOURCE_STOPPED_MARKETING = "whatsapp_131050"  # WhatsApp: the user stopped marketing messages
TEMPLATE_BODY_LIMIT = messages.TEMPLATE_BODY_LIMIT

ANNOUNCEMENT_LABELS = {
    DRAFT: "Draf",
    SENDING: "Sedang dikirim",
    PAUSED: "Dijeda",
    DONE: "Selesai",
    CANCELLED: "Dihentikan",
}

DELIVERY_LABELS = {
    D_PENDING: "Menunggu",
    D_CLAIMED: "Menunggu",
    D_SENDING: "Sedang dikirim",
    D_SENT: "Diterima WhatsApp",
    D_FAILED: "Gagal",
    D_UNKNOWN: "Tidak pasti",
    D_SKIPPED: "Dilewati",
    D_CANCELLED: "Dibatalkan",
}
# What WhatsApp later said about a sent message (message_statuses.status).
WA_LABELS = {
    "accepted": "Diterima WhatsApp",
    "sent": "Terkirim",
    "delivered": "Sampai",
    "read": "Dibaca",
    "played": "Dibaca",
    "failed": "Gagal",
}
OPEN_DELIVERY_STATES = (D_PENDING, D_CLAIMED, D_SENDING)


# -- configuration helpers -------------------------------------------------------------------------
def settings(inst: Institution) -> Optional[SubscriptionSettings]:
    return inst.subscriptions


def topic_label(inst: Institution, code: Optional[str]) -> str:
    if code == ALL:
        return "Semua topik"
    cfg = inst.subscriptions
    topic = cfg.topics.get(code or "") if cfg else None
    return topic.label if topic else (code or "-")


# An announcement's target in a city's tree is the unit's Kemendagri code ("62.71.01"), never a
# configured area's slug (letters only): it reaches the subscribers who live there.
_UNIT_TARGET = re.compile(r"^\d{2}(\.\d+)+$")


def is_unit_target(area: Optional[str]) -> bool:
    return bool(area and _UNIT_TARGET.match(area))


def unit_targets(inst: Institution) -> List[Tuple[str, str]]:
    """The kecamatan and kelurahan of a city's tree an announcement can target, ``(code,
    label)`` with the kelurahan indented under their kecamatan; none for a single unit."""
    tree = inst.units
    if tree.single:
        return []
    return [(code, label) for code, label in unit_choices(tree) if code]


def area_label(inst: Institution, code: Optional[str]) -> str:
    if code == ALL:
        return "Semua kelurahan"
    if is_unit_target(code):
        unit = inst.units.get(code or "")
        return unit.title if unit is not None else (code or "-")
    cfg = inst.subscriptions
    area = cfg.areas.get(code or "") if cfg else None
    return area.name if area else (code or "-")


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", (text or "").lower()))


_STOP_WORDS = frozenset({"dan", "info", "informasi", "resmi", "atau", "dari"})
_ALL_WORDS = re.compile(r"\b(semua|seluruh|sembarang|apa saja|apa aja|all)\b")


def match_topic(inst: Institution, answer: str) -> Optional[str]:
    """The topic code a citizen picked or typed (a code, a label, a word of it), ``*`` for all."""
    cfg = inst.subscriptions
    if cfg is None:
        return None
    if (answer or "").strip() == ALL:
        return ALL
    text = _norm(answer)
    if not text:
        return None
    if _ALL_WORDS.search(text):
        return ALL
    for code, topic in cfg.topics.items():
        if text in (code.replace("_", " "), _norm(topic.label)) or answer.strip() == code:
            return code
    words = set(text.split())
    hits = [
        code
        for code, topic in cfg.topics.items()
        if words & (set(_norm(topic.label).split()) | set(code.split("_"))) - _STOP_WORDS
    ]
    return hits[0] if len(hits) == 1 else None


def match_area(inst: Institution, answer: str) -> Optional[str]:
    """The kelurahan code a citizen picked or typed, ``*`` for all."""
    cfg = inst.subscriptions
    if cfg is None:
        return None
    if (answer or "").strip() == ALL:
        return ALL
    text = _norm(answer)
    if not text:
        return None
    if _ALL_WORDS.search(text):
        return ALL
    text = re.sub(r"^(kelurahan|kel|desa)\s+", "", text)
    for code, area in cfg.areas.items():
        if text in (_norm(area.name), code.replace("-", " ")) or answer.strip() == code:
            return code
    # A longer sentence naming one kelurahan ("saya tinggal di panarung"): the longest name found.
    found = [
        code for code, area in cfg.areas.items() if re.search(rf"\b{re.escape(_norm(area.name))}\b", text)
    ]
    found.sort(key=lambda c: len(cfg.areas[c].name), reverse=True)
    return found[0] if found else None


def max_text_length(inst: Institution) -> int:
    """How long an announcement's text may be: the template body (fixed text, the longest topic
    label and the text) must stay within WhatsApp's 1,024 characters, counted as WhatsApp counts
    them (UTF-16 units: an emoji is two)."""
    cfg = inst.subscriptions
    if cfg is None:
        return 0
    fixed = messages.units(cfg.template.body.replace("{{1}}", "").replace("{{2}}", ""))
    longest_label = max(
        [messages.units(t.label) for t in cfg.topics.values()] + [messages.units("Semua topik")]
    )
    return TEMPLATE_BODY_LIMIT - fixed - longest_label


def flatten(text: str) -> str:
    """Text as a WhatsApp template parameter: no line breaks, tabs or runs of 4+ spaces."""
    return " ".join((text or "").split())


def consent_text(inst: Institution, topic: str, area: str) -> str:
    """What a citizen agrees to when subscribing (stored with the opt-in, shown before it)."""
    cfg = inst.subscriptions
    what = "semua informasi resmi" if topic == ALL else f"*{topic_label(inst, topic)}*"
    if area == ALL:
        where = " untuk semua kelurahan"
    elif area_label(inst, area).lower() in inst.name.lower():
        where = ""  # the institution's own kelurahan: "dari Kelurahan Langkai" says it already
    else:
        where = f" untuk Kelurahan {area_label(inst, area)}"
    button = cfg.template.stop_button if cfg else "Berhenti langganan"
    return (
        f"Bapak/Ibu akan menerima {what} dari {inst.name}{where} melalui WhatsApp ini. "
        f"Untuk berhenti kapan saja, ketik *BERHENTI LANGGANAN* atau tekan *{button}* di bawah pengumuman."
    )


# -- citizens: subscribing and unsubscribing ----------------------------------------------------------
@dataclass(frozen=True)
class SubscriptionView:
    topic: str
    area: str
    topic_label: str
    area_label: str
    opted_in_at: dt.datetime


def _validate_choice(inst: Institution, topic: str, area: str) -> None:
    cfg = inst.subscriptions
    if cfg is None:
        raise ValueError("subscriptions are not configured (instansi.yml: subscriptions)")
    if topic != ALL and topic not in cfg.topics:
        raise ValueError(f"unknown topic {topic!r}")
    if area != ALL and area not in cfg.areas:
        raise ValueError(f"unknown area {area!r}")


def subscribe(
    inst: Institution,
    sender: str,
    topic: str,
    area: str,
    *,
    message_id: Optional[str] = None,
    profile_name: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    url: Optional[str] = None,
) -> bool:
    """Record the citizen's explicit opt-in (now, with the consent text); True when it is new
    (False when the same subscription was already active; its time is left as it was)."""
    _validate_choice(inst, topic, area)
    now = now or utcnow()
    text = consent_text(inst, topic, area)
    with session_scope(url, write=True) as session:
        citizen = citizens.upsert_sender(session, sender, profile_name)
        row = (
            session.execute(
                select(Subscription).where(
                    Subscription.citizen_id == citizen.id,
                    Subscription.topic == topic,
                    Subscription.area == area,
                )
            )
            .scalars()
            .first()
        )
        if row is not None and row.active:
            return False
        if row is None:
            row = Subscription(citizen_id=citizen.id, topic=topic, area=area, created_at=now)
            session.add(row)
        row.active = True
        row.opted_in_at = now
        row.consent_text = text
        row.consent_message_id = message_id
        row.opted_out_at = None
        row.opt_out_source = None
        row.updated_at = now
        session.add(
            SubscriptionEvent(
                citizen_id=citizen.id,
                action="subscribe",
                topic=topic,
                area=area,
                source=SOURCE_WHATSAPP,
                message_id=message_id,
                consent_text=text,
                created_at=now,
            )
        )
    logger.info("Subscription to %s/%s recorded", topic, area)
    return True


def _deactivate(
    session: Session, citizen_id: int, source: str, message_id: Optional[str], now: dt.datetime
) -> int:
    result = session.execute(
        update(Subscription)
        .where(Subscription.citizen_id == citizen_id, Subscription.active.is_(True))
        .values(active=False, opted_out_at=now, opt_out_source=source, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)
    if count:
        session.add(
            SubscriptionEvent(
                citizen_id=citizen_id,
                action="unsubscribe",
                source=source,
                message_id=message_id,
                created_at=now,
            )
        )
    return count


def unsubscribe(
    sender: str,
    *,
    message_id: Optional[str] = None,
    source: str = SOURCE_WHATSAPP,
    now: Optional[dt.datetime] = None,
    url: Optional[str] = None,
) -> int:
    """Stop every subscription of the citizen at once; returns how many were active.

    Announcements already queued for the citizen are not sent any more either (the worker checks
    the subscription right before sending)."""
    now = now or utcnow()
    with session_scope(url, write=True) as session:
        citizen = citizens.find(session, sender)
        if citizen is None:
            return 0
        return _deactivate(session, int(citizen.id), source, message_id, now)


def active_for(inst: Institution, sender: str, *, url: Optional[str] = None) -> List[SubscriptionView]:
    with session_scope(url) as session:
        citizen = citizens.find(session, sender)
        if citizen is None:
            return []
        rows = (
            session.execute(
                select(Subscription)
                .where(Subscription.citizen_id == citizen.id, Subscription.active.is_(True))
                .order_by(Subscription.id)
            )
            .scalars()
            .all()
        )
        return [
            SubscriptionView(
                r.topic, r.area, topic_label(inst, r.topic), area_label(inst, r.area), r.opted_in_at
            )
            for r in rows
        ]


# -- who receives an announcement --------------------------------------------------------------------
def _matching(topic: str, area: str) -> List[Any]:
    """Conditions on Subscription for an announcement about ``topic`` to ``area`` (``*`` = all).

    A unit of a city's tree (``is_unit_target``) reaches the topic's subscribers whose remembered
    kelurahan (``citizens.unit_code``, from their requests or "saya pindah ke ...") is that unit
    or lies in it (Kemendagri codes nest: a kecamatan's kelurahan start with its code), whatever
    area they subscribed to; subscribers whose kelurahan is not known get city-wide ones only."""
    conditions = [Subscription.active.is_(True)]
    if topic != ALL:
        conditions.append(Subscription.topic.in_((topic, ALL)))
    if is_unit_target(area):
        resident = or_(Citizen.unit_code == area, Citizen.unit_code.like(f"{area}.%"))
        conditions.append(Subscription.citizen_id.in_(select(Citizen.id).where(resident)))
    elif area != ALL:
        conditions.append(Subscription.area.in_((area, ALL)))
    return conditions


def subscribed(session: Session, citizen_id: int, topic: str, area: str) -> bool:
    """Whether the citizen still wants this announcement (checked right before sending)."""
    return (
        session.execute(
            select(Subscription.id)
            .where(Subscription.citizen_id == citizen_id, *_matching(topic, area))
            .limit(1)
        ).first()
        is not None
    )


def subscribed_among(session: Session, citizen_ids: Sequence[int], topic: str, area: str) -> set:
    """Which of these citizens still want an announcement about ``topic`` to ``area``."""
    if not citizen_ids:
        return set()
    return set(
        session.execute(
            select(Subscription.citizen_id)
            .where(Subscription.citizen_id.in_(list(citizen_ids)), *_matching(topic, area))
            .distinct()
        ).scalars()
    )


def count_recipients(session: Session, topic: str, area: str) -> int:
    return int(
        session.execute(
            select(func.count(func.distinct(Subscription.citizen_id))).where(*_matching(topic, area))
        ).scalar_one()
    )


@dataclass(frozen=True)
class TopicCount:
    code: str
    label: str
    subscribers: int


def subscriber_counts(inst: Institution, session: Session) -> Tuple[int, List[TopicCount]]:
    """Citizens with at least one active subscription, and per topic (those of ``*`` included)."""
    total = int(
        session.execute(
            select(func.count(func.distinct(Subscription.citizen_id))).where(Subscription.active.is_(True))
        ).scalar_one()
    )
    cfg = inst.subscriptions
    counts = []
    for code, topic in cfg.topics.items() if cfg else []:
        counts.append(TopicCount(code, topic.label, count_recipients(session, code, ALL)))
    return total, counts


# -- announcements: drafting and queueing ----------------------------------------------------------
class AnnouncementError(ValueError):
    """A draft that cannot be saved or sent; the message is for staff (Indonesian)."""


def validate_draft(
    inst: Institution, title: str, topic: str, area: str, text: str
) -> Tuple[str, str, str, str]:
    """Cleaned values of a draft, or AnnouncementError naming what to fix."""
    cfg = inst.subscriptions
    if cfg is None:
        raise AnnouncementError("Langganan informasi belum diatur di instansi.yml (bagian subscriptions).")
    title = " ".join((title or "").split())
    text = (text or "").strip()
    if not title:
        raise AnnouncementError("Judul (untuk petugas) wajib diisi.")
    if len(title) > 200:
        raise AnnouncementError("Judul paling panjang 200 karakter.")
    if topic != ALL and topic not in cfg.topics:
        raise AnnouncementError("Pilih topik dari daftar.")
    if is_unit_target(area):
        unit = inst.units.get(area)
        if inst.units.single or unit is None or unit.parent is None:
            raise AnnouncementError("Pilih kecamatan atau kelurahan tujuan dari daftar.")
        area = unit.code
    elif area != ALL and area not in cfg.areas:
        raise AnnouncementError("Pilih kelurahan tujuan dari daftar.")
    if len(flatten(text)) < 10:
        raise AnnouncementError("Isi pengumuman terlalu pendek (paling sedikit 10 karakter).")
    limit = max_text_length(inst)
    length = messages.units(flatten(text))
    if length > limit:
        raise AnnouncementError(
            f"Isi pengumuman paling panjang {limit} karakter (batas template WhatsApp; emoji dihitung 2); saat ini {length}."
        )
    return title, topic, area, text


def create_draft(
    session: Session,
    inst: Institution,
    *,
    title: str,
    topic: str,
    area: str,
    text: str,
    actor: str,
    image_media_id: Optional[int] = None,
    now: Optional[dt.datetime] = None,
) -> Announcement:
    title, topic, area, text = validate_draft(inst, title, topic, area, text)
    now = now or utcnow()
    row = Announcement(
        title=title,
        topic=topic,
        area=area,
        text=text,
        image_media_id=image_media_id,
        status=DRAFT,
        created_by=actor[:120],
        created_at=now,
        updated_at=now,
        recipients=0,
    )
    session.add(row)
    session.flush()
    return row


def update_draft(
    session: Session,
    inst: Institution,
    announcement_id: int,
    *,
    title: str,
    topic: str,
    area: str,
    text: str,
    image_media_id: Optional[int] = None,
    remove_image: bool = False,
    now: Optional[dt.datetime] = None,
) -> Announcement:
    row = session.get(Announcement, announcement_id)
    if row is None:
        raise LookupError(announcement_id)
    if row.status != DRAFT:
        raise AnnouncementError("Pengumuman yang sudah dikirim tidak dapat diubah.")
    row.title, row.topic, row.area, row.text = validate_draft(inst, title, topic, area, text)
    if image_media_id is not None:
        row.image_media_id = image_media_id
    elif remove_image:
        row.image_media_id = None
    row.whatsapp_media_id = None
    row.updated_at = now or utcnow()
    return row


def delete_draft(session: Session, announcement_id: int) -> bool:
    row = session.get(Announcement, announcement_id)
    if row is None or row.status != DRAFT:
        return False
    session.delete(row)
    return True


def queue(
    session: Session,
    inst: Institution,
    announcement_id: int,
    actor: str,
    *,
    now: Optional[dt.datetime] = None,
) -> int:
    """Send a draft: one delivery row per subscribed citizen, created in this transaction.

    Only a draft moves to ``sending`` (the UPDATE's condition decides a double click or two staff
    pressing *Kirim* at once), and the unique (announcement, citizen) pair makes a second row for
    the same citizen impossible. Returns the number of recipients (0 when it was not a draft).
    """
    cfg = inst.subscriptions
    if cfg is None:
        raise AnnouncementError("Langganan informasi belum diatur di instansi.yml (bagian subscriptions).")
    now = now or utcnow()
    row = session.get(Announcement, announcement_id)
    if row is None:
        raise LookupError(announcement_id)
    template = cfg.template
    template_name = template.image_name if row.image_media_id and template.image_name else template.name
    if row.image_media_id and not template.image_name:
        raise AnnouncementError(
            "Template bergambar belum diatur (subscriptions.template.image_name); hapus gambarnya atau atur templatenya."
        )
    moved = session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.status == DRAFT)
        .values(
            status=SENDING,
            queued_by=actor[:120],
            queued_at=now,
            updated_at=now,
            template_name=template_name,
            template_language=template.language,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return 0
    recipients = (
        select(
            literal(announcement_id).label("announcement_id"),
            Subscription.citizen_id,
            literal(D_PENDING).label("status"),
            literal(0).label("attempts"),
            literal(0).label("retries"),
            literal(0).label("throttled"),
            literal(now).label("next_attempt_at"),
            literal(now).label("updated_at"),
        )
        .where(*_matching(row.topic, row.area))
        .group_by(Subscription.citizen_id)
    )
    result = session.execute(
        insert(AnnouncementDelivery).from_select(
            [
                "announcement_id",
                "citizen_id",
                "status",
                "attempts",
                "retries",
                "throttled",
                "next_attempt_at",
                "updated_at",
            ],
            recipients,
        )
    )
    count = int(result.rowcount or 0)
    if count < 0:  # some drivers do not report INSERT ... SELECT counts
        count = int(
            session.execute(
                select(func.count()).where(AnnouncementDelivery.announcement_id == announcement_id)
            ).scalar_one()
        )
    session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id)
        .values(recipients=count, status=SENDING if count else DONE, finished_at=None if count else now)
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    logger.info("Announcement %d queued by %s for %d subscribers", announcement_id, actor, count)
    return count


def pause(session: Session, announcement_id: int, note: Optional[str] = None) -> bool:
    result = session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.status == SENDING)
        .values(status=PAUSED, status_note=note, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def resume(session: Session, announcement_id: int) -> bool:
    now = utcnow()
    result = session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.status == PAUSED)
        .values(status=SENDING, status_note=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        # Rows put back while paused may carry a long backoff: they are due again now.
        session.execute(
            update(AnnouncementDelivery)
            .where(
                AnnouncementDelivery.announcement_id == announcement_id,
                AnnouncementDelivery.status == D_PENDING,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return bool(result.rowcount)


def cancel(session: Session, announcement_id: int) -> int:
    """Stop sending: rows not yet sent are cancelled (a row under way finishes). Returns how many."""
    now = utcnow()
    result = session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.status.in_((SENDING, PAUSED)))
        .values(status=CANCELLED, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return 0
    cancelled = session.execute(
        update(AnnouncementDelivery)
        .where(
            AnnouncementDelivery.announcement_id == announcement_id,
            AnnouncementDelivery.status.in_((D_PENDING, D_CLAIMED)),
        )
        .values(status=D_CANCELLED, claim_token=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cancelled.rowcount or 0)


# -- what citizens see -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    """An announcement as the citizen's WhatsApp shows it (the preview uses the same values)."""

    topic_label: str
    text_parameter: str
    body: str
    footer: str
    stop_button: str
    has_image: bool
    template_name: str
    template_language: str


def render(inst: Institution, announcement: Announcement) -> Rendered:
    cfg = inst.subscriptions
    if cfg is None:
        raise AnnouncementError("Langganan informasi belum diatur di instansi.yml (bagian subscriptions).")
    template = cfg.template
    label = topic_label(inst, announcement.topic)
    text = flatten(announcement.text)
    has_image = bool(announcement.image_media_id)
    name = announcement.template_name or (
        template.image_name if has_image and template.image_name else template.name
    )
    return Rendered(
        topic_label=label,
        text_parameter=text,
        body=template.body.replace("{{1}}", label).replace("{{2}}", text),
        footer=template.footer,
        stop_button=template.stop_button,
        has_image=has_image,
        template_name=name,
        template_language=announcement.template_language or template.language,
    )


def template_object(rendered: Rendered, whatsapp_media_id: Optional[str] = None) -> Dict[str, Any]:
    """The Graph API ``template`` object: image header (when any), the two body parameters, and
    the quick-reply button's payload (``/berhenti_langganan``, understood by the assistant)."""
    components: List[Dict[str, Any]] = []
    if rendered.has_image and whatsapp_media_id:
        components.append(
            {"type": "header", "parameters": [{"type": "image", "image": {"id": whatsapp_media_id}}]}
        )
    components.append(
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": rendered.topic_label},
                {"type": "text", "text": rendered.text_parameter},
            ],
        }
    )
    components.append(
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "0",
            "parameters": [{"type": "payload", "payload": UNSUBSCRIBE_PAYLOAD}],
        }
    )
    return {
        "name": rendered.template_name,
        "language": {"code": rendered.template_language},
        "components": components,
    }


# -- progress and summary -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """Where an announcement's deliveries stand.

    ``by_status``: the worker's states (pending/claimed/sending/sent/failed/unknown/skipped/
    cancelled); ``by_whatsapp``: for sent rows, what the status webhooks said last (accepted =
    no webhook yet, sent, delivered, read, failed)."""

    total: int
    by_status: Dict[str, int]
    by_whatsapp: Dict[str, int]
    retried: int

    def count(self, *statuses: str) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)

    @property
    def waiting(self) -> int:
        return self.count(D_PENDING, D_CLAIMED, D_SENDING)

    @property
    def done(self) -> int:
        return self.total - self.waiting

    @property
    def sent(self) -> int:
        return self.count(D_SENT)

    @property
    def delivered(self) -> int:
        """Reached the phone (delivered or read)."""
        return sum(self.by_whatsapp.get(s, 0) for s in ("delivered", "read", "played"))

    @property
    def read(self) -> int:
        return sum(self.by_whatsapp.get(s, 0) for s in ("read", "played"))

    @property
    def failed(self) -> int:
        """Failed when sending, or reported failed by WhatsApp and not (yet) retried."""
        return self.count(D_FAILED) + self.by_whatsapp.get("failed", 0)

    @property
    def progress(self) -> float:
        return 1.0 if not self.total else self.done / self.total


def summary(session: Session, announcement_id: int) -> Summary:
    by_status = {
        status: int(n)
        for status, n in session.execute(
            select(AnnouncementDelivery.status, func.count())
            .where(AnnouncementDelivery.announcement_id == announcement_id)
            .group_by(AnnouncementDelivery.status)
        )
    }
    by_whatsapp = {
        (status or "accepted"): int(n)
        for status, n in session.execute(
            select(MessageStatus.status, func.count())
            .select_from(AnnouncementDelivery)
            .outerjoin(MessageStatus, MessageStatus.message_id == AnnouncementDelivery.wamid)
            .where(
                AnnouncementDelivery.announcement_id == announcement_id, AnnouncementDelivery.status == D_SENT
            )
            .group_by(MessageStatus.status)
        )
    }
    retried = int(
        session.execute(
            select(func.count()).where(
                AnnouncementDelivery.announcement_id == announcement_id, AnnouncementDelivery.retries > 0
            )
        ).scalar_one()
    )
    return Summary(sum(by_status.values()), by_status, by_whatsapp, retried)


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    recipient_masked: str
    status: str
    status_label: str
    whatsapp_status: Optional[str]
    whatsapp_label: str
    error: Optional[str]
    retries: int
    sent_at: Optional[dt.datetime]


FILTERS = {
    "semua": None,
    "menunggu": (D_PENDING, D_CLAIMED, D_SENDING),
    "terkirim": (D_SENT,),
    "gagal": (D_FAILED,),
    "tidak_pasti": (D_UNKNOWN,),
    "dilewati": (D_SKIPPED, D_CANCELLED),
}


def deliveries(
    session: Session, announcement_id: int, *, filter_name: str = "semua", page: int = 1, per_page: int = 50
) -> Tuple[List[DeliveryRow], int]:
    """One page of recipients with their state (phone masked), and the number of rows matching."""
    conditions = [AnnouncementDelivery.announcement_id == announcement_id]
    statuses = FILTERS.get(filter_name)
    wa_failed = filter_name == "gagal"
    if statuses is not None:
        condition = AnnouncementDelivery.status.in_(statuses)
        if wa_failed:
            condition = or_(
                condition, and_(AnnouncementDelivery.status == D_SENT, MessageStatus.status == "failed")
            )
        conditions.append(condition)
    base = (
        select(AnnouncementDelivery, MessageStatus, Citizen.wa_id, Citizen.user_id)
        .outerjoin(MessageStatus, MessageStatus.message_id == AnnouncementDelivery.wamid)
        .outerjoin(Citizen, Citizen.id == AnnouncementDelivery.citizen_id)
        .where(*conditions)
    )
    total = int(session.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    rows = session.execute(
        base.order_by(AnnouncementDelivery.id).offset(max(0, page - 1) * per_page).limit(per_page)
    ).all()
    out = []
    for delivery, status, wa_id, user_id in rows:
        wa = status.status if (status is not None and delivery.status == D_SENT) else None
        error = delivery.error_text
        if wa == "failed":
            error = f"WhatsApp: kode {status.error_code}, {status.error_title or 'tanpa keterangan'}"
        out.append(
            DeliveryRow(
                id=int(delivery.id),
                recipient_masked=mask(wa_id or user_id) if (wa_id or user_id) else "(data dihapus)",
                status=delivery.status,
                status_label=DELIVERY_LABELS.get(delivery.status, delivery.status),
                whatsapp_status=wa,
                whatsapp_label=WA_LABELS.get(wa or "", "") if wa else "",
                error=error,
                retries=int(delivery.retries),
                sent_at=delivery.sent_at,
            )
        )
    return out, total


def list_announcements(session: Session, limit: int = 100) -> List[Announcement]:
    return list(session.execute(select(Announcement).order_by(Announcement.id.desc()).limit(limit)).scalars())


def open_announcement_ids(session: Session, ids: Sequence[int]) -> Dict[int, int]:
    """Rows still waiting per announcement (the list page's progress)."""
    if not ids:
        return {}
    return {
        int(a): int(n)
        for a, n in session.execute(
            select(AnnouncementDelivery.announcement_id, func.count())
            .where(
                AnnouncementDelivery.announcement_id.in_(list(ids)),
                AnnouncementDelivery.status.in_(OPEN_DELIVERY_STATES),
            )
            .group_by(AnnouncementDelivery.announcement_id)
        )
    }
