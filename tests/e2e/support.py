"""Helpers for end-to-end tests: sample photos, fresh phone numbers, database look-ups."""

from __future__ import annotations

import io
import itertools
import sqlite3
from pathlib import Path
from typing import Iterator, List, Optional

from PIL import Image, ImageDraw
from sqlalchemy import select

from layanwarga.db import session_scope
from layanwarga.models import Citizen, Media, MessageStatus, ProcessedMessage, Ticket

_numbers: Iterator[int] = itertools.count(1)


def new_phone(prefix: str = "62812770") -> str:
    """A phone number no other test of this session uses (each test is a different citizen)."""
    return f"{prefix}{next(_numbers):05d}"


def photo(label: str = "jalan rusak", color: tuple = (120, 110, 100), size: tuple = (320, 240)) -> bytes:
    """A small real JPEG (the connector checks magic bytes), different per label."""
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(250, 250, 250), width=4)
    draw.text((32, 32), label, fill=(255, 255, 0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def tickets_of(url: str, wa_id: str) -> List[Ticket]:
    with session_scope(url) as session:
        rows = (
            session.execute(
                select(Ticket)
                .join(Citizen, Ticket.citizen_id == Citizen.id)
                .where(Citizen.wa_id == wa_id)
                .order_by(Ticket.id)
            )
            .scalars()
            .all()
        )
        for ticket in rows:
            _ = list(ticket.media), ticket.citizen  # load while the session is open
        return list(rows)


def citizen(url: str, wa_id: str) -> Optional[Citizen]:
    with session_scope(url) as session:
        return session.execute(select(Citizen).where(Citizen.wa_id == wa_id)).scalars().first()


def media_rows(url: str, ticket_id: int) -> List[Media]:
    with session_scope(url) as session:
        return list(
            session.execute(select(Media).where(Media.ticket_id == ticket_id).order_by(Media.id)).scalars()
        )


def processed_ids(url: str, message_id: str) -> List[str]:
    with session_scope(url) as session:
        return list(
            session.execute(
                select(ProcessedMessage.message_id).where(ProcessedMessage.message_id.like(f"{message_id}|%"))
            ).scalars()
        )


def message_status(url: str, message_id: str) -> Optional[str]:
    with session_scope(url) as session:
        row = session.get(MessageStatus, message_id)
        return row.status if row else None


def raw_sqlite_contains(path: Path, needle: str) -> bool:
    """Whether any text column of a SQLite database holds ``needle`` (personal-data checks)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                if any(isinstance(value, str) and needle in value for value in row):
                    return True
        return False
    finally:
        connection.close()
