"""Institution configuration (``instansi.yml``): loading and validation.

Everything that differs between one institution and the next lives in one YAML file. It is
validated when loaded, and every problem names the key that is wrong, so an operator editing the
file for a new kelurahan knows what to fix without reading code.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "instansi.yml"
CONFIG_ENV_VAR = "LAYANWARGA_INSTANSI"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ConfigError(ValueError):
    """The institution configuration is invalid; the message names the offending key."""


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    contact: str = ""


@dataclass(frozen=True)
class ComplaintCategory:
    intent: str
    label: str
    agency: str
    sla_days: int


@dataclass(frozen=True)
class LetterType:
    code: str
    name: str
    short_name: str
    prefix: str
    processing_days: int
    fee: str
    requirements: Tuple[str, ...]
    purposes: Tuple[str, ...]
    pickup: str


@dataclass(frozen=True)
class EmergencyNumber:
    name: str
    number: str


@dataclass(frozen=True)
class SubscriptionTopic:
    """A kind of official information citizens can subscribe to (``subscriptions.topics``)."""

    code: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class SubscriptionArea:
    """A kelurahan an announcement can target (``subscriptions.areas``); ``code`` is a slug."""

    code: str
    name: str


@dataclass(frozen=True)
class AnnouncementTemplate:
    """The approved WhatsApp template announcements go out in (registered with Meta as written).

    ``body`` holds ``{{1}}`` (the topic's label) and ``{{2}}`` (the announcement's text);
    ``footer`` says how to stop; ``stop_button`` is the quick-reply button whose payload is
    ``/berhenti_langganan``. ``image_name`` is the same template with an image header.
    """

    name: str
    language: str
    body: str
    footer: str
    stop_button: str
    image_name: Optional[str] = None


@dataclass(frozen=True)
class SubscriptionSettings:
    topics: Dict[str, SubscriptionTopic]
    areas: Dict[str, SubscriptionArea]
    messages_per_second: float
    template: AnnouncementTemplate


@dataclass(frozen=True)
class Institution:
    name: str
    service_name: str
    city: str
    address: str
    map_url: str
    phone: str
    timezone: ZoneInfo
    latitude: Optional[float]
    longitude: Optional[float]
    region_code: str
    office_hours: Dict[str, Tuple[Tuple[dt.time, dt.time], ...]]
    holidays: Dict[dt.date, str]
    emergency_numbers: Tuple[EmergencyNumber, ...]
    agencies: Dict[str, Agency]
    verification_days: int
    default_followup_days: int
    complaint_categories: Dict[str, ComplaintCategory]
    letters: Dict[str, LetterType]
    media_retention_days: int = 730
    conversation_retention_days: int = 365
    # How long a citizen waits for an officer (office time) before the assistant takes over again.
    handoff_wait_minutes: int = 30
    subscriptions: Optional[SubscriptionSettings] = None
    source: Path = field(compare=False, default=DEFAULT_CONFIG_PATH)

    def emergency_list(self) -> str:
        """The emergency numbers as the citizen reads them, one per line."""
        return "\n".join(f"☎️ {n.name}: *{n.number}*" for n in self.emergency_numbers)

    def agency_for(self, intent: str) -> Agency:
        """The agency a complaint of this category is routed to."""
        category = self.complaint_categories[intent]
        return self.agencies[category.agency]

    def letter_by_prefix(self, prefix: str) -> Optional[LetterType]:
        for letter in self.letters.values():
            if letter.prefix == prefix.upper():
                return letter
        return None


def _require(mapping: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{path}: expected a mapping, got {type(mapping).__name__}")
    if key not in mapping or mapping[key] in (None, ""):
        raise ConfigError(f"{path}.{key}: missing")
    return mapping[key]


def _str(mapping: Mapping[str, Any], key: str, path: str, default: Optional[str] = None) -> str:
    if default is not None and mapping.get(key) in (None, ""):
        return default
    value = _require(mapping, key, path)
    if not isinstance(value, (str, int, float)):
        raise ConfigError(f"{path}.{key}: expected text, got {type(value).__name__}")
    return str(value).strip()


def _int(mapping: Mapping[str, Any], key: str, path: str, minimum: int = 0) -> int:
    value = _require(mapping, key, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{path}.{key}: expected a whole number >= {minimum}, got {value!r}")
    return value


def _str_list(mapping: Mapping[str, Any], key: str, path: str) -> Tuple[str, ...]:
    value = _require(mapping, key, path)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}.{key}: expected a non-empty list of texts")
    return tuple(v.strip() for v in value)


def _optional_float(mapping: Mapping[str, Any], key: str, path: str) -> Optional[float]:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}.{key}: expected a number, got {value!r}")
    return float(value)


def _parse_hours(raw: Any) -> Dict[str, Tuple[Tuple[dt.time, dt.time], ...]]:
    if not isinstance(raw, Mapping):
        raise ConfigError("office_hours: expected a mapping of weekday to time ranges")
    hours: Dict[str, Tuple[Tuple[dt.time, dt.time], ...]] = {}
    for day, ranges in raw.items():
        path = f"office_hours.{day}"
        if day not in WEEKDAYS:
            raise ConfigError(f"{path}: unknown weekday (use {', '.join(WEEKDAYS)})")
        if ranges in (None, []):
            continue
        if isinstance(ranges, str):
            ranges = [ranges]
        parsed = []
        for item in ranges:
            match = _RANGE_RE.match(str(item))
            if not match:
                raise ConfigError(f"{path}: {item!r} is not a range like 07:30-16:00")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            try:
                start, end = dt.time(h1, m1), dt.time(h2, m2)
            except ValueError as exc:
                raise ConfigError(f"{path}: {item!r}: {exc}") from None
            if start >= end:
                raise ConfigError(f"{path}: {item!r} ends before it starts")
            parsed.append((start, end))
        parsed.sort()
        for (_, end), (start, _) in zip(parsed, parsed[1:]):
            if start < end:
                raise ConfigError(f"{path}: time ranges overlap")
        hours[day] = tuple(parsed)
    return hours


def _parse_holidays(raw: Any) -> Dict[dt.date, str]:
    if raw in (None, {}):
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError("holidays: expected a mapping of YYYY-MM-DD to a name")
    holidays = {}
    for key, name in raw.items():
        try:
            day = key if isinstance(key, dt.date) else dt.date.fromisoformat(str(key))
        except ValueError:
            raise ConfigError(f"holidays.{key}: not a date in YYYY-MM-DD form") from None
        holidays[day] = str(name or "Hari libur")
    return holidays


_TOPIC_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
_PLACEHOLDER_RE = re.compile(r"{{\s*(\w+)\s*}}")
# WhatsApp's limits: list row title 24 and description 72, template footer 60, quick-reply
# button text 25, template body 1024 characters; throughput at most 1,000 messages/s.
_ROW_TITLE, _ROW_DESCRIPTION, _FOOTER, _BUTTON, _BODY = 24, 72, 60, 25, 1024
MAX_MESSAGES_PER_SECOND = 1000


def area_code(name: str) -> str:
    """The slug of a kelurahan name: ``Pahandut Seberang`` -> ``pahandut-seberang``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _parse_subscriptions(raw: Any) -> Optional[SubscriptionSettings]:
    if raw in (None, {}):
        return None
    path = "subscriptions"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping (topics, areas, messages_per_second, template)")
    unknown = set(raw) - {"topics", "areas", "messages_per_second", "template"}
    if unknown:
        raise ConfigError(f"{path}.{sorted(unknown)[0]}: unknown key (use topics, areas, messages_per_second, template)")

    topics_raw = _require(raw, "topics", path)
    if not isinstance(topics_raw, Mapping) or not topics_raw:
        raise ConfigError(f"{path}.topics: expected a mapping of topic code to {{label, description}}")
    topics: Dict[str, SubscriptionTopic] = {}
    for code, entry in topics_raw.items():
        where = f"{path}.topics.{code}"
        if not isinstance(code, str) or not _TOPIC_CODE_RE.match(code):
            raise ConfigError(f"{where}: a topic code is 2-40 lowercase letters, digits or _ (starting with a letter)")
        if isinstance(entry, str):
            entry = {"label": entry}
        label = _str(entry, "label", where)
        if len(label) > _ROW_TITLE:
            raise ConfigError(f"{where}.label: at most {_ROW_TITLE} characters (a WhatsApp list row), got {len(label)}")
        description = _str(entry, "description", where, default="-")
        description = "" if description == "-" else description
        if len(description) > _ROW_DESCRIPTION:
            raise ConfigError(f"{where}.description: at most {_ROW_DESCRIPTION} characters, got {len(description)}")
        topics[code] = SubscriptionTopic(code=code, label=label, description=description)

    areas_raw = raw.get("areas") or []
    if not isinstance(areas_raw, list) or not all(isinstance(a, str) and a.strip() for a in areas_raw):
        raise ConfigError(f"{path}.areas: expected a list of kelurahan names")
    areas: Dict[str, SubscriptionArea] = {}
    for index, name in enumerate(areas_raw):
        name = " ".join(name.split())
        code = area_code(name)
        if len(name) > _ROW_TITLE:
            raise ConfigError(f"{path}.areas[{index}]: {name!r} is longer than {_ROW_TITLE} characters (a WhatsApp list row)")
        if not code or code == "semua" or code in areas:
            raise ConfigError(f"{path}.areas[{index}]: {name!r} is empty, reserved or listed twice")
        areas[code] = SubscriptionArea(code=code, name=name)

    rate = _require(raw, "messages_per_second", path)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= MAX_MESSAGES_PER_SECOND:
        raise ConfigError(f"{path}.messages_per_second: expected a number above 0 and at most {MAX_MESSAGES_PER_SECOND}, got {rate!r}")

    template_raw = _require(raw, "template", path)
    where = f"{path}.template"
    name = _str(template_raw, "name", where)
    if not _TEMPLATE_NAME_RE.match(name):
        raise ConfigError(f"{where}.name: {name!r} is not a WhatsApp template name (lowercase letters, digits, _)")
    image_name = _str(template_raw, "image_name", where, default="-")
    if image_name != "-" and not _TEMPLATE_NAME_RE.match(image_name):
        raise ConfigError(f"{where}.image_name: {image_name!r} is not a WhatsApp template name (lowercase letters, digits, _)")
    body = str(_require(template_raw, "body", where))
    placeholders = sorted(set(_PLACEHOLDER_RE.findall(body)))
    if placeholders != ["1", "2"]:
        raise ConfigError(f"{where}.body: must hold {{{{1}}}} (the topic) and {{{{2}}}} (the text) and nothing else, found {placeholders}")
    if len(body) > _BODY // 2:
        raise ConfigError(f"{where}.body: keep the fixed text short (at most {_BODY // 2} characters) to leave room for announcements")
    footer = _str(template_raw, "footer", where)
    if len(footer) > _FOOTER:
        raise ConfigError(f"{where}.footer: at most {_FOOTER} characters (WhatsApp template footer), got {len(footer)}")
    stop_button = _str(template_raw, "stop_button", where)
    if len(stop_button) > _BUTTON:
        raise ConfigError(f"{where}.stop_button: at most {_BUTTON} characters (WhatsApp button), got {len(stop_button)}")
    template = AnnouncementTemplate(
        name=name,
        language=_str(template_raw, "language", where, default="id"),
        body=body.strip(),
        footer=footer,
        stop_button=stop_button,
        image_name=None if image_name == "-" else image_name,
    )
    return SubscriptionSettings(topics=topics, areas=areas, messages_per_second=float(rate), template=template)


