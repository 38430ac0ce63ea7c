"""The review queue (issue 27): which messages content staff see, grouped by similar text, with
the conversation around each, NIKs and phone numbers masked (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from layanwarga import conversation_log, conversation_store, db, privacy, retention, review_queue
from layanwarga.models import NluReading, ReviewAnnotation
from layanwarga.review_queue import FELL_BACK, FLAGGED, LOW, REPHRASED, Reading

T0 = dt.datetime(2026, 12, 1, 3, 0)
SENDER = "6281234500001"
OTHER = "6281234500002"


def read(sender: str, text: str, intent: str, confidence: float, *, seconds: int, **extra: object) -> None:
    guesses = [(intent, confidence), ("lapor_banjir", 0.2), ("greet", 0.1)]
    assert review_queue.record_reading(
        sender,
        Reading(text=text, intent=intent, confidence=confidence, guesses=guesses, **extra),  # type: ignore[arg-type]
        at=T0 + dt.timedelta(seconds=seconds),
    )


def open_queue() -> list:
    with db.session_scope() as session:
        return review_queue.queue(session, since=T0 - dt.timedelta(days=1))


def test_similar_texts_of_fallbacks_group_with_counts_and_guesses(db_url: str) -> None:
    read(SENDER, "jalan rusakkk parah", "nlu_fallback", 0.25, seconds=0, fell_back=True)
    read(OTHER, "Jalan rusak parah!!", "nlu_fallback", 0.28, seconds=30, fell_back=True)
    read(OTHER, "terima kasih", "thanks", 0.97, seconds=600)
    groups = open_queue()
    assert len(groups) == 1
    group = groups[0]
    assert (group.count, group.senders) == (2, 2)
    assert group.reasons == {review_queue.REASONS[FELL_BACK]: 2}
    assert [name for name, _ in group.guesses][:2] == ["lapor_banjir", "greet"]  # nlu_fallback is no guess


def test_numbers_and_repeated_words_do_not_split_a_group() -> None:
    assert review_queue.group_key("lampu rt 3 kedip2") == review_queue.group_key("Lampu RT 12 kedip kedip!!")
    assert review_queue.group_key("👍") == "👍"


def test_low_confidence_is_queued_and_a_confident_answer_is_not(db_url: str) -> None:
    read(SENDER, "lampu jalan kedip kedip", "lapor_lampu_padam", 0.42, seconds=0)
    read(OTHER, "lampu jalan mati", "lapor_lampu_padam", 0.93, seconds=0)
    assert [(g.text, g.items[0].reason) for g in open_queue()] == [("lampu jalan kedip kedip", LOW)]


def test_a_form_answer_is_never_queued(db_url: str) -> None:
    read(SENDER, "jl mawar no 3 rt 2", "nlu_fallback", 0.1, seconds=0, fell_back=True, in_form=True)
    assert open_queue() == []


def test_a_message_rephrased_right_after_is_queued_with_the_second_reading_offered(db_url: str) -> None:
    read(SENDER, "mau urus surat pindah", "surat_domisili", 0.7, seconds=0)
    read(SENDER, "maksudnya urus surat pindah domisili", "tanya_syarat", 0.8, seconds=40)
    # Too late to be a rephrasing, and unrelated words: neither queued.
    read(OTHER, "mau urus surat pindah", "surat_domisili", 0.7, seconds=0)
    read(OTHER, "jam buka kantor", "jam_layanan", 0.9, seconds=30)
    groups = open_queue()
    assert [(g.items[0].sender, g.items[0].reason) for g in groups] == [(SENDER, REPHRASED)]
    assert groups[0].guesses[0][0] == "tanya_syarat"


def test_flagged_lines_join_the_queue_and_context_shows_the_lines_around_masked(db_url: str) -> None:
    for i in range(8):
        conversation_log.log_inbound(SENDER, f"pesan {i}")
    target = conversation_log.log_inbound(SENDER, "sy mau lapor NIK 6271014506850003 hp 0812 3456 7890")
    for i in range(4):
        conversation_log.log_outbound(SENDER, f"jawaban {i}")
    with db.session_scope() as session:
        assert review_queue.flag_line(session, target, "staf:admin")
        assert not review_queue.flag_line(session, target, "staf:admin")  # once
    groups = open_queue()
    assert [g.items[0].reason for g in groups] == [FLAGGED]
    assert "6271014506850003" not in groups[0].text and "0812 3456 7890" not in groups[0].text
    with db.session_scope() as session:
        lines = review_queue.context(session, groups[0].items[0])
    assert [line.text for line in lines] == [
        *(f"pesan {i}" for i in range(2, 8)),
        "sy mau lapor NIK 6271********0003 hp 0812****7890",
        *(f"jawaban {i}" for i in range(3)),
    ]
    assert [line.current for line in lines].index(True) == 6


def test_an_outgoing_line_cannot_be_flagged(db_url: str) -> None:
    line = conversation_log.log_outbound(SENDER, "Selamat pagi")
    with db.session_scope() as session, pytest.raises(review_queue.FlagRefused):
        review_queue.flag_line(session, line, "staf:admin")


def test_a_decided_group_leaves_the_queue_for_good(db_url: str) -> None:
    read(SENDER, "halo gan", "nlu_fallback", 0.2, seconds=0, fell_back=True)
    key = open_queue()[0].key
    with db.session_scope() as session:
        session.add(ReviewAnnotation(group_key=key, decision="abaikan", annotated_by="staf:konten"))
    read(OTHER, "Halo gan!", "nlu_fallback", 0.2, seconds=60, fell_back=True)  # the same phrase again
    assert open_queue() == []


def test_erasure_takes_the_citizens_readings_with_their_conversation(db_url: str) -> None:
    read(SENDER, "jalan rusak", "nlu_fallback", 0.2, seconds=0, fell_back=True)
    read(OTHER, "jalan rusak", "nlu_fallback", 0.2, seconds=0, fell_back=True)
    privacy.erase(SENDER)
    with db.session_scope() as session:
        assert {r.sender for r in session.query(NluReading)} == {OTHER}


def test_a_message_that_is_only_a_nik_or_a_phone_number_is_stored_masked(db_url: str) -> None:
    """Found by the SKTM end-to-end test once its stack recorded readings: a citizen typing their
    NIK alone left it in clear as the reading's group key."""
    nik, phone = "6271024507850003", "081298765432"
    for index, text in enumerate((nik, f"NIK {nik}", phone, f"hp sy {phone} ya")):
        read(SENDER, text, "inform", 0.4, seconds=index)
    with db.session_scope() as session:
        rows = session.query(NluReading).all()
    assert len(rows) == 4
    # The text is kept as the staff message log keeps it (NIKs masked); the key holds neither.
    assert not any(nik in row.text for row in rows)
    assert not any(nik in row.group_key or phone in row.group_key for row in rows)


