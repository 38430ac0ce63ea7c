"""Identifiers are encrypted at rest, readable through the models, and keys can be rotated."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from layanwarga import crypto, db, tickets
from layanwarga.config import get_institution
from layanwarga.crypto import rotation
from layanwarga.models import DataRequest, Ticket

INST = get_institution()


def submit() -> None:
    tickets.submit_letter_request(
        INST,
        tickets.LetterDraft(
            letter_type="sktm",
            sender="6281234567890",
            idempotency_key="k",
            applicant_name="Siti",
            applicant_nik="6271024507850003",
            applicant_address="Jl. A RT 1 RW 2",
            applicant_phone="+6281234567890",
            purpose="Berobat",
        ),
        now=dt.datetime(2026, 11, 23, 2, tzinfo=dt.timezone.utc),
    )


def raw_columns() -> tuple:
    with db.get_engine().connect() as conn:
        return conn.execute(text("SELECT applicant_nik, applicant_phone FROM tickets")).one()


def test_nik_and_phone_are_stored_encrypted(db_url: str) -> None:
    submit()
    nik, phone = raw_columns()
    assert nik.startswith(crypto.PREFIX) and "6271024507850003" not in nik
    assert phone.startswith(crypto.PREFIX) and "6281234567890" not in phone
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.applicant_nik, ticket.applicant_phone) == ("6271024507850003", "+6281234567890")


def test_rotation_re_encrypts_with_the_new_key(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    old = crypto.configured_keys()[0]
    submit()
    before, _ = raw_columns()
    new = Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.KEYS_ENV, f"{new},{old}")
    assert rotation.rotate() == 2
    after, _ = raw_columns()
    assert after != before
    monkeypatch.setenv(crypto.KEYS_ENV, new)
    with db.session_scope() as session:
        assert session.execute(select(Ticket)).scalar_one().applicant_nik == "6271024507850003"


def test_a_value_stored_before_encryption_is_still_read(db_url: str) -> None:
    submit()
    with db.get_engine().begin() as conn:
        conn.execute(text("UPDATE tickets SET applicant_nik = '6271024507850003'"))
    with db.session_scope() as session:
        assert session.execute(select(Ticket)).scalar_one().applicant_nik == "6271024507850003"


def test_a_wrong_key_fails_loudly(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    submit()
    monkeypatch.setenv(crypto.KEYS_ENV, Fernet.generate_key().decode())
    with pytest.raises(crypto.DataKeyError):
        with db.session_scope() as session:
            session.execute(select(Ticket)).scalar_one()


def test_rotation_re_encrypts_the_spools_of_this_machine(
    db_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from layanwarga import pending
    from layanwarga.spool import Spool

    monkeypatch.setenv("LAYANWARGA_SPOOL_DIR", str(tmp_path / "spool"))
    messages = Spool(tmp_path / "spool")  # the connector's folder
    messages.put("6281234567890", {"text": "halo"})
    pending.spool().put("6281234567890", {"kind": "aduan", "draft": {}})
    old, new = crypto.configured_keys()[0], Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.KEYS_ENV, f"{new},{old}")
    assert rotation.main(["rotate"]) == 0
    monkeypatch.setenv(crypto.KEYS_ENV, new)
    assert len(messages.entries()) == 1 and len(pending.spool().entries()) == 1


def test_rotation_re_encrypts_the_identities_of_a_pending_erasure(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from layanwarga import privacy

    privacy.erase("6281234567890")
    old, new = crypto.configured_keys()[0], Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.KEYS_ENV, f"{new},{old}")
    assert rotation.rotate() == 1
    monkeypatch.setenv(crypto.KEYS_ENV, new)
    with db.session_scope() as session:
        assert session.execute(select(DataRequest.sender_pending)).scalar_one() == "6281234567890"


def test_the_documented_command_makes_a_new_key() -> None:
    """``python -m layanwarga.crypto generate-key`` (README, SECURITY.md) runs the package's CLI."""
    done = subprocess.run(
        [sys.executable, "-m", "layanwarga.crypto", "generate-key"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    Fernet(done.stdout.strip().encode())  # a valid key, or ValueError
