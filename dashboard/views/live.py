"""The live inbox: conversations handed to staff (human handoff), answered in real time.

The conversation page polls ``/langsung/<id>/pesan.json`` every few seconds for new messages
(and delivery states of staff messages); replies go out through the notification outbox, so a
message typed while the Graph API is down is sent when it is back, never lost.

Who sees which handoff, which of its lines and which of the citizen's tickets is decided by
``dashboard.permissions`` (``handoff_visible``, ``readable_lines``, ``conversation_scope``): a
handoff someone may not open answers 404 on every route, exactly like one that does not exist.
A conversation page shows the handoff's own lines (the request that opened it and everything
after), never the citizen's earlier chats with the assistant.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from layanwarga import conversation_log, handoff, notifications
from layanwarga.config import get_institution
from layanwarga.db import session_scope
from layanwarga.models import (
    Citizen,
    ConversationMessage,
    Handoff,
    MessageStatus,
    Notification,
    StaffUser,
    Ticket,
    utcnow,
)

from .. import permissions, ticket_details

logger = logging.getLogger(__name__)
bp = Blueprint("live", __name__)

REPLY_LIMIT = 4000


def _actor(actor: str, names: Dict[str, str]) -> str:
    if actor == "warga":
        return "Warga"
    if actor == "asisten":
        return "Asisten virtual"
    if actor == "sistem":
        return "Sistem"
    if actor.startswith("staf:"):
        return names.get(actor[5:], actor[5:])
    return actor


def _messages(session: Any, handoff_id: int, after_id: int = 0, limit: int = 200) -> List[Dict[str, Any]]:
    """The handoff's lines the current user may read, as the page and the poll show them."""
    from .. import local

    inst = get_institution()
    names = {u.username: u.full_name for u in session.execute(select(StaffUser)).scalars()}
    logged = conversation_log.lines(
        session,
        ConversationMessage.handoff_id == handoff_id,
        permissions.readable_lines(g.user),
        after_id=after_id,
        limit=limit,
    )
    note_ids = [m.notification_id for m in logged if m.notification_id]
    outbox = {}
    if note_ids:
        outbox = {
            n.id: n
            for n in session.execute(select(Notification).where(Notification.id.in_(note_ids))).scalars()
        }
    wamids = [n.graph_message_id for n in outbox.values() if n.graph_message_id]
    delivery = {}
    if wamids:
        delivery = {
            m.message_id: m.status
            for m in session.execute(
                select(MessageStatus).where(MessageStatus.message_id.in_(wamids))
            ).scalars()
        }
    result = []
    for m in logged:
        note = outbox.get(m.notification_id or 0)
        status = ""
        if note is not None:
            status = notifications.STATUS_LABELS.get(note.status, note.status)
            if note.status == notifications.SENT and note.graph_message_id in delivery:
                status = {"delivered": "Sampai", "read": "Dibaca", "failed": "Gagal"}.get(
                    delivery[note.graph_message_id], status
                )
            if note.status == notifications.FAILED and note.last_error:
                status += f" ({note.last_error[:80]})"
        moment = local(inst, m.created_at)
        result.append(
            {
                "id": m.id,
                "direction": m.direction,
                "actor": _actor(m.actor, names),
                "text": m.text,
                "time": f"{moment:%d/%m %H.%M}" if moment else "",
                "media_url": url_for("tickets.media_file", media_id=m.media_id) if m.media_id else None,
                "media_label": ticket_details.attachment_label(m.kind) if m.media_id else None,
                "status": status,
                "notification_id": m.notification_id,
            }
        )
    return result


@bp.route("/langsung")
def index():  # type: ignore[no-untyped-def]
    visible = permissions.handoff_visible(g.user)
    with session_scope() as session:
        open_ = handoff.list_open(session, visible=visible, readable=permissions.readable_lines(g.user))
        closed = list(
            session.execute(
                select(Handoff, Citizen.profile_name)
                .outerjoin(Citizen, Citizen.id == Handoff.citizen_id)
                .where(Handoff.state == handoff.CLOSED, visible)
                .order_by(Handoff.closed_at.desc())
                .limit(20)
            ).all()
        )
    return render_template("live_index.html", handoffs=open_, closed=closed)


@bp.route("/langsung/ringkas.json")
def summary():  # type: ignore[no-untyped-def]
    with session_scope() as session:
        items = handoff.list_open(
            session, visible=permissions.handoff_visible(g.user), readable=permissions.readable_lines(g.user)
        )
    return jsonify(
        {
            "open": len(items),
            "unread": sum(i.unread for i in items),
            "waiting": sum(1 for i in items if i.first_response_at is None),
        }
    )


