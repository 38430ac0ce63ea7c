"""Inbox, ticket detail, actions (verify, forward, process, resolve, reject, reply), media,
CSV export and the OPD digest page. Who may reach each route is declared in
``dashboard.permissions.ROUTES``; which tickets and files a user may see is decided there too."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import mimetypes
from typing import Any, Dict, List, Optional

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select

from layanwarga import (
    conversation_log,
    feedback,
    media as media_store,
    merging,
    notifications,
    states,
    supporters,
)
from layanwarga.config import Institution, get_institution
from layanwarga.db import session_scope
from layanwarga.models import (
    KIND_COMPLAINT,
    KIND_LETTER,
    Citizen,
    ConversationMessage,
    Media,
    MessageStatus,
    Notification,
    StaffUser,
    Ticket,
    utcnow,
)
from layanwarga.nik import mask
from layanwarga.staff import ROLE_CONTENT, ROLE_OPD, agencies, audit
from layanwarga.stats import category_label, digest, today_local

from .. import agency_names, inbox, localtime, permissions, ticket_details

logger = logging.getLogger(__name__)
bp = Blueprint("tickets", __name__)

REPLY_LIMIT = 2000
NOTE_LIMIT = 1000
CONVERSATION_LIMIT = 200
ACTION_LABELS = {
    "verifikasi": "Verifikasi",
    "teruskan": "Teruskan ke OPD",
    "proses": "Tandai sedang diproses",
    "selesai": "Selesaikan",
    "tolak": "Tolak",
    "siap_diambil": "Tandai siap diambil",
    "serahkan": "Tandai sudah diserahkan",
}
DELIVERY_LABELS = {
    "accepted": "Diterima server",
    "sent": "Terkirim",
    "delivered": "Sampai",
    "read": "Dibaca",
    "failed": "Gagal",
}


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    if g.user is None:
        return redirect(url_for("auth.login"))
    # Content staff have no tickets: their work is the assistant's review queue.
    return redirect(url_for("review.queue") if g.user.role == ROLE_CONTENT else url_for("tickets.inbox"))


def _category_options(inst: Any, kind: str) -> List[tuple]:
    options = []
    if kind in ("", KIND_COMPLAINT):
        options += [(code, c.label) for code, c in inst.complaint_categories.items()]
    if kind in ("", KIND_LETTER):
        options += [(code, letter.name) for code, letter in inst.letters.items()]
    return options


def _state_options(kind: str) -> List[tuple]:
    codes: List[str] = []
    for k in [kind] if kind else [KIND_COMPLAINT, KIND_LETTER]:
        for code in states.TRANSITIONS[k]:
            if code not in codes:
                codes.append(code)
    return [
        (inbox.OPEN_FILTER, "Masih terbuka"),
        (inbox.ALL_FILTER, "Semua status, termasuk selesai dan ditolak"),
    ] + [(c, states.LABELS[c]) for c in codes]


def inbox_page():  # type: ignore[no-untyped-def]
    inst = get_institution()
    user: StaffUser = g.user
    if user.role == ROLE_CONTENT:
        # Content staff have no tickets (where a login lands by default): their queue instead.
        return redirect(url_for("review.queue"))
    f = inbox.parse_filters(request.args, user)
    today = today_local(inst)
    page_size = current_app.config["LW_SETTINGS"].page_size
    with session_scope() as session:
        page = inbox.fetch(session, inst, user, f, today, page_size)
        failed = notifications.failed_ticket_ids(session, [r.id for r in page.rows])
        agency_list = agencies(session, inst)
    names = agency_names()
    rows = []
    for r in page.rows:
        hidden = permissions.hides_identity(user, r)
        who = "Anonim" if hidden else (r.applicant_name if r.kind == KIND_LETTER else r.reporter_name) or "-"
        open_ = states.is_open(r.kind, r.state)
        overdue_days = (
            (today - r.due_date).days
            if (r.due_date and open_ and r.state in inbox.OVERDUE_STATES and r.due_date < today)
            else 0
        )
        rows.append(
            {
                "number": r.number,
                "kind": r.kind,
                "category": category_label(inst, r.kind, r.category),
                "state": r.state,
                "state_label": states.LABELS.get(r.state, r.state),
                "agency": names.get(r.agency_code or "", r.agency_code or ""),
                "due_date": r.due_date,
                "created_at": r.created_at,
                "who": who,
                "anonymous": bool(r.is_anonymous),
                "summary": (r.description or r.purpose or "")[:160],
                "overdue_days": overdue_days,
                "failed": r.id in failed,
                "rating": r.rating,
                "supporters": r.supporter_count,
                "reopened": bool(r.reopened) and open_,
                "place": ", ".join(
                    p for p in (f"RT {r.rt}" if r.rt else "", f"RW {r.rw}" if r.rw else "", r.area or "") if p
                ),
                "unit": _place_of(inst, r),
            }
        )
    return render_template(
        "inbox.html",
        unit_choices=inbox.unit_filter_choices(inst, user),
        f=f,
        rows=rows,
        page=page,
        categories=_category_options(inst, f.kind),
        state_options=_state_options(f.kind),
        agencies=agency_list,
        sorts=inbox.SORT_LABELS,
        today=today,
    )


def _place_of(inst: Institution, ticket: Any) -> str:
    """The kelurahan of a ticket in a city's list ("Kelurahan Langkai"); nothing for a single
    unit, or a ticket placed nowhere (the city's triage)."""
    if inst.units.single:
        return ""
    unit = inst.units.get(ticket.kelurahan_code or ticket.unit_code or "")
    return unit.title if unit is not None and unit.parent is not None else ""


# Keep the endpoint name short in templates: url_for("tickets.inbox").
bp.add_url_rule("/tiket", endpoint="inbox", view_func=inbox_page)


def _csv_cell(value: Any) -> str:
    """Spreadsheet-safe text: a leading = + - @ would run as a formula in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/tiket.csv")
def export_csv():  # type: ignore[no-untyped-def]
    inst = get_institution()
    user: StaffUser = g.user
    f = inbox.parse_filters(request.args, user)
    today = today_local(inst)
    names = agency_names()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "nomor",
            "jenis",
            "kategori",
            "status",
            "opd",
            localtime.column(inst, "dibuat"),
            "tenggat",
            localtime.column(inst, "ditutup"),
            "terlambat_hari",
            "penilaian",
            "rt",
            "rw",
            "wilayah",
            "unit_kode",
            "kelurahan_kode",
            "kecamatan_kode",
        ]
    )
    count = 0
    with session_scope() as session:
        for r in inbox.all_rows(session, inst, user, f, today):
            late = 0
            if r.due_date:
                end = localtime.local_date(inst, r.closed_at) if r.closed_at else today
                late = (
                    max(0, (end - r.due_date).days) if (r.closed_at or r.state in inbox.OVERDUE_STATES) else 0
                )
            writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        r.number,
                        r.kind,
                        category_label(inst, r.kind, r.category),
                        states.LABELS.get(r.state, r.state),
                        names.get(r.agency_code or "", r.agency_code or ""),
                        localtime.text(inst, r.created_at),
                        r.due_date.isoformat() if r.due_date else "",
                        localtime.text(inst, r.closed_at),
                        late,
                        r.rating or "",
                        r.rt or "",
                        r.rw or "",
                        r.area or "",
                        r.unit_code or "",
                        r.kelurahan_code or "",
                        r.kecamatan_code or "",
                    )
                ]
            )
            count += 1
        audit(session, user.actor, "ekspor_csv", detail=f"{count} baris; filter={f.params()}")
    stamp = today.isoformat()
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="tiket-{stamp}.csv"'},
    )


# -- detail ---------------------------------------------------------------------------------------
def _load(session: Any, number: str) -> Ticket:
    """The ticket if this user may see it; 404 otherwise (never reveals that it exists)."""
    ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalars().first()
    if ticket is None or not permissions.can_view(session, g.user, ticket.id):
        abort(404)
    return ticket


def _actor_label(actor: str, staff_names: Dict[str, str], hide_citizen: bool) -> str:
    if actor == "warga":
        return "Warga (pelapor anonim)" if hide_citizen else "Warga"
    if actor in ("sistem", "asisten"):
        return "Sistem" if actor == "sistem" else "Asisten virtual"
    if actor.startswith("staf:"):
        return staff_names.get(actor[5:], actor[5:])
    return actor


def _sent_to(recipients: notifications.Recipients, followed: bool) -> str:
    """Whom a history entry's message went to, as the history says it ("Dikirim ke …")."""
    if recipients.supporters:
        followers = f"{recipients.supporters} warga pengikut"
        return f"pelapor dan {followers}" if recipients.reporter else followers
    return "pelapor saja" if followed else "warga"


def _detail_context(session: Any, ticket: Ticket, show_nik: bool) -> Dict[str, Any]:
    inst = get_institution()
    user: StaffUser = g.user
    hide = permissions.hides_identity(user, ticket)
    citizen: Optional[Citizen] = ticket.citizen
    staff_names = {u.username: u.full_name for u in session.execute(select(StaffUser)).scalars()}
    rows = notifications.for_ticket(session, ticket.id)
    # History entries whose note went to citizens (a reply, or a state change's message), and to whom.
    sent = notifications.recipients_by_change(rows)
    followed = bool(ticket.supporter_count)
    names = agency_names()
    history = [
        {
            "at": h.created_at,
            "actor": _actor_label(h.actor, staff_names, hide),
            "from": states.LABELS.get(h.from_state or "", h.from_state or ""),
            "to": states.LABELS.get(h.to_state, h.to_state),
            "note": h.note,
            "note_sent": h.id in sent,
            "sent_to": _sent_to(sent[h.id], followed) if h.id in sent else "",
            "internal_note": h.internal_note,
            "from_agency": names.get(h.from_agency or "", h.from_agency)
            if h.from_agency != h.to_agency
            else None,
            "to_agency": names.get(h.to_agency or "", h.to_agency),
            "reply": h.id in sent and sent[h.id].reply,
        }
        for h in ticket.history
    ]
    wamids = [r.graph_message_id for r in rows if r.graph_message_id]
    delivery = {}
    if wamids:
        delivery = {
            m.message_id: m
            for m in session.execute(
                select(MessageStatus).where(MessageStatus.message_id.in_(wamids))
            ).scalars()
        }
    outbox = []
    for r in rows:
        status = delivery.get(r.graph_message_id or "")
        outbox.append(
            {
                "id": r.id,
                "kind": r.kind,
                "text": r.text,
                "status": r.status,
                "status_label": notifications.STATUS_LABELS.get(r.status, r.status),
                "attempts": r.attempts,
                "error": r.last_error,
                "via": {"text": "teks", "interactive": "pesan bertombol", "template": "template"}.get(
                    r.sent_via or "", ""
                ),
                "created_at": r.created_at,
                "sent_at": r.sent_at,
                "next_attempt_at": r.next_attempt_at
                if r.status == notifications.PENDING and r.attempts
                else None,
                "delivery": DELIVERY_LABELS.get(status.status, status.status) if status else "",
                "delivery_error": (status.error_title or f"kode {status.error_code}")
                if status and status.status == "failed"
                else "",
                "created_by": _actor_label(r.created_by, staff_names, hide),
                "to_supporter": ticket.citizen_id is not None and r.citizen_id != ticket.citizen_id,
            }
        )
    conversation = []
    if permissions.may_see_conversation(user, ticket):
        # The ticket's own conversation: its form from start to submission, the citizen's replies
        # to messages about it and the assistant's answers (outbox messages are listed below).
        msg = ConversationMessage
        conversation = conversation_log.lines(
            session, msg.ticket_id == ticket.id, msg.notification_id.is_(None), limit=CONVERSATION_LIMIT
        )
    fb = feedback.for_ticket(session, ticket.id)
    backers = [
        {
            "who": "Anonim" if permissions.hides_identity(user, s) else (c.profile_name or "Warga"),
            "note": s.note,
            "at": s.created_at,
            "merged_from": s.merged_from_number,
            "rating": s.rating,
        }
        for s, c in supporters.rows(session, ticket.id)
    ]
    agency_list = agencies(session, inst)
    today = today_local(inst)
    open_ = states.is_open(ticket.kind, ticket.state)
    overdue_days = (
        (today - ticket.due_date).days
        if (ticket.due_date and open_ and ticket.state in inbox.OVERDUE_STATES and ticket.due_date < today)
        else 0
    )
    letter = inst.letters.get(ticket.category) if ticket.kind == KIND_LETTER else None
    if show_nik and permissions.may_reveal_nik(user, ticket):
        nik = ticket.applicant_nik or ""
        audit(session, user.actor, "lihat_nik", target=ticket.number)
    else:
        nik = mask(ticket.applicant_nik) if ticket.applicant_nik else ""
    identity = None
    if not hide:
        identity = {
            "reporter_name": ticket.reporter_name,
            "profile_name": citizen.profile_name if citizen else None,
            "wa_id": citizen.wa_id if citizen else None,
            "user_id": citizen.user_id if citizen else None,
            "in_window": bool(
                citizen
                and citizen.last_inbound_at
                and utcnow() - citizen.last_inbound_at < dt.timedelta(hours=24)
            ),
            "last_inbound_at": citizen.last_inbound_at if citizen else None,
        }
    actions = permissions.allowed_actions(user, ticket)
    return {
        "t": ticket,
        "category": category_label(inst, ticket.kind, ticket.category),
        "letter": letter,
        "agency_name": agency_names().get(ticket.agency_code or "", ticket.agency_code or ""),
        "identity": identity,
        "supporters": backers,
        "merged_into": merging.merged_into(ticket),
        "may_merge": permissions.may_merge(session, user, ticket),
        "undo_open": merging.undo_open(ticket),
        "hidden_identity": hide,
        "nik": nik,
        "nik_revealed": show_nik and permissions.may_reveal_nik(user, ticket),
        "may_reveal_nik": permissions.may_reveal_nik(user, ticket) and bool(ticket.applicant_nik),
        "history": history,
        "outbox": outbox,
        "conversation": conversation,
        "details": ticket_details.detail_rows(ticket.details, hide_identity=hide),
        "media": ticket_details.media_items(session, ticket),
        "feedback": fb,
        "actions": actions,
        "action_labels": ACTION_LABELS,
        "forward_choices": permissions.agency_choices(user, ticket, agency_list),
        "overdue_days": overdue_days,
        "reopened": open_
        and bool(
            session.execute(
                select(inbox.reopened()).select_from(Ticket).where(Ticket.id == ticket.id)
            ).scalar_one()
        ),
        "map_url": (
            f"https://www.google.com/maps/search/?api=1&query={ticket.latitude:.6f},{ticket.longitude:.6f}"
            if ticket.latitude is not None and ticket.longitude is not None
            else None
        ),
        "osm_url": (
            f"https://www.openstreetmap.org/?mlat={ticket.latitude:.6f}&mlon={ticket.longitude:.6f}#map=18/{ticket.latitude:.6f}/{ticket.longitude:.6f}"
            if ticket.latitude is not None and ticket.longitude is not None
            else None
        ),
    }


@bp.route("/tiket/<number>")
def detail(number: str):  # type: ignore[no-untyped-def]
    show_nik = request.args.get("nik") == "1"
    with session_scope() as session:
        ticket = _load(session, number)
        context = _detail_context(session, ticket, show_nik)
        return render_template("ticket.html", **context)


def _form_text(name: str) -> Optional[str]:
    return " ".join((request.form.get(name) or "").split()) or None


@bp.route("/tiket/<number>/aksi", methods=["POST"])
def act(number: str):  # type: ignore[no-untyped-def]
    """A state change. Staff write two things apart: ``pesan_warga``, sent to the citizen with
    the change's WhatsApp message (required to resolve or reject), and ``catatan_internal``,
    kept in the history for staff and never sent (required when an OPD passes a complaint on)."""
    inst = get_institution()
    user: StaffUser = g.user
    action = request.form.get("aksi") or ""
    note, internal_note = _form_text("pesan_warga"), _form_text("catatan_internal")
    if any(text and len(text) > NOTE_LIMIT for text in (note, internal_note)):
        flash(f"Pesan atau catatan terlalu panjang (maksimal {NOTE_LIMIT} karakter).", "error")
        return redirect(url_for("tickets.detail", number=number))
    with session_scope() as session:
        ticket = _load(session, number)
        allowed = permissions.allowed_actions(user, ticket)
        ticket_id, kind, state = ticket.id, ticket.kind, ticket.state
    if action not in permissions.KNOWN_ACTIONS:
        flash("Pilih salah satu tindakan yang tersedia.", "error")
        return redirect(url_for("tickets.detail", number=number))
    if action not in allowed:
        abort(403)
    if action == "balas":
        return _reply(ticket_id, number)
    if action == "kirim_ulang":
        return _retry(ticket_id, number)
    target = permissions.ACTION_TARGETS[action][kind]
    agency_code = None
    if action == "teruskan":
        agency_code = (request.form.get("opd") or "").strip()
        with session_scope() as session:
            valid = {info.code for info in permissions.agency_choices(user, ticket, agencies(session, inst))}
        if agency_code not in valid:
            flash("Pilih OPD tujuan yang valid.", "error")
            return redirect(url_for("tickets.detail", number=number))
        if user.role == ROLE_OPD and not internal_note:
            flash(
                "Tuliskan alasan pengalihan ke OPD lain di catatan internal (tidak dikirim ke warga).",
                "error",
            )
            return redirect(url_for("tickets.detail", number=number))
    try:
        result = notifications.change_state_and_notify(
            inst,
            ticket_id,
            target,
            user.actor,
            note,
            agency_code,
            agency_names=agency_names(),
            internal_note=internal_note,
        )
    except states.TransitionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("tickets.detail", number=number))
    logger.info("Ticket %s: %s -> %s by %s", number, state, result.state, user.actor)
    message = f"Status {number} diubah menjadi \u201c{states.LABELS.get(result.state, result.state)}\u201d."
    if agency_code:
        message = f"{number} diteruskan ke {agency_names().get(agency_code, agency_code)}."
    if result.notification_id:
        message += " Warga akan diberi tahu melalui WhatsApp."
    flash(message, "ok")
    with session_scope() as session:
        still_visible = permissions.can_view(session, user, ticket_id)
    # An OPD that passed a complaint on no longer sees it: back to its inbox, not to a 404.
    return redirect(url_for("tickets.detail", number=number) if still_visible else url_for("tickets.inbox"))


