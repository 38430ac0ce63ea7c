"""Reading citizens' free text: first messages that already describe a problem, places."""

from __future__ import annotations

import pytest

from layanwarga.text import clip, describes_problem, read_place


@pytest.mark.parametrize(
    "message",
    [
        "jln depan rmh sy rusak parah gk diperbaiki2",
        "lampu jalan di gang kenanga mati udah seminggu",
        "sampah numpuk di tps pasar baru bau bgt",
    ],
)
def test_a_message_telling_what_happened_is_a_description(message: str) -> None:
    assert describes_problem(message)


@pytest.mark.parametrize(
    "message", ["mau lapor jalan rusak", "lapor min", "/lapor_sampah", "pengaduan sampah", ""]
)
def test_a_request_to_report_is_not_a_description(message: str) -> None:
    assert not describes_problem(message)


def test_rt_rw_and_kelurahan_are_read_from_an_address() -> None:
    place = read_place("Jl. Merdeka No 5 RT 03 RW 05 Kel. Langkai Kec. Pahandut Palangka Raya")
    assert (place.rt, place.rw, place.area) == ("3", "5", "Langkai")


def test_an_address_without_rt_rw_keeps_the_text() -> None:
    place = read_place("gang mawar dekat masjid")
    assert place.text == "gang mawar dekat masjid" and place.rt is None and place.rw is None


def test_clip_cuts_at_a_word_boundary() -> None:
    assert clip("Berobat / keringanan biaya rumah sakit", 24) == "Berobat / keringanan…"
    assert clip("pendek", 24) == "pendek"
