"""Issue 27 end to end, with real processes: three misunderstood messages annotated in the
dashboard, a candidate trained and evaluated on the held-out set, published from the dashboard,
and a running ``rasa run`` (started once, never restarted) understands the new phrasing after
pulling the model from the dashboard with Rasa's own model pulling.

Content staff work in headless Chromium (log in, open each group, choose the intent the
assistant guessed first, save; see the candidate's evaluation; publish). Training is started by
calling the worker (``layanwarga.retrain``) on the small model, tests/fixtures/small_model (NLU
only, seconds to train), not by the page's button, which trains the whole project; the assistant
is asked through Rasa's HTTP API (``/model/parse``)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import requests
from werkzeug.serving import make_server

from dashboard import create_app
from dashboard.settings import DashboardSettings
from dashboard.views.models import TOKEN_ENV_VAR
from layanwarga import model_registry, retrain, review_queue, staff, teaching
from layanwarga.models import utcnow
from layanwarga.review_queue import Reading
from tests.dashboard.support import CHEAP_HASHER, CHROMIUM, PASSWORD, free_port, make_user

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "small_model"
TOKEN = "model-token-e2e"
# Tidal flooding ("rob"), which the small model reads as a greeting before it is taught.
NEW_PHRASINGS = ("rob pasang masuk gang", "air rob pasang lagi", "rob pasang tinggi sekali")
ASKED = "rob pasang naik lagi"
MEANT = "lapor_banjir"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "data", root / "data" / "nlu")
    shutil.copy(FIXTURE / "config.yml", root / "config.yml")
    (root / "tests" / "nlu").mkdir(parents=True)
    shutil.copy(FIXTURE / "holdout" / "holdout.yml", root / "tests" / "nlu" / "holdout.yml")
    (root / "domain").mkdir()
    (root / "domain" / "nlu.yml").write_text(
        "version: '3.1'\nintents:\n  - greet\n  - lapor_banjir\n  - darurat\n  - out_of_scope\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(teaching.ROOT_ENV_VAR, str(root))
    monkeypatch.setenv(model_registry.STORE_ENV_VAR, str(tmp_path / "store"))
    monkeypatch.setenv(TOKEN_ENV_VAR, TOKEN)
    return root


def train(project: Path) -> model_registry.Candidate:
    return retrain.train_candidate(root=project, actor="staf:konten", data="data/nlu", nlu_only=True)


@pytest.fixture
def rasa(tmp_path: Path, project: Path, sqlite_url: str) -> Iterator[Tuple[str, str]]:
    """The dashboard on a real port, a first model published, and ``rasa run`` pulling from it."""
    staff.set_hasher(CHEAP_HASHER)
    app = create_app(DashboardSettings(secret_key="x" * 40, digest_time=None))
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    first = train(project)
    assert first.verdict is not None and first.verdict.publishable, first.verdict
    model_registry.publish(first.id, "staf:admin")
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        f"models:\n  url: http://127.0.0.1:{port}/model/layanwarga.tar.gz\n  token: {TOKEN}\n  wait_time_between_pulls: 2\n",
        encoding="utf-8",
    )
    rasa_port = free_port()
    log = (tmp_path / "rasa.log").open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "rasa"),
            "run",
            "--enable-api",
            "--port",
            str(rasa_port),
            "--endpoints",
            str(endpoints),
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    )
    url = f"http://127.0.0.1:{rasa_port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/status", timeout=2).json().get("model_file"):
                    break
            except (requests.RequestException, ValueError):
                pass
            assert process.poll() is None, (tmp_path / "rasa.log").read_text()[-3000:]
            time.sleep(1)
        else:
            pytest.fail(
                "rasa run did not load the published model: " + (tmp_path / "rasa.log").read_text()[-3000:]
            )
        yield url, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)
        log.close()
        server.shutdown()


def intent_of(url: str, text: str) -> str:
    return requests.post(f"{url}/model/parse", json={"text": text}, timeout=10).json()["intent"]["name"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)
def test_three_annotations_retrain_publish_and_the_running_assistant_understands(
    project: Path, rasa: Tuple[str, str]
) -> None:
    from playwright.sync_api import sync_playwright

    assistant, dashboard = rasa
    assert intent_of(assistant, ASKED) != MEANT
    for i, text in enumerate(NEW_PHRASINGS):
        review_queue.record_reading(
            f"62812555000{i}",
            Reading(
                text=text, intent="nlu_fallback", confidence=0.2, fell_back=True, guesses=[(MEANT, 0.25)]
            ),
            at=utcnow() - dt.timedelta(minutes=5),
        )
    make_user("konten", "konten")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(f"{dashboard}/masuk")
        page.fill("input[name=username]", "konten")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/konten/tinjauan")
        for text in NEW_PHRASINGS:
            page.goto(f"{dashboard}/konten/tinjauan")
            page.click(f"#review-queue >> text={text}")
            # The assistant's top guess is the first choice offered.
            assert page.locator("select[name=intent] option").first.inner_text() == MEANT
            page.check("input[name=keputusan][value=intent]")
            page.click("#annotate button[type=submit]")
            page.wait_for_selector("text=Contoh disimpan ke data/nlu/diajarkan.yml", timeout=60000)
        assert "Tidak ada pesan untuk ditinjau" in page.inner_text("#review-queue")
        assert len(list(teaching.examples_of(project / "data" / "nlu" / teaching.TAUGHT_FILE))) == 3
        candidate = train(project)
        page.goto(f"{dashboard}/konten/model")
        entry = page.locator(f"li[data-model='{candidate.id}']")
        assert "Memenuhi semua target" in entry.inner_text()
        entry.locator("button", has_text="Terbitkan").click()
        page.wait_for_selector(f"text=Model {candidate.id} diterbitkan", timeout=10000)
        browser.close()
    assert model_registry.published().id == candidate.id
    deadline = time.monotonic() + 60
    while intent_of(assistant, ASKED) != MEANT:
        assert time.monotonic() < deadline, "the running assistant never picked up the published model"
        time.sleep(1)
