"""Announcements to subscribers (admin role): compose, preview, send, follow progress.

Compose (text, optional picture, topic, target kelurahan) saves a draft; its page previews the
message exactly as citizens' WhatsApp will show it (the approved template with the text as its
parameter, the footer and the stop button) with the number of subscribers it would reach now.
*Kirim* (after ticking that the preview was checked) queues one delivery per subscriber; the
broadcast worker (``python -m layanwarga.broadcast``) sends them. The same page then shows the
progress and, per recipient (phone masked), what WhatsApp reported; it refreshes itself while
sending. Staff can pause, resume or stop a run.

Admin only: an announcement speaks for the institution to every subscriber at once.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from markupsafe import Markup, escape

from layanwarga import media as media_store, staff, subscriptions
from layanwarga.broadcast import ANNOUNCEMENT_IMAGE_MAX_BYTES, ANNOUNCEMENT_IMAGE_TYPES
from layanwarga.config import get_institution
from layanwarga.db import session_scope
from layanwarga.models import Announcement, Media

from ..security import roles_required

logger = logging.getLogger(__name__)
bp = Blueprint("announcements", __name__, url_prefix="/pengumuman")

PER_PAGE = 50
# The form carries a picture: allow it past the dashboard's small default body limit.
UPLOAD_LIMIT = ANNOUNCEMENT_IMAGE_MAX_BYTES + 64 * 1024
FILTER_LABELS = {
    "semua": "Semua",
    "menunggu": "Menunggu",
    "terkirim": "Terkirim",
    "gagal": "Gagal",
    "tidak_pasti": "Tidak pasti",
    "dilewati": "Dilewati/dibatalkan",
}


_BOLD, _ITALIC, _STRIKE = (
    re.compile(r"\*([^*\n]+)\*"),
    re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)"),
    re.compile(r"~([^~\n]+)~"),
)


def whatsapp_html(text: str) -> Markup:
    """Text as WhatsApp shows it: *bold*, _italic_, ~strike~ and line breaks, escaped first."""
    html = str(escape(text))
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    html = _STRIKE.sub(r"<s>\1</s>", html)
    return Markup(html.replace("\n", "<br>"))


def _allow_picture_uploads() -> None:
    """Raise the body limit for the compose and edit forms before anything reads the body.

    The dashboard accepts small bodies only (256 KB); a picture needs up to 5 MB. The CSRF check
    (an app-wide ``before_request``) parses the form first, so this hook is put in front of it."""
    if request.method == "POST" and request.endpoint in ("announcements.compose", "announcements.edit"):
        request.max_content_length = UPLOAD_LIMIT


@bp.record_once
def _install_upload_limit(state: Any) -> None:
    state.app.before_request_funcs.setdefault(None, []).insert(0, _allow_picture_uploads)


def _choices() -> Dict[str, Any]:
    inst = get_institution()
    cfg = inst.subscriptions
    return {
        "topics": [(code, t.label) for code, t in cfg.topics.items()] if cfg else [],
        "areas": [(code, a.name) for code, a in cfg.areas.items()] if cfg else [],
        "unit_targets": subscriptions.unit_targets(inst),
        "max_length": subscriptions.max_text_length(inst),
        "configured": cfg is not None,
    }


def _store_image() -> Optional[int]:
    """The uploaded picture, checked by its bytes (JPEG/PNG, 5 MB); None when none was sent."""
    upload = request.files.get("gambar")
    if upload is None or not upload.filename:
        return None
    content = upload.read(ANNOUNCEMENT_IMAGE_MAX_BYTES + 1)
    try:
        stored = media_store.store_media(
            content,
            mime_type=upload.mimetype,
            purpose="pengumuman",
            allowed=ANNOUNCEMENT_IMAGE_TYPES,
            max_bytes=ANNOUNCEMENT_IMAGE_MAX_BYTES,
        )
    except media_store.MediaRejected as exc:
        if exc.reason == "too_large":
            raise subscriptions.AnnouncementError("Gambar terlalu besar (paling besar 5 MB).") from None
        raise subscriptions.AnnouncementError("Gambar harus berupa foto JPG atau PNG.") from None
    return stored.id


def _form_values() -> Dict[str, str]:
    return {
        "judul": request.form.get("judul") or "",
        "topik": request.form.get("topik") or "",
        "wilayah": request.form.get("wilayah") or subscriptions.ALL,
        "isi": request.form.get("isi") or "",
    }


@bp.route("/")
@roles_required(staff.ROLE_ADMIN)
def index():  # type: ignore[no-untyped-def]
    inst = get_institution()
    with session_scope() as session:
        rows = subscriptions.list_announcements(session)
        waiting = subscriptions.open_announcement_ids(session, [r.id for r in rows])
        total, per_topic = subscriptions.subscriber_counts(inst, session)
    return render_template(
        "announcements.html",
        rows=rows,
        waiting=waiting,
        total=total,
        per_topic=per_topic,
        labels=subscriptions.ANNOUNCEMENT_LABELS,
        topic_label=lambda c: subscriptions.topic_label(inst, c),
        area_label=lambda c: subscriptions.area_label(inst, c),
        **_choices(),
    )


@bp.route("/baru", methods=["GET", "POST"])
@roles_required(staff.ROLE_ADMIN)
def compose():  # type: ignore[no-untyped-def]
    inst = get_institution()
    error = None
    form = {"judul": "", "topik": "", "wilayah": subscriptions.ALL, "isi": ""}
    if request.method == "POST":
        form = _form_values()
        try:
            subscriptions.validate_draft(inst, form["judul"], form["topik"], form["wilayah"], form["isi"])
            image_id = _store_image()
            with session_scope(write=True) as session:
                row = subscriptions.create_draft(
                    session,
                    inst,
                    title=form["judul"],
                    topic=form["topik"],
                    area=form["wilayah"],
                    text=form["isi"],
                    actor=g.user.actor,
                    image_media_id=image_id,
                )
                staff.audit(
                    session, g.user.actor, "draf_pengumuman", target=str(row.id), detail=row.title[:200]
                )
                announcement_id = int(row.id)
        except subscriptions.AnnouncementError as exc:
            error = str(exc)
        else:
            return redirect(url_for("announcements.detail", announcement_id=announcement_id))
    return render_template("announcement_form.html", form=form, error=error, editing=None, **_choices()), (
        400 if error else 200
    )


@bp.route("/<int:announcement_id>/ubah", methods=["GET", "POST"])
@roles_required(staff.ROLE_ADMIN)
def edit(announcement_id: int):  # type: ignore[no-untyped-def]
    inst = get_institution()
    error = None
    with session_scope() as session:
        row = session.get(Announcement, announcement_id)
        if row is None:
            abort(404)
        if row.status != subscriptions.DRAFT:
            flash("Pengumuman yang sudah dikirim tidak dapat diubah.", "info")
            return redirect(url_for("announcements.detail", announcement_id=announcement_id))
        form = {"judul": row.title, "topik": row.topic, "wilayah": row.area, "isi": row.text}
        editing = {"id": row.id, "has_image": bool(row.image_media_id)}
    if request.method == "POST":
        form = _form_values()
        try:
            subscriptions.validate_draft(inst, form["judul"], form["topik"], form["wilayah"], form["isi"])
            image_id = _store_image()
            with session_scope(write=True) as session:
                subscriptions.update_draft(
                    session,
                    inst,
                    announcement_id,
                    title=form["judul"],
                    topic=form["topik"],
                    area=form["wilayah"],
                    text=form["isi"],
                    image_media_id=image_id,
                    remove_image=request.form.get("hapus_gambar") == "1",
                )
        except subscriptions.AnnouncementError as exc:
            error = str(exc)
        else:
            flash("Draf disimpan.", "ok")
            return redirect(url_for("announcements.detail", announcement_id=announcement_id))
    return render_template("announcement_form.html", form=form, error=error, editing=editing, **_choices()), (
        400 if error else 200
    )


@bp.route("/<int:announcement_id>")
@roles_required(staff.ROLE_ADMIN)
def detail(announcement_id: int):  # type: ignore[no-untyped-def]
    inst = get_institution()
    filter_name = request.args.get("tampil", "semua")
    if filter_name not in FILTER_LABELS:
        filter_name = "semua"
    try:
        page = max(1, int(request.args.get("hal", "1")))
    except ValueError:
        page = 1
    with session_scope() as session:
        row = session.get(Announcement, announcement_id)
        if row is None:
            abort(404)
        rendered = subscriptions.render(inst, row)
        would_reach = (
            subscriptions.count_recipients(session, row.topic, row.area)
            if row.status == subscriptions.DRAFT
            else None
        )
        summary = subscriptions.summary(session, announcement_id)
        recipients, matching = ([], 0)
        if row.status != subscriptions.DRAFT:
            recipients, matching = subscriptions.deliveries(
                session, announcement_id, filter_name=filter_name, page=page, per_page=PER_PAGE
            )
    response = render_template(
        "announcement_detail.html",
        a=row,
        rendered=rendered,
        preview_html=whatsapp_html(rendered.body),
        would_reach=would_reach,
        summary=summary,
        recipients=recipients,
        matching=matching,
        page=page,
        pages=max(1, -(-matching // PER_PAGE)),
        filter_name=filter_name,
        filter_labels=FILTER_LABELS,
        labels=subscriptions.ANNOUNCEMENT_LABELS,
        topic=subscriptions.topic_label(inst, row.topic),
        area=subscriptions.area_label(inst, row.area),
        wa_labels=subscriptions.WA_LABELS,
    )
    headers = {"Refresh": "5"} if row.status == subscriptions.SENDING else {}
    return response, 200, headers


@bp.route("/<int:announcement_id>/gambar")
@roles_required(staff.ROLE_ADMIN)
def image(announcement_id: int):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        row = session.get(Announcement, announcement_id)
        picture = session.get(Media, row.image_media_id) if row is not None and row.image_media_id else None
        if picture is None or not picture.storage_path:
            abort(404)
        path, mime = media_store.resolve(picture.storage_path), picture.mime_type
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=mime or "application/octet-stream", max_age=0)


@bp.route("/<int:announcement_id>/kirim", methods=["POST"])
@roles_required(staff.ROLE_ADMIN)
def send(announcement_id: int):  # type: ignore[no-untyped-def]
    inst = get_institution()
    if request.form.get("sudah_diperiksa") != "1":
        flash("Centang pernyataan bahwa pratinjau sudah diperiksa sebelum mengirim.", "error")
        return redirect(url_for("announcements.detail", announcement_id=announcement_id))
    try:
        with session_scope(write=True) as session:
            if session.get(Announcement, announcement_id) is None:
                abort(404)
            count = subscriptions.queue(session, inst, announcement_id, g.user.actor)
            if count:
                staff.audit(
                    session,
                    g.user.actor,
                    "kirim_pengumuman",
                    target=str(announcement_id),
                    detail=f"{count} penerima",
                )
    except subscriptions.AnnouncementError as exc:
        flash(str(exc), "error")
        return redirect(url_for("announcements.detail", announcement_id=announcement_id))
    if count:
        logger.info("Announcement %d queued by %s for %d subscribers", announcement_id, g.user.actor, count)
        flash(f"Pengumuman masuk antrean untuk {count} pelanggan dan sedang dikirim.", "ok")
    else:
        flash("Pengumuman ini sudah dikirim sebelumnya, atau belum ada pelanggan yang sesuai.", "info")
    return redirect(url_for("announcements.detail", announcement_id=announcement_id))


def _control(announcement_id: int, action: str) -> Any:
    with session_scope(write=True) as session:
        if action == "jeda":
            done = subscriptions.pause(session, announcement_id, f"Dijeda oleh {g.user.full_name}.")
            message = "Pengiriman dijeda." if done else "Pengumuman ini tidak sedang dikirim."
        elif action == "lanjutkan":
            done = subscriptions.resume(session, announcement_id)
            message = "Pengiriman dilanjutkan." if done else "Pengumuman ini tidak sedang dijeda."
        else:
            cancelled = subscriptions.cancel(session, announcement_id)
            done = True
            message = f"Pengiriman dihentikan; {cancelled} pesan yang belum terkirim dibatalkan."
        if done:
            staff.audit(session, g.user.actor, f"{action}_pengumuman", target=str(announcement_id))
    flash(message, "ok" if done else "info")
    return redirect(url_for("announcements.detail", announcement_id=announcement_id))


@bp.route("/<int:announcement_id>/jeda", methods=["POST"])
@roles_required(staff.ROLE_ADMIN)
def pause(announcement_id: int):  # type: ignore[no-untyped-def]
    return _control(announcement_id, "jeda")


@bp.route("/<int:announcement_id>/lanjutkan", methods=["POST"])
@roles_required(staff.ROLE_ADMIN)
def resume(announcement_id: int):  # type: ignore[no-untyped-def]
    return _control(announcement_id, "lanjutkan")


@bp.route("/<int:announcement_id>/hentikan", methods=["POST"])
@roles_required(staff.ROLE_ADMIN)
def stop(announcement_id: int):  # type: ignore[no-untyped-def]
    return _control(announcement_id, "hentikan")


@bp.route("/<int:announcement_id>/hapus", methods=["POST"])
@roles_required(staff.ROLE_ADMIN)
def delete(announcement_id: int):  # type: ignore[no-untyped-def]
    with session_scope(write=True) as session:
        if subscriptions.delete_draft(session, announcement_id):
            staff.audit(session, g.user.actor, "hapus_draf_pengumuman", target=str(announcement_id))
            flash("Draf dihapus.", "ok")
            return redirect(url_for("announcements.index"))
    flash("Hanya draf yang dapat dihapus.", "info")
    return redirect(url_for("announcements.detail", announcement_id=announcement_id))
