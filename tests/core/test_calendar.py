"""Office hours and working days in the institution's time zone, holidays included."""

from __future__ import annotations

import datetime as dt

from layanwarga import calendar
from layanwarga.config import get_institution
from layanwarga.formatting import format_datetime, office_hours_lines

INST = get_institution()
WIB = dt.timezone(dt.timedelta(hours=7))


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=WIB)


def test_open_on_a_weekday_morning_in_local_time() -> None:
    # 02:00 UTC is 09:00 in Palangka Raya (WIB).
    status = calendar.office_status(INST, dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc))
    assert status.is_open
    assert status.closes_at.time() == dt.time(16, 0)


def test_closed_in_the_evening_opens_next_morning() -> None:
    status = calendar.office_status(INST, at(2026, 11, 23, 19, 30))
    assert not status.is_open
    assert status.next_opening == dt.datetime(2026, 11, 24, 7, 30, tzinfo=INST.timezone)


def test_friday_prayer_break_is_closed() -> None:
    assert not calendar.office_status(INST, at(2026, 11, 27, 12, 0)).is_open
    assert calendar.office_status(INST, at(2026, 11, 27, 14, 0)).is_open


def test_weekend_reopens_on_monday() -> None:
    status = calendar.office_status(INST, at(2026, 11, 28, 10, 0))
    assert not status.is_open
    assert status.next_opening.date() == dt.date(2026, 11, 30)


def test_national_holiday_is_closed_and_named() -> None:
    status = calendar.office_status(INST, at(2026, 12, 25, 9, 0))
    assert not status.is_open
    assert status.holiday == "Kelahiran Yesus Kristus"


def test_local_holiday_from_configuration_is_closed() -> None:
    status = calendar.office_status(INST, at(2026, 12, 31, 9, 0))
    assert not status.is_open
    assert status.holiday == "Cuti bersama pemerintah kota"


def test_working_days_skip_weekends_and_holidays() -> None:
    # Wednesday 23 Dec 2026 + 3 working days: 24 Dec is cuti bersama, 25 Dec Christmas,
    # the weekend follows, so Mon 28, Tue 29, Wed 30 December.
    assert calendar.add_working_days(INST, dt.date(2026, 12, 23), 3) == dt.date(2026, 12, 30)


def test_hours_are_summarised_in_indonesian() -> None:
    assert office_hours_lines(INST) == [
        "Senin–Kamis: 07.30–16.00",
        "Jumat: 07.30–11.30, 13.30–16.30",
        "Sabtu–Minggu: tutup",
    ]
    assert format_datetime(dt.datetime(2026, 11, 24, 7, 30)) == "Selasa, 24 November 2026 pukul 07.30"
