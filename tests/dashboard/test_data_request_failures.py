"""An erasure request that could not reach the conversation store is shown to admins as failed,
with the reason, never as done."""

from __future__ import annotations

import datetime as dt

from layanwarga import privacy
from layanwarga.models import utcnow
from tests.dashboard.support import World, login


def test_a_failed_erasure_shows_its_state_and_reason(app, world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    privacy.erase("6281111111111")
    missing = f"sqlite:///{tmp_path / 'not-there' / 'tracker.db'}"
    assert privacy.erase_conversations(utcnow() + dt.timedelta(minutes=5), tracker_url=missing).failed == 1
    page = login(app, "admin").get("/admin/permintaan-data").get_data(as_text=True)
    assert "<td>Gagal, dicoba lagi otomatis</td>" in page and "<td>Selesai</td>" not in page
    assert "Belum selesai: Berkas penyimpanan percakapan tidak ditemukan" in page and "percobaan ke-1" in page
