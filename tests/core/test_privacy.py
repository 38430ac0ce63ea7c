"""Data rights: a citizen sees what is held and can have it erased everywhere, while the
tickets stay as anonymous records for the statistics."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.future import create_engine

from layanwarga import conversation_log, db, privacy, tickets
from layanwarga.config import get_institution
from layanwarga.models import Citizen, ConversationMessage, DataRequest, Media, StateChange, Ticket, utcnow

INST = get_institution()
SENDER, OTHER = "6281234567890", "6289876543210"


def submit(sender: str, key: str, media_ids=()) -> str:  # type: ignore[no-untyped-def]
    return tickets.submit_letter_request(
        INST,
        tickets.LetterDraft(
            letter_type="sktm",
            sender=sender,
            idempotency_key=key,
            applicant_name="Siti Aminah",
            applicant_nik="6271024507850003",
            applicant_address="Jl. A RT 1 RW 2",
            applicant_phone="+6281234567890",
            purpose="Berobat",
            media_ids=media_ids,
        ),
    ).number


def test_a_citizen_sees_what_is_held(db_url: str) -> None:
    number = submit(SENDER, "k1")
    with db.session_scope() as session:
        conversation_log.add(session, sender=SENDER, direction="in", text="halo", actor="warga")
    held = privacy.summary(SENDER)
    assert held.known and held.letter_requests == [number] and held.messages == 1
    assert held.phone_masked == "6281*****7890"
    assert not privacy.summary("6280000000000").known


def test_erasure_removes_personal_data_everywhere_but_keeps_anonymous_tickets(
    db_url: str, tmp_path: Path
) -> None:
    photo, shared = tmp_path / "ktp.jpg", tmp_path / "shared.jpg"
    photo.write_bytes(b"\xff\xd8\xff")
    shared.write_bytes(b"\xff\xd8\xff")
    with db.session_scope() as session:
        rows = [Media(storage_path=str(photo)), Media(storage_path=str(shared))]
        session.add_all(rows)
        session.flush()
        ids = [m.id for m in rows]
    mine = submit(SENDER, "k1", ids)
    theirs = submit(OTHER, "k2")
    with db.session_scope() as session:
        other_ticket = session.execute(select(Ticket.id).where(Ticket.number == theirs)).scalar_one()
        session.add(Media(storage_path=str(shared), ticket_id=other_ticket))
        conversation_log.add(session, sender=SENDER, direction="in", text="nik saya ...", actor="warga")

    report = privacy.erase(SENDER)
    assert (report.tickets_anonymised, report.files_deleted) == (1, 1)
    assert not photo.exists() and shared.exists()  # another citizen's ticket still holds that file
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == mine)).scalar_one()
        assert (ticket.state, ticket.category) == ("diajukan", "sktm")  # the statistics keep it
        assert ticket.citizen_id is None and ticket.applicant_nik is None and ticket.applicant_name is None
        assert ticket.description == privacy.ERASED_TEXT
        assert all(
            h.note is None
            for h in session.execute(select(StateChange).where(StateChange.ticket_id == ticket.id)).scalars()
        )
        assert (
            session.execute(select(func.count(Citizen.id)).where(Citizen.wa_id == SENDER)).scalar_one() == 0
        )
        assert session.execute(select(func.count(ConversationMessage.id))).scalar_one() == 0
        assert (
            session.execute(select(Ticket).where(Ticket.number == theirs)).scalar_one().applicant_name
            == "Siti Aminah"
        )
        request = session.execute(select(DataRequest).where(DataRequest.kind == "hapus")).scalar_one()
        assert request.status == "menunggu_percakapan" and SENDER not in request.requester


def test_the_conversation_store_is_erased_after_the_erasing_turn(db_url: str, tmp_path: Path) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_extensions.tracker_store import LayanWargaTrackerStore

    tracker_db = tmp_path / "tracker.db"
    store = LayanWargaTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tracker_db))
    for sender in (SENDER, OTHER):
        tracker = DialogueStateTracker(sender, [])
        tracker.update(UserUttered("hapus data saya"))
        asyncio.run(store.save(tracker))
    privacy.erase(SENDER)
    url = f"sqlite:///{tracker_db}"
    assert privacy.erase_conversations(tracker_url=url) == privacy.ConversationErasure(
        0, 0
    )  # the turn still runs
    assert privacy.erase_conversations(utcnow() + dt.timedelta(minutes=5), tracker_url=url).completed == 1
    with create_engine(url).connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT DISTINCT sender_id FROM events"))] == [OTHER]
    with db.session_scope() as session:
        request = session.execute(select(DataRequest)).scalar_one()
        assert request.status == "selesai" and request.sender_pending is None


# -- the conversation store must really be reached: a missing one fails the request visibly --------


def erasure_request() -> DataRequest:
    with db.session_scope() as session:
        return session.execute(select(DataRequest).where(DataRequest.kind == "hapus")).scalar_one()


LATER = dt.timedelta(minutes=5)


def test_production_without_a_named_conversation_store_fails_the_request(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The shipped deploy files gave only the Rasa services TRACKER_STORE_URL; the eraser then
    used a local default file and marked the request done (or failed silently forever)."""
    monkeypatch.setenv("LAYANWARGA_ENV", "production")
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    privacy.erase(SENDER)
    assert privacy.erase_conversations(utcnow() + LATER) == privacy.ConversationErasure(completed=0, failed=1)
    request = erasure_request()
    assert (request.status, request.completed_at, request.attempts) == ("gagal", None, 1)
    assert "TRACKER_STORE_URL" in request.failure_reason and "belum diatur" in request.failure_reason
    assert request.sender_pending  # kept: the conversation still has to be erased