def test_payloads_and_empty_text_are_not_readings(db_url: str) -> None:
    assert not review_queue.record_reading(
        SENDER, Reading(text="/kirim_lokasi", intent="kirim_lokasi", confidence=1.0)
    )
    assert not review_queue.record_reading(SENDER, Reading(text="  ", intent=None, confidence=None))


def test_the_misunderstood_rate_per_week_leaves_form_answers_out(db_url: str) -> None:
    read(SENDER, "halo", "greet", 0.9, seconds=0)
    read(SENDER, "xyz qwe", "nlu_fallback", 0.1, seconds=60, fell_back=True)
    read(SENDER, "jl mawar 3", "nlu_fallback", 0.1, seconds=120, fell_back=True, in_form=True)
    read(OTHER, "halo", "greet", 0.9, seconds=8 * 24 * 3600)  # the next week
    with db.session_scope() as session:
        weeks = review_queue.misunderstood_per_week(session, weeks=3, now=T0 + dt.timedelta(days=8))
    assert [(w.week.isoformat(), w.total, w.fell_back) for w in weeks] == [
        ("2026-11-23", 0, 0),
        ("2026-11-30", 2, 1),
        ("2026-12-07", 1, 0),
    ]
    assert weeks[1].rate == 0.5 and weeks[0].rate is None


def test_retention_purges_old_readings_with_the_old_lines(db_url: str, tmp_path: Path) -> None:
    read(SENDER, "jalan rusak", "nlu_fallback", 0.2, seconds=0, fell_back=True)
    read(OTHER, "lampu mati", "nlu_fallback", 0.2, seconds=3 * 24 * 3600, fell_back=True)
    cutoff = T0 + dt.timedelta(days=1)
    with pytest.raises(
        conversation_store.ConversationStoreUnavailable
    ):  # no tracker store here; the log is purged first
        retention.purge_conversations(cutoff, tracker_url=f"sqlite:///{tmp_path / 'tidak-ada.db'}")
    with db.session_scope() as session:
        assert [r.text for r in session.query(NluReading)] == ["lampu mati"]


def test_rephrasing_is_paired_per_sender_when_conversations_interleave(db_url: str) -> None:
    # Two citizens write at the same time: each message's predecessor is its own sender's.
    read(SENDER, "mau urus surat pindah", "surat_domisili", 0.7, seconds=0)
    read(OTHER, "maksudnya urus surat pindah domisili", "tanya_syarat", 0.8, seconds=10)
    read(OTHER, "halo", "greet", 0.95, seconds=20)
    read(SENDER, "maksudnya urus surat pindah domisili", "tanya_syarat", 0.8, seconds=30)
    groups = open_queue()
    assert [(g.items[0].sender, g.items[0].reason) for g in groups] == [(SENDER, REPHRASED)]
    with db.session_scope() as session:
        found = review_queue.find_group(session, groups[0].key, since=T0 - dt.timedelta(days=1))
        assert found is not None and [item.text for item in found.items] == ["mau urus surat pindah"]
        assert review_queue.find_group(session, review_queue.group_key("halo")) is None
