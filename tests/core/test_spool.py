"""The local spool keeps what waits through an outage encrypted, private, findable for erasure
without naming anyone, readable across a key rotation, and never forever."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from layanwarga import crypto
from layanwarga.spool import Spool, created_at, group_tags

PHONE, OTHER = "6281234567890", "6289876543210"
NIK = "6271014506850003"
ITEM = {"text": f"NIK saya {NIK}, rumah di Jl. Melati 12", "message_id": "wamid.1"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_entry_is_encrypted_private_and_read_back(tmp_path: Path) -> None:
    queue = Spool(tmp_path / "spool")
    path = queue.put(PHONE, ITEM)
    raw = path.read_bytes()
    for secret in (PHONE, NIK, "Melati", hashlib.sha256(f"{PHONE}".encode()).hexdigest()[:16]):
        assert secret.encode() not in raw and secret not in path.name
    assert mode(path) == 0o600 and mode(tmp_path / "spool") == 0o700
    assert [(p, g, i) for p, g, i in queue.entries()] == [(path, PHONE, ITEM)]
    assert queue.has(PHONE) and not queue.has(OTHER) and len(queue) == 1


def test_a_folder_made_by_someone_else_is_closed_to_other_users(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    Spool(folder)
    assert mode(folder) == 0o700


def test_entries_survive_a_key_rotation_and_move_to_the_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = crypto.configured_keys()[0], Fernet.generate_key().decode()
    read, rotated = Spool(tmp_path / "read"), Spool(tmp_path / "rotated")
    read.put(PHONE, ITEM)
    rotated.put(PHONE, ITEM)
    monkeypatch.setenv(crypto.KEYS_ENV, f"{new},{old}")
    assert read.has(PHONE)  # tagged under the old key, still found; reading re-encrypts it
    assert rotated.reencrypt() == 1 and rotated.reencrypt() == 0  # python -m layanwarga.crypto rotate
    monkeypatch.setenv(crypto.KEYS_ENV, new)  # the old key removed
    for queue in (read, rotated):
        assert [(g, i) for _, g, i in queue.entries()] == [(PHONE, ITEM)] and queue.has(PHONE)


def test_an_entry_no_key_opens_is_kept_and_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Spool(tmp_path / "spool")
    path = queue.put(PHONE, ITEM)
    monkeypatch.setenv(crypto.KEYS_ENV, Fernet.generate_key().decode())
    with caplog.at_level(logging.ERROR):
        assert queue.entries() == [] and queue.entries() == []
    assert path.exists() and queue.status().unreadable == 1
    assert len([r for r in caplog.records if "cannot be decrypted" in r.getMessage()]) == 1


def test_files_of_the_first_clear_format_are_encrypted_when_the_spool_opens(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    folder.mkdir()
    tag = hashlib.sha256(PHONE.encode()).hexdigest()[:16]
    for name, group in (
        (f"00000001764000000000000000-7-000001-{tag}.json", PHONE),
        (f"00000001764000000000000001-7-000002-{tag}.failed", PHONE),
        ("00000001764000000000000002-7-000003-abcd.json", OTHER),
    ):
        (folder / name).write_text(json.dumps({"group": group, "item": ITEM}), encoding="utf-8")
        os.chmod(folder / name, 0o644)
    queue = Spool(folder)
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert names == [
        "00000001764000000000000000-7-000001.json",
        "00000001764000000000000001-7-000002.failed",
        "00000001764000000000000002-7-000003.json",
    ]
    for name in names:
        assert NIK.encode() not in (folder / name).read_bytes() and mode(folder / name) == 0o600
    assert [g for _, g, _ in queue.entries()] == [PHONE, OTHER]  # arrival order kept


def backdate(path: Path, when: dt.datetime) -> Path:
    stamp = int(when.replace(tzinfo=dt.timezone.utc).timestamp() * 1e9)
    target = path.with_name(f"{stamp:020d}-{path.name.split('-', 1)[1]}")
    path.rename(target)
    return target


def test_entries_expire_after_the_retention_period_failed_and_broken_ones_too(tmp_path: Path) -> None:
    queue = Spool(tmp_path / "spool")
    long_ago = dt.datetime(2024, 1, 1)
    old_failed = queue.set_aside(backdate(queue.put(PHONE, ITEM), long_ago))
    old_broken = backdate(queue.put(PHONE, ITEM), long_ago)
    old_broken.write_text("not an envelope", encoding="utf-8")
    assert queue.entries() == [] and not old_broken.exists()  # set aside as .broken
    old_waiting = backdate(queue.put(PHONE, ITEM), long_ago)
    recent = queue.put(OTHER, ITEM)
    assert created_at(old_waiting) == long_ago
    assert queue.expire(dt.datetime(2025, 1, 1)) == 3
    assert not old_waiting.exists() and not old_failed.exists() and recent.exists()
    assert not list((tmp_path / "spool").glob("*.broken"))
    assert [g for _, g, _ in queue.entries()] == [OTHER]


def test_a_citizens_entries_are_removed_by_name_or_by_recorded_tag(tmp_path: Path) -> None:
    queue = Spool(tmp_path / "spool")
    queue.put(PHONE, ITEM)
    queue.set_aside(queue.put(PHONE, ITEM))
    queue.put(OTHER, ITEM)
    assert queue.remove_groups([PHONE]) == 2
    assert [g for _, g, _ in queue.entries()] == [OTHER] and not list((tmp_path / "spool").glob("*.failed"))
    assert queue.remove_groups(group_tags(OTHER), tags=True) == 1 and len(queue) == 0


def test_an_entry_removed_meanwhile_is_never_written_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-encryption on read must not resurrect a message another thread just replayed and
    removed (it would be answered twice)."""
    old, new = crypto.configured_keys()[0], Fernet.generate_key().decode()
    queue = Spool(tmp_path / "spool")
    path = queue.put(PHONE, ITEM)
    envelope = queue._read(path)
    monkeypatch.setenv(crypto.KEYS_ENV, f"{new},{old}")
    Spool.remove(path)  # the replay finished between our read and our rewrite
    queue._rewrite(path, PHONE, ITEM, envelope.data)
    assert not path.exists()


