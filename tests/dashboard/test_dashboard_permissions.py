"""Permissions are enforced on the server for every page, action, file and export.

The matrix test is generated from the dashboard's own route table (Flask's ``url_map``) and the
rule each route declares in ``dashboard.permissions.ROUTES``: every route, by every kind of
account (a visitor, the admin, OPD officers with and without the chat permission, letter clerks
with and without it), against objects of their own and another OPD, anonymous or not. What each
account may see is written out below, by hand, as what SECURITY.md promises; a route whose URL
names an object nobody here knows how to make fails the test, and a route without a rule stops
the dashboard from starting. Then the rules that must never change by accident (which routes are
public, admin-only, chat-only), and the content of pages: anonymous reporters stay anonymous to
OPD staff, NIKs stay masked unless a letter role asks (and that is recorded), CSRF, throttling,
sessions and security headers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from flask import Blueprint, Flask
from sqlalchemy import select

from dashboard import permissions
from dashboard.permissions import ROUTES, RouteRule
from layanwarga import (
    api_keys,
    blocklist,
    conversation_log,
    db,
    handoff,
    merging,
    notifications,
    services,
    staff,
    states,
    subscriptions,
)
from layanwarga.config import PROJECT_ROOT
from layanwarga.models import AuditEntry, Media, Notification, Ticket
from tests.dashboard.support import (
    INST,
    MONDAY_MORNING,
    World,
    complaint,
    csrf,
    letter,
    listed,
    login,
    make_user,
    post,
    ticket_id,
)

# -- the promise: who sees what --------------------------------------------------------------------
VISITOR = "tamu"
ACCOUNTS = {  # username: (role, agency, chat permission)
    "admin": ("admin", None, None),
    "pupr": ("opd", "PUPR", False),
    "pupr_chat": ("opd", "PUPR", True),
    "dlh_chat": ("opd", "DLH", True),
    "surat": ("surat", None, False),
    "surat_chat": ("surat", None, True),
    "konten": ("konten", None, False),  # content staff: the review queue only
}
ACTORS = [VISITOR, *ACCOUNTS]
PUPR_STAFF = {"pupr", "pupr_chat"}
LETTER_STAFF = {"surat", "surat_chat"}

# Tickets, each of its own citizen: forwarded to PUPR or DLH, anonymous or not, routed to PUPR but
# not forwarded yet, a letter request. Who may open each (everyone else gets 404).
TICKETS = {
    "pupr": {"admin"} | PUPR_STAFF,
    "pupr_anon": {"admin"} | PUPR_STAFF,
    "dlh": {"admin", "dlh_chat"},
    "dlh_anon": {"admin", "dlh_chat"},
    "pupr_new": {"admin"},
    "letter": {"admin"} | LETTER_STAFF,
}
ANONYMOUS = {"pupr_anon", "dlh_anon"}
# A handoff per ticket's citizen, and one of a citizen with nothing on file. Who may open each
# (accounts without the chat permission never reach the live inbox: 403).
HANDOFFS = {
    "pupr": {"admin", "pupr_chat"},
    "pupr_anon": {"admin"},  # would tell PUPR who reported anonymously
    "dlh": {"admin", "dlh_chat"},
    "dlh_anon": {"admin"},
    "pupr_new": {"admin"},
    "letter": {"admin", "surat_chat"},
    "none": {"admin"},
}
# Photos and documents: of a ticket, sent in a ticket's form (its conversation), sent during a
# handoff, or linked to nothing (a KTP photo of an abandoned letter form).
MEDIA = {
    "of_pupr": TICKETS["pupr"],
    "of_pupr_anon": TICKETS["pupr_anon"],  # the report's photo, on a page OPD staff may open
    "of_dlh": TICKETS["dlh"],
    "of_pupr_new": TICKETS["pupr_new"],
    "of_letter": TICKETS["letter"],
    "in_form_of_pupr_anon": {"admin"},  # the anonymous reporter's conversation
    "in_form_of_letter": {"admin"} | LETTER_STAFF,
    "in_handoff_pupr": HANDOFFS["pupr"],
    "in_handoff_none": HANDOFFS["none"],
    "abandoned": set(),
}
ADMIN_ONLY = {"admin"}

LOGIN, FORBIDDEN, HIDDEN, ALLOWED, ERROR = "login page", "403", "404", "allowed", "server error"


def reporter_name(variant: str) -> str:
    return f"Pelapor {variant.replace('_', ' ').title()}"


def sender_of(variant: str) -> str:
    return "62811000000" + f"{sorted(HANDOFFS).index(variant):02d}"


# -- building the world ------------------------------------------------------------------------------
@dataclass
class Matrix:
    tickets: Dict[str, str]  # variant -> number
    handoffs: Dict[str, int]
    media: Dict[str, int]
    shared: Dict[str, Any]  # subject -> the one object of admin-only subjects
    fresh: Dict[str, Callable[[], Any]] = field(default_factory=dict)  # subject -> a new object


def _photo(folder: Path, name: str) -> int:
    path = folder / f"{name}.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + name.encode() * 10)
    with db.session_scope() as session:
        row = Media(mime_type="image/jpeg", storage_path=str(path), size_bytes=path.stat().st_size)
        session.add(row)
        session.flush()
        return int(row.id)


def _form_with_photo(folder: Path, variant: str, key: str) -> int:
    """The citizen of ``variant`` starts a form and sends a photo in it (long before any handoff)."""
    sender = sender_of(variant)
    written = MONDAY_MORNING.replace(tzinfo=None) - dt.timedelta(hours=1)
    conversation_log.log_inbound(sender, "mau lapor", wamid=f"wamid.start.{variant}", at=written)
    assert conversation_log.start_flow(sender, key, f"wamid.start.{variant}")
    photo = _photo(folder, f"form-{variant}")
    conversation_log.log_inbound(sender, "/kirim_media", media_id=photo, at=written)
    return photo


def _announcement(folder: Path) -> int:
    picture = _photo(folder, "pengumuman")
    with db.session_scope() as session:
        row = subscriptions.create_draft(
            session,
            INST,
            title="Posyandu",
            topic=subscriptions.ALL,
            area=subscriptions.ALL,
            text="Posyandu buka hari Sabtu pukul 08.00 di balai kelurahan.",
            actor="staf:admin",
            image_media_id=picture,
        )
        return int(row.id)


def _service() -> str:
    with db.session_scope() as session:
        services.import_catalogue(session, *services.load_file(PROJECT_ROOT / "catalogue" / "layanan.yml"))
    return "skck"


def _api_key() -> int:
    with db.session_scope(write=True) as session:
        return api_keys.issue(session, "Mitra uji", "staf:admin").id


def build(folder: Path) -> Matrix:
    for username, (role, agency, chat) in ACCOUNTS.items():
        make_user(username, role, agency, can_chat=chat)
    target = make_user("sasaran", "opd", "DLH")
    media: Dict[str, int] = {
        "in_form_of_pupr_anon": _form_with_photo(folder, "pupr_anon", "form-anon"),
        "in_form_of_letter": _form_with_photo(folder, "letter", "form-letter"),
    }
    tickets = {
        "pupr": complaint("m1", sender=sender_of("pupr"), reporter_name=reporter_name("pupr")).number,
        "pupr_anon": complaint(
            f"{sender_of('pupr_anon')}:form-anon",
            sender=sender_of("pupr_anon"),
            reporter_name=reporter_name("pupr_anon"),
            anonymous=True,
        ).number,
        "dlh": complaint(
            "m3", sender=sender_of("dlh"), category="lapor_sampah", reporter_name=reporter_name("dlh")
        ).number,
        "dlh_anon": complaint(
            "m4",
            sender=sender_of("dlh_anon"),
            category="lapor_sampah",
            reporter_name=reporter_name("dlh_anon"),
            anonymous=True,
        ).number,
        "pupr_new": complaint(
            "m5", sender=sender_of("pupr_new"), reporter_name=reporter_name("pupr_new")
        ).number,
        "letter": letter(f"{sender_of('letter')}:form-letter", sender=sender_of("letter")).number,
    }
    for variant, agency in (("pupr", "PUPR"), ("pupr_anon", "PUPR"), ("dlh", "DLH"), ("dlh_anon", "DLH")):
        notifications.change_state_and_notify(
            INST, ticket_id(tickets[variant]), states.DITERUSKAN, "staf:admin", agency_code=agency
        )
    for variant in ("pupr", "pupr_anon", "dlh", "pupr_new", "letter"):
        media[f"of_{variant}"] = _photo(folder, variant)
        with db.session_scope() as session:
            session.get(Media, media[f"of_{variant}"]).ticket_id = ticket_id(tickets[variant])
    media["abandoned"] = _photo(folder, "ktp")
    conversation_log.log_inbound("6281199999999", "/kirim_media", media_id=media["abandoned"])
    handoffs = {}
    for variant in HANDOFFS:
        handoffs[variant] = handoff.open_handoff(
            sender_of(variant), inst=INST, profile_name=f"Warga {variant}"
        ).id
    media["in_handoff_pupr"] = _photo(folder, "chat-pupr")
    conversation_log.log_inbound(sender_of("pupr"), "/kirim_media", media_id=media["in_handoff_pupr"])
    media["in_handoff_none"] = _photo(folder, "chat-none")
    conversation_log.log_inbound(sender_of("none"), "/kirim_media", media_id=media["in_handoff_none"])
    with db.session_scope() as session:
        blocklist.block(session, "6289900000000", "pesan kasar berulang", "staf:admin")
        note = session.execute(select(Notification.id)).scalars().first()
    assert set(media) == set(MEDIA)
    shared = {
        permissions.ANNOUNCEMENT: _announcement(folder),
        permissions.STAFF_ACCOUNT: target,
        permissions.NOTIFICATION: note,
        permissions.BLOCKED_SENDER: "6289900000000",
        permissions.STATIC_FILE: "style.css",
        permissions.SERVICE: _service(),
        permissions.API_KEY: _api_key(),
        permissions.OPEN311_SERVICE: "lapor_jalan_rusak.json",
        permissions.OPEN311_REQUEST: f"{tickets['pupr']}.xml",
    }
    return Matrix(
        tickets, handoffs, media, shared, fresh={permissions.ANNOUNCEMENT: lambda: _announcement(folder)}
    )


# -- generating the cases from the route table ----------------------------------------------------------
@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    actor: str
    variant: Optional[str]  # which object of the subject (None: the route names none)
    url_args: Tuple[Tuple[str, Any], ...]
    expected: str


@dataclass(frozen=True)
class Promise:
    """Who may see what, for one world: the accounts (username: role, agency, chat permission)
    and, per ticket, handoff and media variant, who may open it; ``city_admins`` are the only
    accounts that reach admin pages and see anonymous reporters; ``letters`` are the ticket
    variants that are letter requests (no reporter's name to look for)."""

    accounts: Dict[str, Tuple[str, Optional[str], Optional[bool]]]
    tickets: Dict[str, set]
    handoffs: Dict[str, set]
    media: Dict[str, set]
    anonymous: set
    city_admins: set
    letters: set

    @property
    def actors(self) -> List[str]:
        return [VISITOR, *self.accounts]


SINGLE_UNIT = Promise(ACCOUNTS, TICKETS, HANDOFFS, MEDIA, ANONYMOUS, ADMIN_ONLY, {"letter"})


def _visible(promise: Promise, subject: str, variant: Optional[str], actor: str) -> bool:
    """Whether ``actor`` may see object ``variant`` of ``subject`` (the promise above)."""
    table = {
        permissions.TICKET: promise.tickets,
        permissions.HANDOFF: promise.handoffs,
        permissions.MEDIA: promise.media,
    }.get(subject)
    if table is None:
        return actor in promise.city_admins or subject == permissions.STATIC_FILE
    return actor in table[variant]


def _gate(promise: Promise, rule: RouteRule, actor: str) -> Optional[str]:
    """What the route's rule answers ``actor`` before any object is looked at (None: passes)."""
    if rule.audience == permissions.PUBLIC:
        return None
    if rule.audience == permissions.PARTNER:
        return FORBIDDEN  # no account's login stands in for a partner's API key
    if actor == VISITOR:
        return LOGIN
    role, _, chat = promise.accounts[actor]
    if rule.audience == permissions.CHAT and not (role == "admin" or chat):
        return FORBIDDEN
    if rule.audience == permissions.CITY_ADMIN and actor not in promise.city_admins:
        return FORBIDDEN
    if rule.audience == permissions.ROLES and (
        role not in rule.roles or (role == "admin" and actor not in promise.city_admins)
    ):
        return FORBIDDEN
    if rule.audience == permissions.UNIT_ROLES and role not in rule.roles:
        return FORBIDDEN  # a unit's admin passes: the view shows it only its units' objects
    return None


def _objects(subject: Optional[str], world: Matrix) -> List[Tuple[Optional[str], Any]]:
    if subject is None:
        return [(None, None)]
    if subject == permissions.TICKET:
        return sorted(world.tickets.items())
    if subject == permissions.HANDOFF:
        return sorted(world.handoffs.items())
    if subject == permissions.MEDIA:
        return sorted(world.media.items())
    assert subject in world.shared, f"no object of subject {subject!r} to try: add one to build()"
    return [(subject, world.shared[subject])]


def cases(app: Flask, world: Matrix, promise: Promise = SINGLE_UNIT) -> List[Case]:
    generated = []
    for url_rule in app.url_map.iter_rules():
        rule = ROUTES[url_rule.endpoint]
        arguments = sorted(url_rule.arguments)
        assert (rule.subject is None) == (not arguments), (
            f"{url_rule.endpoint} takes {arguments} but declares subject {rule.subject!r}"
        )
        for method in sorted(url_rule.methods - {"HEAD", "OPTIONS"}):
            for variant, value in _objects(rule.subject, world):
                url_args = tuple((name, value) for name in arguments)
                for actor in promise.actors:
                    expected = _gate(promise, rule, actor) or (
                        ALLOWED
                        if rule.subject is None or _visible(promise, rule.subject, variant, actor)
                        else HIDDEN
                    )
                    generated.append(Case(url_rule.endpoint, method, actor, variant, url_args, expected))
    # Reads first, then writes; logging out last (it ends the session the other cases use).
    return sorted(generated, key=lambda c: (c.endpoint == "auth.logout", c.method != "GET"))


def outcome(response: Any) -> str:
    location = response.headers.get("Location", "")
    if response.status_code == 401 or (response.status_code == 302 and "/masuk" in location):
        return LOGIN
    if response.status_code >= 500:
        return ERROR
    return {403: FORBIDDEN, 404: HIDDEN}.get(response.status_code, ALLOWED)


def identity_ok(promise: Promise, case: Case, response: Any) -> bool:
    """A ticket page shows the reporter's name unless it hides an anonymous one from everyone
    but the deployment's admins."""
    if case.endpoint != "tickets.detail" or case.variant in promise.letters:
        return True
    hidden = case.variant in promise.anonymous and case.actor not in promise.city_admins
    return (reporter_name(case.variant or "") in response.get_data(as_text=True)) is not hidden


def run_matrix(app: Flask, world: Matrix, promise: Promise = SINGLE_UNIT) -> Tuple[List[str], int]:
    """Every generated case, tried: the failures (as lines to read) and how many cases ran."""
    from flask import url_for

    clients = {
        VISITOR: app.test_client(),
        **{username: login(app, username) for username in promise.accounts},
    }
    tokens = {
        VISITOR: csrf(clients[VISITOR]),
        **{u: csrf(clients[u], "/akun/sandi") for u in promise.accounts},
    }
    failures = []
    generated = cases(app, world, promise)
    for case in generated:
        url_args = dict(case.url_args)
        rule = ROUTES[case.endpoint]
        if case.method == "POST" and case.expected == ALLOWED and rule.subject in world.fresh:
            url_args = {name: world.fresh[rule.subject]() for name in url_args}  # writes change it
        with app.test_request_context():
            url = url_for(case.endpoint, **url_args)
        client = clients[case.actor]
        if case.method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": tokens[case.actor]})
        got = outcome(response)
        if case.endpoint == "models.serve":
            # Rasa's model pulling, guarded by the model token, not by accounts: no account gets
            # a model without it (tests/dashboard/test_model_rollout.py tries the token).
            ok = got in (HIDDEN, FORBIDDEN)
        elif rule.audience == permissions.PUBLIC:
            ok = got not in (FORBIDDEN, HIDDEN, ERROR)
        else:
            ok = got == case.expected and (got != ALLOWED or identity_ok(promise, case, response))
        if not ok:
            failures.append(
                f"{case.method} {url} as {case.actor}: expected {case.expected}, got {got} ({response.status_code})"
            )
    return failures, len(generated)


def test_every_route_as_every_account_against_every_kind_of_object(app, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = build(tmp_path)
    failures, tried = run_matrix(app, world)
    assert not failures, f"{len(failures)} of {tried} cases:\n" + "\n".join(failures)
    assert tried > 500  # every route, account and object was tried


def test_lists_show_each_account_only_what_it_may_open(app, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = build(tmp_path)
    for username in ACCOUNTS:
        client = login(app, username)
        seen = set(listed(client.get("/tiket").get_data(as_text=True)))
        assert seen == {world.tickets[v] for v, who in TICKETS.items() if username in who}, username
        exported = client.get("/tiket.csv").get_data(as_text=True)
        assert {n for n in world.tickets.values() if n in exported} == seen, username
        role, _, chat = ACCOUNTS[username]
        if role == "admin" or chat:
            page = client.get("/langsung").get_data(as_text=True)
            shown = {v for v in HANDOFFS if f"Warga {v}<" in page}
            assert shown == {v for v, who in HANDOFFS.items() if username in who}, username
            assert client.get("/langsung/ringkas.json").get_json()["open"] == len(shown)


# -- the rules that must never change by accident ---------------------------------------------------------
def test_only_the_login_health_and_public_pages_are_public() -> None:
    public = {endpoint for endpoint, rule in ROUTES.items() if rule.audience == permissions.PUBLIC}
    # models.serve answers only with the model token (tests/dashboard/test_model_rollout.py).
    assert public == {
        "static",
        "public.health",
        "stats.public_stats",
        "auth.login",
        "auth.logout",
        "tickets.home",
        "public.services",
        "public.service",
        "public_map.page",
        "public_map.data",
        "open311.discovery",
        "open311.services",
        "open311.service_definition",
        "open311.requests_list",
        "open311.request_detail",
        "models.serve",
    }
    partner = {endpoint for endpoint, rule in ROUTES.items() if rule.audience == permissions.PARTNER}
    assert partner == {"open311.create_request"}


def test_admin_pages_are_for_admins_and_the_live_inbox_needs_the_chat_permission() -> None:
    for endpoint, rule in ROUTES.items():
        if endpoint.startswith(("admin.", "announcements.")):
            assert (rule.audience, rule.roles) == (permissions.CITY_ADMIN, frozenset({"admin"})), endpoint
        if endpoint.startswith("live."):
            assert rule.audience == permissions.CHAT, endpoint


def test_merging_and_splitting_are_for_admins_and_opd_staff() -> None:
    # Which tickets: both must be complaints the account may act on (permissions.may_merge, tried
    # in test_opd_staff_merge_only_between_complaints_of_their_own_opd).
    for endpoint in ("tickets.merge", "tickets.split"):
        rule = ROUTES[endpoint]
        assert (rule.audience, rule.roles, rule.subject) == (
            permissions.ROLES,
            frozenset({"admin", "opd"}),
            permissions.TICKET,
        ), endpoint


def test_a_route_without_a_declared_rule_stops_the_dashboard() -> None:
    app = Flask(__name__)
    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/rahasia", "secret", lambda: "data warga")
    app.register_blueprint(extra)
    with pytest.raises(permissions.RouteRuleError, match=r"extra\.secret \(/rahasia\)"):
        permissions.install_route_rules(app, {"static": RouteRule(permissions.PUBLIC)})
    with pytest.raises(permissions.RouteRuleError, match="tickets.gone"):
        permissions.install_route_rules(
            app,
            {
                "static": RouteRule(permissions.PUBLIC),
                "extra.secret": RouteRule(permissions.STAFF),
                "tickets.gone": RouteRule(permissions.STAFF),
            },
        )


# -- what pages show ---------------------------------------------------------------------------------
def _state(number: str) -> str:
    with db.session_scope() as session:
        return session.execute(select(Ticket.state).where(Ticket.number == number)).scalar_one()


def test_opd_staff_see_only_their_forwarded_tickets(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    numbers = listed(client.get("/tiket").get_data(as_text=True))
    # Not another OPD's, not one routed to PUPR but not forwarded yet, not a letter request.
    assert sorted(numbers) == sorted([world.pupr, world.anonymous])
    # Filters cannot widen the scope.
    assert listed(client.get("/tiket?opd=DLH&jenis=surat").get_data(as_text=True)) == numbers
    assert listed(client.get(f"/tiket?q={world.dlh}").get_data(as_text=True)) == []


def test_opd_staff_cannot_open_or_change_another_opds_ticket(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    assert client.get(f"/tiket/{world.dlh}").status_code == 404
    assert client.get(f"/tiket/{world.pupr_new}").status_code == 404
    for action in ("proses", "selesai", "tolak", "balas", "teruskan"):
        response = post(
            client,
            f"/tiket/{world.dlh}/aksi",
            {"aksi": action, "pesan_warga": "Sudah", "pesan": "halo", "opd": "PUPR"},
        )
        assert response.status_code == 404
    assert _state(world.dlh) == states.DITERUSKAN
    with db.session_scope() as session:
        assert [n.kind for n in notifications.for_ticket(session, ticket_id(world.dlh))] == ["status"]
    # Their own ticket works.
    assert client.get(f"/tiket/{world.pupr}").status_code == 200
    assert post(client, f"/tiket/{world.pupr}/aksi", {"aksi": "proses"}).status_code == 302
    assert _state(world.pupr) == states.DIPROSES


def test_opd_staff_cannot_take_admin_only_actions(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    # Verifying belongs to the admins (and is not possible from "diteruskan" anyway).
    assert post(client, f"/tiket/{world.pupr}/aksi", {"aksi": "verifikasi"}).status_code == 403
    assert client.get("/admin/pengguna").status_code == 403
    assert client.get("/langsung").status_code == 403


def _merged_into(number: str) -> Optional[str]:
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalars().one()
        return merging.merged_into(ticket)


def test_opd_staff_merge_only_between_complaints_of_their_own_opd(app, world: World) -> None:  # type: ignore[no-untyped-def]
    # A second road complaint forwarded to PUPR (a duplicate of world.pupr), and one of the same
    # kind forwarded to DLH, so only the OPD rule can refuse a merge with it.
    duplicate = complaint("dup", sender="6285500000001").number
    elsewhere = complaint("other", sender="6285500000002").number
    for number, agency in ((duplicate, "PUPR"), (elsewhere, "DLH")):
        notifications.change_state_and_notify(
            INST, ticket_id(number), states.DITERUSKAN, "staf:admin", agency_code=agency
        )
    pupr = login(app, "pupr")
    # Into another OPD's complaint: refused in the words used for a number that does not exist.
    response = post(pupr, f"/tiket/{duplicate}/gabung", {"ke": elsewhere})
    assert f"Aduan {elsewhere} tidak ditemukan." in pupr.get(response.headers["Location"]).get_data(
        as_text=True
    )
    # Another OPD's complaint into its own: not found, like every ticket it may not open.
    assert post(pupr, f"/tiket/{elsewhere}/gabung", {"ke": duplicate}).status_code == 404
    assert (_state(duplicate), _state(elsewhere)) == (states.DITERUSKAN, states.DITERUSKAN)
    # Letter clerks never merge.
    assert post(login(app, "surat"), f"/tiket/{duplicate}/gabung", {"ke": world.pupr}).status_code == 403
    # Between two of its own complaints: merged, and undone by the same officer.
    assert 'id="merge-button"' in pupr.get(f"/tiket/{duplicate}").get_data(as_text=True)
    response = post(pupr, f"/tiket/{duplicate}/gabung", {"ke": world.pupr})
    assert response.headers["Location"].endswith(f"/tiket/{world.pupr}")
    assert (_state(duplicate), _merged_into(duplicate)) == (states.DITOLAK, world.pupr)
    assert post(login(app, "dlh"), f"/tiket/{duplicate}/pisah", {}).status_code == 404
    post(pupr, f"/tiket/{duplicate}/pisah", {})
    assert (_state(duplicate), _merged_into(duplicate)) == (states.DITERUSKAN, None)
    # The admin merges the very pair PUPR could not; PUPR cannot split it from DLH's complaint.
    admin = login(app, "admin")
    post(admin, f"/tiket/{duplicate}/gabung", {"ke": elsewhere})
    assert _merged_into(duplicate) == elsewhere
    response = post(pupr, f"/tiket/{duplicate}/pisah", {})
    assert "silakan minta admin untuk memisahkannya" in pupr.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert _merged_into(duplicate) == elsewhere


def test_anonymous_reporter_is_hidden_from_opd_staff_but_not_from_admins(app, world: World) -> None:  # type: ignore[no-untyped-def]
    opd = login(app, "pupr")
    page = opd.get(f"/tiket/{world.anonymous}").get_data(as_text=True)
    assert "Ada pungli di jembatan timbang" in page  # the report itself
    for secret in ("Rahasia Sekali", "6283333333333", "+6283333333333"):
        assert secret not in page
    assert 'id="identity-hidden"' in page
    listing = opd.get("/tiket").get_data(as_text=True)
    assert "Rahasia Sekali" not in listing
    # Searching by the name finds nothing for OPD staff.
    assert listed(opd.get("/tiket?q=Rahasia").get_data(as_text=True)) == []
    assert "Rahasia Sekali" not in opd.get("/tiket.csv").get_data(as_text=True)
    admin = login(app, "admin")
    page = admin.get(f"/tiket/{world.anonymous}").get_data(as_text=True)
    assert "Rahasia Sekali" in page and "+6283333333333" in page
    assert listed(admin.get("/tiket?q=Rahasia").get_data(as_text=True)) == [world.anonymous]


def test_letter_clerk_sees_letters_with_nik_masked_until_revealed(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "surat")
    assert listed(client.get("/tiket").get_data(as_text=True)) == [world.letter]
    assert client.get(f"/tiket/{world.pupr}").status_code == 404
    page = client.get(f"/tiket/{world.letter}").get_data(as_text=True)
    assert "6271********0003" in page and "6271014506850003" not in page
    revealed = client.get(f"/tiket/{world.letter}?nik=1").get_data(as_text=True)
    assert "6271014506850003" in revealed
    with db.session_scope() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "lihat_nik")).scalars().one()
        assert entry.actor == "staf:surat" and entry.target == world.letter
    # The CSV export never carries NIKs or names.
    csv_text = client.get("/tiket.csv").get_data(as_text=True)
    assert world.letter in csv_text and "6271" not in csv_text and "Budi" not in csv_text


def test_opd_staff_cannot_reveal_a_nik(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    assert client.get(f"/tiket/{world.letter}?nik=1").status_code == 404


def test_forms_without_the_csrf_token_are_refused(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "admin")
    response = client.post(f"/tiket/{world.pupr}/aksi", data={"aksi": "proses"})
    assert response.status_code == 400
    response = client.post(f"/tiket/{world.pupr}/aksi", data={"aksi": "proses", "csrf_token": "palsu"})
    assert response.status_code == 400
    assert _state(world.pupr) == states.DITERUSKAN
    # Logging in needs the token too.
    assert app.test_client().post("/masuk", data={"username": "admin", "password": "x"}).status_code == 400


def test_login_is_throttled_over_http(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    for _ in range(staff.MAX_FAILURES_PER_ACCOUNT):
        response = client.post(
            "/masuk", data={"username": "admin", "password": "salah", "csrf_token": csrf(client)}
        )
        assert response.status_code == 401
    response = client.post(
        "/masuk", data={"username": "admin", "password": "Rahasia-Kantor-2026", "csrf_token": csrf(client)}
    )
    assert response.status_code == 429 and "Terlalu banyak" in response.get_data(as_text=True)


def test_logout_and_idle_expiry_end_the_session(app, world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "admin")
    assert client.get("/tiket").status_code == 200
    post(client, "/keluar", {})
    assert client.get("/tiket").status_code == 302
    client = login(app, "admin")
    later = staff.utcnow() + staff.idle_timeout() + dt.timedelta(minutes=1)
    monkeypatch.setattr(staff, "utcnow", lambda: later)
    assert client.get("/tiket").status_code == 302


def test_deactivated_user_is_logged_out_at_once(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = login(app, "pupr")
    with db.session_scope() as session:
        user = staff.find_user(session, "pupr")
        staff.update_user(
            session,
            user,
            full_name="P",
            role="opd",
            agency_code="PUPR",
            can_chat=False,
            is_active=False,
            agencies=["PUPR", "DLH"],
        )
    assert client.get("/tiket").status_code == 302


def test_security_headers(app, world: World) -> None:  # type: ignore[no-untyped-def]
    response = login(app, "admin").get("/tiket")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    login_response = app.test_client().get("/masuk")
    assert "HttpOnly" in (login_response.headers.get("Set-Cookie") or "HttpOnly")


def test_public_statistics_carry_no_personal_data(app, world: World) -> None:  # type: ignore[no-untyped-def]
    page = app.test_client().get("/publik/statistik").get_data(as_text=True)
    assert "Statistik layanan publik" in page
    for secret in ("Siti Aminah", "Joko", "6281111111111", world.pupr, "pungli", "6271"):
        assert secret not in page
