"""What each role may see and do (issue 8): enforced in every query and every action, never only
by hiding buttons.

- admin: every ticket and request, every action;
- OPD staff: complaints forwarded to their OPD (routed there now and forwarded at least once);
  never the identity (name, phone, WhatsApp id) of an anonymous reporter;
- letter clerks: letter requests;
- content staff (``konten``): the review queue of messages the assistant misunderstood (issue
  27), with admins; no ticket, no live chat. The queue quotes citizens (NIKs and phone numbers
  masked, senders shortened), never who they are. Any staff member may flag a line they can
  read (a ticket's conversation, a live chat) for the queue.

NIKs are masked everywhere except on the detail page for roles that process letters (admin,
letter clerk), and then only on request, with an audit entry.

Every route declares who may reach it in ``ROUTES`` (below), the one place the dashboard's
access rules are written: ``install_route_rules`` wraps each view with its rule when the app is
created, and refuses to start when a route has none (or a rule names no route), so a new page
cannot go out unguarded. What a route's URL names (a ticket, a handoff, a file, ...) is declared
with it; the view then answers 404 for one the user may not see (the functions below), and
``tests/dashboard/test_dashboard_permissions.py`` tries every route as every role against objects
of their own and another OPD, anonymous or not.

Live chat (human handoff) shows who the citizen is and what they write, so it follows the same
scoping. Admins (the front desk) see every handoff; staff given the chat permission see a
handoff only when they may already see this citizen's identity on a ticket: one in their scope
that is not anonymous (an OPD officer: a non-anonymous complaint forwarded to their OPD; a
letter clerk: a letter request). A chat lists only those tickets, so it never links a name to an
anonymous report, and shows no line about a ticket the viewer may not see.

A photo or document follows what it belongs to: its ticket, or a conversation line the viewer
may read (a ticket's conversation, a handoff they may open). A file linked to nothing staff may
see (e.g. a KTP photo sent in a letter form the citizen abandoned) is refused to everyone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set

from flask import Flask
from sqlalchemy import and_, exists, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from layanwarga import states
from layanwarga.models import (
    KIND_COMPLAINT,
    KIND_LETTER,
    ConversationMessage,
    Handoff,
    Media,
    StaffUser,
    StateChange,
    Ticket,
)
from layanwarga.staff import ROLE_ADMIN, ROLE_CONTENT, ROLE_LETTERS, ROLE_OPD

from .security import can_chat, chat_required, login_required, roles_required

# Actions a role may take (the workflow in layanwarga.states decides what is possible now).
ACTIONS_BY_ROLE = {
    ROLE_ADMIN: {"verifikasi", "teruskan", "proses", "selesai", "tolak", "siap_diambil", "serahkan", "balas", "kirim_ulang"},
    ROLE_OPD: {"teruskan", "proses", "selesai", "tolak", "balas", "kirim_ulang"},
    ROLE_LETTERS: {"verifikasi", "siap_diambil", "serahkan", "tolak", "balas", "kirim_ulang"},
}

KNOWN_ACTIONS = frozenset().union(*ACTIONS_BY_ROLE.values())

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


def hides_identity(user: StaffUser, ticket: Any) -> bool:
    """Anonymous reporters' identity is hidden from everyone but admins."""
    return bool(ticket.is_anonymous) and user.role != ROLE_ADMIN


def may_see_conversation(user: StaffUser, ticket: Ticket) -> bool:
    """The citizen's WhatsApp conversation reveals who they are: not for anonymous tickets
    outside the admin role."""
    return not hides_identity(user, ticket)


def conversation_scope(user: StaffUser) -> List[ColumnElement]:
    """SQL conditions limiting tickets to those whose citizen ``user`` may see: the ticket is in
    their scope and, outside the admin role, not anonymous (``may_see_conversation`` in SQL)."""
    conditions = scope(user)
    if user.role != ROLE_ADMIN:
        conditions = [*conditions, Ticket.is_anonymous.is_(False)]
    return conditions


def handoff_visible(user: StaffUser) -> ColumnElement:
    """SQL condition on ``Handoff``: the live conversations ``user`` may open (see the module
    docstring: the front desk sees all; others only citizens they already see on a ticket)."""
    if not can_chat(user):
        return false()
    if user.role == ROLE_ADMIN:
        return true()
    return exists(select(Ticket.id).where(Ticket.citizen_id == Handoff.citizen_id, *conversation_scope(user)))


