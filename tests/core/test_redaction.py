"""Identity numbers never reach stored conversations or log lines in clear text."""

from __future__ import annotations

import logging

import pytest

from layanwarga.redaction import install_log_masking, mask_identifiers, mask_value


@pytest.mark.parametrize(
    "text, expected",
    [
        ("nik sy 6271024507850003 ya", "nik sy 6271********0003 ya"),
        ("NIK: 6271 0245 0785 0003", "NIK: 6271********0003"),
        ("kk 6271.02.450785.0001", "kk 6271********0001"),
        ("cek ADU-2026-00042", "cek ADU-2026-00042"),
        ("hp 081234567890", "hp 081234567890"),
        ("62710245078500031 (17 digit)", "62710245078500031 (17 digit)"),
    ],
)
def test_sixteen_digit_identifiers_are_masked(text: str, expected: str) -> None:
    assert mask_identifiers(text) == expected


def test_nested_payloads_are_masked() -> None:
    payload = {"text": "nik 6271024507850003", "entities": [{"value": "6271024507850003"}], "n": 3}
    assert mask_value(payload) == {
        "text": "nik 6271********0003",
        "entities": [{"value": "6271********0003"}],
        "n": 3,
    }


def test_log_lines_from_any_logger_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_log_masking()
    install_log_masking()
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("received %s from citizen", "6271024507850003")
    assert "6271024507850003" not in caplog.text
    assert "6271********0003" in caplog.text
