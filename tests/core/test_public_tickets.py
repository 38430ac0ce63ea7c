"""The rules that decide what the public map and the Open311 API may show, and the ``publik``
configuration section, on their own."""

from __future__ import annotations

import math

import pytest

from layanwarga import open311, public_tickets
from layanwarga.config import get_institution
from layanwarga.config_values import ConfigError
from layanwarga.public_settings import PublicSettings, parse_public_settings

INST = get_institution()


@pytest.mark.parametrize(
    "text",
    [
        "telp 081234567890 ya",
        "WA +62 812-3456-7890",
        "hubungi 0812 3456 7890",
        "kantor (0536) 3221001",
        "NIK 6271014506850003",
        "NIK 6271 0145 0685 0003",
        "NIK 6271********0003",
        "628123456789",
    ],
)
def test_phone_numbers_and_niks_are_replaced(text: str) -> None:
    shown = public_tickets.public_text(text)
    assert public_tickets.HIDDEN_NUMBER in shown and not any(ch.isdigit() for ch in shown.replace("(", ""))


@pytest.mark.parametrize(
    "text",
    [
        "Lampu PJU nomor 12 mati sejak 3 hari",
        "Laporan ADU-2026-00042 belum ditangani",
        "RT 003 RW 005, 2 km dari pasar",
    ],
)
def test_ordinary_numbers_stay(text: str) -> None:
    assert public_tickets.public_text(text) == text


def test_a_private_pin_moves_to_the_centre_of_its_100_m_cell() -> None:
    for value in (-2.21234, 113.91678, 0.00001, -0.00001, 5.5):
        snapped = public_tickets.snap(value)
        assert abs(snapped - value) <= public_tickets.PRIVATE_GRID_DEGREES / 2 + 1e-9
        assert public_tickets.snap(value + 0.0003) in (
            snapped,
            round(snapped + 0.001, 4),
            round(snapped - 0.001, 4),
        )
    # Two reports in the same cell land on the same point: their order cannot be told apart.
    assert public_tickets.snap(-2.21201) == public_tickets.snap(-2.21299)
    assert math.isclose(public_tickets.snap(-2.21234), -2.2125)


def test_the_service_area_is_a_radius_around_the_office_without_boundaries() -> None:
    assert INST.units.boundaries is None
    assert open311.in_service_area(INST, INST.latitude + 0.1, INST.longitude)  # ~11 km
    assert not open311.in_service_area(INST, INST.latitude + 0.3, INST.longitude)  # ~33 km > 30 km
    assert not open311.in_service_area(INST, 37.76524078, -122.4212043)


def test_the_publik_section_defaults_and_names_its_mistakes() -> None:
    assert parse_public_settings(None) == PublicSettings()
    assert INST.public.tile_origin == "https://tile.openstreetmap.org"
    assert parse_public_settings({"map": {"tile_url": ""}}).tile_origin is None
    custom = parse_public_settings(
        {
            "map": {"tile_url": "http://127.0.0.1:8081/t/{z}/{x}/{y}.png"},
            "api": {"requests_per_minute_per_key": 5},
        }
    )
    assert custom.tile_origin == "http://127.0.0.1:8081" and custom.requests_per_minute_per_key == 5
    for raw, problem in (
        ({"peta": {}}, "publik.peta: unknown key"),
        ({"map": {"tile_url": "ftp://x/{z}/{x}/{y}"}}, "publik.map.tile_url"),
        ({"map": {"tile_url": "https://tiles.example/{z}/{x}.png"}}, "publik.map.tile_url"),
        ({"api": {"requests_per_minute_per_ip": 0}}, "publik.api.requests_per_minute_per_ip"),
        ({"area_radius_km": "jauh"}, "publik.area_radius_km"),
        ([], "publik: expected a mapping"),
    ):
        with pytest.raises(ConfigError, match=problem.replace(".", r"\.")):
            parse_public_settings(raw)