@bp.route("/tiket/<number>/gabung", methods=["POST"])
def merge(number: str):  # type: ignore[no-untyped-def]
    """Merge this complaint (a duplicate) into the one whose number the clerk typed: both must be
    complaints the clerk may act on (``permissions.may_merge``)."""
    user: StaffUser = g.user
    target = (request.form.get("ke") or "").strip()
    try:
        with session_scope(write=True) as session:
            _load(session, number)
            result = merging.merge(
                get_institution(),
                session,
                number,
                target,
                user.actor,
                allowed=lambda ticket: permissions.may_merge(session, user, ticket),
            )
            audit(session, user.actor, "gabung_aduan", target=f"{result.duplicate}->{result.survivor}")
    except merging.MergeError as exc:
        flash(str(exc), "error")
        return redirect(url_for("tickets.detail", number=number))
    flash(
        f"{result.duplicate} digabung ke {result.survivor}; {result.moved} warga menjadi pendukung dan diberi tahu "
        "nomor barunya. Dapat dibatalkan dalam sehari.",
        "ok",
    )
    return redirect(url_for("tickets.detail", number=result.survivor))


@bp.route("/tiket/<number>/pisah", methods=["POST"])
def split(number: str):  # type: ignore[no-untyped-def]
    """Take a merged complaint out of its survivor again (an undo within a day)."""
    user: StaffUser = g.user
    reason = _form_text("alasan")
    try:
        with session_scope(write=True) as session:
            _load(session, number)
            result = merging.split(
                get_institution(),
                session,
                number,
                user.actor,
                reason,
                allowed=lambda ticket: permissions.may_merge(session, user, ticket),
            )
            audit(session, user.actor, "pisah_aduan", target=f"{result.duplicate}<-{result.survivor}")
    except merging.MergeError as exc:
        flash(str(exc), "error")
        return redirect(url_for("tickets.detail", number=number))
    flash(f"{result.duplicate} dipisahkan kembali dari {result.survivor}; warganya diberi tahu.", "ok")
    return redirect(url_for("tickets.detail", number=result.duplicate))


