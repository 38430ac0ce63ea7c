"""Indonesian formatting of dates, times and office hours for citizens and staff."""

from __future__ import annotations

import datetime as dt
from typing import List, Sequence, Tuple

from .config import Institution
from .config_values import WEEKDAYS

DAY_NAMES = {
    "monday": "Senin",
    "tuesday": "Selasa",
    "wednesday": "Rabu",
    "thursday": "Kamis",
    "friday": "Jumat",
    "saturday": "Sabtu",
    "sunday": "Minggu",
}
MONTH_NAMES = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def format_time(value: dt.time) -> str:
    """Indonesian style: 07.30."""
    return f"{value.hour:02d}.{value.minute:02d}"


def format_date(value: dt.date) -> str:
    """``Senin, 23 November 2026``."""
    return f"{DAY_NAMES[WEEKDAYS[value.weekday()]]}, {value.day} {MONTH_NAMES[value.month - 1]} {value.year}"


def format_datetime(value: dt.datetime) -> str:
    """``Senin, 23 November 2026 pukul 07.30``."""
    return f"{format_date(value.date())} pukul {format_time(value.time())}"


def format_when(value: dt.datetime, now: dt.datetime) -> str:
    """A moment as said to someone at ``now`` (both in the institution's time zone): "hari ini
    pukul 07.30", "besok, Selasa, 8 Desember 2026 pukul 07.30", else the full date."""
    days = (value.date() - now.date()).days
    if days == 0:
        return f"hari ini pukul {format_time(value.time())}"
    if days == 1:
        return f"besok, {format_datetime(value)}"
    return format_datetime(value)


def photo_of(requirement: str) -> str:
    """How to ask for a document's photo in a sentence: "Foto KTP pemohon" -> "foto KTP pemohon",
    "Surat pengantar RT/RW" -> "foto surat pengantar RT/RW" (never "foto Foto …")."""
    text = " ".join(requirement.split())
    first = text.split(" ", 1)[0]
    if not first.isupper():
        text = text[0].lower() + text[1:]
    return text if text.lower().startswith("foto ") else f"foto {text}"


def join_words(items: Sequence[str]) -> str:
    """ "a", "a dan b", "a, b, dan c"."""
    items = [i for i in items if i]
    if len(items) <= 2:
        return " dan ".join(items)
    return f"{', '.join(items[:-1])}, dan {items[-1]}"


def _format_ranges(ranges: Sequence[Tuple[dt.time, dt.time]]) -> str:
    return ", ".join(f"{format_time(a)}–{format_time(b)}" for a, b in ranges)


def office_hours_lines(inst: Institution) -> List[str]:
    """One line per run of consecutive weekdays sharing the same hours, e.g. ``Senin–Kamis: 07.30–16.00``."""
    lines: List[str] = []
    run: List[str] = []
    for day in WEEKDAYS + (None,):
        hours = inst.office_hours.get(day) if day else None
        if run and (day is None or hours != inst.office_hours.get(run[0])):
            label = DAY_NAMES[run[0]] if len(run) == 1 else f"{DAY_NAMES[run[0]]}–{DAY_NAMES[run[-1]]}"
            ranges = inst.office_hours.get(run[0])
            lines.append(f"{label}: {_format_ranges(ranges) if ranges else 'tutup'}")
            run = []
        if day is not None:
            run.append(day)
    return lines
