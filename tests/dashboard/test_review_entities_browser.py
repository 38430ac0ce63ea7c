"""Marking an entity by selecting words, in headless Chromium against the real dashboard server
(issue 27): content staff select part of a word in a review group's example, press "Tandai
sebagai layanan", see the mark listed (and can remove it), save, and the taught file holds the
example in Rasa's annotation syntax after the project's data validation. The page's script is
the dashboard's own file under its Content-Security-Policy (no inline script)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Iterator, List

import pytest

from layanwarga import review_queue, teaching
from layanwarga.models import utcnow
from layanwarga.review_queue import Reading
from tests.dashboard.support import CHROMIUM, PASSWORD, ROOT, SHOTS, make_user, running_dashboard

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)
MESSAGE = "syaratnya sktm apa aja ya min"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the training data the dashboard teaches (never this checkout's)."""
    root = tmp_path / "proj"
    for name in ("data", "domain"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "config.yml", root / "config.yml")
    (root / "tests" / "nlu").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "nlu" / "holdout.yml", root / "tests" / "nlu" / "holdout.yml")
    return root


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path, project: Path) -> Iterator[str]:
    with running_dashboard(sqlite_url, tmp_path, **{teaching.ROOT_ENV_VAR: str(project)}) as url:
        yield url


def test_staff_mark_an_entity_by_selecting_it_and_the_taught_file_holds_the_annotation(  # type: ignore[no-untyped-def]
    server: str, project: Path, browser
) -> None:
    make_user("konten", "konten")
    review_queue.record_reading(
        "6285550000004",
        Reading(
            text=MESSAGE,
            intent="nlu_fallback",
            confidence=0.2,
            fell_back=True,
            guesses=[("tanya_syarat", 0.28)],
        ),
        at=utcnow() - dt.timedelta(minutes=1),
    )
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    errors: List[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(f"{server}/masuk")
    page.fill("input[name=username]", "konten")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/konten/tinjauan")
    page.click(f"#review-queue >> text={MESSAGE}")
    page.wait_for_url("**/konten/tinjauan/kelompok*")
    page.wait_for_selector("#entity-marker", state="visible")  # the script ran: it unhides the marker

    def select(start: int, end: int) -> None:
        page.evaluate(
            "([start, end]) => { const area = document.getElementById('contoh');"
            " area.focus(); area.selectionStart = start; area.selectionEnd = end; }",
            [start, end],
        )

    at = MESSAGE.index("sktm")
    page.select_option("#entity-name", "layanan")
    assert page.inner_text("#entity-mark") == "Tandai sebagai layanan"
    select(at + 1, at + 3)  # "kt": part of a word, widened to the whole word
    page.click("#entity-mark")
    assert page.input_value("#contoh") == "syaratnya [sktm](layanan) apa aja ya min"
    assert page.inner_text("#entity-spans").startswith("sktm → layanan")
    # Marked words cannot be marked again; the mark can be removed, and put back.
    select(at + 1, at + 3)
    page.click("#entity-mark")
    assert "sudah bertanda" in page.inner_text("#entity-status")
    page.click("#entity-spans button")
    assert page.input_value("#contoh") == MESSAGE and page.inner_text("#entity-spans") == ""
    select(at, at + len("sktm"))
    page.click("#entity-mark")
    assert page.input_value("#contoh") == "syaratnya [sktm](layanan) apa aja ya min"
    page.screenshot(path=str(SHOTS / "review-entity-marked.png"), full_page=True)
    page.select_option("select[name=intent]", "tanya_syarat")
    page.check("input[name=keputusan][value=intent]")
    page.click("#annotate button[type=submit]")
    page.wait_for_selector("text=Contoh disimpan ke data/nlu/diajarkan.yml", timeout=120000)
    taught = project / "data" / "nlu" / teaching.TAUGHT_FILE
    assert ("tanya_syarat", "syaratnya [sktm](layanan) apa aja ya min") in [
        (example.intent, example.text) for example in teaching.taught_examples(taught)
    ]
    assert errors == []  # no script error, nothing the Content-Security-Policy blocked
