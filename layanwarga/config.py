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

from .catalogue import Agency, LetterType, Upt
from .config_values import (  # WEEKDAYS and ConfigError are imported from here by other modules
    ConfigError,
    optional_float,
    parse_holidays,
    parse_hours,
    require,
    text,
    text_list,
    whole_number,
)
from .public_settings import PublicSettings, parse_public_settings
from .units import (
    KIND_LEVEL,
    VILLAGE_LEVEL,
    UnitSettings,
    UnitTree,
    build_tree,
    normalize_code,
    parse_signing_official,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "instansi.yml"
CONFIG_ENV_VAR = "LAYANWARGA_INSTANSI"


@dataclass(frozen=True)
class ComplaintCategory:
    intent: str
    label: str
    agency: str
    sla_days: int
    # Open reports of this category within this many metres of a new report's pin are offered
    # to follow (``layanwarga.nearby``); 0: never offered (a person or an office, not a place).
    nearby_radius_m: int = 0


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
    # The organisation tree (layanwarga.units): one unit, the institution, when the file has none.
    units: UnitTree = field(compare=False)
    media_retention_days: int = 730
    conversation_retention_days: int = 365
    # How long a citizen waits for an officer (office time) before the assistant takes over again.
    handoff_wait_minutes: int = 30
    subscriptions: Optional[SubscriptionSettings] = None
    public: PublicSettings = field(default_factory=PublicSettings)
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
        raise ConfigError(
            f"{path}.{sorted(unknown)[0]}: unknown key (use topics, areas, messages_per_second, template)"
        )

    topics_raw = require(raw, "topics", path)
    if not isinstance(topics_raw, Mapping) or not topics_raw:
        raise ConfigError(f"{path}.topics: expected a mapping of topic code to {{label, description}}")
    topics: Dict[str, SubscriptionTopic] = {}
    for code, entry in topics_raw.items():
        where = f"{path}.topics.{code}"
        if not isinstance(code, str) or not _TOPIC_CODE_RE.match(code):
            raise ConfigError(
                f"{where}: a topic code is 2-40 lowercase letters, digits or _ (starting with a letter)"
            )
        if isinstance(entry, str):
            entry = {"label": entry}
        label = text(entry, "label", where)
        if len(label) > _ROW_TITLE:
            raise ConfigError(
                f"{where}.label: at most {_ROW_TITLE} characters (a WhatsApp list row), got {len(label)}"
            )
        description = text(entry, "description", where, default="-")
        description = "" if description == "-" else description
        if len(description) > _ROW_DESCRIPTION:
            raise ConfigError(
                f"{where}.description: at most {_ROW_DESCRIPTION} characters, got {len(description)}"
            )
        topics[code] = SubscriptionTopic(code=code, label=label, description=description)

    areas_raw = raw.get("areas") or []
    if not isinstance(areas_raw, list) or not all(isinstance(a, str) and a.strip() for a in areas_raw):
        raise ConfigError(f"{path}.areas: expected a list of kelurahan names")
    areas: Dict[str, SubscriptionArea] = {}
    for index, name in enumerate(areas_raw):
        name = " ".join(name.split())
        code = area_code(name)
        if len(name) > _ROW_TITLE:
            raise ConfigError(
                f"{path}.areas[{index}]: {name!r} is longer than {_ROW_TITLE} characters (a WhatsApp list row)"
            )
        if not code or code == "semua" or code in areas:
            raise ConfigError(f"{path}.areas[{index}]: {name!r} is empty, reserved or listed twice")
        areas[code] = SubscriptionArea(code=code, name=name)

    rate = require(raw, "messages_per_second", path)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not 0 < rate <= MAX_MESSAGES_PER_SECOND
    ):
        raise ConfigError(
            f"{path}.messages_per_second: expected a number above 0 and at most {MAX_MESSAGES_PER_SECOND}, got {rate!r}"
        )

    template_raw = require(raw, "template", path)
    where = f"{path}.template"
    name = text(template_raw, "name", where)
    if not _TEMPLATE_NAME_RE.match(name):
        raise ConfigError(
            f"{where}.name: {name!r} is not a WhatsApp template name (lowercase letters, digits, _)"
        )
    image_name = text(template_raw, "image_name", where, default="-")
    if image_name != "-" and not _TEMPLATE_NAME_RE.match(image_name):
        raise ConfigError(
            f"{where}.image_name: {image_name!r} is not a WhatsApp template name (lowercase letters, digits, _)"
        )
    body = str(require(template_raw, "body", where))
    placeholders = sorted(set(_PLACEHOLDER_RE.findall(body)))
    if placeholders != ["1", "2"]:
        raise ConfigError(
            f"{where}.body: must hold {{{{1}}}} (the topic) and {{{{2}}}} (the text) and nothing else, found {placeholders}"
        )
    if len(body) > _BODY // 2:
        raise ConfigError(
            f"{where}.body: keep the fixed text short (at most {_BODY // 2} characters) to leave room for announcements"
        )
    footer = text(template_raw, "footer", where)
    if len(footer) > _FOOTER:
        raise ConfigError(
            f"{where}.footer: at most {_FOOTER} characters (WhatsApp template footer), got {len(footer)}"
        )
    stop_button = text(template_raw, "stop_button", where)
    if len(stop_button) > _BUTTON:
        raise ConfigError(
            f"{where}.stop_button: at most {_BUTTON} characters (WhatsApp button), got {len(stop_button)}"
        )
    template = AnnouncementTemplate(
        name=name,
        language=text(template_raw, "language", where, default="id"),
        body=body.strip(),
        footer=footer,
        stop_button=stop_button,
        image_name=None if image_name == "-" else image_name,
    )
    return SubscriptionSettings(
        topics=topics, areas=areas, messages_per_second=float(rate), template=template
    )


