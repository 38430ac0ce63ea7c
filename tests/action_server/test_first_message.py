"""What the message that starts a form already says is filled in, shown in the summary, and not
asked again; what it does not clearly say is left for the form to ask.

Each case runs the real start action on a real-looking first message (WhatsApp spelling,
abbreviations, regional words) and checks the slots it sets, including messages that must not
fill a slot."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

from actions.complaints import ActionAskAduanKonfirmasi, ActionStartComplaint
from actions.letters import ActionAskSuratKonfirmasi, ActionStartLetter
from actions.subscriptions import ActionStartSubscription
from layanwarga import crypto

from .conftest import make_tracker, run_action

# (intent, first message, the place it names or None)
PLACES = [
    ("lapor_lampu_padam", "lampu jalan di gang mawar rt 3 mati", "gang mawar rt 3"),
    ("lapor_lampu_padam", "lampu pju jalan ahmad yani no 12 padam dr kemarin", "jalan ahmad yani no 12"),
    ("lapor_lampu_padam", "kos di jl g obos 12 no 5 lampunya mati", "jl g obos 12 no 5"),
    ("lapor_lampu_padam", "lampu jln dr sutomo no 3A mati total", "jln dr sutomo no 3A"),
    ("lapor_lampu_padam", "lampu di gang mawar rt 3 dekat musala mati", "gang mawar rt 3 dekat musala"),
    ("lapor_jalan_rusak", "jalan di jl. tjilik riwut km 5 berlubang", "jl. tjilik riwut km 5"),
    ("lapor_jalan_rusak", "jalan rusak di jalan rajawali km 3,5 bahaya", "jalan rajawali km 3,5"),
    ("lapor_jalan_rusak", "jalan berlubang depan masjid al ikhlas", "depan masjid al ikhlas"),
    ("lapor_sampah", "sampah numpuk di depan SDN 2 Langkai sudah seminggu", "depan SDN 2 Langkai"),
    ("lapor_sampah", "sampah di tps pasar besar blm diangkut", "tps pasar besar"),
    (
        "lapor_banjir",
        "banjir setinggi lutut di perum griya permata blok c rt 5 rw 11",
        "perum griya permata blok c rt 5 rw 11",
    ),
    ("lapor_banjir", "selokan di gg. kenanga rt 02/rw 05 tersumbat", "gg. kenanga rt 02/rw 05"),
    ("lapor_banjir", "banjir lagi di panarung, air masuk rumah", "panarung"),
    ("lapor_ketertiban", "banyak pedagang liar di depan pasar kahayan", "depan pasar kahayan"),
    ("lapor_pelayanan", "pelayanan di kantor kelurahan lambat sekali", "kantor kelurahan"),
    ("lapor_pelayanan", "petugas disdukcapil minta uang buat ktp", "disdukcapil"),
    ("lapor_sosial", "ada lansia terlantar di rt 4 rw 1 kelurahan panarung", "rt 4 rw 1 kelurahan panarung"),
    # Not a place that says where: the form asks.
    ("lapor_jalan_rusak", "jalan depan rumah saya berlubang besar, sudah dua minggu tidak diperbaiki", None),
    ("lapor_jalan_rusak", "jln depan rmh sy rusak parah gk diperbaiki2", None),
    ("lapor_jalan_rusak", "jalan rusak parah", None),
    ("lapor_jalan_rusak", "jalan berlubang di tikungan", None),
    ("lapor_jalan_rusak", "jalan di kampung kami rusak", None),
    ("lapor_jalan_rusak", "jalan menuju sekolah rusak", None),
    ("lapor_jalan_rusak", "jalan rusak sepanjang 2 km", None),
    ("lapor_jalan_rusak", "mau lapor jalan rusak", None),
    ("lapor_lampu_padam", "lampu jalan mati", None),
    ("lapor_lampu_padam", "lampu jalan di depan rumah mati", None),
    ("lapor_lampu_padam", "lampu jalan raya padam", None),
    ("lapor_lampu_padam", "lampu jalan di gang mati", None),
    ("lapor_lampu_padam", "tolong lampu jalan dekat rumah sy mati udh seminggu", None),
    ("lapor_sampah", "sampah numpuk di pinggir jalan", None),
    ("lapor_sampah", "di sini banyak sampah", None),
    ("lapor_sampah", "sampah di depan sekolah", None),
    ("lapor_banjir", "banjir di rumah saya", None),
    ("lapor_banjir", "selokan mampet di gang sebelah", None),
    ("lapor_banjir", "air selokan meluap setinggi 50 cm", None),
    ("lapor_banjir", "rt kami banjir terus", None),
    ("lapor_ketertiban", "ada yg balap liar tiap malam minggu", None),
    ("lapor_ketertiban", "anak jalanan di simpang", None),
    ("lapor_sosial", "ada orang gila di pasar", None),
    ("lapor_pelayanan", "pelayanan di kantor lambat", None),
    ("lapor_pelayanan", "pak rt tidak peduli", None),
    ("lapor_lampu_padam", "/lapor_lampu_padam", None),
]


def start_complaint(intent: str, text: str, domain: Dict[str, Any]):  # type: ignore[no-untyped-def]
    return run_action(ActionStartComplaint(), make_tracker(text, intent), domain)


@pytest.mark.parametrize("intent,text,place", PLACES)
def test_the_place_in_a_first_complaint_message_is_taken(
    intent: str, text: str, place: Optional[str], domain
) -> None:  # type: ignore[no-untyped-def]
    assert start_complaint(intent, text, domain).slots["aduan_lokasi"] == place


def test_an_aspiration_takes_no_place(domain) -> None:  # type: ignore[no-untyped-def]
    run = start_complaint(
        "sampaikan_aspirasi", "usul taman di jalan merdeka no 5 dibuat lebih terang", domain
    )
    assert run.slots["aduan_lokasi"] is None


def test_a_place_read_from_the_message_is_in_the_summary(domain) -> None:  # type: ignore[no-untyped-def]
    text = "lampu jalan di gang mawar rt 3 mati"
    slots = start_complaint("lapor_lampu_padam", text, domain).slots
    slots.update(requested_slot="aduan_konfirmasi", aduan_foto="dilewati", aduan_anonim=False)
    summary = run_action(
        ActionAskAduanKonfirmasi(), make_tracker(slots=slots, active_loop="lapor_lampu_padam_form"), domain
    ).said("utter_ask_aduan_konfirmasi")["summary"]
    assert "*Lokasi:* gang mawar rt 3" in summary and f"*Keterangan:* {text}" in summary


@pytest.mark.parametrize(
    "text,anonymous",
    [
        ("saya mau lapor pungli di loket ktp tapi tolong rahasiakan nama saya", True),
        ("petugas kelurahan minta uang, identitas saya dirahasiakan ya", True),
        ("lapor secara anonim: ada pungutan liar di kantor", True),
        ("jgn tampilkan nama sy ya pak, petugasnya kasar", True),
        ("laporan ini penting, pelayanan lambat sekali", None),
        ("saya takut ketahuan tapi petugasnya kasar", None),
    ],
)
def test_a_request_to_stay_anonymous_is_taken(text: str, anonymous: Optional[bool], domain) -> None:  # type: ignore[no-untyped-def]
    assert start_complaint("lapor_pelayanan", text, domain).slots["aduan_anonim"] == anonymous


# (intent, first message, slots it fills; every other of these slots must stay unset)
LETTER_SLOTS = ("surat_untuk", "surat_hubungan", "surat_keperluan", "surat_nama", "surat_usaha_jenis")
SKTM_SCHOOL = "Sekolah / beasiswa"
SKTM_HEALTH = "Berobat / keringanan biaya rumah sakit"
LETTERS = [
    ("minta_sktm", "sktm buat anak sekolah", {"surat_keperluan": SKTM_SCHOOL}),
    (
        "minta_sktm",
        "mau urus sktm buat berobat ibu saya",
        {"surat_untuk": "keluarga", "surat_hubungan": "anak", "surat_keperluan": SKTM_HEALTH},
    ),
    (
        "minta_sktm",
        "sktm untuk daftar kuliah anak saya",
        {"surat_untuk": "keluarga", "surat_hubungan": "orang tua", "surat_keperluan": SKTM_SCHOOL},
    ),
    (
        "minta_sktm",
        "bikin sktm utk bpjs ortu sy",
        {"surat_untuk": "keluarga", "surat_hubungan": "anak", "surat_keperluan": SKTM_HEALTH},
    ),
    (
        "minta_sktm",
        "sktm buat suami saya yg dirawat di rsud",
        {"surat_untuk": "keluarga", "surat_hubungan": "istri", "surat_keperluan": SKTM_HEALTH},
    ),
    (
        "minta_sktm",
        "mo bikin surat tidak mampu buat anakku masuk smp",
        {"surat_untuk": "keluarga", "surat_hubungan": "orang tua", "surat_keperluan": SKTM_SCHOOL},
    ),
    (
        "minta_sktm",
        "ibu saya sakit keras, mau urus sktm",
        {"surat_untuk": "keluarga", "surat_hubungan": "anak"},
    ),
    (
        "minta_sktm",
        "sktm untuk saya sendiri buat beasiswa",
        {"surat_untuk": "sendiri", "surat_keperluan": SKTM_SCHOOL},
    ),
    ("minta_sktm", "sktm buat keringanan biaya kuliah", {"surat_keperluan": SKTM_SCHOOL}),
    ("minta_sktm", "sktm buat daftar pkh", {"surat_keperluan": "Bantuan sosial"}),
    (
        "minta_sktm",
        "sktm atas nama siti aminah buat berobat",
        {"surat_nama": "siti aminah", "surat_keperluan": SKTM_HEALTH},
    ),
    (
        "izin_usaha",
        "mau bikin sku buat pinjaman KUR di BRI",
        {"surat_keperluan": "Pinjaman / kredit usaha (KUR)"},
    ),
    ("izin_usaha", "izin usaha warung kelontong saya", {"surat_usaha_jenis": "warung kelontong"}),
    ("izin_usaha", "surat keterangan usaha untuk usaha laundry", {"surat_usaha_jenis": "laundry"}),
    (
        "izin_usaha",
        "sku buat jualan gorengan, mau pinjam modal",
        {"surat_usaha_jenis": "jualan gorengan", "surat_keperluan": "Pinjaman / kredit usaha (KUR)"},
    ),
    ("izin_usaha", "saya punya bengkel motor, perlu sku", {"surat_usaha_jenis": "bengkel motor"}),
    ("izin_usaha", "mau urus izin usaha buat daftar NIB", {"surat_keperluan": "Pendaftaran NIB / perizinan"}),
    ("izin_usaha", "sku untuk bantuan umkm", {"surat_keperluan": "Bantuan usaha mikro"}),
    ("surat_domisili", "surat domisili buat ngelamar kerja", {"surat_keperluan": "Melamar pekerjaan"}),
    ("surat_domisili", "domisili untuk buka rekening bank", {"surat_keperluan": "Membuka rekening bank"}),
    (
        "surat_domisili",
        "surat domisili buat daftar sekolah anak saya",
        {"surat_untuk": "keluarga", "surat_hubungan": "orang tua", "surat_keperluan": "Pendaftaran sekolah"},
    ),
    # Nothing clear: the form asks.
    ("minta_sktm", "mau bikin sktm", {}),
    ("minta_sktm", "mau buat sktm", {}),
    ("minta_sktm", "pak saya mau bikin sktm", {}),
    ("minta_sktm", "Ibu saya mau tanya cara bikin sktm", {}),
    ("minta_sktm", "bu, saya mau urus sktm untuk ibu", {}),
    ("minta_sktm", "sktm untuk anak yatim", {}),
    ("minta_sktm", "sktm untuk keringanan biaya", {}),
    ("minta_sktm", "sktm atas nama saya sendiri", {"surat_untuk": "sendiri"}),
    ("izin_usaha", "izin usaha gmn caranya min mau ngurus", {}),
    ("izin_usaha", "mau ngurus izin usaha", {}),
    ("izin_usaha", "mau bikin surat keterangan usaha", {}),
    ("surat_domisili", "mau bikin surat domisili", {}),
    ("surat_domisili", "surat keterangan domisili sy udh tinggal di sini sejak 2019", {}),
    ("minta_sktm", "/minta_sktm", {}),
]


def start_letter(intent: str, text: str, domain: Dict[str, Any], **kw: Any):  # type: ignore[no-untyped-def]
    return run_action(ActionStartLetter(), make_tracker(text, intent, **kw), domain)


@pytest.mark.parametrize("intent,text,filled", LETTERS)
def test_what_a_letter_request_says_is_filled_and_nothing_else(
    intent: str, text: str, filled: Dict[str, str], domain, sqlite_url
) -> None:  # type: ignore[no-untyped-def]
    slots = start_letter(intent, text, domain).slots
    assert {slot: slots[slot] for slot in LETTER_SLOTS if slots.get(slot) is not None} == filled


def test_business_details_are_only_taken_for_a_business_letter(domain, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    assert (
        start_letter("surat_domisili", "surat domisili buat warung kelontong saya", domain).slots.get(
            "surat_usaha_jenis"
        )
        is None
    )


def test_what_the_request_said_is_in_the_summary(domain, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    start = start_letter("minta_sktm", "mau urus sktm buat berobat ibu saya", domain).slots
    slots = {
        **start,
        "surat_nama": "Siti Aminah",
        "surat_nik": crypto.encrypt("6271024507850003"),
        "surat_nik_cek": "ok",
        "surat_alamat": "Jl. Merdeka No 5 RT 03 RW 02",
        "surat_telepon": "+6281234567890",
        "surat_dokumen_media": [1, 2, 3],
        "surat_dokumen": "lengkap",
        "requested_slot": "surat_konfirmasi",
    }
    summary = run_action(
        ActionAskSuratKonfirmasi(), make_tracker(slots=slots, active_loop="sktm_form"), domain
    ).said("utter_ask_surat_konfirmasi")["summary"]
    assert "*Diajukan oleh:* keluarga (anak)" in summary
    assert f"*Keperluan:* {SKTM_HEALTH}" in summary


@pytest.mark.parametrize(
    "text,area",
    [
        ("langganan info bencana untuk kelurahan panarung", "panarung"),
        ("mau dapat info jadwal posyandu di pahandut seberang", "pahandut-seberang"),
        ("langganan info", None),
        ("langganan semua info", None),
        ("langganan info pahandut dan langkai", None),
    ],
)
def test_the_kelurahan_in_a_subscription_request_is_taken(text: str, area: Optional[str], domain) -> None:  # type: ignore[no-untyped-def]
    slots = run_action(ActionStartSubscription(), make_tracker(text, "langganan_info"), domain).slots
    assert slots.get("langganan_wilayah") == area
