"""What an institution offers, as the configuration describes it: its agencies (OPD) with their
field units, and its letter types. Apart from ``layanwarga.config`` so the organisation tree
(``layanwarga.units``), which ``config`` builds, can name them without importing ``config``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Upt:
    """An agency's field unit (Unit Pelaksana Teknis) for one or more kecamatan of the city."""

    name: str
    kecamatan: Tuple[str, ...]
    contact: str = ""


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    contact: str = ""
    upts: Tuple[Upt, ...] = ()


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
    # Kinds of unit that issue it in a city's tree (kelurahan, desa, kecamatan, ...); empty: all.
    issued_by: Tuple[str, ...] = ()
