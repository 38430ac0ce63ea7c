"""The public map of complaints (``/publik/peta``): no login, phone first, Indonesian.

Open complaints and those resolved in the last ``publik.recently_fixed_days`` days, clustered,
filtered by category and state in the browser. The data (``/publik/peta.json``) comes from
``layanwarga.public_tickets`` (no names or phone numbers; anonymous and confidential reports
without text, their pins snapped to ~100 m). Leaflet and its cluster plugin are served from
``static/vendor`` (no CDN); the only other origin the page may load from is the configured tile
server, named in its content security policy.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from flask import Blueprint, Response, current_app, jsonify, render_template

from layanwarga import states
from layanwarga.db import session_scope
from layanwarga.models import KIND_COMPLAINT
from layanwarga.public_tickets import on_the_map

from ..cache import TtlCache
from ..localtime import local

bp = Blueprint("public_map", __name__, url_prefix="/publik")

PUBLIC_MAP_CACHE_SECONDS = 60
POPUP_CHARACTERS = 200  # a popup on a phone; the whole text is on Open311


def _short(text: Optional[str]) -> Optional[str]:
    if text is None or len(text) <= POPUP_CHARACTERS:
        return text
    return text[: POPUP_CHARACTERS - 1].rstrip() + "…"


def _csp(tile_origin: str) -> str:
    images = f"'self' data: {tile_origin}".strip()
    return (
        f"default-src 'self'; img-src {images}; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


@bp.route("/peta")
def page() -> Response:
    inst = current_app.config["LW_INSTITUTION"]
    settings = inst.public
    html = render_template(
        "public_map.html",
        settings=settings,
        center=(
            inst.latitude if inst.latitude is not None else -2.5,
            inst.longitude if inst.longitude is not None else 118.0,
        ),
        categories=inst.complaint_categories,
        category_labels={code: c.label for code, c in inst.complaint_categories.items()},
        state_labels_json={
            s: states.LABELS[s] for s in states.OPEN_STATES[KIND_COMPLAINT] | {states.SELESAI}
        },
        states=[
            (s, states.LABELS[s])
            for s in (
                *sorted(states.OPEN_STATES[KIND_COMPLAINT], key=list(states.LABELS).index),
                states.SELESAI,
            )
        ],
    )
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = _csp(settings.tile_origin or "")
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAP_CACHE_SECONDS}"
    return response


def _items() -> List[Dict[str, Any]]:
    inst = current_app.config["LW_INSTITUTION"]
    with session_scope() as session:
        found = on_the_map(session, inst)
    items = []
    for t in found:
        moment = local(inst, t.created_at)
        item: Dict[str, Any] = {
            "nomor": t.number,
            "kategori": t.service_code,
            "status": t.state,
            "lat": t.latitude,
            "lon": t.longitude,
            "tanggal": f"{moment:%d-%m-%Y}" if moment else "",
            "privat": t.private,
            "uraian": _short(t.description),
            "lokasi": _short(t.address),
        }
        items.append(item)
    return items


@bp.route("/peta.json")
def data() -> Any:
    """The map's reports, computed at most once a minute however many visitors ask (no login:
    a burst of requests must not become a burst of queries)."""
    if current_app.config.get("LW_STATS_CACHE", True):
        cache = current_app.extensions.setdefault(
            "lw_public_map_cache", TtlCache(PUBLIC_MAP_CACHE_SECONDS, max_entries=1)
        )
        items = cache.get_or_compute("peta", _items)
    else:  # the benchmark times the work (dashboard/bench.py)
        items = _items()
    response = jsonify({"laporan": items})
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAP_CACHE_SECONDS}"
    return response