def can_open_handoff(session: Session, user: StaffUser, handoff_id: int) -> bool:
    return session.execute(select(Handoff.id).where(Handoff.id == handoff_id, handoff_visible(user))).first() is not None


def readable_lines(user: StaffUser) -> ColumnElement:
    """SQL condition on ``ConversationMessage``: a line ``user`` may read in a conversation they
    may open, i.e. not a line about a ticket whose citizen they may not see (a status message of
    another OPD's or an anonymous complaint sent while a handoff is open, or the form of an
    anonymous complaint the citizen had just submitted)."""
    if user.role == ROLE_ADMIN:
        return true()
    return or_(
        ConversationMessage.ticket_id.is_(None),
        ConversationMessage.ticket_id.in_(select(Ticket.id).where(*conversation_scope(user))),
    )


def may_open_media(session: Session, user: StaffUser, media: Media) -> bool:
    """Whether ``user`` may open a stored photo or document: one of its ticket's, or one sent in
    a conversation line they may read (a ticket's conversation they may see, or a handoff they
    may open). A file linked to nothing they may see is refused."""
    if media.ticket_id is not None and can_view(session, user, media.ticket_id):
        return True
    line = ConversationMessage
    in_ticket_conversation = line.ticket_id.in_(select(Ticket.id).where(*conversation_scope(user)))
    in_open_handoff = and_(line.handoff_id.in_(select(Handoff.id).where(handoff_visible(user))), readable_lines(user))
    found = select(line.id).where(line.media_id == media.id, or_(in_ticket_conversation, in_open_handoff))
    return session.execute(found.limit(1)).first() is not None


def may_read_line(session: Session, user: StaffUser, line_id: int) -> bool:
    """Whether ``user`` may read a conversation line: one of a ticket's conversation they may
    see, or of a live chat they may open (``readable_lines``)."""
    line = ConversationMessage
    in_ticket_conversation = line.ticket_id.in_(select(Ticket.id).where(*conversation_scope(user)))
    in_open_handoff = and_(line.handoff_id.in_(select(Handoff.id).where(handoff_visible(user))), readable_lines(user))
    found = select(line.id).where(line.id == line_id, or_(in_ticket_conversation, in_open_handoff))
    return session.execute(found).first() is not None


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


# -- who may reach each route -------------------------------------------------------------------
PUBLIC = "public"  # anyone, logged in or not
STAFF = "staff"  # any logged-in account; what it shows is scoped by the view
CHAT = "chat"  # admins and accounts with the chat permission
ROLES = "roles"  # the listed roles only

# What a route's URL names: the object a request must then be allowed to see.
TICKET, HANDOFF, MEDIA = "ticket", "handoff", "media"
ANNOUNCEMENT, STAFF_ACCOUNT, NOTIFICATION, BLOCKED_SENDER = "announcement", "staff_account", "notification", "blocked_sender"
STATIC_FILE = "static_file"


@dataclass(frozen=True)
class RouteRule:
    """Who may reach a route (``audience``, with ``roles`` for ROLES) and what its URL names."""

    audience: str
    roles: FrozenSet[str] = frozenset()
    subject: Optional[str] = None


def _public(subject: Optional[str] = None) -> RouteRule:
    return RouteRule(PUBLIC, subject=subject)


def _staff(subject: Optional[str] = None) -> RouteRule:
    return RouteRule(STAFF, subject=subject)


def _chat(subject: Optional[str] = None) -> RouteRule:
    return RouteRule(CHAT, subject=subject)


def _roles(*roles: str, subject: Optional[str] = None) -> RouteRule:
    return RouteRule(ROLES, frozenset(roles), subject)