def _parse_upts(raw: Any, path: str) -> Tuple[Upt, ...]:
    """``agencies.<code>.upt``: field units, each serving kecamatan of the tree (checked there)."""
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: expected a list of field units (name, kecamatan, contact)")
    upts = []
    for index, entry in enumerate(raw):
        where = f"{path}[{index}]"
        unknown = (
            sorted(set(map(str, entry)) - {"name", "kecamatan", "contact"})
            if isinstance(entry, Mapping)
            else []
        )
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}: unknown key (use name, kecamatan, contact)")
        kecamatan = require(entry, "kecamatan", where)
        if isinstance(kecamatan, str):
            kecamatan = [kecamatan]
        if not isinstance(kecamatan, list) or not all(
            isinstance(code, str) and code.strip() for code in kecamatan
        ):
            raise ConfigError(
                f'{where}.kecamatan: expected a kecamatan code or a list of them (in quotes: "62.71.01")'
            )
        upts.append(
            Upt(
                name=text(entry, "name", where),
                kecamatan=tuple(normalize_code(code) for code in kecamatan),
                contact=text(entry, "contact", where, default=""),
            )
        )
    return tuple(upts)


def _parse_issued_by(raw: Any, path: str) -> Tuple[str, ...]:
    if raw in (None, []):
        return ()
    kinds = [raw] if isinstance(raw, str) else raw
    if not isinstance(kinds, list) or not all(isinstance(kind, str) and kind in KIND_LEVEL for kind in kinds):
        raise ConfigError(f"{path}: expected unit kinds among {', '.join(KIND_LEVEL)}, got {raw!r}")
    return tuple(kinds)


