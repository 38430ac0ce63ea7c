"""Reading single values of the institution configuration, each mistake naming its key.

Shared by ``layanwarga.config`` (the file as a whole) and ``layanwarga.units`` (a city's
organisation tree, whose units carry the same kinds of settings: office hours, closures, texts).
``path`` is always where the value sits in the file (``units.children[0].office_hours``), so an
operator reads which key to fix.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Dict, Mapping, Optional, Tuple

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

OfficeHours = Dict[str, Tuple[Tuple[dt.time, dt.time], ...]]


class ConfigError(ValueError):
    """The institution configuration is invalid; the message names the offending key."""


def require(mapping: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{path}: expected a mapping, got {type(mapping).__name__}")
    if key not in mapping or mapping[key] in (None, ""):
        raise ConfigError(f"{path}.{key}: missing")
    return mapping[key]


def text(mapping: Mapping[str, Any], key: str, path: str, default: Optional[str] = None) -> str:
    if default is not None and mapping.get(key) in (None, ""):
        return default
    value = require(mapping, key, path)
    if not isinstance(value, (str, int, float)):
        raise ConfigError(f"{path}.{key}: expected text, got {type(value).__name__}")
    return str(value).strip()


def whole_number(mapping: Mapping[str, Any], key: str, path: str, minimum: int = 0) -> int:
    value = require(mapping, key, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{path}.{key}: expected a whole number >= {minimum}, got {value!r}")
    return value


def text_list(mapping: Mapping[str, Any], key: str, path: str) -> Tuple[str, ...]:
    value = require(mapping, key, path)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}.{key}: expected a non-empty list of texts")
    return tuple(v.strip() for v in value)


def optional_float(mapping: Mapping[str, Any], key: str, path: str) -> Optional[float]:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}.{key}: expected a number, got {value!r}")
    return float(value)


def parse_hours(raw: Any, path: str = "office_hours") -> OfficeHours:
    """Weekday -> sorted, non-overlapping time ranges (``07:30-16:00``); absent days are closed."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping of weekday to time ranges")
    hours: OfficeHours = {}
    for day, ranges in raw.items():
        where = f"{path}.{day}"
        if day not in WEEKDAYS:
            raise ConfigError(f"{where}: unknown weekday (use {', '.join(WEEKDAYS)})")
        if ranges in (None, []):
            continue
        if isinstance(ranges, str):
            ranges = [ranges]
        parsed = []
        for item in ranges:
            match = _RANGE_RE.match(str(item))
            if not match:
                raise ConfigError(f"{where}: {item!r} is not a range like 07:30-16:00")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            try:
                start, end = dt.time(h1, m1), dt.time(h2, m2)
            except ValueError as exc:
                raise ConfigError(f"{where}: {item!r}: {exc}") from None
            if start >= end:
                raise ConfigError(f"{where}: {item!r} ends before it starts")
            parsed.append((start, end))
        parsed.sort()
        for (_, end), (start, _) in zip(parsed, parsed[1:]):
            if start < end:
                raise ConfigError(f"{where}: time ranges overlap")
        hours[day] = tuple(parsed)
    return hours


def parse_holidays(raw: Any, path: str = "holidays") -> Dict[dt.date, str]:
    """``YYYY-MM-DD: name`` closures (local holidays, office closures)."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping of YYYY-MM-DD to a name")
    holidays = {}
    for key, name in raw.items():
        try:
            day = key if isinstance(key, dt.date) else dt.date.fromisoformat(str(key))
        except ValueError:
            raise ConfigError(f"{path}.{key}: not a date in YYYY-MM-DD form") from None
        holidays[day] = str(name or "Hari libur")
    return holidays
