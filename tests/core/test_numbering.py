"""Ticket numbers: canonical format, loose citizen input, and no duplicates under concurrency."""

from __future__ import annotations

import threading

import pytest

from layanwarga import db, numbering

PREFIXES = ["ADU", "SKTM", "SKU", "DOM"]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("ADU-2026-00042", "ADU-2026-00042"),
        ("adu 2026 42", "ADU-2026-00042"),
        ("ADU202600042", "ADU-2026-00042"),
        ("adu-2026-42", "ADU-2026-00042"),
        ("status sktm 2026 7 gmn min", "SKTM-2026-00007"),
        ("dom/2026/00001", "DOM-2026-00001"),
        ("no tiket sy SKU.2025.113 ya", "SKU-2025-00113"),
    ],
)
def test_loose_numbers_are_normalised(typed: str, expected: str) -> None:
    assert numbering.normalise(typed, PREFIXES) == expected


@pytest.mark.parametrize(
    "typed", ["", "rt 2026 05", "ADU-2026-0", "tolong cek laporan saya", "ADU-2026-123456"]
)
def test_text_without_a_valid_number_gives_none(typed: str) -> None:
    assert numbering.normalise(typed, PREFIXES) is None


def test_numbers_count_per_prefix_and_year(db_url: str) -> None:
    with db.session_scope(write=True) as session:
        first = numbering.allocate(session, "ADU", 2026)
        second = numbering.allocate(session, "ADU", 2026)
        other = numbering.allocate(session, "SKTM", 2026)
        next_year = numbering.allocate(session, "ADU", 2027)
    assert (first, second, other, next_year) == (
        "ADU-2026-00001",
        "ADU-2026-00002",
        "SKTM-2026-00001",
        "ADU-2027-00001",
    )


def test_concurrent_allocation_never_duplicates(db_url: str) -> None:
    numbers: list = []
    errors: list = []

    def worker() -> None:
        try:
            for _ in range(10):
                with db.session_scope(write=True) as session:
                    numbers.append(numbering.allocate(session, "ADU", 2026))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(numbers) == 60
    assert len(set(numbers)) == 60