def _reply(ticket_id: int, number: str):  # type: ignore[no-untyped-def]
    """Staff's reply: to the reporter and the ticket's supporters, or (``penerima=pelapor``) to
    the reporter only (``notifications.reply``)."""
    inst = get_institution()
    user: StaffUser = g.user
    text = (request.form.get("pesan") or "").strip()
    audience = request.form.get("penerima") or notifications.REPLY_EVERYONE
    if not text:
        flash("Pesan balasan masih kosong.", "error")
        return redirect(url_for("tickets.detail", number=number))
    if len(text) > REPLY_LIMIT:
        flash(f"Pesan terlalu panjang (maksimal {REPLY_LIMIT} karakter).", "error")
        return redirect(url_for("tickets.detail", number=number))
    if audience not in notifications.REPLY_AUDIENCES:
        flash("Pilih penerima balasan: pelapor dan warga pengikut, atau hanya pelapor.", "error")
        return redirect(url_for("tickets.detail", number=number))
    with session_scope(write=True) as session:
        result = notifications.reply(
            inst, session, session.get(Ticket, ticket_id), text, user.actor, audience=audience
        )
    logger.info(
        "Ticket %s: reply queued by %s (%d supporters' copies)", number, user.actor, result.supporters
    )
    if result.supporters:
        flash(
            f"Balasan dijadwalkan untuk dikirim melalui WhatsApp ke pelapor dan {result.supporters} "
            "warga pengikut.",
            "ok",
        )
    else:
        flash("Balasan dijadwalkan untuk dikirim ke warga melalui WhatsApp.", "ok")
    return redirect(url_for("tickets.detail", number=number))


