"""What each role may see and do (issue 8): enforced in every query and every action, never only
by hiding buttons.

- admin: every ticket and request, every action;
- OPD staff: complaints forwarded to their OPD (routed there now and forwarded at least once),
  including merging a duplicate among those (``may_merge``); never the identity (name, phone,
  WhatsApp id) of an anonymous reporter;
- letter clerks: letter requests;
- content staff (``konten``): the review queue of messages the assistant misunderstood (issue
  27), with admins; no ticket, no live chat. The queue quotes citizens (NIKs and phone numbers
  masked, senders shortened), never who they are. Any staff member may flag a line they can
  read (a ticket's conversation, a live chat) for the queue.

In a city (issue 21) an account also belongs to a unit (``layanwarga.staff_units``): a
kecamatan's or kelurahan's admin or letter clerk sees only the tickets handled by, or located in,
its area (``in_area``); an OPD officer may be limited to one field unit (UPT) of its agency, i.e.
to the kecamatan that UPT serves. Accounts without a unit (every account of a single-unit
deployment) see what they always did. In the service catalogue a unit's admin edits the
services of its units (``layanwarga.services.may_edit``). Only admins of the whole deployment
(``is_city_admin``) manage accounts, OPD, the outbox, blocked senders, data requests and
announcements, approve catalogue changes, and see anonymous reporters' identity.

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
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from layanwarga import staff_units, states
from layanwarga.config import get_institution
from layanwarga.models import (
    KIND_COMPLAINT,
    KIND_LETTER,
    Citizen,
    ConversationMessage,
    Handoff,
    Media,
    StaffUser,
    StateChange,
    Ticket,
)
from layanwarga.staff import ROLE_ADMIN, ROLE_CONTENT, ROLE_LETTERS, ROLE_OPD

from .api_auth import api_key_required
from .security import (
    can_chat,
    chat_required,
    city_admin_required,
    city_roles_required,
    is_city_admin,
    login_required,
    roles_required,
)

# Actions a role may take (the workflow in layanwarga.states decides what is possible now).
ACTIONS_BY_ROLE = {
    ROLE_ADMIN: {
        "verifikasi",
        "teruskan",
        "proses",
        "selesai",
        "tolak",
        "siap_diambil",
        "serahkan",
        "balas",
        "kirim_ulang",
    },
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
    """The ticket was forwarded to an OPD at least once (its history has a ``diteruskan``). On an
    alias of the history, so a query that joins the history itself (the statistics' first
    response) keeps this condition's own table."""
    change = aliased(StateChange)
    return exists().where(and_(change.ticket_id == Ticket.id, change.to_state == states.DITERUSKAN))


def area(user: StaffUser) -> Optional[FrozenSet[str]]:
    """The unit codes of the city ``user`` works for, None for the whole deployment
    (``layanwarga.staff_units``: no unit, or the root)."""
    return staff_units.area_of(get_institution().units, user.unit_code)


def in_area(codes: FrozenSet[str]) -> ColumnElement:
    """A ticket of these units: handled by one of them, or located in one (the kelurahan or
    kecamatan of the place reported, the applicant's home, the citizen's kelurahan)."""
    if not codes:
        return false()
    listed = sorted(codes)
    return or_(
        Ticket.unit_code.in_(listed), Ticket.kelurahan_code.in_(listed), Ticket.kecamatan_code.in_(listed)
    )


def scope(user: StaffUser) -> List[ColumnElement]:
    """SQL conditions limiting tickets to those ``user`` may see: the role's kind of tickets
    (see the module docstring), within the account's unit of the city or its OPD's field unit."""
    if user.role == ROLE_ADMIN:
        codes = area(user)
        return [] if codes is None else [in_area(codes)]
    if user.role == ROLE_LETTERS:
        codes = area(user)
        return [Ticket.kind == KIND_LETTER] + ([] if codes is None else [in_area(codes)])
    if user.role == ROLE_OPD and user.agency_code:
        conditions = [Ticket.kind == KIND_COMPLAINT, Ticket.agency_code == user.agency_code, forwarded()]
        kecamatan = staff_units.upt_area(get_institution(), user.agency_code, user.upt_name)
        if kecamatan is not None:
            conditions.append(Ticket.kecamatan_code.in_(sorted(kecamatan)) if kecamatan else false())
        return conditions
    return [Ticket.id.is_(None)]  # an account without a usable role sees nothing


def can_view(session: Session, user: StaffUser, ticket_id: int) -> bool:
    conditions = scope(user)
    if not conditions:
        return True
    return session.execute(select(Ticket.id).where(Ticket.id == ticket_id, *conditions)).first() is not None


def hides_identity(user: StaffUser, ticket: Any) -> bool:
    """Anonymous reporters' identity is hidden from everyone but the deployment's admins (a
    kecamatan's or kelurahan's admin does not see it either)."""
    return bool(ticket.is_anonymous) and not is_city_admin(user)