ROUTES: Dict[str, RouteRule] = {
    "static": _public(STATIC_FILE),
    "public.health": _public(),
    "stats.public_stats": _public(),
    "auth.login": _public(),
    "auth.logout": _public(),  # ends whatever session the cookie carries
    "auth.change_password": _staff(),
    "tickets.home": _public(),  # a redirect to the inbox or the login page
    "tickets.inbox": _staff(),
    "tickets.export_csv": _staff(),
    "tickets.detail": _staff(TICKET),
    "tickets.act": _staff(TICKET),
    "tickets.media_file": _staff(MEDIA),
    "tickets.digest_page": _roles(ROLE_ADMIN, ROLE_OPD),
    "stats.staff_stats": _staff(),
    "stats.stats_csv": _staff(),
    "live.index": _chat(),
    "live.summary": _chat(),
    "live.conversation": _chat(HANDOFF),
    "live.poll": _chat(HANDOFF),
    "live.reply": _chat(HANDOFF),
    "live.close": _chat(HANDOFF),
    "admin.users": _roles(ROLE_ADMIN),
    "admin.edit_user": _roles(ROLE_ADMIN, subject=STAFF_ACCOUNT),
    "admin.agencies": _roles(ROLE_ADMIN),
    "admin.outbox": _roles(ROLE_ADMIN),
    "admin.retry": _roles(ROLE_ADMIN, subject=NOTIFICATION),
    "admin.blocked": _roles(ROLE_ADMIN),
    "admin.unblock": _roles(ROLE_ADMIN, subject=BLOCKED_SENDER),
    "admin.data_requests": _roles(ROLE_ADMIN),
    "announcements.index": _roles(ROLE_ADMIN),
    "announcements.compose": _roles(ROLE_ADMIN),
    "announcements.detail": _roles(ROLE_ADMIN, subject=ANNOUNCEMENT),
    "announcements.edit": _roles(ROLE_ADMIN, subject=ANNOUNCEMENT),
    "announcements.image": _roles(ROLE_ADMIN, subject=ANNOUNCEMENT),
    "announcements.send": _roles(ROLE_ADMIN, subject=ANNOUNCEMENT),
    "announcements.pause": _roles(ROLE_ADMIN, subject=ANNOUNCEMENT),
    "announcements.resume": _roles(ROLE_ADMIN, subject=ANNOUNCEMENT),
    "announcements.stop": _roles(ROLE_ADMIN, subject=ANNOUNCEMENT),
    "announcements.delete": _roles(ROLE_ADMIN, subject=ANNOUNCEMENT),
    "review.queue": _roles(ROLE_ADMIN, ROLE_CONTENT),
    "review.group": _roles(ROLE_ADMIN, ROLE_CONTENT),
    "review.annotate": _roles(ROLE_ADMIN, ROLE_CONTENT),
    "review.export": _roles(ROLE_ADMIN, ROLE_CONTENT),
    "review.changes": _roles(ROLE_ADMIN, ROLE_CONTENT),
    "review.flag": _staff(),
    # Rasa's model pulling (endpoints.yml ``models:``): no login, the model token instead.
    "models.serve": _public(),
    "models.index": _roles(ROLE_ADMIN, ROLE_CONTENT),
    "models.train": _roles(ROLE_ADMIN, ROLE_CONTENT),
    "models.publish": _roles(ROLE_ADMIN, ROLE_CONTENT),
    "models.rollback": _roles(ROLE_ADMIN, ROLE_CONTENT),  # the line (in the form) is checked with may_read_line
}


class RouteRuleError(RuntimeError):
    """The routes and ``ROUTES`` disagree: the dashboard does not start."""


def guarded(rule: RouteRule, view: Callable[..., Any]) -> Callable[..., Any]:
    """``view`` behind its rule: the login page (401 for JSON) for visitors, 403 for a role the
    rule does not admit."""
    if rule.audience == PUBLIC:
        return view
    if rule.audience == STAFF:
        return login_required(view)
    if rule.audience == CHAT:
        return chat_required(view)
    if rule.audience == ROLES and rule.roles:
        return roles_required(*sorted(rule.roles))(view)
    raise RouteRuleError(f"unknown audience {rule.audience!r}")


def install_route_rules(app: Flask, routes: Optional[Dict[str, RouteRule]] = None) -> None:
    """Wrap every view of ``app`` with its rule from ``routes`` (``ROUTES``); a route without a
    rule, or a rule without a route, stops the app here, naming it."""
    routes = ROUTES if routes is None else routes
    endpoints = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    missing = sorted(f"{endpoint} ({path})" for endpoint, path in endpoints.items() if endpoint not in routes)
    if missing:
        raise RouteRuleError(
            "Routes without an access rule in dashboard/permissions.py ROUTES: " + ", ".join(missing)
        )
    stale = sorted(set(routes) - set(endpoints))
    if stale:
        raise RouteRuleError("Access rules for routes that do not exist: " + ", ".join(stale))
    for endpoint in endpoints:
        app.view_functions[endpoint] = guarded(routes[endpoint], app.view_functions[endpoint])
