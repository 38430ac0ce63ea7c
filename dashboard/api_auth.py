"""Who may POST to the Open311 API: a partner with an active key (``layanwarga.api_keys``),
sent as the ``api_key`` form field (the spec's) or an ``X-Api-Key`` header. The rule
``permissions.PARTNER`` wraps the view with ``api_key_required``; the body's size is checked
before the form is read, so an oversized body is refused without being parsed."""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Optional, TypeVar, cast

from flask import current_app, g, request
from werkzeug.datastructures import MultiDict

from layanwarga import api_keys, open311, rate_limits
from layanwarga.db import session_scope

F = TypeVar("F", bound=Callable[..., Any])

MAX_BODY_BYTES = 16 * 1024  # a 4,000-character description in UTF-8 and every other field


def limiter() -> rate_limits.Limiter:
    """The app's request counter (Redis when ``REDIS_URL`` is set), made on first use."""
    existing: Optional[rate_limits.Limiter] = current_app.extensions.get("lw_api_limiter")
    if existing is None:
        existing = rate_limits.from_env()
        current_app.extensions["lw_api_limiter"] = existing
    return existing


def form() -> Dict[str, str]:
    """The POST's fields, first value of each (checked for size by ``api_key_required``)."""
    fields: MultiDict = request.form
    return {key: fields.get(key, "") for key in fields}


def _refuse(status: int, description: str) -> Any:
    from .views.open311 import error_response

    return error_response(open311.Open311Error(status, description))


def api_key_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        length = request.content_length
        if length is None and request.headers.get("Transfer-Encoding"):
            return _refuse(400, "Kirim Content-Length; isian tanpa panjang tidak diterima.")
        if (length or 0) > MAX_BODY_BYTES:
            return _refuse(413, f"Isian terlalu besar (paling banyak {MAX_BODY_BYTES} byte).")
        key = request.form.get("api_key") or request.headers.get("X-Api-Key")
        with session_scope(write=True) as session:
            partner = api_keys.authenticate(session, key)
        if partner is None:
            return _refuse(403, "api_key tidak ada atau tidak sah -- laporan tidak dibuat.")
        g.api_partner = partner
        return view(*args, **kwargs)

    return cast(F, wrapper)