def may_see_conversation(user: StaffUser, ticket: Ticket) -> bool:
    """The citizen's WhatsApp conversation reveals who they are: not for anonymous tickets
    outside the admin role."""
    return not hides_identity(user, ticket)


def conversation_scope(user: StaffUser) -> List[ColumnElement]:
    """SQL conditions limiting tickets to those whose citizen ``user`` may see: the ticket is in
    their scope and, outside the admin role, not anonymous (``may_see_conversation`` in SQL)."""
    conditions = scope(user)
    if not is_city_admin(user):
        conditions = [*conditions, Ticket.is_anonymous.is_(False)]
    return conditions


def handoff_visible(user: StaffUser) -> ColumnElement:
    """SQL condition on ``Handoff``: the live conversations ``user`` may open (see the module
    docstring: the front desk sees all; others only citizens they already see on a ticket)."""
    if not can_chat(user):
        return false()
    if is_city_admin(user):
        return true()
    on_ticket = exists(
        select(Ticket.id).where(Ticket.citizen_id == Handoff.citizen_id, *conversation_scope(user))
    )
    codes = area(user) if user.role == ROLE_ADMIN else None
    if not codes:
        return on_ticket
    # A unit's front desk also answers the citizens who live there (their remembered kelurahan).
    resident = aliased(Citizen)  # never correlated with a citizen the outer query lists
    lives_here = exists(
        select(resident.id).where(resident.id == Handoff.citizen_id, resident.unit_code.in_(sorted(codes)))
    )
    return or_(on_ticket, lives_here)


def can_open_handoff(session: Session, user: StaffUser, handoff_id: int) -> bool:
    return (
        session.execute(select(Handoff.id).where(Handoff.id == handoff_id, handoff_visible(user))).first()
        is not None
    )


def readable_lines(user: StaffUser) -> ColumnElement:
    """SQL condition on ``ConversationMessage``: a line ``user`` may read in a conversation they
    may open, i.e. not a line about a ticket whose citizen they may not see (a status message of
    another OPD's or an anonymous complaint sent while a handoff is open, or the form of an
    anonymous complaint the citizen had just submitted)."""
    if is_city_admin(user):
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
    in_open_handoff = and_(
        line.handoff_id.in_(select(Handoff.id).where(handoff_visible(user))), readable_lines(user)
    )
    found = select(line.id).where(line.media_id == media.id, or_(in_ticket_conversation, in_open_handoff))
    return session.execute(found.limit(1)).first() is not None


def may_read_line(session: Session, user: StaffUser, line_id: int) -> bool:
    """Whether ``user`` may read a conversation line: one of a ticket's conversation they may
    see, or of a live chat they may open (``readable_lines``)."""
    line = ConversationMessage
    in_ticket_conversation = line.ticket_id.in_(select(Ticket.id).where(*conversation_scope(user)))
    in_open_handoff = and_(
        line.handoff_id.in_(select(Handoff.id).where(handoff_visible(user))), readable_lines(user)
    )
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


def may_merge(session: Session, user: StaffUser, ticket: Ticket) -> bool:
    """Whether ``user`` may merge ``ticket`` as a duplicate or into it as the survivor, or split
    it again (``layanwarga.merging``): a complaint they may act on, i.e. one the ticket page
    opens for them (``can_view``), for the deployment's admins and OPD staff (their OPD's
    forwarded complaints). ``ROUTES`` admits no other role to the merge and split routes."""
    if ticket.kind != KIND_COMPLAINT:
        return False
    if not (is_city_admin(user) or user.role == ROLE_OPD):
        return False
    return can_view(session, user, ticket.id)


def agency_choices(user: StaffUser, ticket: Ticket, agencies: dict) -> Optional[list]:
    """OPD a ticket may be forwarded to by ``user`` (OPD staff pass it on, never to themselves)."""
    return [
        info for code, info in agencies.items() if not (user.role == ROLE_OPD and code == user.agency_code)
    ]


# -- who may reach each route -------------------------------------------------------------------
PUBLIC = "public"  # anyone, logged in or not
STAFF = "staff"  # any logged-in account; what it shows is scoped by the view
CHAT = "chat"  # admins and accounts with the chat permission
ROLES = "roles"  # the listed roles only ("admin": of the whole deployment, not a unit's)
# The listed roles, a kecamatan's or kelurahan's admin included: the view limits each to its units.
UNIT_ROLES = "unit_roles"
CITY_ADMIN = "city_admin"  # admins of the whole deployment (no unit): accounts, OPD, settings
PARTNER = "partner"  # an Open311 partner's active API key (dashboard.api_auth), no staff login

# What a route's URL names: the object a request must then be allowed to see.
TICKET, HANDOFF, MEDIA = "ticket", "handoff", "media"
ANNOUNCEMENT, STAFF_ACCOUNT, NOTIFICATION, BLOCKED_SENDER = (
    "announcement",
    "staff_account",
    "notification",
    "blocked_sender",
)
STATIC_FILE = "static_file"
SERVICE = "service"  # a published service of the catalogue (its code)
API_KEY = "api_key"
OPEN311_SERVICE, OPEN311_REQUEST = "open311_service", "open311_request"  # "<code>.json", "<number>.xml"


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