def test_a_conversation_store_file_that_is_not_there_is_neither_created_nor_called_erased(
    db_url: str,
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    missing = tmp_path / "elsewhere" / "tracker.db"
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{missing}")
    privacy.erase(SENDER)
    assert privacy.erase_conversations(utcnow() + LATER).failed == 1
    assert not missing.exists()
    request = erasure_request()
    assert request.status == "gagal" and "tidak ditemukan" in request.failure_reason


def test_a_database_without_rasa_events_is_not_taken_for_the_conversation_store(
    db_url: str, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    with create_engine(f"sqlite:///{other}").begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    privacy.erase(SENDER)
    assert privacy.erase_conversations(utcnow() + LATER, tracker_url=f"sqlite:///{other}").failed == 1
    request = erasure_request()
    assert request.status == "gagal" and "bukan milik asisten" in request.failure_reason


def test_a_failed_erasure_is_retried_and_completes_once_the_store_answers(
    db_url: str, tmp_path: Path
) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_extensions.tracker_store import LayanWargaTrackerStore

    start = utcnow()
    unreachable = "postgresql://postgres@127.0.0.1:1/rasa_tracker"  # nothing listens on port 1
    privacy.erase(SENDER)
    assert privacy.erase_conversations(start + LATER, tracker_url=unreachable).failed == 1
    request = erasure_request()
    assert request.status == "gagal" and "tidak dapat dihubungi" in request.failure_reason
    # Not tried again before the retry interval: the log is not flooded every few seconds.
    assert (
        privacy.erase_conversations(start + LATER + dt.timedelta(minutes=1), tracker_url=unreachable).failed
        == 0
    )
    assert erasure_request().attempts == 1

    tracker_db = tmp_path / "tracker.db"
    store = LayanWargaTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tracker_db))
    tracker = DialogueStateTracker(SENDER, [])
    tracker.update(UserUttered("hapus data saya"))
    asyncio.run(store.save(tracker))
    url = f"sqlite:///{tracker_db}"
    retry = start + LATER + privacy.RETRY_INTERVAL
    assert privacy.erase_conversations(retry, tracker_url=url) == privacy.ConversationErasure(
        completed=1, failed=0
    )
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
    request = erasure_request()
    assert (request.status, request.failure_reason, request.sender_pending, request.attempts) == (
        "selesai",
        None,
        None,
        2,
    )


