"""Where a request belongs in a city's organisation tree, and the institution as a unit sees it.

The rules, once, for the action server, the dashboard and scripts (issue 21):

1. **Letter requests** go to the applicant's kelurahan: the unit chosen in the conversation,
   else the one the address on the request names (``unit_address``), else, when the citizen
   applies for themself, the unit remembered for them. The sender's phone says nothing about it.
   The nearest unit from there upwards that issues the letter type handles it, with its own
   requirements, processing time, pick-up place, office hours and closures.
2. **Complaints** keep their agency (OPD) by category; the place reported is located from the
   WhatsApp location pin (``unit_boundaries``), else the typed location, else the unit chosen in
   the conversation; when the agency has a field unit (UPT) for that kecamatan, it goes there.
3. **Aspirations** go to the citizen's kelurahan: chosen, else remembered.
4. **Unknown**: the root unit, the city's triage (``unit_source`` ``triase``): never lost.
5. **A single-unit deployment** (no ``units`` in the file) places everything at its one unit
   and looks nothing up: it behaves as it did before the tree existed.

What the columns hold is in ``layanwarga.models.tickets``; ``unit_source`` is one of the
``SOURCE_*`` words below.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from .catalogue import Agency, Upt
from .unit_address import match_address
from .unit_views import institution_for, known_unit, letter_for
from .units import KECAMATAN_LEVEL, VILLAGE_LEVEL, Unit, UnitTree

SOURCE_PIN = "pin"  # a WhatsApp location pin inside a kelurahan boundary
SOURCE_ADDRESS = "alamat"  # a typed address naming the unit
SOURCE_CHOSEN = "pilih"  # the citizen chose or confirmed it in the conversation
SOURCE_REMEMBERED = "warga"  # the unit remembered for the citizen
SOURCE_TRIAGE = "triase"  # not known: the root unit, the city's triage
SOURCE_SINGLE = "tunggal"  # a single-unit deployment

ASPIRATION_CATEGORY = "sampaikan_aspirasi"


@dataclass(frozen=True)
class Placement:
    """Where one request belongs: ``unit`` handles it; ``kelurahan_code``/``kecamatan_code``
    are of the place (complaints) or of the applicant (letters, aspirations); ``upt`` the
    agency's field unit; ``source`` how it was known."""

    unit: Unit
    kelurahan_code: Optional[str]
    kecamatan_code: Optional[str]
    source: str
    upt: Optional[Upt] = None

    @property
    def triage(self) -> bool:
        return self.source == SOURCE_TRIAGE

    def columns(self) -> Dict[str, Any]:
        """The ticket's unit columns (``layanwarga.models.Ticket``)."""
        return {
            "unit_code": self.unit.code or None,
            "kelurahan_code": self.kelurahan_code,
            "kecamatan_code": self.kecamatan_code,
            "upt_name": self.upt.name if self.upt is not None else None,
            "unit_source": self.source,
        }


def _at(tree: UnitTree, unit: Unit, source: str, handler: Optional[Unit] = None) -> Placement:
    kecamatan = tree.kecamatan_of(unit.code)
    return Placement(
        unit=handler or unit,
        kelurahan_code=unit.code if unit.level == VILLAGE_LEVEL else None,
        kecamatan_code=kecamatan.code if kecamatan is not None else None,
        source=source,
    )


def _single(tree: UnitTree) -> Placement:
    """The one unit, with its kelurahan and kecamatan codes when it is a kelurahan (as migration
    0016 gave the tickets stored before)."""
    unit = tree.root
    if unit.level == VILLAGE_LEVEL and unit.code:
        return Placement(unit, unit.code, unit.code.rsplit(".", 1)[0], SOURCE_SINGLE)
    if unit.level == KECAMATAN_LEVEL:
        return Placement(unit, None, unit.code, SOURCE_SINGLE)
    return Placement(unit, None, None, SOURCE_SINGLE)


def _triage(tree: UnitTree) -> Placement:
    return Placement(unit=tree.root, kelurahan_code=None, kecamatan_code=None, source=SOURCE_TRIAGE)


