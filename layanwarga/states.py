"""Ticket states and the transitions staff may make (DESIGN.md, "Numbers and states").

Complaints: baru → diverifikasi → diteruskan (to an OPD) → diproses → selesai, or ditolak.
Letter requests: diajukan → diverifikasi → siap_diambil → selesai, or ditolak.
A resolved complaint the citizen says is not really resolved is reopened (selesai → diproses);
a rejected letter request is resubmitted by the citizen as a new request.
"""

from __future__ import annotations

from typing import Dict, FrozenSet

from .models import KIND_COMPLAINT, KIND_LETTER

BARU, DIVERIFIKASI, DITERUSKAN, DIPROSES, SELESAI, DITOLAK = (
    "baru",
    "diverifikasi",
    "diteruskan",
    "diproses",
    "selesai",
    "ditolak",
)
DIAJUKAN, SIAP_DIAMBIL = "diajukan", "siap_diambil"

INITIAL_STATE = {KIND_COMPLAINT: BARU, KIND_LETTER: DIAJUKAN}

TRANSITIONS: Dict[str, Dict[str, FrozenSet[str]]] = {
    KIND_COMPLAINT: {
        BARU: frozenset({DIVERIFIKASI, DITERUSKAN, DITOLAK}),
        DIVERIFIKASI: frozenset({DITERUSKAN, DIPROSES, DITOLAK}),
        DITERUSKAN: frozenset({DITERUSKAN, DIPROSES, SELESAI, DITOLAK}),
        DIPROSES: frozenset({DITERUSKAN, SELESAI, DITOLAK}),
        SELESAI: frozenset({DIPROSES}),
        DITOLAK: frozenset(),
    },
    KIND_LETTER: {
        DIAJUKAN: frozenset({DIVERIFIKASI, DITOLAK}),
        DIVERIFIKASI: frozenset({SIAP_DIAMBIL, DITOLAK}),
        SIAP_DIAMBIL: frozenset({SELESAI}),
        SELESAI: frozenset(),
        DITOLAK: frozenset(),
    },
}

# What citizens and staff read for each state.
LABELS = {
    BARU: "Baru diterima",
    DIVERIFIKASI: "Sudah diverifikasi",
    DITERUSKAN: "Diteruskan ke instansi terkait",
    DIPROSES: "Sedang ditindaklanjuti",
    SELESAI: "Selesai",
    DITOLAK: "Ditolak",
    DIAJUKAN: "Diajukan, menunggu verifikasi",
    SIAP_DIAMBIL: "Siap diambil",
}

OPEN_STATES = {
    KIND_COMPLAINT: frozenset({BARU, DIVERIFIKASI, DITERUSKAN, DIPROSES}),
    KIND_LETTER: frozenset({DIAJUKAN, DIVERIFIKASI, SIAP_DIAMBIL}),
}

# Moving into these states needs a note the citizen can read (a reason, or what was done). A
# letter handed over needs none: the citizen has it in hand.
NOTE_REQUIRED = {
    KIND_COMPLAINT: frozenset({DITOLAK, SELESAI}),
    KIND_LETTER: frozenset({DITOLAK}),
}


class TransitionError(ValueError):
    """A state change that the workflow does not allow."""


def check_transition(kind: str, current: str, target: str, note: str | None) -> None:
    allowed = TRANSITIONS[kind].get(current, frozenset())
    if target not in allowed:
        raise TransitionError(
            f"Status {LABELS.get(current, current)!r} tidak dapat diubah menjadi {LABELS.get(target, target)!r}."
        )
    if target in NOTE_REQUIRED[kind] and not (note and note.strip()):
        raise TransitionError(
            "Alasan penolakan wajib diisi." if target == DITOLAK else "Catatan penyelesaian wajib diisi."
        )


def is_open(kind: str, state: str) -> bool:
    return state in OPEN_STATES[kind]
