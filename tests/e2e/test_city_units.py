"""A whole city on one WhatsApp number (issue 21), end to end through the WhatsApp simulator with
the real connector, ``rasa run``, the action server and the sample Kota Palangka Raya (test
boundaries for Langkai and Pahandut Seberang in Kecamatan Pahandut, Palangka and Menteng in
Kecamatan Jekan Raya): letters go to the applicant's kelurahan with its pick-up place, a pin is
located in its kelurahan, a misspelt kelurahan is understood, a pin outside every boundary goes
to the city's triage."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from city_support import (
    CITY,
    JEKAN_RAYA,
    LANGKAI,
    MENTENG,
    PAHANDUT,
    PAHANDUT_SEBERANG,
    PIN,
    PIN_OUTSIDE,
    write_city_config,
)

from layanwarga.config import CONFIG_ENV_VAR

from .conftest import WhatsAppStack, start_whatsapp_stack
from .support import citizen, new_phone, photo, tickets_of

COMPLAINT_NUMBER = re.compile(r"ADU-\d{4}-\d{5}")
SKTM_NUMBER = re.compile(r"SKTM-\d{4}-\d{5}")
NIK = "6271024507850003"


@pytest.fixture(scope="module")
def city_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WhatsAppStack]:
    folder: Path = tmp_path_factory.mktemp("city-stack")
    running = start_whatsapp_stack(
        folder / "stack", extra_env={CONFIG_ENV_VAR: str(write_city_config(folder))}
    )
    yield running
    running.stop()


def apply_for_sktm(chat, address: str, *, until_after_address: str) -> None:  # type: ignore[no-untyped-def]
    chat.say("mau bikin sktm", until="untuk siapa")
    chat.tap("Diri sendiri", until="nama lengkap")
    chat.say("Siti Rahmawati", until="NIK (16 digit)")
    chat.say(NIK, until="alamat tempat tinggal")
    chat.say(address, until=until_after_address)


def finish_sktm(chat):  # type: ignore[no-untyped-def]
    chat.tap("Pakai nomor ini", until="keperluan apa")
    chat.tap("Sekolah / beasiswa", until="1 dari 3")
    chat.send_image(photo("KTP", (200, 200, 230)), until="2 dari 3")
    chat.send_image(photo("KK", (230, 200, 200)), until="3 dari 3")
    return chat.send_image(photo("pengantar RT", (200, 230, 200)), until="Apakah sudah benar?")


def test_an_sktm_of_a_langkai_citizen_goes_to_langkai_with_its_pick_up_place(
    city_stack: WhatsAppStack,
) -> None:
    phone = new_phone()
    chat = city_stack.simulator.chat(phone, "Siti Rahmawati")
    apply_for_sktm(chat, "Jl. Garuda No. 5 RT 03 RW 02, Kel. Langkai", until_after_address="nomor HP")
    summary = finish_sktm(chat)
    assert "Kelurahan: Kelurahan Langkai, Kecamatan Pahandut" in summary.text.replace("*", "")
    assert "Loket pelayanan Kantor Kelurahan Langkai" in summary.text
    turn = chat.tap("Kirim", until="diproses oleh")
    assert SKTM_NUMBER.search(turn.text)
    assert "Kelurahan Langkai" in turn.text and "Loket pelayanan Kantor Kelurahan Langkai" in turn.text
    (ticket,) = tickets_of(city_stack.database_url, phone)
    assert (ticket.unit_code, ticket.kelurahan_code, ticket.kecamatan_code) == (LANGKAI, LANGKAI, PAHANDUT)


def test_a_misspelt_kelurahan_is_understood_when_asked(city_stack: WhatsAppStack) -> None:
    phone = new_phone()
    chat = city_stack.simulator.chat(phone, "Rudi Hartono")
    apply_for_sktm(chat, "Jl. Mawar No. 7 RT 01 RW 04", until_after_address="Di kelurahan mana")
    chat.say("pahandut sebrang", until="nomor HP")
    finish_sktm(chat)
    chat.tap("Kirim", until="diproses oleh")
    (ticket,) = tickets_of(city_stack.database_url, phone)
    assert (ticket.unit_code, ticket.unit_source) == (PAHANDUT_SEBERANG, "pilih")


def report_road_with_pin(chat, latitude: float, longitude: float):  # type: ignore[no-untyped-def]
    chat.say(
        "jalan depan rumah saya berlubang besar, sudah dua minggu tidak diperbaiki", until="Di mana lokasinya"
    )
    chat.send_location(latitude, longitude, "Depan warung", "", until="kirim foto kondisinya")
    chat.tap("Lewati", until="dirahasiakan")
    chat.tap("Tidak perlu", until="dari publik")
    return chat.tap("Boleh publik", until="Apakah sudah benar?")


def test_a_complaint_pinned_in_menteng_is_located_in_menteng(city_stack: WhatsAppStack) -> None:
    phone = new_phone()
    chat = city_stack.simulator.chat(phone, "Budi Santoso")
    summary = report_road_with_pin(chat, *PIN[MENTENG])
    assert "Wilayah: Kelurahan Menteng, Kecamatan Jekan Raya" in summary.text.replace("*", "")
    chat.tap("Kirim", until=COMPLAINT_NUMBER)
    (ticket,) = tickets_of(city_stack.database_url, phone)
    assert (ticket.agency_code, ticket.kelurahan_code, ticket.kecamatan_code, ticket.unit_source) == (
        "PUPR",
        MENTENG,
        JEKAN_RAYA,
        "pin",
    )


def test_a_pin_outside_every_boundary_goes_to_the_city_triage(city_stack: WhatsAppStack) -> None:
    phone = new_phone()
    chat = city_stack.simulator.chat(phone, "Ani Wijaya")
    summary = report_road_with_pin(chat, *PIN_OUTSIDE)
    assert "belum diketahui, petugas kota akan meneruskannya" in summary.text
    chat.tap("Kirim", until=COMPLAINT_NUMBER)
    (ticket,) = tickets_of(city_stack.database_url, phone)
    assert (ticket.unit_code, ticket.kelurahan_code, ticket.unit_source) == (CITY, None, "triase")


def test_a_citizen_who_moved_is_answered_for_the_new_kelurahan(city_stack: WhatsAppStack) -> None:
    phone = new_phone()
    chat = city_stack.simulator.chat(phone, "Dedi Kurniawan")
    chat.say("saya sudah pindah ke kelurahan menteng", until="kami catat")
    assert citizen(city_stack.database_url, phone).unit_code == MENTENG
    turn = chat.say("jam buka kantor kapan ya?", until="pindah kelurahan")
    assert "Kelurahan Menteng" in turn.text


def test_office_hours_ask_the_kelurahan_from_a_list(city_stack: WhatsAppStack) -> None:
    phone = new_phone()
    chat = city_stack.simulator.chat(phone, "Maya Sari")
    turn = chat.say("jam buka kantor kapan ya?", until="Di kelurahan mana")
    assert "Pahandut" in turn.rows
    turn = chat.tap("Pahandut", until="Pilih kelurahan di Kecamatan Pahandut")
    assert "Langkai" in turn.rows
    chat.tap("Langkai", until="Jam layanan Kelurahan Langkai")
    assert citizen(city_stack.database_url, phone).unit_code == LANGKAI
