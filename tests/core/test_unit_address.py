"""Typed addresses: which kelurahan or kecamatan a citizen names, with typos and regional
spellings; ambiguous or unknown names give suggestions instead of a guess."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
import yaml

from layanwarga.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, load_institution
from layanwarga.unit_address import AddressMatcher, match_address
from layanwarga.units import UnitTree

SAMPLE = PROJECT_ROOT / "deploy" / "examples" / "instansi-palangka-raya.yml"


@pytest.fixture(scope="module")
def city() -> UnitTree:
    return load_institution(SAMPLE).units


def found(tree: UnitTree, text: str, asked: bool = False) -> Optional[str]:
    unit = match_address(tree, text, asked=asked).unit
    return unit.title if unit is not None else None


@pytest.mark.parametrize(
    "text, unit",
    [
        ("kel. langkai", "Kelurahan Langkai"),
        ("kelurahan langkai", "Kelurahan Langkai"),
        ("Kelurahan Langkai", "Kelurahan Langkai"),
        (
            "Jl. Garuda No. 5 RT 03/RW 02, Kel. Langkai, Kec. Pahandut, Kota Palangka Raya",
            "Kelurahan Langkai",
        ),
        ("sy tinggal di lengkai pak", "Kelurahan Langkai"),  # a vowel wrong
        ("langkay", "Kelurahan Langkai"),
        ("lngkai", "Kelurahan Langkai"),  # a letter missing
        ("pahandut seberang", "Kelurahan Pahandut Seberang"),
        ("pahandut sebrang", "Kelurahan Pahandut Seberang"),  # the normaliser's sebrang -> seberang
        ("kel pahandut", "Kelurahan Pahandut"),
        ("kec. pahandut", "Kecamatan Pahandut"),
        ("kecamatn pahandut", "Kecamatan Pahandut"),  # a misspelt marker still marks
        ("sebangau", "Kecamatan Sabangau"),  # the national park's spelling
        ("kereng bengkirai", "Kelurahan Kereng Bangkirai"),
        ("tangkilin", "Kelurahan Tangkiling"),
        ("sei gohong", "Kelurahan Sei Gohong"),
        ("sungai gohong", "Kelurahan Sei Gohong"),  # sei is the local word for sungai
        ("habaring hurung rt 4", "Kelurahan Habaring Hurung"),
        ("Jl. RTA Milono Km 5, Menteng", "Kelurahan Menteng"),
        ("jekan raya", "Kecamatan Jekan Raya"),
        ("dekat bundaran besar", "Kelurahan Palangka"),  # a configured place
        ("palangka raya", "Kota Palangka Raya"),  # only the city: the city
        ("KOTA PALANGKARAYA", "Kota Palangka Raya"),
        ("kalampangan kalteng", "Kelurahan Kalampangan"),
    ],
)
def test_a_typed_address_names_its_unit(city: UnitTree, text: str, unit: str) -> None:
    assert found(city, text) == unit


def test_the_score_says_how_close_the_name_was(city: UnitTree) -> None:
    exact = match_address(city, "kel. langkai")
    typo = match_address(city, "kel. lengkai")
    assert exact.score == 100.0 and 80.0 <= typo.score < 100.0
    assert typo.matched == "lengkai" and not typo.ambiguous and typo.suggestions == ()


def test_the_city_name_is_not_read_as_kelurahan_palangka(city: UnitTree) -> None:
    # "Palangka" is a kelurahan of Jekan Raya; "Palangka Raya" in an address is the city.
    assert found(city, "Jl. Garuda 5, Langkai, Palangka Raya") == "Kelurahan Langkai"
    assert found(city, "jl. yos sudarso, palangka raya, kalimantan tengah") == "Kota Palangka Raya"
    assert found(city, "kel. palangka") == "Kelurahan Palangka"


def test_a_street_named_after_a_place_is_a_street(city: UnitTree) -> None:
    # Jl. Menteng may run through another kelurahan: the street's name says nothing.
    match = match_address(city, "jl menteng no 4")
    assert match.unit is None
    assert found(city, "jl menteng no 4, kel langkai") == "Kelurahan Langkai"


def test_an_everyday_word_close_to_a_name_is_not_taken_for_it(city: UnitTree) -> None:
    # "pagar" (fence) is one letter from Kelurahan Pager: not without a marker or a question.
    assert found(city, "pagar rumah saya roboh") is None
    assert found(city, "kel pagar") == "Kelurahan Pager"
    assert found(city, "pagar", asked=True) == "Kelurahan Pager"
    assert found(city, "pager") == "Kelurahan Pager"


def test_the_kecamatan_named_with_a_kelurahan_confirms_it(city: UnitTree) -> None:
    assert found(city, "kel. langkai kec. pahandut") == "Kelurahan Langkai"
    # A name shared by a kecamatan and its own kelurahan reads as the kelurahan.
    assert found(city, "pahandut") == "Kelurahan Pahandut"


@pytest.mark.parametrize(
    "text, suggested",
    [
        ("langkai atau panarung", {"Kelurahan Langkai", "Kelurahan Panarung"}),
        ("langkai, kec. jekan raya", {"Kelurahan Langkai", "Kecamatan Jekan Raya"}),  # they disagree
    ],
)
def test_two_places_that_disagree_are_ambiguous(city: UnitTree, text: str, suggested: set) -> None:
    match = match_address(city, text)
    assert match.unit is None and match.ambiguous
    assert {unit.title for unit in match.suggestions} == suggested


@pytest.mark.parametrize(
    "text, first",
    [
        ("tumbang", {"Kelurahan Tumbang Tahai", "Kelurahan Tumbang Rungan"}),  # half of two names
        ("kel. kameloh", {"Kelurahan Kameloh Baru"}),
        (
            "bukit",
            {
                "Kelurahan Bukit Sua",
                "Kecamatan Bukit Batu",
                "Kelurahan Petuk Bukit",
                "Kelurahan Bukit Tunggal",
            },
        ),
    ],
)
def test_an_unknown_name_comes_with_up_to_three_suggestions(city: UnitTree, text: str, first: set) -> None:
    match = match_address(city, text)
    assert match.unit is None and not match.ambiguous
    assert 1 <= len(match.suggestions) <= 3
    assert {unit.title for unit in match.suggestions[: len(first)]} <= first


def test_nothing_like_a_name_gives_no_unit_and_no_suggestion(city: UnitTree) -> None:
    for text in ("", "xyz", "jalan rusak parah", "12345", "rt 3 rw 4"):
        match = match_address(city, text)
        assert (match.unit, match.suggestions, match.score) == (None, (), 0.0), text


def test_the_same_village_name_in_two_kecamatan_of_a_kabupaten(tmp_path: Path) -> None:
    # Kabupaten Malang has a Desa Tulungrejo in Donomulyo and another in Ngantang.
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    raw["institution"]["region_code"] = "35.07"
    raw["institution"]["signing_official"] = "Bupati Malang"
    for letter in raw["letters"].values():
        letter["issued_by"] = ["desa"]
    raw["agencies"]["DLH"].pop("upt")
    raw["units"] = {
        "code": "35.07",
        "children": [
            {"code": "35.07.01", "children": [{"code": "35.07.01.2001"}, {"code": "35.07.01.2002"}]},
            {"code": "35.07.27", "children": [{"code": "35.07.27.2011"}, {"code": "35.07.27.2003"}]},
        ],
    }
    path = tmp_path / "instansi.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    tree = load_institution(path).units
    both = match_address(tree, "desa tulungrejo")
    assert both.unit is None and both.ambiguous
    assert {(u.name, tree.parent(u.code).name) for u in both.suggestions} == {
        ("Tulungrejo", "Donomulyo"),
        ("Tulungrejo", "Ngantang"),
    }
    assert match_address(tree, "desa tulungrejo kec ngantang").unit.code == "35.07.27.2011"
    assert match_address(tree, "tulungrejo, donomulyo, kab. malang").unit.code == "35.07.01.2001"


def test_a_single_unit_file_knows_its_own_name() -> None:
    tree = load_institution(DEFAULT_CONFIG_PATH).units
    assert match_address(tree, "kelurahan lengkai").unit is tree.root
    # The regions above it are known and never read as the unit.
    assert match_address(tree, "kec. pahandut, palangka raya").unit is None


def test_the_matcher_is_built_once_per_tree(city: UnitTree) -> None:
    from layanwarga.unit_address import matcher_for

    assert matcher_for(city) is matcher_for(city)
    assert isinstance(matcher_for(city), AddressMatcher)
