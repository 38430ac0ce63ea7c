"""What citizens read, after the assistant fills it in, reads as written by a person.

Every response of the domain is filled with every value instansi.yml can put into it (each letter
type and its requirement names, purposes, topics and kelurahan, the institution's names), and the
texts the actions build themselves (summaries, status lines, the subscription consent, office
hours) are produced from the same configuration. None may carry a doubled word ("kirim foto Foto
KTP"), a word repeated a breath later ("informasi resmi Pengumuman resmi"), a phrase said twice
in one sentence ("untuk Kelurahan Langkai dari Kelurahan Langkai"), parentheses inside
parentheses ("(Surat Keterangan Tidak Mampu (SKTM))") or a placeholder left unfilled."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import string
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import letters, status, subscriptions as subscription_actions
from actions.flow import ActionCancel
from actions.general import say_office_hours
from actions.requirements import REQUEST_INTENT_BY_LETTER
from layanwarga import resubmission, subscriptions, tickets
from layanwarga.config import get_institution
from layanwarga.first_message import FUNCTION_WORDS
from layanwarga.formatting import format_when, join_words, photo_of

from .conftest import make_tracker, run_action

INST = get_institution()
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")  # "sama-sama" is one word
# Words that may come back within a few words without sounding repeated.
REPEATABLE = FUNCTION_WORDS | {
    "foto",
    "laporan",
    "permohonan",
    "surat",
    "nomor",
    "ketik",
    "bapak",
    "ibu",
    "atau",
    "kelurahan",
}
# What the citizen is told to type or tap, and WhatsApp's own menu names: quoted, not prose.
QUOTED = re.compile(r"\b(ketik|tekan|pilih|balas)\s+\*[^*]+\*|📎\s*>\s*[^\s.,)]+", re.IGNORECASE)


def problems(text: str) -> List[str]:
    """What makes ``text`` read badly (empty when it reads well)."""
    found = []
    if re.search(r"\{[a-z_]+\}", text):
        found.append("unfilled placeholder")
    depth = 0
    for char in text:
        depth += char == "("
        if char == "(" and depth > 1:
            found.append("parentheses inside parentheses")
        depth -= char == ")" and depth > 0
    for sentence in re.split(r"[.!?\n]+", re.sub(r"[*_~]", "", text)):
        words = [w.lower() for w in WORD.findall(sentence)]
        found += [f"doubled word {w!r}" for w, following in zip(words, words[1:]) if w == following]
    for sentence in re.split(r"[.!?\n]+", re.sub(r"[*_~]", "", QUOTED.sub(" ", text))):
        words = [w.lower() for w in WORD.findall(sentence)]
        for index, word in enumerate(words):
            if word not in REPEATABLE and len(word) > 2 and word in words[max(0, index - 3) : index]:
                found.append(f"{word!r} repeated a breath later")
        for clause in re.split(r"[,;:()]", sentence):
            clause_words = [w.lower() for w in WORD.findall(clause)]
            pairs = [p for p in zip(clause_words, clause_words[1:]) if not set(p) <= REPEATABLE]
            found += [f"phrase {' '.join(p)!r} twice in one clause" for p in set(pairs) if pairs.count(p) > 1]
    return found


def test_the_checker_catches_what_citizens_reported() -> None:
    assert problems("📎 Mohon kirim foto *Foto KTP pemohon* (1 dari 3).")
    assert problems("📄 *SKTM-2026-00007* (Surat Keterangan Tidak Mampu (SKTM))")
    assert problems(
        "Bapak/Ibu akan menerima informasi resmi *Pengumuman resmi* untuk Kelurahan Langkai dari Kelurahan Langkai."
    )
    assert problems("Halo {name}")
    assert problems("📎 Mohon kirim *foto KTP pemohon* (1 dari 3). Pastikan tulisan terbaca jelas.") == []


# -- every response, filled from configuration -------------------------------------------------------
def _topics() -> List[Tuple[str, str]]:
    cfg = INST.subscriptions
    codes = [subscriptions.ALL] + list(cfg.topics if cfg else [])
    return [(code, subscriptions.topic_label(INST, code)) for code in codes]


def _areas() -> List[Tuple[str, str]]:
    cfg = INST.subscriptions
    codes = [subscriptions.ALL] + list(cfg.areas if cfg else [])
    return [
        (code, subscription_actions.area_phrase(code, subscriptions.area_label(INST, code))) for code in codes
    ]


def _asked_again() -> List[str]:
    asked = []
    for letter in INST.letters.values():
        for reason in (
            "Foto KK buram",
            "NIK tidak sesuai, foto KTP terpotong",
            "Alamat dan nomor HP salah, pengantar RT belum ada",
        ):
            fixes = resubmission.corrections(reason, letter.requirements, letters.editable_parts(letter.code))
            asked.append(letters._asked_again(fixes, letter))
    return asked


def values() -> Dict[str, List[str]]:
    """Every value configuration can give each placeholder; samples for the rest."""
    letter_types = list(INST.letters.values())
    requirements = sorted({r for letter in letter_types for r in letter.requirements})
    return {
        "letter_name": [letter.name for letter in letter_types],
        "requirement": requirements,
        "photo": [photo_of(r) for r in requirements],
        "documents": [f"foto {letters.photo_list(letter.requirements)}" for letter in letter_types],
        "requirements": [
            "\n".join(f"{i}. {r}" for i, r in enumerate(letter.requirements, 1)) for letter in letter_types
        ],
        "purposes": [", ".join(letter.purposes) for letter in letter_types],
        "pickup": [letter.pickup for letter in letter_types],
        "fee": [letter.fee for letter in letter_types],
        "processing": ["selesai di hari yang sama", "2 hari kerja"],
        "request_intent": ["minta_sktm"],
        "asked": _asked_again(),
        "reason": ["Foto KK buram, mohon kirim ulang yang jelas"],
        "topic": [label for _, label in _topics()],
        "area": [phrase for _, phrase in _areas()],
        "topics": [join_words([t.label.lower() for t in INST.subscriptions.topics.values()])]
        if INST.subscriptions
        else [],
        "consent": [
            subscriptions.consent_text(INST, t, a)
            for (t, _), (a, _) in itertools.product(_topics(), _areas())
        ],
        "subscriptions": ["• Info bencana, untuk Kelurahan Panarung"],
        "institution": [INST.name],
        "institution_name": [INST.name],
        "office_name": [INST.name],
        "service_name": [INST.service_name],
        "address": [INST.address],
        "map_url": [INST.map_url],
        "phone": [INST.phone],
        "emergency": [INST.emergency_numbers[0].number],
        "agency": [agency.name for agency in INST.agencies.values()],
        "next_opening": [
            format_when(dt.datetime(2026, 12, 7, 7, 30), dt.datetime(2026, 12, 7, 7, 24)),
            format_when(dt.datetime(2026, 12, 8, 7, 30), dt.datetime(2026, 12, 7, 17, 0)),
        ],
        "what": ["📷 Foto", "📍 Lokasi", "Pesan Bapak/Ibu"],
    }


SAMPLES = {
    "number": "SKTM-2026-00007",
    "count": "2",
    "index": "1",
    "total": "3",
    "rating": "5",
    "nik": "6271********0003",
    "due_date": "Senin, 7 Desember 2026",
    "since": "Senin, 7 Desember 2026",
    "verification_days": "3",
    "problem": "NIK harus 16 digit.",
    "summary": "*Jenis:* Sampah",
    "hours": "Senin–Kamis: 07.30–16.00",
    "status": "✅ Saat ini kantor BUKA.",
    "numbers": "☎️ Panggilan darurat: *112*",
    "tickets": "2",
    "files": "3",
    "messages": "10",
    "complaints": "1",
    "letters": "1",
    "profile_name": "Siti",
    "media_days": "730",
    "conversation_days": "365",
}


def filled_responses() -> Iterator[Tuple[str, str]]:
    from rasa.shared.core.domain import Domain

    from tests.action_server.conftest import ROOT

    domain = Domain.load(str(ROOT / "domain")).as_dict()
    options = values()
    for name, variants in domain["responses"].items():
        for variant in variants:
            text = variant.get("text") or ""
            fields = sorted({f for _, f, _, _ in string.Formatter().parse(text) if f})
            choices = [options.get(f) or [SAMPLES.get(f, "x")] for f in fields]
            for combination in itertools.islice(itertools.product(*choices), 400):
                yield name, text.format(**dict(zip(fields, combination)))


@pytest.mark.parametrize("name,text", list(filled_responses()))
def test_every_filled_response_reads_well(name: str, text: str) -> None:
    assert problems(text) == [], (name, text)


# -- texts the actions build -------------------------------------------------------------------------------
def test_status_lines_read_well_for_every_letter_and_category() -> None:
    now = dt.datetime(2026, 12, 7, 9, 0)
    labels = [letter.name for letter in INST.letters.values()] + [
        c.label for c in INST.complaint_categories.values()
    ]
    for label in labels:
        view = tickets.TicketView(
            number="SKTM-2026-00007",
            kind="surat",
            category="sktm",
            category_label=label,
            state="diajukan",
            state_label="Diajukan",
            created_at=now,
            due_date=now.date(),
            agency_name=None,
            description="",
            last_note=None,
        )
        assert problems(status._describe(view)) == [], label


def test_letter_steps_read_well_for_every_letter_and_requirement(domain, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    from rasa.core.nlg.interpolator import interpolate

    for code, letter in INST.letters.items():
        intent = REQUEST_INTENT_BY_LETTER[code]
        run = run_action(letters.ActionStartLetter(), make_tracker(f"/{intent}", intent), domain)
        for index in range(len(letter.requirements)):
            slots = {
                "surat_jenis": code,
                "surat_dokumen_media": list(range(1, index + 1)),
                "requested_slot": "surat_dokumen",
            }
            run.messages += run_action(
                letters.ActionAskSuratDokumen(), make_tracker(slots=slots), domain
            ).messages
        for message in run.messages:
            template = domain["responses"][message["response"]][0]["text"]
            text = interpolate(template, {**SAMPLES, **message})
            assert problems(text) == [], text


def test_office_hours_say_today_when_the_office_opens_today() -> None:
    """Was: 'Buka kembali Senin, 7 Desember 2026 pukul 07.30' said at 07.24 that Monday."""
    from layanwarga import calendar

    monday_early = dt.datetime(2026, 12, 7, 0, 24, tzinfo=dt.timezone.utc)  # 07.24 WIB
    office = calendar.office_status(INST, monday_early)
    assert format_when(office.next_opening, office.local_time) == "hari ini pukul 07.30"
    sunday = calendar.office_status(INST, dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.timezone.utc))
    assert format_when(sunday.next_opening, sunday.local_time) == "besok, Senin, 7 Desember 2026 pukul 07.30"
    friday_evening = calendar.office_status(INST, dt.datetime(2026, 12, 4, 11, 0, tzinfo=dt.timezone.utc))
    assert (
        format_when(friday_evening.next_opening, friday_evening.local_time)
        == "Senin, 7 Desember 2026 pukul 07.30"
    )
    dispatcher = CollectingDispatcher()
    say_office_hours(dispatcher, monday_early)
    (said,) = dispatcher.messages
    assert "Buka kembali hari ini pukul 07.30." in said["status"] and problems(said["status"]) == []


@pytest.mark.parametrize(
    "loop,slots,response",
    [
        (
            "lapor_jalan_rusak_form",
            {"aduan_kategori": "lapor_jalan_rusak", "flow_id": "f"},
            "utter_batal_laporan",
        ),
        (
            "sampaikan_aspirasi_form",
            {"aduan_kategori": "sampaikan_aspirasi", "flow_id": "f"},
            "utter_batal_laporan",
        ),
        ("sktm_form", {"surat_jenis": "sktm", "flow_id": "f"}, "utter_batal_permohonan"),
        ("langganan_form", {}, "utter_batal_langganan"),
        ("hapus_data_form", {}, "utter_hapus_dibatalkan"),
        ("belum_selesai_form", {"aduan_tiket_umpan_balik": "ADU-2026-00001"}, "utter_batal_buka_kembali"),
        (None, {}, "utter_nothing_to_cancel"),
    ],
)
def test_cancelling_names_what_was_cancelled(loop: Any, slots: Dict[str, Any], response: str, domain) -> None:  # type: ignore[no-untyped-def]
    """Was: 'permohonan dibatalkan' after cancelling a complaint."""
    run = run_action(ActionCancel(), make_tracker("batal", "batal", slots=slots, active_loop=loop), domain)
    assert run.responses == [response]


def test_the_menu_offers_subscribing(domain) -> None:  # type: ignore[no-untyped-def]
    buttons = domain["responses"]["utter_menu"][0]["buttons"]
    assert {"title": "Langganan info", "payload": "/langganan_info"} in buttons
    assert len(buttons) <= 10  # one WhatsApp list


def test_summaries_read_well_for_every_letter_and_complaint_category(domain) -> None:  # type: ignore[no-untyped-def]
    from actions.complaints import ActionAskAduanKonfirmasi
    from layanwarga import crypto

    for code, letter in INST.letters.items():
        slots = {
            "surat_jenis": code,
            "surat_untuk": "keluarga",
            "surat_hubungan": "anak",
            "surat_nama": "Siti Aminah",
            "surat_nik": crypto.encrypt("6271024507850003"),
            "surat_alamat": "Jl. Merdeka No 5 RT 03 RW 02",
            "surat_telepon": "+6281234567890",
            "surat_keperluan": letter.purposes[0],
            "surat_usaha_nama": "Warung Bu Tini",
            "surat_usaha_jenis": "warung makan",
            "surat_usaha_alamat": "sama",
            "surat_usaha_sejak": "2019",
            "surat_domisili_sejak": "2018",
            "surat_dokumen_media": list(range(len(letter.requirements))),
        }
        summary = run_action(letters.ActionAskSuratKonfirmasi(), make_tracker(slots=slots), domain).said(
            "utter_ask_surat_konfirmasi"
        )["summary"]
        assert problems(summary) == [], summary
    for category in INST.complaint_categories:
        slots = {
            "aduan_kategori": category,
            "aduan_deskripsi": "Lampu jalan mati sejak kemarin",
            "aduan_lokasi": "Gang Mawar RT 3",
            "aduan_media": [1],
            "aduan_anonim": True,
        }
        summary = run_action(ActionAskAduanKonfirmasi(), make_tracker(slots=slots), domain).said(
            "utter_ask_aduan_konfirmasi"
        )["summary"]
        assert problems(summary) == [], summary
