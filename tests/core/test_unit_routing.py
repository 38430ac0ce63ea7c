"""Routing in a city of units (issue 21): letter requests go to the applicant's kelurahan from
the address on the request with that kelurahan's pick-up place and calendar, complaints keep
their agency and are located by pin, then typed place, with the agency's field unit; aspirations
go to the citizen's kelurahan; what cannot be placed goes to the city's triage; a single
kelurahan behaves as before."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from city_support import (
    CITY,
    JEKAN_RAYA,
    LANGKAI,
    MENTENG,
    PAHANDUT,
    PAHANDUT_SEBERANG,
    PALANGKA,
    PIN,
    PIN_OUTSIDE,
    write_city_config,
)
from sqlalchemy import select

from layanwarga import db, notifications, states, tickets, unit_routing
from layanwarga.config import CONFIG_ENV_VAR, Institution, get_institution, load_institution
from layanwarga.models import Citizen, Ticket

SINGLE = get_institution()
MONDAY_MORNING = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)  # 09.00 WIB
SENDER = "6281234567890"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Institution:
    return load_institution(write_city_config(tmp_path_factory.mktemp("city")))


def letter(key: str, address: str, **overrides: object) -> tickets.LetterDraft:
    values: dict = dict(
        letter_type="sktm",
        sender=SENDER,
        idempotency_key=key,
        applicant_name="Siti Aminah",
        applicant_nik="6271010101900001",
        applicant_address=address,
        applicant_phone=SENDER,
        purpose="Berobat / keringanan biaya rumah sakit",
    )
    values.update(overrides)
    return tickets.LetterDraft(**values)


def complaint(key: str, category: str = "lapor_sampah", **overrides: object) -> tickets.ComplaintDraft:
    values: dict = dict(
        category=category,
        description="Sampah menumpuk sudah seminggu",
        sender=SENDER,
        idempotency_key=key,
    )
    values.update(overrides)
    return tickets.ComplaintDraft(**values)


def stored(number: str) -> Ticket:
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        session.expunge(ticket)
        return ticket


def remembered(sender: str = SENDER) -> tuple:
    with db.session_scope() as session:
        citizen = session.execute(select(Citizen).where(Citizen.wa_id == sender)).scalar_one()
        return citizen.unit_code, citizen.unit_source


def test_an_sktm_goes_to_the_kelurahan_of_the_address_on_the_request(db_url: str, city: Institution) -> None:
    result = tickets.submit_letter_request(
        city, letter("a", "Jl. Garuda No. 5 RT 03 RW 02, Kel. Menteng"), now=MONDAY_MORNING
    )
    ticket = stored(result.number)
    assert (ticket.unit_code, ticket.kelurahan_code, ticket.kecamatan_code, ticket.unit_source) == (
        MENTENG,
        MENTENG,
        JEKAN_RAYA,
        "alamat",
    )
    assert result.unit_name == "Kelurahan Menteng"
    assert result.pickup.startswith("Loket pelayanan Kantor Kelurahan Menteng")
    assert remembered() == (MENTENG, "alamat")


def test_the_sender_does_not_decide_a_letter_for_someone_else(db_url: str, city: Institution) -> None:
    tickets.submit_letter_request(city, letter("mine", "kel langkai"), now=MONDAY_MORNING)
    result = tickets.submit_letter_request(
        city,
        letter(
            "for-mother", "rumah ibu di palangka, dekat bundaran besar", on_behalf=True, relationship="ibu"
        ),
        now=MONDAY_MORNING,
    )
    assert stored(result.number).unit_code == PALANGKA
    assert remembered() == (LANGKAI, "alamat")  # the sender still lives in Langkai


def test_a_misspelt_kelurahan_on_the_request_is_understood(db_url: str, city: Institution) -> None:
    result = tickets.submit_letter_request(
        city, letter("typo", "jl. mawar 3, pahandut sebrang"), now=MONDAY_MORNING
    )
    assert stored(result.number).unit_code == PAHANDUT_SEBERANG


def test_an_address_naming_no_kelurahan_falls_back_to_the_remembered_one_then_triage(
    db_url: str, city: Institution
) -> None:
    first = tickets.submit_letter_request(city, letter("x1", "Jl. Garuda No. 5 RT 3"), now=MONDAY_MORNING)
    assert (stored(first.number).unit_code, stored(first.number).unit_source) == (CITY, "triase")
    assert first.unit_name == "Kota Palangka Raya"
    tickets.submit_letter_request(city, letter("x2", "kel. langkai"), now=MONDAY_MORNING)
    third = tickets.submit_letter_request(city, letter("x3", "Jl. Garuda No. 5 RT 3"), now=MONDAY_MORNING)
    assert (stored(third.number).unit_code, stored(third.number).unit_source) == (LANGKAI, "warga")


def test_the_unit_chosen_in_the_conversation_wins_over_the_address(db_url: str, city: Institution) -> None:
    result = tickets.submit_letter_request(
        city, letter("chosen", "Jl. Garuda 5 langkai", unit_code=PALANGKA), now=MONDAY_MORNING
    )
    assert (stored(result.number).unit_code, stored(result.number).unit_source) == (PALANGKA, "pilih")


def test_the_kelurahan_calendar_counts_its_own_closure(db_url: str, city: Institution) -> None:
    # SKTM takes one working day; Langkai is closed on Tuesday 24 November, Menteng is not.
    langkai = tickets.submit_letter_request(city, letter("cal1", "kel langkai"), now=MONDAY_MORNING)
    menteng = tickets.submit_letter_request(city, letter("cal2", "kel menteng"), now=MONDAY_MORNING)
    assert menteng.due_date == dt.date(2026, 11, 24)
    assert langkai.due_date == dt.date(2026, 11, 25)


def test_the_ready_notice_names_the_kelurahan_pick_up_place(db_url: str, city: Institution) -> None:
    result = tickets.submit_letter_request(city, letter("ready", "kel. palangka"), now=MONDAY_MORNING)
    ticket = stored(result.number)
    ticket.state = states.SIAP_DIAMBIL
    message = notifications.compose_state_change(city, ticket, states.DIVERIFIKASI, None, now=MONDAY_MORNING)
    assert message is not None
    assert "Tempat pengambilan: Loket pelayanan Kantor Kelurahan Palangka" in message.text
    ticket.state = states.DITOLAK
    rejected = notifications.compose_state_change(
        city, ticket, states.DIAJUKAN, "KK buram", now=MONDAY_MORNING
    )
    assert rejected is not None and "datang ke Kelurahan Palangka" in rejected.text


@pytest.mark.parametrize(
    "kelurahan, kecamatan, upt",
    [
        (LANGKAI, PAHANDUT, "UPT Persampahan Wilayah Pahandut dan Sabangau"),
        (PAHANDUT_SEBERANG, PAHANDUT, "UPT Persampahan Wilayah Pahandut dan Sabangau"),
        (PALANGKA, JEKAN_RAYA, "UPT Persampahan Wilayah Jekan Raya"),
        (MENTENG, JEKAN_RAYA, "UPT Persampahan Wilayah Jekan Raya"),
    ],
)
def test_a_complaint_with_a_pin_is_located_and_goes_to_the_upt_there(
    db_url: str, city: Institution, kelurahan: str, kecamatan: str, upt: str
) -> None:
    latitude, longitude = PIN[kelurahan]
    # The typed words name another kelurahan: the pin is where it is.
    result = tickets.submit_complaint(
        city,
        complaint("pin", latitude=latitude, longitude=longitude, location_text="dekat pasar langkai"),
        now=MONDAY_MORNING,
    )
    ticket = stored(result.number)
    assert (ticket.agency_code, ticket.unit_code, ticket.kelurahan_code, ticket.kecamatan_code) == (
        "DLH",
        kelurahan,
        kelurahan,
        kecamatan,
    )
    assert (ticket.upt_name, ticket.unit_source, result.upt_name) == (upt, "pin", upt)
    ticket.state = states.DITERUSKAN
    forwarded = notifications.compose_state_change(
        city, ticket, states.DIVERIFIKASI, None, now=MONDAY_MORNING
    )
    assert forwarded is not None and f"Dinas Lingkungan Hidup ({upt})" in forwarded.text


def test_a_forward_to_another_agency_takes_its_own_upt(
    db_url: str, city: Institution, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_ENV_VAR, str(city.source))
    latitude, longitude = PIN[PALANGKA]
    result = tickets.submit_complaint(
        city, complaint("fwd", latitude=latitude, longitude=longitude), now=MONDAY_MORNING
    )
    ticket_id = stored(result.number).id
    tickets.change_state(ticket_id, states.DIVERIFIKASI, "petugas")
    tickets.change_state(ticket_id, states.DITERUSKAN, "petugas", agency_code="PUPR")
    assert (stored(result.number).agency_code, stored(result.number).upt_name) == ("PUPR", None)
    tickets.change_state(ticket_id, states.DITERUSKAN, "petugas", agency_code="DLH")
    assert (stored(result.number).agency_code, stored(result.number).upt_name) == (
        "DLH",
        "UPT Persampahan Wilayah Jekan Raya",
    )


def test_a_complaint_without_a_pin_is_located_by_the_typed_place(db_url: str, city: Institution) -> None:
    result = tickets.submit_complaint(
        city,
        complaint("typed", category="lapor_jalan_rusak", location_text="Jl. RTA Milono km 5, menteng"),
        now=MONDAY_MORNING,
    )
    ticket = stored(result.number)
    assert (
        ticket.agency_code,
        ticket.kelurahan_code,
        ticket.kecamatan_code,
        ticket.upt_name,
        ticket.unit_source,
    ) == ("PUPR", MENTENG, JEKAN_RAYA, None, "alamat")
    assert remembered() == (None, None)  # where a complaint is says nothing about where one lives


def test_a_pin_outside_every_boundary_goes_to_the_city_triage(db_url: str, city: Institution) -> None:
    result = tickets.submit_complaint(
        city,
        complaint(
            "outside", latitude=PIN_OUTSIDE[0], longitude=PIN_OUTSIDE[1], location_text="di pinggir jalan"
        ),
        now=MONDAY_MORNING,
    )
    ticket = stored(result.number)
    assert (
        ticket.agency_code,
        ticket.unit_code,
        ticket.kelurahan_code,
        ticket.upt_name,
        ticket.unit_source,
    ) == ("DLH", CITY, None, None, "triase")
    assert ticket.state == states.BARU and result.number.startswith("ADU-")


def test_an_aspiration_goes_to_the_citizen_kelurahan(db_url: str, city: Institution) -> None:
    unknown = tickets.submit_complaint(
        city, complaint("asp0", category="sampaikan_aspirasi"), now=MONDAY_MORNING
    )
    assert (stored(unknown.number).unit_code, stored(unknown.number).unit_source) == (CITY, "triase")
    chosen = tickets.submit_complaint(
        city,
        complaint("asp1", category="sampaikan_aspirasi", unit_code=PAHANDUT_SEBERANG),
        now=MONDAY_MORNING,
    )
    assert (stored(chosen.number).kelurahan_code, stored(chosen.number).kecamatan_code) == (
        PAHANDUT_SEBERANG,
        PAHANDUT,
    )
    later = tickets.submit_complaint(
        city, complaint("asp2", category="sampaikan_aspirasi"), now=MONDAY_MORNING
    )
    assert (stored(later.number).unit_code, stored(later.number).unit_source) == (PAHANDUT_SEBERANG, "warga")


def test_a_single_kelurahan_places_everything_at_itself(db_url: str) -> None:
    complaint_view = tickets.submit_complaint(
        SINGLE,
        complaint("s1", latitude=PIN[MENTENG][0], longitude=PIN[MENTENG][1], location_text="kel menteng"),
        now=MONDAY_MORNING,
    )
    letter_view = tickets.submit_letter_request(SINGLE, letter("s2", "kel. menteng"), now=MONDAY_MORNING)
    for number in (complaint_view.number, letter_view.number):
        ticket = stored(number)
        assert (ticket.unit_code, ticket.kelurahan_code, ticket.kecamatan_code, ticket.unit_source) == (
            LANGKAI,
            LANGKAI,
            PAHANDUT,
            "tunggal",
        )
    assert (complaint_view.unit_name, letter_view.unit_name) == ("", "")
    assert letter_view.pickup == SINGLE.letters["sktm"].pickup
    assert remembered() == (None, None)


def test_the_institution_as_a_unit_sees_it(city: Institution) -> None:
    menteng = unit_routing.institution_for(city, MENTENG)
    assert menteng.name == "Kelurahan Menteng" and menteng.address.startswith("Kantor Kelurahan Menteng")
    assert menteng.letters["sktm"].pickup.startswith("Loket pelayanan Kantor Kelurahan Menteng")
    assert unit_routing.institution_for(city, CITY) is city
    assert unit_routing.institution_for(city, "62.71.01.9999") is city  # not in the tree
    assert unit_routing.institution_for(SINGLE, LANGKAI) is SINGLE


def test_placing_a_pin_or_an_address_is_fast(city: Institution) -> None:
    agency = city.agencies["DLH"]
    unit_routing.place_complaint(city.units, agency, location_text="kel langkai")  # builds the matcher once
    start = time.perf_counter()
    for _ in range(50):
        unit_routing.place_complaint(city.units, agency, latitude=PIN[MENTENG][0], longitude=PIN[MENTENG][1])
        unit_routing.place_complaint(
            city.units, agency, location_text="Jl. Garuda No. 5 RT 03/RW 02, Kel. Lengkai"
        )
    assert (time.perf_counter() - start) / 100 < 0.005