def test_every_identity_of_the_citizen_is_erased_from_the_conversation_store(
    db_url: str, tmp_path: Path
) -> None:
    """A citizen who first wrote under a WhatsApp user id (BSUID) and later with a phone number
    has a conversation under each sender id."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from layanwarga.models import Citizen
    from rasa_extensions.tracker_store import LayanWargaTrackerStore

    bsuid = "ID.1234567890123456789"
    with db.session_scope() as session:
        session.add(Citizen(wa_id=SENDER, user_id=bsuid))
    tracker_db = tmp_path / "tracker.db"
    store = LayanWargaTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tracker_db))
    for sender in (SENDER, bsuid, OTHER):
        tracker = DialogueStateTracker(sender, [])
        tracker.update(UserUttered("halo"))
        asyncio.run(store.save(tracker))
    privacy.erase(SENDER)
    url = f"sqlite:///{tracker_db}"
    assert privacy.erase_conversations(utcnow() + LATER, tracker_url=url).completed == 1
    with create_engine(url).connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT DISTINCT sender_id FROM events"))] == [OTHER]


# -- erasure reaches submissions and messages waiting in local spools ----------------------------


def test_erasure_removes_the_citizens_spooled_entries_here_and_in_every_other_spool(
    db_url: str,
    tmp_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    from layanwarga import pending, retention
    from layanwarga.spool import Spool

    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "spool"))
    here = pending.spool()
    here.put(SENDER, {"kind": "aduan", "draft": {"description": "NIK 6271014506850003"}})
    here.set_aside(here.put(SENDER, {"kind": "aduan", "draft": {}}))
    here.put(OTHER, {"kind": "aduan", "draft": {}})
    elsewhere = Spool(tmp_path / "rasa-2-spool")  # another instance's messages, on its own disk
    elsewhere.put(SENDER, {"text": "hapus data saya"})
    elsewhere.put(OTHER, {"text": "halo"})

    privacy.erase(SENDER)
    assert [g for _, g, _ in here.entries()] == [OTHER] and not list(here.directory.glob("*.failed"))
    request = erasure_request()
    assert request.spool_tags and SENDER not in request.spool_tags
    assert retention.maintain_spool(elsewhere, INST) == 1  # what the other instance runs periodically
    assert [g for _, g, _ in elsewhere.entries()] == [OTHER]

    # Once no spooled entry can be that old, the tags are forgotten.
    assert privacy.forget_spool_tags(utcnow() + dt.timedelta(days=INST.conversation_retention_days + 1)) == 1
    assert erasure_request().spool_tags is None


# -- who asked: a keyed pseudonym while needed, nothing once the erasure is done -----------------


def unkeyed(sender: str) -> str:
    import hashlib

    return hashlib.sha256(f"layanwarga:{sender}".encode()).hexdigest()[:32]


def raw_requests() -> list:
    with db.get_engine().connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT kind, status, requester, sender_pending FROM data_requests ORDER BY id")
            )
        ]


def test_the_requester_is_a_keyed_code_that_trying_every_number_cannot_reverse(
    db_url: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The first version stored sha256("layanwarga:" + phone): hashing every Indonesian mobile
    number finds it. The code now needs the data key."""
    from cryptography.fernet import Fernet

    from layanwarga import crypto

    privacy.summary(SENDER)
    privacy.summary(SENDER)
    privacy.erase(SENDER)
    rows = raw_requests()
    codes = {requester for _, _, requester, _ in rows}
    assert len(codes) == 1  # staff can still see that one citizen made these requests
    (code,) = codes
    assert code != unkeyed(SENDER) and SENDER not in code
    monkeypatch.setenv(crypto.KEYS_ENV, Fernet.generate_key().decode())
    assert privacy.requester_code(SENDER) != code  # another key, another code: the key is needed
    # The identities still to erase are encrypted at rest.
    pending = rows[-1][3]
    assert pending.startswith(crypto.PREFIX) and SENDER not in pending


def test_once_the_erasure_is_done_no_request_points_to_the_citizen(
    db_url: str, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet

    from layanwarga import crypto

    privacy.summary(SENDER)  # an earlier "data saya", under the key of that time
    privacy.summary(OTHER)
    other_code = raw_requests()[1][2]
    old = crypto.configured_keys()[0]
    monkeypatch.setenv(crypto.KEYS_ENV, f"{Fernet.generate_key().decode()},{old}")  # rotated since
    privacy.erase(SENDER)
    tracker = tmp_path / "tracker.db"
    with create_engine(f"sqlite:///{tracker}").begin() as conn:
        conn.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL)"))
    assert privacy.erase_conversations(utcnow() + LATER, tracker_url=f"sqlite:///{tracker}").completed == 1
    rows = raw_requests()
    assert [
        (kind, status, requester, pending) for kind, status, requester, pending in rows if kind == "hapus"
    ] == [("hapus", "selesai", privacy.ERASED_REQUESTER, None)]
    assert rows[0][2] == privacy.ERASED_REQUESTER  # the earlier request too, made under the old key
    assert rows[1][2] == other_code  # another citizen's request keeps its code
    everything = repr(rows)
    assert SENDER not in everything and unkeyed(SENDER) not in everything


def test_existing_requests_are_migrated_to_keyed_codes_and_encrypted_identities(db_url: str) -> None:
    from alembic import command

    from layanwarga import crypto, migrate

    command.downgrade(migrate.alembic_config(db_url), "0010_data_request_spool_tags")
    created = utcnow()
    with db.get_engine().begin() as conn:
        rows = [
            ("lihat", "selesai", unkeyed(SENDER), None),  # later erased: nothing of it stays
            ("hapus", "selesai", unkeyed(SENDER), None),
            ("lihat", "selesai", unkeyed(OTHER), None),  # keeps a (keyed) code
            ("hapus", "menunggu_percakapan", unkeyed("6281111111111"), "6281111111111"),
        ]
        for kind, status, requester, pending in rows:
            conn.execute(
                text(
                    "INSERT INTO data_requests (kind, status, requester, sender_pending, created_at, attempts)"
                    " VALUES (:k, :s, :r, :p, :c, 0)"
                ),
                {"k": kind, "s": status, "r": requester, "p": pending, "c": created},
            )
    migrate.upgrade(db_url)
    after = raw_requests()
    assert [r[2] for r in after] == [
        privacy.ERASED_REQUESTER,
        privacy.ERASED_REQUESTER,
        privacy.requester_code(OTHER),
        privacy.requester_code("6281111111111"),
    ]
    assert crypto.decrypt(after[3][3]) == "6281111111111" and "6281111111111" not in after[3][3]
    # The pending erasure still completes with its (now encrypted) identity.
    with db.session_scope() as session:
        assert (
            session.execute(
                select(DataRequest.sender_pending).where(DataRequest.status == "menunggu_percakapan")
            ).scalar_one()
            == "6281111111111"
        )
