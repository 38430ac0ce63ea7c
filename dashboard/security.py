"""Who is logged in, what they may open, CSRF tokens and security headers.

The Flask session cookie (signed with DASHBOARD_SECRET_KEY, HttpOnly, SameSite=Lax, Secure in
production) carries only a random session token and, before login, a CSRF token. Everything
else lives in the database (``layanwarga.staff``): expiry is decided on the server at every
request, and logout, deactivation or a password change end sessions everywhere.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from typing import Any, Callable, Optional, TypeVar, cast
from urllib.parse import unquote, urlsplit

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for

from layanwarga import staff
from layanwarga.db import session_scope
from layanwarga.models import StaffUser

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes whose right comes from an API key sent with the request, not from a cookie: a forged
# cross-site request cannot carry the key, so they need no CSRF token (permissions.PARTNER).
CSRF_EXEMPT = frozenset({"open311.create_request"})
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def client_ip() -> str:
    """The client's address. Behind the HTTPS proxy named in ``DASHBOARD_TRUST_PROXY`` the server
    (waitress, ``DashboardSettings.server_options``) has already put the address the proxy saw
    here; forwarding headers from anyone else never reach the app."""
    return (request.remote_addr or "")[:64]


def csrf_token() -> str:
    """The token forms must send back: the logged-in session's, else one kept in the cookie."""
    active = getattr(g, "staff_session", None)
    if active is not None:
        return active.csrf_token
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = csrf_token()
    return bool(sent) and hmac.compare_digest(str(sent), expected)


def load_user() -> None:
    """Before each request: the logged-in staff member (g.user) or None, then the CSRF check."""
    g.user = None
    g.staff_session = None
    token = session.get("t")
    if token and request.endpoint not in ("static", "public.health"):
        with session_scope() as db:
            active = staff.load_session(db, token)
        if active is None:
            session.pop("t", None)
        else:
            g.user = active.user
            g.staff_session = active
            if active.needs_touch:
                with session_scope() as db:
                    staff.touch_session(db, active.session_id)
    if request.method in UNSAFE_METHODS and request.endpoint not in CSRF_EXEMPT and not _csrf_ok():
        abort(400, description="Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.")


# What a user with a temporary password may still open: the change itself, logging out, and
# what every page needs.
OPEN_WHILE_TEMPORARY = frozenset({"auth.change_password", "auth.logout", "static", "public.health"})


def require_own_password() -> Any:
    """Before each request, after ``load_user``: a user whose password an admin chose (new
    account or reset) goes to the password page until they have chosen their own."""
    user = g.get("user")
    if user is None or not user.must_change_password or request.endpoint in OPEN_WHILE_TEMPORARY:
        return None
    if request.accept_mimetypes.best == "application/json" or request.path.endswith(".json"):
        abort(401)
    return redirect(url_for("auth.change_password"))


def security_headers(response):  # type: ignore[no-untyped-def]
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if getattr(g, "user", None) is not None or request.path.startswith("/media/"):
        # Pages with personal data stay out of shared caches and the browser's back-forward cache.
        response.headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            if (
                request.path.startswith("/langsung/")
                and request.path.endswith(".json")
                or request.accept_mimetypes.best == "application/json"
            ):
                abort(401)
            flash("Silakan masuk terlebih dahulu.", "info")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def roles_required(*roles: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def is_city_admin(user: Optional[StaffUser]) -> bool:
    """An admin of the whole deployment (no unit): the city's Diskominfo, or the one office of a
    single-unit deployment. A kecamatan's or kelurahan's admin works its own area only and does
    not manage accounts, OPD or the city's settings."""
    return user is not None and user.role == staff.ROLE_ADMIN and not user.unit_code


def city_admin_required(view: F) -> F:
    @functools.wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_city_admin(g.user):
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def city_roles_required(*roles: str) -> Callable[[F], F]:
    """The listed roles, where "admin" means an admin of the whole deployment: a route for a
    role's city-wide pages (a kecamatan's or kelurahan's admin gets 403)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.user.role not in roles or (g.user.role == staff.ROLE_ADMIN and not is_city_admin(g.user)):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def chat_required(view: F) -> F:
    @functools.wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not can_chat(g.user):
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapper)


def can_chat(user: Optional[StaffUser]) -> bool:
    return user is not None and (user.role == staff.ROLE_ADMIN or bool(user.can_chat))


def _plain_path(text: str) -> bool:
    return (
        all("!" <= char <= "~" for char in text)
        and "\\" not in text
        and text.startswith("/")
        and not text.startswith("//")
    )


def is_same_site_path(target: Optional[str]) -> bool:
    """Whether ``target`` can only mean a path on this site, however a browser reads it.

    Browsers drop tabs and newlines inside URLs, treat ``\\`` like ``/``, read ``//host`` and
    ``/\\host`` as another host and ``name:`` as a scheme. So the target must be printable ASCII
    without a backslash, start with one ``/`` (not two), have no scheme and no host, and its path
    must pass the same test once percent-decoded, in case something decodes it again."""
    if not target or not _plain_path(target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and _plain_path(unquote(parts.path))


def safe_next(target: Optional[str]) -> str:
    """Where to go after login: ``target`` when it is a path on this site, else the inbox
    (no open redirect)."""
    if is_same_site_path(target):
        return str(target)
    return url_for("tickets.inbox")


def install(app: Flask) -> None:
    app.before_request(load_user)
    app.before_request(require_own_password)
    app.after_request(security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["can_chat"] = can_chat
    app.jinja_env.globals["is_city_admin"] = is_city_admin
