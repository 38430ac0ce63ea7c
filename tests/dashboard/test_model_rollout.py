"""Rolling a model out through Rasa's own model pulling (issue 27, item 3): the dashboard serves
the published model with a token, and Rasa 3.6's own client (``rasa.core.agent``
``_pull_model_and_fingerprint``, what ``models:`` in endpoints.yml runs) gets it once, then
"unchanged" until staff publish or roll back; while nothing is published it serves the
deployment's baseline model, so a fresh deployment whose ``rasa run`` loads only from the model
server has a model at all; content staff drive it from a page that says why a candidate is
refused and which model is served."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pytest
from flask import Flask
from rasa.core.agent import _pull_model_and_fingerprint
from rasa.utils.endpoints import EndpointConfig
from werkzeug.serving import make_server

from dashboard.views.models import TOKEN_ENV_VAR
from layanwarga import model_registry
from layanwarga.model_registry import Scores
from tests.core.test_model_registry import published_and_refused, report
from tests.dashboard.support import World, csrf, free_port, login, make_user

TOKEN = "rahasia-model-123"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(model_registry.STORE_ENV_VAR, str(tmp_path / "store"))
    monkeypatch.setenv(TOKEN_ENV_VAR, TOKEN)
    # No baseline unless a test writes one (not the checkout's trained models/layanwarga.tar.gz).
    monkeypatch.setenv(model_registry.BASELINE_ENV_VAR, str(tmp_path / "bawaan" / "layanwarga.tar.gz"))
    return tmp_path / "store"


@pytest.fixture
def served(app: Flask, store: Path) -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/model/layanwarga.tar.gz"
    server.shutdown()


def candidate(tmp_path: Path, candidate_id: str, content: bytes, **f1: float) -> model_registry.Candidate:
    path = tmp_path / f"{candidate_id}.tar.gz"
    path.write_bytes(content)
    return model_registry.register(candidate_id, path, Scores.from_intent_report(report(**f1)), "staf:konten")


def pull(url: str, fingerprint: Optional[str], folder: Path, token: str = TOKEN) -> Optional[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return asyncio.run(
        _pull_model_and_fingerprint(EndpointConfig(url, token=token), fingerprint, str(folder))
    )


def test_rasa_pulls_the_published_model_once_then_the_rollback(
    app: Flask, world: World, served: str, tmp_path: Path
) -> None:
    first = candidate(tmp_path, "20261207-100000", b"model satu" * 50)
    second = candidate(tmp_path, "20261207-110000", b"model dua" * 50)
    assert pull(served, "modelbawaan", tmp_path / "a") is None  # nothing published, no baseline: 404
    model_registry.publish(first.id, "staf:konten")
    fingerprint = pull(served, "modelbawaan", tmp_path / "b")
    assert fingerprint == first.etag
    assert (tmp_path / "b" / f"layanwarga-{first.id}.tar.gz").read_bytes() == b"model satu" * 50
    assert pull(served, fingerprint, tmp_path / "c") is None and not any((tmp_path / "c").iterdir())  # 304
    assert pull(served, "modelbawaan", tmp_path / "d", token="salah") is None  # 403: nothing downloaded
    assert not any((tmp_path / "d").iterdir())
    admin = login(app, "admin")
    token = csrf(admin, "/konten/model")
    admin.post("/konten/model/terbitkan", data={"model": second.id, "csrf_token": token})
    assert pull(served, fingerprint, tmp_path / "e") == second.etag
    admin.post("/konten/model/kembalikan", data={"csrf_token": token})
    assert pull(served, second.etag, tmp_path / "f") == first.etag


def test_the_server_is_off_without_a_token_and_unchanged_gets_no_etag(
    app: Flask, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = candidate(tmp_path, "20261207-100000", b"model" * 10)
    model_registry.publish(first.id, "x")
    client = app.test_client()
    unchanged = client.get(f"/model/layanwarga.tar.gz?token={TOKEN}", headers={"If-None-Match": first.etag})
    assert unchanged.status_code == 304 and "ETag" not in unchanged.headers  # RasaHQ/rasa#3086
    monkeypatch.delenv(TOKEN_ENV_VAR)
    assert client.get(f"/model/layanwarga.tar.gz?token={TOKEN}").status_code == 404


def test_the_page_refuses_a_candidate_that_misses_an_emergency_and_names_worse_intents(
    app: Flask, world: World, store: Path, tmp_path: Path
) -> None:
    make_user("konten", "konten")
    good = candidate(tmp_path, "20261207-100000", b"a" * 10)
    model_registry.publish(good.id, "x")
    bad = candidate(
        tmp_path, "20261207-110000", b"b" * 10, darurat_recall=0.9, darurat=0.95, lapor_banjir=0.8
    )
    client = login(app, "konten")
    page = client.get("/konten/model").get_data(as_text=True)
    assert "recall darurat 0.900 di bawah 1.0" in page
    assert "lapor_banjir (F1 100,0% → 80,0%)" in page
    answer = client.post(
        "/konten/model/terbitkan", data={"model": bad.id, "csrf_token": csrf(client, "/konten/model")}
    )
    assert answer.status_code == 302 and model_registry.published().id == good.id
    assert "Terbitkan" not in page.split(bad.id, 1)[1]  # no publish button on a refused candidate
    # The published model was evaluated before every held-out message's prediction was kept.
    assert "Rincian per pesan uji tidak tersedia" in page


def test_the_page_says_why_an_intent_got_worse(app: Flask, world: World, store: Path, tmp_path: Path) -> None:
    make_user("konten", "konten")
    _, refused = published_and_refused(tmp_path)
    page = login(app, "konten").get("/konten/model").get_data(as_text=True)
    entry = page.split(f'data-model="{refused.id}"', 1)[1]
    assert "Tidak dapat diterbitkan" in entry
    assert (
        "“got mampet air naik” (contoh lapor_banjir) kini dibaca <strong>greet</strong>, keyakinan 62,0%"
        in entry
    )
    assert "contoh yang baru diajarkan untuk <strong>greet</strong>" in entry
    assert "“air naik lagi ya min” · staf:konten · 2026-12-07" in entry
    assert "halo min" not in entry  # taught before the published model: not the cause
    assert "jalan berlubang dalam" not in entry  # the published model read it wrong too


def test_the_baseline_is_served_until_a_model_is_published(
    app: Flask, store: Path, tmp_path: Path, served: str
) -> None:
    """Rasa 3.6 with a ``models:`` endpoint ignores ``--model`` and loads only from the server:
    without the baseline, a fresh deployment would answer nobody until staff publish."""
    client = app.test_client()
    url = f"/model/layanwarga.tar.gz?token={TOKEN}"
    assert client.get(url).status_code == 404  # neither a published model nor a baseline

    baseline = model_registry.baseline_path()
    baseline.parent.mkdir(parents=True)
    baseline.write_bytes(b"model bawaan" * 40)
    first = client.get(url, headers={"If-None-Match": "modelbawaan"})
    assert first.status_code == 200 and first.data == b"model bawaan" * 40
    assert first.headers["ETag"] == model_registry.file_etag(baseline)
    assert client.get(url).status_code == 200  # a first pull without a fingerprint
    unchanged = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and not unchanged.data and "ETag" not in unchanged.headers
    assert client.get("/model/layanwarga.tar.gz?token=salah").status_code == 403  # still guarded
    # Rasa's own client, as a fresh agent asks (its fingerprint a random uuid), gets it under the
    # name the response gives.
    assert pull(served, uuid.uuid4().hex, tmp_path / "rasa") == first.headers["ETag"]
    assert (tmp_path / "rasa" / "layanwarga-bawaan.tar.gz").read_bytes() == b"model bawaan" * 40
    make_user("konten", "konten")
    staff_member = login(app, "konten")
    assert "model bawaan deployment (layanwarga.tar.gz)" in staff_member.get("/konten/model").get_data(
        as_text=True
    )

    published = candidate(tmp_path, "20261207-100000", b"model terbit" * 40)
    model_registry.publish(published.id, "staf:konten")
    after = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.data == b"model terbit" * 40
    assert after.headers["ETag"] == published.etag != first.headers["ETag"]
    page = staff_member.get("/konten/model").get_data(as_text=True)
    assert f"model terbitan <strong>{published.id}</strong>" in page

    # A published model whose file is gone: the baseline again, never "no model" for a new instance.
    published.path.unlink()
    assert client.get(url, headers={"If-None-Match": published.etag}).headers["ETag"] == first.headers["ETag"]


def test_the_page_says_when_the_model_server_is_off(
    app: Flask, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("konten", "konten")
    monkeypatch.delenv(TOKEN_ENV_VAR)
    page = login(app, "konten").get("/konten/model").get_data(as_text=True)
    assert "server model tidak aktif" in page
