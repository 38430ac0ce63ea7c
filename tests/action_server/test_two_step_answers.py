"""Answers given in two messages: what the citizen typed first is kept when a form asks for the
rest, and the two parts become one answer (the summary shows the whole address, not only the
RT/RW typed after "Mohon sertakan nomor RT dan RW")."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

from actions.complaints import ValidateLaporJalanRusakForm, ValidateLaporSosialForm
from actions.feedback import ValidateNotResolvedForm
from actions.flow import PARTIAL_SLOT
from actions.letters import ActionAskSuratKonfirmasi, ValidateDomisiliForm, ValidateSktmForm, ValidateSkuForm

from .conftest import Run, make_tracker, run_action
from .test_letters import complete

LETTER_FORMS = {"sktm": ValidateSktmForm, "sku": ValidateSkuForm, "domisili": ValidateDomisiliForm}


def answer(
    form: Any,
    loop: str,
    requested: str,
    text: str,
    slots: Dict[str, Any],
    domain: Dict[str, Any],
    intent: str = "inform",
    entities: Optional[list] = None,
) -> Run:
    values = {"flow_id": "f1", "requested_slot": requested, **slots}
    tracker = make_tracker(text, intent, slots=values, active_loop=loop, entities=entities)
    return run_action(form(), tracker, domain)


def two_steps(
    form: Any,
    loop: str,
    requested: str,
    first: str,
    second: str,
    slots: Dict[str, Any],
    domain: Dict[str, Any],
) -> Run:
    """The citizen answers ``first``, is asked again, and answers ``second``."""
    run = answer(form, loop, requested, first, slots, domain)
    assert run.slots[requested] is None, f"{first!r} should not be a complete answer"
    assert run.slots[PARTIAL_SLOT]["text"] == " ".join(first.split())
    return answer(form, loop, requested, second, {**slots, PARTIAL_SLOT: run.slots[PARTIAL_SLOT]}, domain)


# (letter, slot, first message, second message, the stored answer)
LETTER_CASES = [
    ("sktm", "surat_alamat", "kos di jl g obos 12 no 5", "rt 4 rw 2", "kos di jl g obos 12 no 5, rt 4 rw 2"),
    (
        "sku",
        "surat_alamat",
        "Jl. Kenari Gg. Melati No. 3",
        "RT 03/RW 02",
        "Jl. Kenari Gg. Melati No. 3, RT 03/RW 02",
    ),
    (
        "domisili",
        "surat_alamat",
        "perum griya permata blok c7 rt 5",
        "rw 11",
        "perum griya permata blok c7 rt 5, rw 11",
    ),
    ("domisili", "surat_domisili_sejak", "bulan maret", "2021", "bulan maret 2021"),
    ("sku", "surat_usaha_sejak", "sejak lebaran", "tahun 2019", "sejak lebaran tahun 2019"),
    ("sku", "surat_usaha_nama", "Bu", "Tini Jaya", "Bu Tini Jaya"),
    ("sku", "surat_usaha_jenis", "mi", "ayam bakso", "mi ayam bakso"),
    ("sku", "surat_usaha_alamat", "gg 5", "jl kenanga rt 2", "gg 5, jl kenanga rt 2"),
    ("sktm", "surat_keperluan", "KUR", "di bank BRI", "KUR di bank BRI"),
]


@pytest.mark.parametrize("letter,slot,first,second,expected", LETTER_CASES)
def test_a_letter_answer_in_two_messages_keeps_both_parts(
    letter, slot, first, second, expected, domain
) -> None:  # type: ignore[no-untyped-def]
    run = two_steps(
        LETTER_FORMS[letter], f"{letter}_form", slot, first, second, {"surat_jenis": letter}, domain
    )
    assert run.slots[slot] == expected
    assert run.slots[PARTIAL_SLOT] is None  # used up: a later question starts empty


def test_the_issue_address_reaches_the_summary_whole(domain) -> None:  # type: ignore[no-untyped-def]
    """'kos di jl g obos 12 no 5' → 'Mohon sertakan nomor RT dan RW' → 'rt 4 rw 2' used to
    leave 'Alamat: rt 4 rw 2' in the summary."""
    first = answer(
        ValidateSktmForm,
        "sktm_form",
        "surat_alamat",
        "kos di jl g obos 12 no 5",
        {"surat_jenis": "sktm"},
        domain,
    )
    assert first.responses == ["utter_surat_alamat_rt_rw"]
    second = answer(
        ValidateSktmForm,
        "sktm_form",
        "surat_alamat",
        "rt 4 rw 2",
        {"surat_jenis": "sktm", PARTIAL_SLOT: first.slots[PARTIAL_SLOT]},
        domain,
    )
    address = second.slots["surat_alamat"]
    slots = {
        **complete(),
        "surat_alamat": address,
        "requested_slot": "surat_konfirmasi",
        "surat_jenis": "sktm",
    }
    summary = run_action(
        ActionAskSuratKonfirmasi(), make_tracker(slots=slots, active_loop="sktm_form"), domain
    ).said("utter_ask_surat_konfirmasi")["summary"]
    assert "*Alamat:* kos di jl g obos 12 no 5, rt 4 rw 2" in summary


# (form, loop, slot, first message, second message, the stored answer)
COMPLAINT_CASES = [
    (
        ValidateLaporJalanRusakForm,
        "lapor_jalan_rusak_form",
        "aduan_lokasi",
        "gg 3",
        "rt 2 rw 5 dekat musala",
        "gg 3, rt 2 rw 5 dekat musala",
    ),
    (
        ValidateLaporSosialForm,
        "lapor_sosial_form",
        "aduan_lokasi",
        "pasar",
        "kios no 12 blok b",
        "pasar, kios no 12 blok b",
    ),
    (
        ValidateLaporJalanRusakForm,
        "lapor_jalan_rusak_form",
        "aduan_deskripsi",
        "lubang",
        "besar sekali di tengah jalan",
        "lubang besar sekali di tengah jalan",
    ),
]


@pytest.mark.parametrize("form,loop,slot,first,second,expected", COMPLAINT_CASES)
def test_a_complaint_answer_in_two_messages_keeps_both_parts(
    form, loop, slot, first, second, expected, domain
) -> None:  # type: ignore[no-untyped-def]
    category = loop.removesuffix("_form")
    run = two_steps(form, loop, slot, first, second, {"aduan_kategori": category}, domain)
    assert run.slots[slot] == expected


def test_a_not_resolved_note_in_two_messages_keeps_both_parts(domain) -> None:  # type: ignore[no-untyped-def]
    run = two_steps(
        ValidateNotResolvedForm,
        "belum_selesai_form",
        "aduan_catatan_belum_selesai",
        "ga",
        "nyala cuma sehari, sekarang mati lagi",
        {"aduan_tiket_umpan_balik": "ADU-2026-00042"},
        domain,
    )
    assert run.slots["aduan_catatan_belum_selesai"] == "ga nyala cuma sehari, sekarang mati lagi"


def test_the_whole_answer_typed_again_is_not_doubled(domain) -> None:  # type: ignore[no-untyped-def]
    run = two_steps(
        ValidateSktmForm,
        "sktm_form",
        "surat_alamat",
        "jl merdeka no 5",
        "Jl. Merdeka No. 5 RT 03 RW 02",
        {"surat_jenis": "sktm"},
        domain,
    )
    assert run.slots["surat_alamat"] == "Jl. Merdeka No. 5 RT 03 RW 02"


def test_a_wrong_second_part_keeps_the_first_for_the_next_try(domain) -> None:  # type: ignore[no-untyped-def]
    slots = {"surat_jenis": "sku"}
    first = answer(ValidateSkuForm, "sku_form", "surat_usaha_sejak", "bulan maret", slots, domain)
    future = answer(
        ValidateSkuForm,
        "sku_form",
        "surat_usaha_sejak",
        "2099",
        {**slots, PARTIAL_SLOT: first.slots[PARTIAL_SLOT]},
        domain,
    )
    assert future.slots["surat_usaha_sejak"] is None and PARTIAL_SLOT not in future.slots
    fixed = answer(
        ValidateSkuForm,
        "sku_form",
        "surat_usaha_sejak",
        "2020",
        {**slots, PARTIAL_SLOT: first.slots[PARTIAL_SLOT]},
        domain,
    )
    assert fixed.slots["surat_usaha_sejak"] == "bulan maret 2020"


def test_a_first_part_is_never_joined_to_another_question_or_a_button(domain) -> None:  # type: ignore[no-untyped-def]
    kept = {"slot": "surat_alamat", "text": "kos di jl g obos 12 no 5", "joiner": ", "}
    phone = answer(
        ValidateSktmForm,
        "sktm_form",
        "surat_telepon",
        "0812 9999 8888",
        {"surat_jenis": "sktm", PARTIAL_SLOT: kept},
        domain,
    )
    assert phone.slots["surat_telepon"] == "+6281299998888"
    purpose = answer(
        ValidateSktmForm,
        "sktm_form",
        "surat_keperluan",
        '/inform{"pilihan": "Sekolah / beasiswa"}',
        {"surat_jenis": "sktm", PARTIAL_SLOT: {"slot": "surat_keperluan", "text": "KUR", "joiner": " "}},
        domain,
        entities=[{"entity": "pilihan", "value": "Sekolah / beasiswa"}],
    )
    assert purpose.slots["surat_keperluan"] == "Sekolah / beasiswa"
