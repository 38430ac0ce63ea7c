"""The assistant's models (issue 27, item 3): the model server ``rasa run`` pulls from, and the
page where content staff retrain, compare, publish and roll back (``layanwarga.model_registry``).

The model server speaks Rasa's protocol (``rasa/core/agent.py`` ``_pull_model_and_fingerprint``
in 3.6): Rasa sends ``If-None-Match: <fingerprint of the model it runs>`` and the token as the
``token`` query parameter; the answer is 304 without a body (and without an ETag: RasaHQ/rasa
#3086) while the served model is the same, else 200 with the archive and ``ETag``, the
fingerprint Rasa keeps. The served model is the published one, or the deployment's baseline
while nothing is published (``model_registry.served``); 404 when there is neither. Without
``LAYANWARGA_MODEL_TOKEN`` configured the server is off (404); a wrong token is 403.
"""

from __future__ import annotations

import hmac
import logging
import os
import subprocess
import sys
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for

from layanwarga import model_registry, retrain, teaching

logger = logging.getLogger(__name__)
bp = Blueprint("models", __name__)
TOKEN_ENV_VAR = "LAYANWARGA_MODEL_TOKEN"
# Why an intent got worse: at most this many flipped held-out messages per intent, and taught
# examples per suspected intent, on the page (the evaluation record keeps them all).
MAX_FLIPS_SHOWN = 10
MAX_SUSPECTS_SHOWN = 5
MODEL_PATH = "/model/layanwarga.tar.gz"  # the `models: url:` of every rasa run's endpoints


@bp.route(MODEL_PATH)
def serve() -> Any:
    expected = os.environ.get(TOKEN_ENV_VAR) or ""
    if not expected:
        abort(404)
    if not hmac.compare_digest((request.args.get("token") or "").encode(), expected.encode()):
        abort(403)
    model = model_registry.served()
    if model is None:
        abort(404)  # Rasa: "no model yet", keeps what it runs
    wanted = (request.headers.get("If-None-Match") or "").strip().strip('"')
    if wanted == model.etag:
        return "", 304
    response = send_file(model.path, mimetype="application/gzip", conditional=False, etag=False)
    response.headers["ETag"] = model.etag
    response.headers["filename"] = model.filename  # the name Rasa saves it under
    return response


@bp.route("/konten/model")
def index() -> Any:
    current = model_registry.published()
    running = retrain.running()
    return render_template(
        "review_models.html",
        candidates=model_registry.candidates(),
        current=current,
        served=model_registry.served(),
        server_on=bool(os.environ.get(TOKEN_ENV_VAR)),
        running=running,
        history=list(reversed(model_registry.state()["history"]))[:20],
        max_flips=MAX_FLIPS_SHOWN,
        max_suspects=MAX_SUSPECTS_SHOWN,
    )


@bp.route("/konten/model/latih", methods=["POST"])
def train() -> Any:
    if request.form.get("latih") != "ya":  # the button says so; a bare POST starts nothing
        abort(400, description="Permintaan pelatihan tidak lengkap.")
    if retrain.running():
        flash("Pelatihan lain masih berjalan. Tunggu sampai selesai.", "error")
        return redirect(url_for("models.index"))
    model_registry.store_dir().mkdir(parents=True, exist_ok=True)
    log = (model_registry.store_dir() / "retrain.log").open("a", encoding="utf-8")
    root = teaching.Project().root  # the data staff teach is the data it trains from
    subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [sys.executable, "-m", "layanwarga.retrain", "--actor", g.user.actor, "--root", str(root)],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    logger.info("Retraining started by %s", g.user.actor)
    flash("Pelatihan dimulai (beberapa menit). Muat ulang halaman ini untuk melihat hasil evaluasinya.", "ok")
    return redirect(url_for("models.index"))


@bp.route("/konten/model/terbitkan", methods=["POST"])
def publish() -> Any:
    try:
        candidate = model_registry.publish(request.form.get("model") or "", g.user.actor)
    except model_registry.RegistryError as refused:
        flash(str(refused), "error")
        return redirect(url_for("models.index"))
    logger.info("Model %s published by %s", candidate.id, g.user.actor)
    flash(f"Model {candidate.id} diterbitkan; asisten memakainya pada pengambilan model berikutnya.", "ok")
    return redirect(url_for("models.index"))


@bp.route("/konten/model/kembalikan", methods=["POST"])
def rollback() -> Any:
    try:
        candidate = model_registry.rollback(g.user.actor)
    except model_registry.RegistryError as refused:
        flash(str(refused), "error")
        return redirect(url_for("models.index"))
    logger.info("Model rolled back to %s by %s", candidate.id, g.user.actor)
    flash(f"Model dikembalikan ke {candidate.id}.", "ok")
    return redirect(url_for("models.index"))