def _parse(raw: Mapping[str, Any], source: Path) -> Institution:
    if not isinstance(raw, Mapping):
        raise ConfigError("the file must hold a mapping at its top level")
    inst = _require(raw, "institution", "<root>")
    tz_name = _str(inst, "timezone", "institution", default="Asia/Jakarta")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"institution.timezone: unknown time zone {tz_name!r}") from None

    agencies_raw = _require(raw, "agencies", "<root>")
    if not isinstance(agencies_raw, Mapping):
        raise ConfigError("agencies: expected a mapping of code to agency")
    agencies = {
        str(code): Agency(
            code=str(code),
            name=_str(entry, "name", f"agencies.{code}"),
            contact=_str(entry, "contact", f"agencies.{code}", default=""),
        )
        for code, entry in agencies_raw.items()
    }

    sla = raw.get("sla") or {}
    categories_raw = _require(raw, "complaint_categories", "<root>")
    if not isinstance(categories_raw, Mapping):
        raise ConfigError("complaint_categories: expected a mapping of intent to category")
    categories = {}
    for intent, entry in categories_raw.items():
        path = f"complaint_categories.{intent}"
        agency = _str(entry, "agency", path)
        if agency not in agencies:
            raise ConfigError(f"{path}.agency: {agency!r} is not one of agencies ({', '.join(agencies)})")
        categories[str(intent)] = ComplaintCategory(
            intent=str(intent),
            label=_str(entry, "label", path),
            agency=agency,
            sla_days=_int(entry, "sla_days", path, minimum=1),
        )

    letters_raw = _require(raw, "letters", "<root>")
    if not isinstance(letters_raw, Mapping):
        raise ConfigError("letters: expected a mapping of letter code to letter type")
    letters = {}
    for code, entry in letters_raw.items():
        path = f"letters.{code}"
        prefix = _str(entry, "prefix", path).upper()
        if not re.fullmatch(r"[A-Z]{2,6}", prefix) or prefix == "ADU":
            raise ConfigError(f"{path}.prefix: {prefix!r} must be 2-6 letters and not ADU")
        short_name = _str(entry, "short_name", path)
        if len(short_name) > 24:
            raise ConfigError(f"{path}.short_name: at most 24 characters (a WhatsApp list row), got {len(short_name)}")
        letters[str(code)] = LetterType(
            code=str(code),
            name=_str(entry, "name", path),
            short_name=short_name,
            prefix=prefix,
            processing_days=_int(entry, "processing_days", path, minimum=0),
            fee=_str(entry, "fee", path, default="Gratis"),
            requirements=_str_list(entry, "requirements", path),
            purposes=_str_list(entry, "purposes", path),
            pickup=_str(entry, "pickup", path),
        )
    prefixes = [letter.prefix for letter in letters.values()]
    if len(set(prefixes)) != len(prefixes):
        raise ConfigError("letters: two letter types share a prefix")

    retention = raw.get("retention") or {}
    handoff_settings = raw.get("handoff") or {}
    emergency_raw = raw.get("emergency_numbers") or []
    if not isinstance(emergency_raw, list):
        raise ConfigError("emergency_numbers: expected a list of {name, number}")
    emergency = tuple(
        EmergencyNumber(
            name=_str(item, "name", f"emergency_numbers[{i}]"),
            number=_str(item, "number", f"emergency_numbers[{i}]"),
        )
        for i, item in enumerate(emergency_raw)
    )
    if not emergency:
        raise ConfigError("emergency_numbers: at least one number (112) is required")

    return Institution(
        name=_str(inst, "name", "institution"),
        service_name=_str(inst, "service_name", "institution", default=_str(inst, "name", "institution")),
        city=_str(inst, "city", "institution", default=""),
        address=_str(inst, "address", "institution"),
        map_url=_str(inst, "map_url", "institution"),
        phone=_str(inst, "phone", "institution", default=""),
        timezone=timezone,
        latitude=_optional_float(inst, "latitude", "institution"),
        longitude=_optional_float(inst, "longitude", "institution"),
        region_code=_str(inst, "region_code", "institution", default=""),
        office_hours=_parse_hours(_require(raw, "office_hours", "<root>")),
        holidays=_parse_holidays(raw.get("holidays")),
        emergency_numbers=emergency,
        agencies=agencies,
        verification_days=_int(sla, "verification_days", "sla", minimum=1) if sla else 3,
        default_followup_days=_int(sla, "default_followup_days", "sla", minimum=1) if sla else 5,
        complaint_categories=categories,
        letters=letters,
        media_retention_days=_int(retention, "media_days", "retention", minimum=30) if retention else 730,
        conversation_retention_days=(
            _int(retention, "conversation_days", "retention", minimum=30) if retention else 365
        ),
        handoff_wait_minutes=(
            _int(handoff_settings, "wait_minutes", "handoff", minimum=1) if handoff_settings else 30
        ),
        subscriptions=_parse_subscriptions(raw.get("subscriptions")),
        source=source,
    )


def config_path() -> Path:
    """The configuration file in use: ``$LAYANWARGA_INSTANSI`` or ``instansi.yml`` at the root."""
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


def load_institution(path: Optional[Path] = None) -> Institution:
    """Read and validate an institution file; raises ConfigError naming the bad key."""
    source = Path(path) if path else config_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read institution configuration {source}: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from None
    try:
        return _parse(raw, source)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


@lru_cache(maxsize=4)
def _cached(path: str) -> Institution:
    return load_institution(Path(path))


def get_institution() -> Institution:
    """The institution of this deployment, read once per process."""
    return _cached(str(config_path()))


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m layanwarga.config [file]``: validate a configuration file and summarise it."""
    args = sys.argv[1:] if argv is None else argv
    try:
        inst = load_institution(Path(args[0]) if args else None)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 1
    topics = len(inst.subscriptions.topics) if inst.subscriptions else 0
    print(
        f"OK: {inst.name} ({inst.city}), {len(inst.agencies)} agencies, "
        f"{len(inst.complaint_categories)} complaint categories, {len(inst.letters)} letter types, "
        f"{topics} subscription topics"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
