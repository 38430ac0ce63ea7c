"""Times as staff read them: the institution's time zone (``institution.timezone`` in
instansi.yml), named wherever a bare timestamp is written (CSV exports), never UTC."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from layanwarga.config import Institution


def local(inst: Institution, value: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """A naive-UTC database timestamp in the institution's time zone."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).astimezone(inst.timezone)


def zone_name(inst: Institution, at: Optional[dt.datetime] = None) -> str:
    """``WIB (UTC+07:00)``: the zone's abbreviation and offset (Indonesia has no daylight saving
    time, so one offset holds for every timestamp of a deployment)."""
    moment = (at or dt.datetime.now(dt.timezone.utc)).astimezone(inst.timezone)
    offset = moment.strftime("%z")
    return f"{moment.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def column(inst: Institution, name: str) -> str:
    """A CSV column header for local times: ``dibuat (WIB, UTC+07:00)``."""
    return f"{name} ({zone_name(inst).replace(' (', ', ').rstrip(')')})"


def text(inst: Institution, value: Optional[dt.datetime]) -> str:
    """``2026-11-23 09:00:00`` in local time, or empty."""
    moment = local(inst, value)
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def local_date(inst: Institution, value: dt.datetime) -> dt.date:
    moment = local(inst, value)
    assert moment is not None
    return moment.date()