def _city_admin(subject: Optional[str] = None) -> RouteRule:
    return RouteRule(CITY_ADMIN, frozenset({ROLE_ADMIN}), subject)


def _roles(*roles: str, subject: Optional[str] = None) -> RouteRule:
    return RouteRule(ROLES, frozenset(roles), subject)


def _unit_roles(*roles: str, subject: Optional[str] = None) -> RouteRule:
    return RouteRule(UNIT_ROLES, frozenset(roles), subject)


def _partner() -> RouteRule:
    return RouteRule(PARTNER)


ROUTES: Dict[str, RouteRule] = {
    "static": _public(STATIC_FILE),
    "public.health": _public(),
    "public.services": _public(),
    "public.service": _public(SERVICE),
    "stats.public_stats": _public(),
    "auth.login": _public(),
    "auth.logout": _public(),  # ends whatever session the cookie carries
    "auth.change_password": _staff(),
    "tickets.home": _public(),  # a redirect to the inbox or the login page
    "tickets.inbox": _staff(),
    "tickets.export_csv": _staff(),
    "tickets.detail": _staff(TICKET),
    "tickets.act": _staff(TICKET),
    # Merging and splitting duplicates: the front desk, and OPD staff between complaints they may
    # act on (may_merge, checked on both tickets).
    "tickets.merge": _roles(ROLE_ADMIN, ROLE_OPD, subject=TICKET),
    "tickets.split": _roles(ROLE_ADMIN, ROLE_OPD, subject=TICKET),
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
    "admin.users": _city_admin(),
    "admin.edit_user": _city_admin(subject=STAFF_ACCOUNT),
    "admin.agencies": _city_admin(),
    "admin.outbox": _city_admin(),
    "admin.retry": _city_admin(subject=NOTIFICATION),
    "admin.blocked": _city_admin(),
    "admin.unblock": _city_admin(subject=BLOCKED_SENDER),
    "admin.data_requests": _city_admin(),
    # The catalogue (layanwarga.services.may_edit): an OPD its own office's services, a unit's
    # admin its units' services, admins of the whole deployment everything.
    "catalogue.index": _unit_roles(ROLE_ADMIN, ROLE_OPD),
    "catalogue.question_stats": _unit_roles(ROLE_ADMIN, ROLE_OPD),
    "catalogue.create": _unit_roles(ROLE_ADMIN, ROLE_OPD),
    "catalogue.edit": _unit_roles(ROLE_ADMIN, ROLE_OPD, subject=SERVICE),
    "catalogue.withdraw": _unit_roles(ROLE_ADMIN, ROLE_OPD, subject=SERVICE),
    "catalogue.publish_again": _unit_roles(ROLE_ADMIN, ROLE_OPD, subject=SERVICE),
    "catalogue.publish": _roles(ROLE_ADMIN, subject=SERVICE),  # approving: the whole deployment's admins
    "announcements.index": _city_admin(),
    "announcements.compose": _city_admin(),
    "announcements.detail": _city_admin(subject=ANNOUNCEMENT),
    "announcements.edit": _city_admin(subject=ANNOUNCEMENT),
    "announcements.image": _city_admin(subject=ANNOUNCEMENT),
    "announcements.send": _city_admin(subject=ANNOUNCEMENT),
    "announcements.pause": _city_admin(subject=ANNOUNCEMENT),
    "announcements.resume": _city_admin(subject=ANNOUNCEMENT),
    "announcements.stop": _city_admin(subject=ANNOUNCEMENT),
    "announcements.delete": _city_admin(subject=ANNOUNCEMENT),
    "admin.api_keys_page": _city_admin(),
    "admin.revoke_api_key": _city_admin(subject=API_KEY),
    # The public map and the Open311 API show only what layanwarga.public_tickets lets through.
    "public_map.page": _public(),
    "public_map.data": _public(),
    "open311.discovery": _public(),
    "open311.services": _public(),
    "open311.service_definition": _public(OPEN311_SERVICE),
    "open311.requests_list": _public(),
    "open311.request_detail": _public(OPEN311_REQUEST),
    "open311.create_request": _partner(),
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
    "models.rollback": _roles(
        ROLE_ADMIN, ROLE_CONTENT
    ),  # the line (in the form) is checked with may_read_line
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
    if rule.audience == CITY_ADMIN:
        return city_admin_required(view)
    if rule.audience == ROLES and rule.roles:
        return city_roles_required(*sorted(rule.roles))(view)
    if rule.audience == UNIT_ROLES and rule.roles:
        return roles_required(*sorted(rule.roles))(view)
    if rule.audience == PARTNER:
        return api_key_required(view)
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
