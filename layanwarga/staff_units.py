"""Which part of a city a staff account works for (issue 21): the one rule, read by the
dashboard's permissions for the inbox, ticket pages, live chat, exports and statistics.

An account belongs to a unit of the tree (``staff_users.unit_code``):

- none, or the root: the whole deployment (the city's Diskominfo and triage; every account of a
  single-unit deployment, so an existing database works as before);
- a kecamatan: the kecamatan office and its kelurahan;
- a kelurahan/desa: that office alone.

A ticket belongs to an area when the unit handling it, or the kelurahan or kecamatan of the place
reported (of the applicant, for a letter; of the citizen, for an aspiration), lies in the area
(``Ticket.unit_code``, ``kelurahan_code``, ``kecamatan_code``; migration 0016). OPD stay
city-level: an OPD account has no unit, but may be limited to one field unit (UPT) of its
agency, which serves some kecamatan (``staff_users.upt_name``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Tuple

from .config import Institution
from .units import UnitTree

logger = logging.getLogger(__name__)

CITY_WIDE: Optional[FrozenSet[str]] = None  # an account's area: everything


def area_of(tree: UnitTree, unit_code: Optional[str]) -> Optional[FrozenSet[str]]:
    """The unit codes an account of ``unit_code`` works for, or ``None`` for the whole deployment
    (no unit, or the root). A unit no longer in the tree is an empty area (the account sees
    nothing until an admin gives it a unit again), logged so it is noticed."""
    if not unit_code:
        return CITY_WIDE
    unit = tree.get(unit_code)
    if unit is None:
        logger.warning("Staff unit %s is not in the organisation tree; the account sees no ticket", unit_code)
        return frozenset()
    if unit.parent is None:
        return CITY_WIDE
    return frozenset([unit.code, *(below.code for below in tree.descendants(unit.code))])


def upt_area(
    inst: Institution, agency_code: Optional[str], upt_name: Optional[str]
) -> Optional[FrozenSet[str]]:
    """The kecamatan codes of an OPD account's field unit, or ``None`` when it has none (all
    areas). A field unit the configuration no longer has is an empty area, logged."""
    if not upt_name:
        return None
    agency = inst.agencies.get(agency_code or "")
    for upt in agency.upts if agency else ():
        if upt.name == upt_name:
            return frozenset(upt.kecamatan)
    logger.warning("UPT %r of agency %s is not configured; the account sees no ticket", upt_name, agency_code)
    return frozenset()


@dataclass(frozen=True)
class AccountUnit:
    """A checked choice of unit and field unit for an account (``None``: not limited)."""

    unit_code: Optional[str]
    upt_name: Optional[str]


def check_account_unit(
    inst: Institution,
    *,
    role_is_opd: bool,
    agency_code: Optional[str],
    unit_code: Optional[str],
    upt_name: Optional[str],
) -> Tuple[Optional[AccountUnit], Optional[str]]:
    """The account's unit as stored, or a message in Bahasa Indonesia saying what is wrong: a unit
    not in the tree, an OPD account given a kecamatan or kelurahan (OPD are city-wide; limit them
    with a UPT), a UPT the agency does not have."""
    tree = inst.units
    unit_code = (unit_code or "").strip() or None
    upt_name = (upt_name or "").strip() or None
    if unit_code is not None:
        unit = tree.get(unit_code)
        if unit is None:
            return None, "Unit kerja tidak dikenal. Silakan pilih dari daftar."
        unit_code = None if unit.parent is None else unit.code
    if not role_is_opd:
        return AccountUnit(unit_code, None), None
    if unit_code is not None:
        return (
            None,
            "Petugas OPD bekerja untuk seluruh kota; batasi wilayahnya dengan memilih UPT, bukan kelurahan.",
        )
    if upt_name is not None:
        agency = inst.agencies.get(agency_code or "")
        if agency is None or upt_name not in {upt.name for upt in agency.upts}:
            return None, "UPT tidak dikenal untuk OPD ini. Silakan pilih dari daftar."
    return AccountUnit(None, upt_name), None


def unit_choices(tree: UnitTree) -> List[Tuple[str, str]]:
    """``(code, label)`` for the account form and the inbox filter: the root first (code ``""``,
    the whole deployment), then each kecamatan followed by its kelurahan."""
    choices = [("", f"Seluruh {tree.root.title}")]
    for unit in tree.descendants(tree.root.code):
        indent = "\u2003" * max(0, unit.level - tree.root.level - 1)
        choices.append((unit.code, f"{indent}{unit.title}"))
    return choices


def unit_label(tree: UnitTree, unit_code: Optional[str]) -> str:
    """How an account's unit is shown: the unit's title, or the whole deployment."""
    unit = tree.get(unit_code) if unit_code else None
    return unit.title if unit is not None else f"Seluruh {tree.root.title}"
