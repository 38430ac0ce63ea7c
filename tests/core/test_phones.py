"""Phone numbers for letter requests: what citizens type, and the WhatsApp number itself."""

from __future__ import annotations

import pytest

from layanwarga import phones


@pytest.mark.parametrize("typed", ["0812 3456 7890", "+62 812-3456-7890", "6281234567890", "081234567890"])
def test_typed_indonesian_numbers_become_e164(typed: str) -> None:
    assert phones.normalise(typed) == "+6281234567890"


@pytest.mark.parametrize("typed", ["123", "", "nomor saya yang ini", "0812", "628110012345678"])
def test_what_is_no_phone_number_is_refused(typed: str) -> None:
    assert phones.normalise(typed) is None


def test_whatsapp_ids() -> None:
    assert phones.from_whatsapp_id("6281234567890") == "+6281234567890"
    assert phones.from_whatsapp_id("60123456789") == "+60123456789"  # a Malaysian citizen
    assert phones.from_whatsapp_id("US.13491208655302741918") is None  # username user (BSUID)
    assert phones.from_whatsapp_id("628110012345678") is None  # one digit too many


@pytest.mark.parametrize(
    "typed", ["0812 3456 7890", "+62 812-3456-7890", "62 812 3456 7890", "(0812) 3456-7890", "6281234567890"]
)
def test_typed_numbers_become_the_whatsapp_sender_id(typed: str) -> None:
    assert phones.whatsapp_id(typed) == "6281234567890"


@pytest.mark.parametrize("typed", ["", "nomor saya", "0812", "US.13491208655302741918"])
def test_no_whatsapp_id_for_what_is_no_phone_number(typed: str) -> None:
    assert phones.whatsapp_id(typed) is None
