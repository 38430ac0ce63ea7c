"""In Chromium against the real server: the statistics charts' legends (long agency names: "Dinas
Perumahan, Kawasan Permukiman dan Pertanahan (PJU)") never overlap and stay inside their card,
at desktop and at phone width (the public page draws the same charts). Screenshots in
results/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from tests.dashboard.support import INST, PASSWORD, complaint, make_user, running_dashboard
from tests.dashboard.test_dashboard_browser import CHROMIUM, SHOTS, _login

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed (scripts/ensure_chromium.sh)"
)

Box = Dict[str, float]


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    for i, category in enumerate(
        INST.complaint_categories
    ):  # one complaint per agency: every name in the legend
        complaint(f"legend{i}", sender=f"62812000000{i:02d}", category=category)
    make_user("admin", "admin")
    with running_dashboard(sqlite_url, tmp_path) as url:
        yield url


def _overlap(a: Box, b: Box) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_legends_never_overlap(server: str, browser, viewport) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=viewport)
    _login(page, server, "admin", PASSWORD)
    page.wait_for_url("**/tiket")
    page.goto(f"{server}/statistik?dari=2026-11-01&sampai=2026-11-30")  # the complaints came on 23 November
    legends = page.locator("ul.legend")
    assert legends.count() == 2  # per category, per agency
    checked: List[str] = []
    for n in range(legends.count()):
        legend = legends.nth(n)
        card: Box = legend.locator("xpath=ancestor::section[1]").bounding_box()
        items = legend.locator("li")
        boxes = [items.nth(i).bounding_box() for i in range(items.count())]
        names = items.all_inner_texts()
        checked += names
        for i, box in enumerate(boxes):
            assert card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, (
                names[i]
            )
            for j in range(i):
                assert not _overlap(box, boxes[j]), (names[i], names[j])
    assert "Dinas Perumahan, Kawasan Permukiman dan Pertanahan (PJU)" in checked  # whole, not cut off
    page.screenshot(
        path=str(SHOTS / f"08-statistik-legenda-{'desktop' if viewport['width'] > 800 else 'ponsel'}.png"),
        full_page=True,
    )