def test_a_spool_bound_to_a_database_never_hands_out_another_databases_entries(tmp_path: Path) -> None:
    from layanwarga.spool import database_fingerprint

    ours = database_fingerprint("postgresql://layanwarga:secret@db:5432/layanwarga")
    theirs = database_fingerprint("postgresql://layanwarga:secret@db:5432/kota_lain")
    folder = tmp_path / "spool"
    foreign = Spool(folder, database=theirs).put(PHONE, ITEM)
    Spool(folder).put(OTHER, ITEM)  # written before entries were tagged: taken as this spool's own
    queue = Spool(folder, database=ours)
    assert [g for _, g, _ in queue.entries()] == [OTHER] and not queue.has(PHONE)
    assert foreign.exists() and queue.status().other_database == 1 and queue.status().waiting == 1
    assert [g for _, g, _ in Spool(folder, database=theirs).entries()] == [PHONE, OTHER]


def test_a_database_fingerprint_ignores_credentials_and_spelling_of_a_file_path(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from layanwarga.spool import database_fingerprint

    assert database_fingerprint("postgresql://a:1@DB:5432/x") == database_fingerprint(
        "postgresql+psycopg2://b:2@db:5432/x"
    )
    assert database_fingerprint("postgresql://a@db:5432/x") != database_fingerprint(
        "postgresql://a@db:5432/y"
    )
    assert database_fingerprint("postgresql://a@db:5432/x") != database_fingerprint(
        "postgresql://a@db2:5432/x"
    )
    monkeypatch.chdir(tmp_path)
    assert database_fingerprint("sqlite:///var/t.db") == database_fingerprint(
        f"sqlite:///{tmp_path / 'var' / 't.db'}"
    )
