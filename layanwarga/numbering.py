"""Ticket and request numbers: ``<PREFIX>-<YYYY>-<NNNNN>``.

Citizens type numbers loosely (``adu 2026 42``, ``ADU202600042``, ``dom/2026/1``); ``normalise``
turns any of these into the canonical form. ``allocate`` hands out the next number of a prefix
and year inside the caller's transaction: the counter row is locked by the UPDATE (PostgreSQL row
lock, SQLite write lock), so concurrent submissions never get the same number; a rolled-back
transaction leaves a gap, which is allowed.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import NumberCounter

COMPLAINT_PREFIX = "ADU"
SEQUENCE_DIGITS = 5

_LOOSE_RE = re.compile(
    r"(?<![A-Za-z])(?P<prefix>[A-Za-z]{2,6})[\s\-_/.#:]*(?P<year>20\d{2})[\s\-_/.#:]*(?P<seq>\d{1,6})(?!\d)"
)


def format_number(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix.upper()}-{year:04d}-{sequence:0{SEQUENCE_DIGITS}d}"


def normalise(text: str, prefixes: Iterable[str]) -> Optional[str]:
    """The first ticket number in ``text`` in canonical form, or None when there is none.

    ``prefixes`` are the known prefixes (``ADU`` and the letter types' prefixes); other letter
    groups followed by digits are not ticket numbers.
    """
    known = {p.upper() for p in prefixes}
    for match in _LOOSE_RE.finditer(text or ""):
        prefix = match.group("prefix").upper()
        if prefix not in known:
            continue
        sequence = int(match.group("seq"))
        if sequence == 0 or sequence >= 10**SEQUENCE_DIGITS:
            continue
        return format_number(prefix, int(match.group("year")), sequence)
    return None


def allocate(session: Session, prefix: str, year: int) -> str:
    """Reserve the next number for ``prefix`` and ``year`` within the session's transaction."""
    prefix = prefix.upper()
    for _ in range(5):
        result = session.execute(
            update(NumberCounter)
            .where(NumberCounter.prefix == prefix, NumberCounter.year == year)
            .values(last_value=NumberCounter.last_value + 1)
        )
        if result.rowcount:
            value = session.execute(
                select(NumberCounter.last_value).where(
                    NumberCounter.prefix == prefix, NumberCounter.year == year
                )
            ).scalar_one()
            return format_number(prefix, year, value)
        try:
            with session.begin_nested():
                session.execute(insert(NumberCounter).values(prefix=prefix, year=year, last_value=1))
            return format_number(prefix, year, 1)
        except IntegrityError:
            # Another transaction created the counter first; take the UPDATE path again.
            continue
    raise RuntimeError(f"could not allocate a number for {prefix}-{year}")