def _load(session: Any, handoff_id: int) -> Handoff:
    """The handoff if the current user may open it; 404 otherwise (never reveals that it exists)."""
    row = session.get(Handoff, handoff_id)
    if row is None or not permissions.can_open_handoff(session, g.user, handoff_id):
        abort(404)
    return row


@bp.route("/langsung/<int:handoff_id>")
def conversation(handoff_id: int):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        row = _load(session, handoff_id)
        citizen = session.get(Citizen, row.citizen_id) if row.citizen_id else None
        messages = _messages(session, handoff_id)
        recent = []
        if citizen is not None:
            recent = list(
                session.execute(
                    select(Ticket.number, Ticket.state, Ticket.kind)
                    .where(Ticket.citizen_id == citizen.id, *permissions.conversation_scope(g.user))
                    .order_by(Ticket.id.desc())
                    .limit(5)
                ).all()
            )
        info = {
            "id": row.id,
            "open": row.state == handoff.OPEN,
            "state": handoff.state_label(row.state == handoff.OPEN, row.first_response_at is not None),
            "emergency_at": row.emergency_at,
            "name": citizen.profile_name if citizen else "",
            "reason": handoff.REASON_LABELS.get(row.reason, row.reason),
            "opened_at": row.opened_at,
            "outside_hours": row.opened_outside_hours,
            "closed_at": row.closed_at,
            "in_window": bool(
                citizen
                and citizen.last_inbound_at
                and utcnow() - citizen.last_inbound_at < dt.timedelta(hours=24)
            ),
        }
    with session_scope() as session:
        inbound = [m["id"] for m in messages if m["direction"] == "in"]
        if inbound and info["open"]:
            handoff.mark_read(session, handoff_id, max(inbound))
    return render_template(
        "live_conversation.html",
        h=info,
        messages=messages,
        recent=recent,
        last_id=messages[-1]["id"] if messages else 0,
    )


@bp.route("/langsung/<int:handoff_id>/pesan.json")
def poll(handoff_id: int):  # type: ignore[no-untyped-def]
    try:
        after = max(0, int(request.args.get("after") or 0))
    except ValueError:
        after = 0
    with session_scope() as session:
        row = _load(session, handoff_id)
        is_open = row.state == handoff.OPEN
        state = handoff.state_label(is_open, row.first_response_at is not None)
        emergency = row.emergency_at is not None
        new = _messages(session, handoff_id, after_id=after, limit=100)
        # Delivery states of the latest staff messages change after they were shown.
        recent = _messages(session, handoff_id, limit=30)
    statuses = {m["id"]: m["status"] for m in recent if m["notification_id"]}
    with session_scope() as session:
        inbound = [m["id"] for m in new if m["direction"] == "in"]
        if inbound and is_open:
            handoff.mark_read(session, handoff_id, max(inbound))
    return jsonify(
        {"messages": new, "statuses": statuses, "open": is_open, "state": state, "emergency": emergency}
    )


@bp.route("/langsung/<int:handoff_id>/balas", methods=["POST"])
def reply(handoff_id: int):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        _load(session, handoff_id)
    text = (request.form.get("pesan") or "").strip()
    wants_json = request.accept_mimetypes.best == "application/json"
    error = None
    if not text:
        error = "Pesan masih kosong."
    elif len(text) > REPLY_LIMIT:
        error = f"Pesan terlalu panjang (maksimal {REPLY_LIMIT} karakter)."
    else:
        try:
            with session_scope(write=True) as session:
                user = session.get(StaffUser, g.user.id)
                handoff.reply(session, handoff_id, text, user)
        except LookupError as exc:
            error = str(exc)
    if wants_json:
        return (jsonify({"ok": False, "error": error}), 400) if error else jsonify({"ok": True})
    flash(error or "Pesan dijadwalkan untuk dikirim.", "error" if error else "ok")
    return redirect(url_for("live.conversation", handoff_id=handoff_id))


@bp.route("/langsung/<int:handoff_id>/tutup", methods=["POST"])
def close(handoff_id: int):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        _load(session, handoff_id)
    if handoff.close_handoff(handoff_id, actor=g.user.actor, inst=get_institution()):
        flash("Warga dikembalikan ke asisten virtual dan sudah diberi tahu.", "ok")
    else:
        flash("Percakapan ini sudah ditutup.", "info")
    return redirect(url_for("live.index"))
