"""A test city: the sample Kota Palangka Raya (5 kecamatan, 30 kelurahan) with the test boundary
file (made-up squares for four kelurahan of two kecamatan: Langkai and Pahandut Seberang in
Pahandut, Palangka and Menteng in Jekan Raya)."""

from __future__ import annotations

from pathlib import Path

import yaml

from layanwarga.config import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "deploy" / "examples" / "instansi-palangka-raya.yml"
BOUNDARIES = PROJECT_ROOT / "tests" / "fixtures" / "units" / "palangka-raya-test-boundaries.geojson"

LANGKAI, PAHANDUT_SEBERANG, PALANGKA, MENTENG = (
    "62.71.01.1003",
    "62.71.01.1005",
    "62.71.03.1001",
    "62.71.03.1002",
)
PAHANDUT, JEKAN_RAYA, CITY = "62.71.01", "62.71.03", "62.71"
# Pins inside each test square, and one outside them all (the city's airport area).
PIN = {
    LANGKAI: (-2.215, 113.905),
    PAHANDUT_SEBERANG: (-2.215, 113.915),
    PALANGKA: (-2.205, 113.905),
    MENTENG: (-2.205, 113.915),
}
PIN_OUTSIDE = (-2.225, 113.945)
# Langkai closes for its own anniversary; the other kelurahan stay open.
LANGKAI_CLOSURE = "2026-11-24"


def write_city_config(folder: Path) -> Path:
    """The sample city with the test boundaries and a local closure for Langkai."""
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    raw["units"]["boundaries"] = {"file": str(BOUNDARIES)}
    for kecamatan in raw["units"]["children"]:
        for kelurahan in kecamatan.get("children", []):
            if kelurahan["code"] == LANGKAI:
                kelurahan["holidays"] = {LANGKAI_CLOSURE: "Hari jadi Kelurahan Langkai"}
    path = folder / "instansi-kota.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
