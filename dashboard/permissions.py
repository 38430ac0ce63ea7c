"""What each role may see and do (issue 8): enforced in every query and every action, never only
by hiding buttons.

- admin: every ticket and request, every action;
- OPD staff: complaints forwarded to their OPD (routed there now and forwarded at least once);
  never the identity (name, phone, WhatsApp id) of an anonymous reporter;
- letter clerks: letter requests.

NIKs are masked everywhere except on the detail page for roles that process letters (admin,
letter clerk), and then only on request, with an audit entry.
"""
from __future__ import annotations

from typing import List, Optional, Set

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from layanwarga import states
from layanwarga.models import KIND_COMPLAINT, KIND_LETTER, StateChange, Ticket
from layanwarga.staff import ROLE_ADMIN, ROLE_LETTERS, ROLE_OPD, StaffUser

# Actions a role may take (the workflow in layanwarga.states decides what is possible now).
ACTIONS_BY_ROLE = {
    ROLE_ADMIN: {"verifikasi", "teruskan", "proses", "selesai", "tolak", "siap_diambil", "serahkan", "balas", "kirim_ulang"},
    ROLE_OPD: {"teruskan", "proses", "selesai", "tolak", "balas", "kirim_ulang"},
    ROLE_LETTERS: {"verifikasi", "siap_diambil", "serahkan", "tolak", "balas", "kirim_ulang"},
}

# Action -> target state per ticket kind (None: not a state change).
ACTION_TARGETS = {
    "verifikasi": {KIND_COMPLAINT: states.DIVERIFIKASI, KIND_LETTER: states.DIVERIFIKASI},
    "teruskan": {KIND_COMPLAINT: states.DITERUSKAN},
    "proses": {KIND_COMPLAINT: states.DIPROSES},
    "selesai": {KIND_COMPLAINT: states.SELESAI},
    "tolak": {KIND_COMPLAINT: states.DITOLAK, KIND_LETTER: states.DITOLAK},
    "siap_diambil": {KIND_LETTER: states.SIAP_DIAMBIL},
    "serahkan": {KIND_LETTER: states.SELESAI},
}


def forwarded() -> ColumnElement:
    """The ticket was forwarded to an OPD at least once (its history has a ``diteruskan``)."""
    return exists().where(and_(StateChange.ticket_id == Ticket.id, StateChange.to_state == states.DITERUSKAN))


def scope(user: StaffUser) -> List[ColumnElement]:
    """SQL conditions limiting tickets to those ``user`` may see."""
    if user.role == ROLE_ADMIN:
        return []
    if user.role == ROLE_LETTERS:
        return [Ticket.kind == KIND_LETTER]
    if user.role == ROLE_OPD and user.agency_code:
        return [Ticket.kind == KIND_COMPLAINT, Ticket.agency_code == user.agency_code, forwarded()]
    return [Ticket.id.is_(None)]  # an account without a usable role sees nothing


def can_view(session: Session, user: StaffUser, ticket_id: int) -> bool:
    conditions = scope(user)
    if not conditions:
        return True
    return session.execute(select(Ticket.id).where(Ticket.id == ticket_id, *conditions)).first() is not None


def hides_identity(user: StaffUser, ticket: Ticket) -> bool:
    """Anonymous reporters' identity is hidden from everyone but admins."""
    return bool(ticket.is_anonymous) and user.role != ROLE_ADMIN


def may_see_conversation(user: StaffUser, ticket: Ticket) -> bool:
    """The citizen's WhatsApp conversation reveals who they are: not for anonymous tickets
    outside the admin role."""
    return not hides_identity(user, ticket)


def may_reveal_nik(user: StaffUser, ticket: Ticket) -> bool:
    return ticket.kind == KIND_LETTER and user.role in (ROLE_ADMIN, ROLE_LETTERS)


def allowed_actions(user: StaffUser, ticket: Ticket) -> Set[str]:
    """The actions to offer for ``ticket`` now: the role's rights within the workflow's moves."""
    rights = ACTIONS_BY_ROLE.get(user.role, set())
    possible = states.TRANSITIONS[ticket.kind].get(ticket.state, frozenset())
    result = {"balas", "kirim_ulang"} & rights
    for action, targets in ACTION_TARGETS.items():
        target = targets.get(ticket.kind)
        if action in rights and target is not None and target in possible:
            result.add(action)
    if ticket.citizen_id is None:
        result.discard("balas")
    return result


def agency_choices(user: StaffUser, ticket: Ticket, agencies: dict) -> Optional[list]:
    """OPD a ticket may be forwarded to by ``user`` (OPD staff pass it on, never to themselves)."""
    return [info for code, info in agencies.items() if not (user.role == ROLE_OPD and code == user.agency_code)]