def _retry(ticket_id: int, number: str):  # type: ignore[no-untyped-def]
    user: StaffUser = g.user
    try:
        notification_id = int(request.form.get("notifikasi") or 0)
    except ValueError:
        abort(400)
    with session_scope(write=True) as session:
        row = session.get(Notification, notification_id)
        if row is None or row.ticket_id != ticket_id:
            abort(404)
        if notifications.retry(session, notification_id, user.actor):
            audit(session, user.actor, "kirim_ulang", target=number, detail=f"notifikasi {notification_id}")
            flash("Pesan dimasukkan kembali ke antrean pengiriman.", "ok")
        else:
            flash("Pesan ini tidak dalam status gagal.", "info")
    return redirect(url_for("tickets.detail", number=number))


# -- media ----------------------------------------------------------------------------------------
@bp.route("/media/<int:media_id>")
def media_file(media_id: int):  # type: ignore[no-untyped-def]
    """A citizen's photo or document, for staff who may see what it belongs to (its ticket, or
    the conversation it was sent in); 404 otherwise, exactly as for a file that does not exist."""
    with session_scope() as session:
        row = session.get(Media, media_id)
        if row is None or not row.storage_path or not permissions.may_open_media(session, g.user, row):
            abort(404)
        path = media_store.resolve(row.storage_path)
        mime = row.mime_type or mimetypes.guess_type(str(path))[0] or "application/octet-stream"
    if not path.is_file():
        logger.error("Media %s is recorded but its file is missing", media_id)
        abort(404)
    inline = mime.startswith("image/")
    response = send_file(
        path,
        mimetype=mime,
        as_attachment=not inline,
        download_name=f"lampiran-{media_id}{path.suffix}",
        conditional=True,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


# -- digest -----------------------------------------------------------------------------------------
@bp.route("/ringkasan")
def digest_page():  # type: ignore[no-untyped-def]
    inst = get_institution()
    user: StaffUser = g.user
    # Admins pick an OPD; OPD staff see their own (ROUTES admits no other role).
    code = user.agency_code if user.role == ROLE_OPD else (request.args.get("opd") or "")
    with session_scope() as session:
        agency_list = agencies(session, inst)
        result = None
        if code and code in agency_list:
            result = digest(session, inst, code, agency_list[code].name, today_local(inst))
    return render_template("digest.html", digest=result, agencies=agency_list, code=code)