def _parse(raw: Mapping[str, Any], source: Path) -> Institution:
    if not isinstance(raw, Mapping):
        raise ConfigError("the file must hold a mapping at its top level")
    inst = require(raw, "institution", "<root>")
    tz_name = text(inst, "timezone", "institution", default="Asia/Jakarta")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"institution.timezone: unknown time zone {tz_name!r}") from None

    agencies_raw = require(raw, "agencies", "<root>")
    if not isinstance(agencies_raw, Mapping):
        raise ConfigError("agencies: expected a mapping of code to agency")
    agencies = {
        str(code): Agency(
            code=str(code),
            name=text(entry, "name", f"agencies.{code}"),
            contact=text(entry, "contact", f"agencies.{code}", default=""),
            upts=_parse_upts(entry.get("upt"), f"agencies.{code}.upt"),
        )
        for code, entry in agencies_raw.items()
    }

    sla = raw.get("sla") or {}
    categories_raw = require(raw, "complaint_categories", "<root>")
    if not isinstance(categories_raw, Mapping):
        raise ConfigError("complaint_categories: expected a mapping of intent to category")
    categories = {}
    for intent, entry in categories_raw.items():
        path = f"complaint_categories.{intent}"
        agency = text(entry, "agency", path)
        if agency not in agencies:
            raise ConfigError(f"{path}.agency: {agency!r} is not one of agencies ({', '.join(agencies)})")
        categories[str(intent)] = ComplaintCategory(
            intent=str(intent),
            label=text(entry, "label", path),
            agency=agency,
            sla_days=whole_number(entry, "sla_days", path, minimum=1),
            nearby_radius_m=whole_number(entry, "nearby_radius_m", path, minimum=0)
            if "nearby_radius_m" in entry
            else 0,
        )

    letters_raw = require(raw, "letters", "<root>")
    if not isinstance(letters_raw, Mapping):
        raise ConfigError("letters: expected a mapping of letter code to letter type")
    letters = {}
    for code, entry in letters_raw.items():
        path = f"letters.{code}"
        prefix = text(entry, "prefix", path).upper()
        if not re.fullmatch(r"[A-Z]{2,6}", prefix) or prefix == "ADU":
            raise ConfigError(f"{path}.prefix: {prefix!r} must be 2-6 letters and not ADU")
        short_name = text(entry, "short_name", path)
        if len(short_name) > 24:
            raise ConfigError(
                f"{path}.short_name: at most 24 characters (a WhatsApp list row), got {len(short_name)}"
            )
        letters[str(code)] = LetterType(
            code=str(code),
            name=text(entry, "name", path),
            short_name=short_name,
            prefix=prefix,
            processing_days=whole_number(entry, "processing_days", path, minimum=0),
            fee=text(entry, "fee", path, default="Gratis"),
            requirements=text_list(entry, "requirements", path),
            purposes=text_list(entry, "purposes", path),
            pickup=text(entry, "pickup", path),
            issued_by=_parse_issued_by(entry.get("issued_by"), f"{path}.issued_by"),
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
            name=text(item, "name", f"emergency_numbers[{i}]"),
            number=text(item, "number", f"emergency_numbers[{i}]"),
        )
        for i, item in enumerate(emergency_raw)
    )
    if not emergency:
        raise ConfigError("emergency_numbers: at least one number (112) is required")

    name = text(inst, "name", "institution")
    base = UnitSettings(
        address=text(inst, "address", "institution"),
        map_url=text(inst, "map_url", "institution"),
        latitude=optional_float(inst, "latitude", "institution"),
        longitude=optional_float(inst, "longitude", "institution"),
        phone=text(inst, "phone", "institution", default=""),
        office_hours=parse_hours(require(raw, "office_hours", "<root>")),
        holidays=parse_holidays(raw.get("holidays")),
        letters=letters,
        signing_official=parse_signing_official(inst.get("signing_official"), "institution.signing_official"),
    )
    region_code = text(inst, "region_code", "institution", default="")
    units = build_tree(
        raw.get("units"),
        base=base,
        institution_name=name,
        region_code=region_code,
        agencies=agencies,
        source=source,
    )

    return Institution(
        name=name,
        service_name=text(inst, "service_name", "institution", default=name),
        city=text(inst, "city", "institution", default=""),
        address=base.address,
        map_url=base.map_url,
        phone=base.phone,
        timezone=timezone,
        latitude=base.latitude,
        longitude=base.longitude,
        region_code=region_code or units.root.code,
        office_hours=base.office_hours,
        holidays=dict(base.holidays),
        emergency_numbers=emergency,
        agencies=agencies,
        verification_days=whole_number(sla, "verification_days", "sla", minimum=1) if sla else 3,
        default_followup_days=whole_number(sla, "default_followup_days", "sla", minimum=1) if sla else 5,
        complaint_categories=categories,
        letters=letters,
        units=units,
        media_retention_days=whole_number(retention, "media_days", "retention", minimum=30)
        if retention
        else 730,
        conversation_retention_days=(
            whole_number(retention, "conversation_days", "retention", minimum=30) if retention else 365
        ),
        handoff_wait_minutes=(
            whole_number(handoff_settings, "wait_minutes", "handoff", minimum=1) if handoff_settings else 30
        ),
        subscriptions=_parse_subscriptions(raw.get("subscriptions")),
        public=parse_public_settings(raw.get("publik")),
        source=source,
    )


def config_path() -> Path:
    """The configuration file in use: ``$LAYANWARGA_INSTANSI`` or ``instansi.yml`` at the root."""
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


def load_institution(path: Optional[Path] = None) -> Institution:
    """Read and validate an institution file; raises ConfigError naming the bad key."""
    source = Path(path) if path else config_path()
    try:
        content = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read institution configuration {source}: {exc}") from None
    try:
        raw = yaml.safe_load(content)
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
    tree = inst.units
    if not tree.single:
        kinds: Dict[str, int] = {}
        for unit in tree:
            kinds[unit.kind] = kinds.get(unit.kind, 0) + 1
        print(
            f"Units: {tree.root.title} ({tree.root.code}), "
            + ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        )
        villages = [unit for unit in tree if unit.level == VILLAGE_LEVEL]
        if tree.boundaries is None:
            print("Boundaries: none (location pins go to triage)")
        else:
            missing = [unit.title for unit in villages if unit.code not in tree.boundaries]
            print(
                f"Boundaries: {len(villages) - len(missing)} of {len(villages)} kelurahan/desa in {tree.boundaries.source}"
                + (f"; without a boundary (their pins go to triage): {', '.join(missing)}" if missing else "")
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
