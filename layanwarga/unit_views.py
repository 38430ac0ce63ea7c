"""The institution as one unit of a city's tree sees it: that unit's name, address, map, phone,
office hours, closures and letter types, so the calendar, the notifications and the answers to
"jam buka?", "di mana kantornya?", "apa syaratnya?" speak for the citizen's own kelurahan.
Light on purpose (no address matching): the notifier and the dashboard import it."""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Dict, Optional, Tuple

from .catalogue import LetterType
from .config import Institution
from .units import Unit, UnitTree

logger = logging.getLogger(__name__)


def known_unit(tree: UnitTree, code: Optional[str]) -> Optional[Unit]:
    """The unit with this code when it is below the root (a remembered or chosen unit that is
    no longer in the tree, or the root itself, says nothing)."""
    if not code:
        return None
    unit = tree.get(code)
    if unit is None:
        logger.info("Unit %s is not in the tree any more; ignored", code)
        return None
    return unit if unit.parent is not None else None


_views: Dict[Tuple[int, str], Tuple[Institution, Institution]] = {}
_views_lock = threading.Lock()


def institution_for(inst: Institution, code: Optional[str]) -> Institution:
    """``inst`` with the name, address, map, phone, hours, closures and letter types of unit
    ``code``, so the calendar, the notifications and the answers speak for that unit. The
    institution itself for the root, a single unit, or a code not in the tree."""
    tree = inst.units
    unit = known_unit(tree, code) if not tree.single else None
    if unit is None:
        return inst
    key = (id(inst), unit.code)
    with _views_lock:
        cached = _views.get(key)
        if cached is not None and cached[0] is inst:
            return cached[1]
    settings = unit.settings
    view = dataclasses.replace(
        inst,
        name=unit.title,
        address=settings.address,
        map_url=settings.map_url,
        phone=settings.phone,
        latitude=settings.latitude,
        longitude=settings.longitude,
        office_hours=dict(settings.office_hours),
        holidays=dict(settings.holidays),
        letters={**inst.letters, **settings.letters},
    )
    with _views_lock:
        _views[key] = (inst, view)
    return view


def letter_for(inst: Institution, letter_code: str, unit_code: Optional[str]) -> Optional[LetterType]:
    """The letter type as unit ``unit_code`` issues it (its requirements, time, fee, pick-up)."""
    return institution_for(inst, unit_code).letters.get(letter_code)