def unit_of_pin(tree: UnitTree, latitude: Optional[float], longitude: Optional[float]) -> Optional[Unit]:
    if latitude is None or longitude is None:
        return None
    return tree.unit_at(latitude, longitude)


def unit_of_text(tree: UnitTree, text: Optional[str]) -> Optional[Unit]:
    """The unit below the root a typed address names, None when unknown or ambiguous."""
    if not text or not text.strip():
        return None
    unit = match_address(tree, text).unit
    return unit if unit is not None and unit.parent is not None else None


def issuing_unit(tree: UnitTree, unit: Unit, letter_code: str) -> Unit:
    """The nearest unit from ``unit`` upwards that issues the letter type; the root when none."""
    for candidate in (unit,) + tree.ancestors(unit.code):
        if letter_code in candidate.settings.letters:
            return candidate
    return tree.root


def place_letter(
    tree: UnitTree,
    letter_code: str,
    *,
    address: Optional[str],
    chosen: Optional[str] = None,
    remembered: Optional[str] = None,
    on_behalf: bool = False,
) -> Placement:
    """Rule 1: the applicant's kelurahan, from the request, not from the sender."""
    if tree.single:
        return _single(tree)
    found: Optional[Tuple[Unit, str]] = None
    unit = known_unit(tree, chosen)
    if unit is not None:
        found = (unit, SOURCE_CHOSEN)
    else:
        unit = unit_of_text(tree, address)
        if unit is not None:
            found = (unit, SOURCE_ADDRESS)
        elif not on_behalf:
            unit = known_unit(tree, remembered)
            if unit is not None:
                found = (unit, SOURCE_REMEMBERED)
    if found is None:
        return _triage(tree)
    unit, source = found
    return _at(tree, unit, source, handler=issuing_unit(tree, unit, letter_code))


def place_complaint(
    tree: UnitTree,
    agency: Optional[Agency],
    *,
    latitude: Optional[float] = None,
    longitude: Optional[float] = None,
    location_text: Optional[str] = None,
    chosen: Optional[str] = None,
) -> Placement:
    """Rule 2: the place reported, and the agency's field unit there."""
    if tree.single:
        return _single(tree)
    candidates = (
        (lambda: unit_of_pin(tree, latitude, longitude), SOURCE_PIN),
        (lambda: unit_of_text(tree, location_text), SOURCE_ADDRESS),
        (lambda: known_unit(tree, chosen), SOURCE_CHOSEN),
    )
    for find, source in candidates:
        unit = find()
        if unit is not None:
            upt = tree.upt_for(agency, unit.code) if agency is not None else None
            return dataclasses.replace(_at(tree, unit, source), upt=upt)
    return _triage(tree)


def upt_name_for(tree: UnitTree, agency: Optional[Agency], kelurahan_code: Optional[str]) -> Optional[str]:
    """The field unit of ``agency`` for the kelurahan of a complaint (after a forward to
    another agency, that agency's own UPT there, or none)."""
    unit = known_unit(tree, kelurahan_code)
    if agency is None or unit is None:
        return None
    upt = tree.upt_for(agency, unit.code)
    return upt.name if upt is not None else None


def place_aspiration(
    tree: UnitTree, *, chosen: Optional[str] = None, remembered: Optional[str] = None
) -> Placement:
    """Rule 3: the citizen's kelurahan."""
    if tree.single:
        return _single(tree)
    unit = known_unit(tree, chosen)
    if unit is not None:
        return _at(tree, unit, SOURCE_CHOSEN)
    unit = known_unit(tree, remembered)
    if unit is not None:
        return _at(tree, unit, SOURCE_REMEMBERED)
    return _triage(tree)


__all__ = [
    "ASPIRATION_CATEGORY",
    "Placement",
    "SOURCE_ADDRESS",
    "SOURCE_CHOSEN",
    "SOURCE_PIN",
    "SOURCE_REMEMBERED",
    "SOURCE_SINGLE",
    "SOURCE_TRIAGE",
    "institution_for",
    "issuing_unit",
    "known_unit",
    "letter_for",
    "place_aspiration",
    "place_complaint",
    "place_letter",
    "unit_of_pin",
    "unit_of_text",
    "upt_name_for",
]
