"""NIK checks beyond the length: region code, date of birth (day + 40 for women), masking."""

from __future__ import annotations

import datetime as dt

import pytest

from layanwarga import nik

TODAY = dt.date(2026, 11, 23)


def test_valid_nik_of_a_woman_from_palangka_raya() -> None:
    check = nik.check("6271024507850003", today=TODAY)
    assert check.valid and not check.needs_confirmation
    assert check.birth_date == dt.date(1985, 7, 5)
    assert check.gender == "P"
    assert "Kota Palangkaraya" in check.region


@pytest.mark.parametrize("typed", ["6271 0245 0785 0003", "6271.02.450785.0003", "6271-0245-0785-0003"])
def test_separators_citizens_type_are_accepted(typed: str) -> None:
    assert nik.check(typed, today=TODAY).nik == "6271024507850003"


@pytest.mark.parametrize(
    "typed, problem",
    [
        ("627102450785000", "16 digit, yang Bapak/Ibu kirim 15 digit"),
        ("62710245078500031", "yang Bapak/Ibu kirim 17 digit"),
        ("6271O24507850003", "hanya berisi angka"),
        ("6271023002850003", "tanggal lahir"),  # 30 February
        ("6271027213850003", "tanggal lahir"),  # day 72 - 40 = 32
        ("6271024507850000", "0000"),
    ],
)
def test_invalid_nik_says_what_is_wrong(typed: str, problem: str) -> None:
    check = nik.check(typed, today=TODAY)
    assert not check.valid and not check.needs_confirmation
    assert problem in check.problem


def test_birth_date_in_the_future_belongs_to_the_previous_century() -> None:
    assert nik.check("6271021012300001", today=TODAY).birth_date == dt.date(1930, 12, 10)


def test_unknown_region_asks_for_confirmation_instead_of_rejecting() -> None:
    check = nik.check("6299014507850003", today=TODAY)
    assert not check.valid and check.needs_confirmation
    assert check.nik == "6299014507850003"
    assert "629901" in check.problem


def test_masking_keeps_region_prefix_and_serial_only() -> None:
    assert nik.mask("6271024507850003") == "6271********0003"
    assert nik.mask("6271 0245 0785 0003") == "6271********0003"
    assert nik.mask("12345") == "*****"
    assert nik.mask(None) == ""


@pytest.mark.parametrize(
    "typed, problem",
    [
        ("tidak tahu", "hanya berisi angka"),
        ("12345", "yang Bapak/Ibu kirim 5 digit"),
        ("6271 0145 pak 0685 0003", "satu nomor 16 angka"),  # 16 digits, but not one number
        ("6271014506850003 atau 6271014506850004", "satu NIK saja"),
    ],
)
def test_a_nik_in_a_message_is_taken_only_as_one_number(typed: str, problem: str) -> None:
    check = nik.check_text(typed, today=TODAY)
    assert check.nik is None and problem in check.problem


def test_a_nik_in_a_message_is_taken_with_the_words_around_it() -> None:
    assert nik.check_text("NIK saya: 6271-0145-0685-0003 ya pak", today=TODAY).nik == "6271014506850003"
    assert nik.clean("\uff16\uff12\uff17\uff11 0145 0685 0003") == "6271014506850003"
