"""Subscriptions and announcements in the domain core: configuration, explicit opt-in and
one-step opt-out, who an announcement reaches, queueing once, erasure, what citizens see."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import List

import pytest
import yaml
from sqlalchemy import func, select

from layanwarga import db, privacy, subscriptions
from layanwarga.config import DEFAULT_CONFIG_PATH, ConfigError, get_institution, load_institution
from layanwarga.models import Announcement, AnnouncementDelivery, Citizen, Subscription, SubscriptionEvent

INST = get_institution()


# -- configuration --------------------------------------------------------------------------------
def test_shipped_configuration_has_topics_areas_rate_and_template() -> None:
    cfg = load_institution(DEFAULT_CONFIG_PATH).subscriptions
    assert cfg is not None
    assert {"pengumuman", "jadwal_layanan", "bencana"} <= set(cfg.topics)
    assert "panarung" in cfg.areas and cfg.areas["pahandut-seberang"].name == "Pahandut Seberang"
    assert 0 < cfg.messages_per_second <= 80
    assert "{{1}}" in cfg.template.body and "{{2}}" in cfg.template.body
    assert "BERHENTI" in cfg.template.footer


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    mutate(raw["subscriptions"]) if "subscriptions" in raw else None
    path = tmp_path / "instansi.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "mutate, key",
    [
        (
            lambda s: s["topics"]["bencana"].update(label="Informasi kebencanaan dan cuaca ekstrem"),
            "subscriptions.topics.bencana.label",
        ),
        (lambda s: s["topics"].update({"Bad Code": {"label": "x"}}), "subscriptions.topics.Bad Code"),
        (
            lambda s: s["topics"]["program"].update(description="x" * 80),
            "subscriptions.topics.program.description",
        ),
        (lambda s: s.update(topics={}), "subscriptions.topics"),
        (lambda s: s["areas"].append("Kelurahan Dengan Nama Sangat Panjang"), "subscriptions.areas[6]"),
        (lambda s: s["areas"].append("Panarung"), "subscriptions.areas[6]"),
        (lambda s: s.update(messages_per_second=0), "subscriptions.messages_per_second"),
        (lambda s: s.update(messages_per_second=5000), "subscriptions.messages_per_second"),
        (lambda s: s["template"].update(body="Info: {{1}}"), "subscriptions.template.body"),
        (lambda s: s["template"].update(body="{{1}} {{2}} {{3}}"), "subscriptions.template.body"),
        (lambda s: s["template"].update(footer="x" * 61), "subscriptions.template.footer"),
        (lambda s: s["template"].pop("footer"), "subscriptions.template.footer"),
        (
            lambda s: s["template"].update(stop_button="Berhenti berlangganan sekarang"),
            "subscriptions.template.stop_button",
        ),
        (lambda s: s["template"].update(name="Pengumuman Resmi"), "subscriptions.template.name"),
        (lambda s: s.update(rate=5), "subscriptions.rate"),
    ],
)
def test_a_mistake_names_the_key(tmp_path: Path, mutate, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        load_institution(_write(tmp_path, mutate))


def test_the_section_is_optional(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw.pop("subscriptions")
    path = tmp_path / "instansi.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert load_institution(path).subscriptions is None


@pytest.mark.parametrize(
    "answer, topic",
    [
        ("bencana", "bencana"),
        ("Info bencana", "bencana"),
        ("jadwal_layanan", "jadwal_layanan"),
        ("jadwal posyandu", "jadwal_layanan"),
        ("SEMUA", "*"),
        ("*", "*"),
        ("agenda pembangunan", "pembangunan"),
        ("info", None),
        ("", None),
        ("gosip artis", None),
    ],
)
def test_topics_citizens_type(answer: str, topic) -> None:  # type: ignore[no-untyped-def]
    assert subscriptions.match_topic(INST, answer) == topic


@pytest.mark.parametrize(
    "answer, area",
    [
        ("Panarung", "panarung"),
        ("kelurahan pahandut", "pahandut"),
        ("Pahandut Seberang", "pahandut-seberang"),
        ("saya di pahandut seberang", "pahandut-seberang"),
        ("tanjung-pinang", "tanjung-pinang"),
        ("semua", "*"),
        ("Bandung", None),
    ],
)
def test_areas_citizens_type(answer: str, area) -> None:  # type: ignore[no-untyped-def]
    assert subscriptions.match_area(INST, answer) == area


# -- opting in and out ----------------------------------------------------------------------------
def _events() -> List[str]:
    with db.session_scope() as session:
        return [
            e.action
            for e in session.execute(select(SubscriptionEvent).order_by(SubscriptionEvent.id)).scalars()
        ]


def test_opt_in_is_recorded_with_its_time_text_and_message(db_url: str) -> None:
    assert subscriptions.subscribe(
        INST, "6281234567890", "bencana", "panarung", message_id="wamid.A", profile_name="Budi"
    )
    assert not subscriptions.subscribe(INST, "6281234567890", "bencana", "panarung", message_id="wamid.B")
    with db.session_scope() as session:
        row = session.execute(select(Subscription)).scalar_one()
        assert row.active and row.consent_message_id == "wamid.A" and row.opted_in_at is not None
        assert "Info bencana" in row.consent_text and "Kelurahan Panarung" in row.consent_text
        assert session.execute(select(Citizen.profile_name)).scalar_one() == "Budi"
    assert _events() == ["subscribe"]
    view = subscriptions.active_for(INST, "6281234567890")
    assert [(v.topic_label, v.area_label) for v in view] == [("Info bencana", "Panarung")]


def test_unknown_choices_are_refused(db_url: str) -> None:
    with pytest.raises(ValueError):
        subscriptions.subscribe(INST, "6281234567890", "gosip", "panarung")
    with pytest.raises(ValueError):
        subscriptions.subscribe(INST, "6281234567890", "bencana", "atlantis")


def test_one_opt_out_stops_everything_and_a_new_opt_in_starts_again(db_url: str) -> None:
    sender = "6281234567890"
    subscriptions.subscribe(INST, sender, "bencana", "panarung")
    subscriptions.subscribe(INST, sender, subscriptions.ALL, subscriptions.ALL)
    assert subscriptions.unsubscribe(sender, message_id="wamid.STOP") == 2
    assert subscriptions.unsubscribe(sender) == 0
    assert subscriptions.unsubscribe("6289999999999") == 0
    assert subscriptions.active_for(INST, sender) == []
    with db.session_scope() as session:
        assert (
            session.execute(select(func.count()).where(Subscription.opted_out_at.isnot(None))).scalar_one()
            == 2
        )
    assert subscriptions.subscribe(INST, sender, "bencana", "panarung")
    assert _events() == ["subscribe", "subscribe", "unsubscribe", "subscribe"]
    assert len(subscriptions.active_for(INST, sender)) == 1


def test_who_an_announcement_reaches(db_url: str) -> None:
    subscriptions.subscribe(INST, "62811", "bencana", "panarung")  # yes for bencana@panarung
    subscriptions.subscribe(INST, "62812", subscriptions.ALL, "panarung")  # every topic in Panarung
    subscriptions.subscribe(INST, "62813", "bencana", subscriptions.ALL)  # bencana everywhere
    subscriptions.subscribe(INST, "62814", "bencana", "langkai")  # another kelurahan
    subscriptions.subscribe(INST, "62815", "program", "panarung")  # another topic
    subscriptions.subscribe(INST, "62816", "bencana", "panarung")
    subscriptions.subscribe(INST, "62816", subscriptions.ALL, subscriptions.ALL)  # counted once
    subscriptions.subscribe(INST, "62817", "bencana", "panarung")
    subscriptions.unsubscribe("62817")
    with db.session_scope() as session:
        assert subscriptions.count_recipients(session, "bencana", "panarung") == 4
        assert subscriptions.count_recipients(session, "bencana", subscriptions.ALL) == 5  # every kelurahan
        assert subscriptions.count_recipients(session, "program", "panarung") == 3
        assert subscriptions.count_recipients(session, subscriptions.ALL, subscriptions.ALL) == 6
        total, per_topic = subscriptions.subscriber_counts(INST, session)
    assert total == 6 and {t.code: t.subscribers for t in per_topic}["bencana"] == 5


# -- announcements -----------------------------------------------------------------------------
def _draft(topic: str = "bencana", area: str = "panarung", **kw) -> int:  # type: ignore[no-untyped-def]
    with db.session_scope(write=True) as session:
        row = subscriptions.create_draft(
            session,
            INST,
            title="Siaga banjir",
            topic=topic,
            area=area,
            text="Bapak/Ibu, debit sungai Kahayan naik.\n\nMohon waspada.",
            actor="staf:admin",
            **kw,
        )
        return int(row.id)


def test_queueing_creates_one_row_per_subscriber_once(db_url: str) -> None:
    for i in range(5):
        subscriptions.subscribe(INST, f"6281300000{i}", "bencana", "panarung")
        subscriptions.subscribe(INST, f"6281300000{i}", subscriptions.ALL, subscriptions.ALL)
    aid = _draft()
    with db.session_scope(write=True) as session:
        assert subscriptions.queue(session, INST, aid, "staf:admin") == 5
    with db.session_scope(write=True) as session:
        assert subscriptions.queue(session, INST, aid, "staf:admin") == 0
    with db.session_scope() as session:
        row = session.get(Announcement, aid)
        assert (
            row.status == subscriptions.SENDING
            and row.recipients == 5
            and row.template_name == "layanwarga_pengumuman"
        )
        assert subscriptions.summary(session, aid).by_status == {"pending": 5}


def test_two_staff_pressing_send_at_once_queue_it_once(db_url: str) -> None:
    for i in range(20):
        subscriptions.subscribe(INST, f"6281400000{i:02d}", "bencana", "panarung")
    aid = _draft()
    results: List[int] = []
    barrier = threading.Barrier(4)

    def press() -> None:
        barrier.wait()
        for attempt in range(5):
            try:
                with db.session_scope(write=True) as session:
                    results.append(subscriptions.queue(session, INST, aid, "staf:admin"))
                return
            except Exception:  # noqa: BLE001 - a serialisation conflict: press again
                if attempt == 4:
                    raise

    threads = [threading.Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 0, 0, 20]
    with db.session_scope() as session:
        assert session.execute(select(func.count()).select_from(AnnouncementDelivery)).scalar_one() == 20


def test_nobody_subscribed_means_done_at_once(db_url: str) -> None:
    aid = _draft()
    with db.session_scope(write=True) as session:
        assert subscriptions.queue(session, INST, aid, "staf:admin") == 0
    with db.session_scope() as session:
        assert session.get(Announcement, aid).status == subscriptions.DONE


def test_a_picture_needs_the_picture_template(db_url: str, tmp_path: Path) -> None:
    from layanwarga import media

    stored = media.store_media(
        b"\x89PNG\r\n\x1a\n" + b"0" * 64,
        mime_type="image/png",
        purpose="pengumuman",
        media_dir=tmp_path / "media",
    )
    aid = _draft(image_media_id=stored.id)
    no_image_template = dataclasses.replace(
        INST,
        subscriptions=dataclasses.replace(
            INST.subscriptions, template=dataclasses.replace(INST.subscriptions.template, image_name=None)
        ),
    )
    with db.session_scope(write=True) as session:
        with pytest.raises(subscriptions.AnnouncementError):
            subscriptions.queue(session, no_image_template, aid, "staf:admin")
    subscriptions.subscribe(INST, "62815000001", "bencana", "panarung")
    with db.session_scope(write=True) as session:
        assert subscriptions.queue(session, INST, aid, "staf:admin") == 1
        assert session.get(Announcement, aid).template_name == "layanwarga_pengumuman_gambar"


def test_what_citizens_see(db_url: str) -> None:
    aid = _draft()
    with db.session_scope() as session:
        rendered = subscriptions.render(INST, session.get(Announcement, aid))
    assert rendered.text_parameter == "Bapak/Ibu, debit sungai Kahayan naik. Mohon waspada."
    assert rendered.body.startswith("📢 *Info bencana* – Kelurahan Langkai")
    template = subscriptions.template_object(rendered)
    assert template["name"] == "layanwarga_pengumuman" and template["language"] == {"code": "id"}
    body, button = template["components"]
    assert [p["text"] for p in body["parameters"]] == ["Info bencana", rendered.text_parameter]
    assert button["sub_type"] == "quick_reply" and button["parameters"][0]["payload"] == "/berhenti_langganan"
    with_picture = subscriptions.template_object(dataclasses.replace(rendered, has_image=True), "MEDIA1")
    assert with_picture["components"][0] == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"id": "MEDIA1"}}],
    }


def test_text_length_limit_leaves_room_in_the_template() -> None:
    limit = subscriptions.max_text_length(INST)
    longest = max(len(t.label) for t in INST.subscriptions.topics.values())
    body = INST.subscriptions.template.body.replace("{{1}}", "x" * longest).replace("{{2}}", "y" * limit)
    assert 800 < limit and len(body) <= 1024
    with pytest.raises(subscriptions.AnnouncementError, match="paling panjang"):
        subscriptions.validate_draft(INST, "Judul", "bencana", "panarung", "y" * (limit + 1))


def test_an_emoji_counts_twice_against_the_template_limit() -> None:
    """WhatsApp counts UTF-16 units: an announcement of emoji that fits by len() is refused
    instead of being refused by Meta for every subscriber."""
    limit = subscriptions.max_text_length(INST)
    emoji = "🌧" * (limit // 2 + 1)  # len() fits, UTF-16 units do not
    assert len(emoji) <= limit
    with pytest.raises(subscriptions.AnnouncementError, match="emoji dihitung 2"):
        subscriptions.validate_draft(INST, "Judul", "bencana", "panarung", emoji)


def test_erasure_removes_subscriptions_and_keeps_figures_anonymous(db_url: str) -> None:
    subscriptions.subscribe(INST, "6281234567890", "bencana", "panarung")
    subscriptions.subscribe(INST, "6281234567891", "bencana", "panarung")
    aid = _draft()
    with db.session_scope(write=True) as session:
        subscriptions.queue(session, INST, aid, "staf:admin")
    privacy.erase("6281234567890")
    with db.session_scope() as session:
        assert session.execute(select(func.count()).select_from(Subscription)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(SubscriptionEvent)).scalar_one() == 1
        deliveries = session.execute(select(AnnouncementDelivery)).scalars().all()
        assert len(deliveries) == 2 and sorted(d.citizen_id is None for d in deliveries) == [False, True]
        rows, total = subscriptions.deliveries(session, aid)
    assert total == 2 and "(data dihapus)" in [r.recipient_masked for r in rows]


def test_cancel_stops_what_is_not_sent(db_url: str) -> None:
    for i in range(3):
        subscriptions.subscribe(INST, f"6281600000{i}", "bencana", "panarung")
    aid = _draft()
    with db.session_scope(write=True) as session:
        subscriptions.queue(session, INST, aid, "staf:admin")
        assert subscriptions.pause(session, aid, "cek isi")
        assert not subscriptions.pause(session, aid)
        assert subscriptions.resume(session, aid)
        assert subscriptions.cancel(session, aid) == 3
        assert subscriptions.cancel(session, aid) == 0
    with db.session_scope() as session:
        assert session.get(Announcement, aid).status == subscriptions.CANCELLED
