"""Letter request flows: NIK checks with clear re-asks, documents one photo at a time, a masked
summary, and one stored request per confirmed submission."""

from __future__ import annotations

from sqlalchemy import select

from actions.letters import (
    ActionAskSuratDokumen,
    ActionAskSuratKonfirmasi,
    ActionAskSuratTelepon,
    ActionStartLetter,
    ActionSubmitLetter,
    ValidateSktmForm,
    ValidateSkuForm,
)
from actions.requirements import ActionTellRequirements
from layanwarga import crypto, db
from layanwarga.models import Media, Ticket

from .conftest import make_tracker, run_action


def in_form(text: str, intent: str = "inform", requested: str = "surat_nik", slots=None, letter="sktm", **kw):  # type: ignore[no-untyped-def]
    values = {"surat_jenis": letter, "flow_id": "f1", "requested_slot": requested}
    values.update(slots or {})
    return make_tracker(text, intent, slots=values, active_loop=f"{letter}_form", **kw)


def validate(tracker, domain, form=ValidateSktmForm):  # type: ignore[no-untyped-def]
    return run_action(form(), tracker, domain)


def test_requirements_come_from_configuration_with_an_apply_button(domain) -> None:  # type: ignore[no-untyped-def]
    tracker = make_tracker(
        "syarat sktm apa aja", "tanya_syarat", entities=[{"entity": "layanan", "value": "sktm"}]
    )
    message = run_action(ActionTellRequirements(), tracker, domain).said("utter_syarat_surat")
    assert "1. Foto KTP pemohon" in message["requirements"]
    assert message["fee"] == "Gratis" and message["request_intent"] == "minta_sktm"


def test_requirements_without_a_letter_offer_a_list(domain) -> None:  # type: ignore[no-untyped-def]
    message = run_action(
        ActionTellRequirements(), make_tracker("syaratnya apa", "tanya_syarat"), domain
    ).said("utter_pilih_syarat")
    assert [b["title"] for b in message["buttons"]] == ["SKTM", "Surat Keterangan Usaha", "Surat Domisili"]
    assert all(len(b["title"]) <= 24 for b in message["buttons"])


def test_start_sets_the_letter_type_and_a_fresh_flow(domain, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    run = run_action(
        ActionStartLetter(), make_tracker("mau bikin sku", "izin_usaha", slots={"surat_nama": "Lama"}), domain
    )
    assert run.slots["surat_jenis"] == "sku" and run.slots["surat_nama"] is None and run.slots["flow_id"]


def test_a_wrong_nik_is_asked_again_saying_what_is_wrong(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("6271023002850003"), domain)
    assert run.slots["surat_nik"] is None and run.slots["surat_nik_gagal"] == 1.0
    assert "tanggal lahir" in run.said("utter_surat_nik_salah")["problem"]
    fixed = validate(in_form("6271 0245 0785 0003", slots={"surat_nik_gagal": 1.0}), domain)
    assert fixed.slots["surat_nik_gagal"] is None
    # The slot (kept by Rasa's tracker store) holds the NIK encrypted, never in clear text.
    assert "6271024507850003" not in fixed.slots["surat_nik"]
    assert crypto.decrypt(fixed.slots["surat_nik"]) == "6271024507850003"


def test_a_third_wrong_nik_offers_an_officer(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("12345", slots={"surat_nik_gagal": 2.0}), domain)
    assert "utter_surat_nik_tawarkan_petugas" in run.responses


def test_an_unknown_region_is_confirmed_not_rejected(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("6299014507850003"), domain)
    assert (
        crypto.decrypt(run.slots["surat_nik"]) == "6299014507850003" and run.slots["surat_nik_cek"] == "perlu"
    )
    pending = {"surat_nik": run.slots["surat_nik"], "surat_nik_cek": "perlu"}
    confirm = validate(in_form("/affirm", "affirm", requested="surat_nik_cek", slots=pending), domain)
    assert confirm.slots["surat_nik_cek"] == "dikonfirmasi"
    retry = validate(in_form("/deny", "deny", requested="surat_nik_cek", slots=pending), domain)
    assert retry.slots["surat_nik"] is None


def test_address_needs_rt_and_rw(domain) -> None:  # type: ignore[no-untyped-def]
    missing = validate(in_form("jl merdeka no 5", requested="surat_alamat"), domain)
    assert missing.slots["surat_alamat"] is None and "utter_surat_alamat_rt_rw" in missing.responses
    good = validate(in_form("jl merdeka no 5 rt 03 rw 02", requested="surat_alamat"), domain)
    assert good.slots["surat_alamat"] == "jl merdeka no 5 rt 03 rw 02"


def test_phone_defaults_to_the_whatsapp_number(domain) -> None:  # type: ignore[no-untyped-def]
    assert (
        validate(in_form("/affirm", "affirm", requested="surat_telepon"), domain).slots["surat_telepon"]
        == "+6281234567890"
    )
    typed = validate(in_form("0812 9999 8888", requested="surat_telepon"), domain)
    assert typed.slots["surat_telepon"] == "+6281299998888"
    assert validate(in_form("123", requested="surat_telepon"), domain).slots["surat_telepon"] is None


def test_a_username_user_without_phone_is_asked_to_type_one(domain) -> None:  # type: ignore[no-untyped-def]
    run = run_action(ActionAskSuratTelepon(), make_tracker(sender="US.13491208655302741918"), domain)
    assert run.responses == ["utter_ask_surat_telepon_ketik"]


def test_a_whatsapp_number_that_is_no_valid_phone_is_not_offered(domain) -> None:  # type: ignore[no-untyped-def]
    """The "Pakai nomor ini" button was offered for any all-digit WhatsApp id, then refused
    as invalid, and offered again: a loop the citizen could not leave by tapping."""
    too_long = "628110012345678"
    run = run_action(ActionAskSuratTelepon(), make_tracker(sender=too_long), domain)
    assert run.responses == ["utter_ask_surat_telepon_ketik"]
    tapped = validate(in_form("/affirm", "affirm", requested="surat_telepon", sender=too_long), domain)
    assert tapped.slots["surat_telepon"] is None


def test_a_photo_before_the_documents_step_is_answered_and_the_question_asked_again(domain) -> None:  # type: ignore[no-untyped-def]
    """A photo sent while the form asks for the phone number used to end in "belum memahami"
    (the form gave the message up): now the citizen is told and asked the same question."""
    photo = {"media": {"media_db_id": 7, "mime_type": "image/jpeg"}}
    run = validate(in_form("/kirim_media", "kirim_media", requested="surat_telepon", metadata=photo), domain)
    assert run.responses == ["utter_lampiran_belum_perlu"]
    assert run.slots["surat_telepon"] is None


def test_an_external_event_never_fills_a_free_text_answer(domain) -> None:  # type: ignore[no-untyped-def]
    """Rasa's trigger_intent API puts "EXTERNAL: <intent>" in the message text; a form asking for
    the purpose of a letter must not store that as the purpose."""
    run = validate(in_form("EXTERNAL: pengingat", "pengingat", requested="surat_keperluan"), domain)
    assert run.slots["surat_keperluan"] is None
    assert not any("EXTERNAL" in str(value) for value in run.slots.values())


def test_applying_for_a_family_member_asks_the_relationship(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(
        in_form(
            '/inform{"pilihan": "keluarga"}',
            requested="surat_untuk",
            entities=[{"entity": "pilihan", "value": "keluarga"}],
        ),
        domain,
    )
    assert run.slots["surat_untuk"] == "keluarga"
    assert run.slots["requested_slot"] == "surat_hubungan"


def test_documents_are_taken_one_photo_per_requirement(domain) -> None:  # type: ignore[no-untyped-def]
    ask = run_action(
        ActionAskSuratDokumen(),
        in_form("", requested="surat_dokumen", slots={"surat_dokumen_media": [1]}),
        domain,
    )
    assert ask.said("utter_ask_surat_dokumen")["requirement"] == "Foto Kartu Keluarga (KK)"
    photo = validate(
        in_form(
            "/kirim_media",
            "kirim_media",
            requested="surat_dokumen",
            slots={"surat_dokumen_media": [1, 2]},
            metadata={"media": {"media_db_id": 3}},
        ),
        domain,
    )
    assert photo.slots["surat_dokumen_media"] == [1, 2, 3] and photo.slots["surat_dokumen"] == "lengkap"


def test_a_missing_document_is_explained_and_asked_again(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(
        in_form("ga ada kk nya", "lewati", requested="surat_dokumen", slots={"surat_dokumen_media": [1]}),
        domain,
    )
    assert run.slots["surat_dokumen"] is None
    assert run.said("utter_surat_dokumen_wajib")["photo"] == "foto Kartu Keluarga (KK)"


def test_business_details_and_since_year(domain) -> None:  # type: ignore[no-untyped-def]
    name = validate(
        in_form("Warung Makan Bu Tini", requested="surat_usaha_nama", letter="sku"), domain, ValidateSkuForm
    )
    assert name.slots["surat_usaha_nama"] == "Warung Makan Bu Tini"
    same = validate(
        in_form(
            "sama", requested="surat_usaha_alamat", letter="sku", slots={"surat_alamat": "Jl. A RT 1 RW 2"}
        ),
        domain,
        ValidateSkuForm,
    )
    assert same.slots["surat_usaha_alamat"] == "Jl. A RT 1 RW 2"
    future = validate(
        in_form("tahun 2099", requested="surat_usaha_sejak", letter="sku"), domain, ValidateSkuForm
    )
    assert future.slots["surat_usaha_sejak"] is None


def test_asking_for_the_same_letter_again_is_not_an_exit(domain) -> None:  # type: ignore[no-untyped-def]
    run = validate(in_form("Siti Aminah", "minta_sktm", requested="surat_nama"), domain)
    assert run.slots["surat_nama"] == "Siti Aminah"


def complete(sender: str = "6281234567890"):  # type: ignore[no-untyped-def]
    return {
        "surat_untuk": "keluarga",
        "surat_hubungan": "anak",
        "surat_nama": "Siti Aminah",
        "surat_nik": crypto.encrypt("6271024507850003"),
        "surat_nik_cek": "ok",
        "surat_alamat": "Jl. Merdeka No 5 RT 03 RW 02",
        "surat_telepon": "+6281234567890",
        "surat_keperluan": "Berobat / keringanan biaya rumah sakit",
        "surat_dokumen_media": [],
        "surat_dokumen": "lengkap",
        "surat_konfirmasi": "kirim",
    }


def test_summary_masks_the_nik(domain) -> None:  # type: ignore[no-untyped-def]
    summary = run_action(
        ActionAskSuratKonfirmasi(), in_form("", requested="surat_konfirmasi", slots=complete()), domain
    ).said("utter_ask_surat_konfirmasi")["summary"]
    assert "6271********0003" in summary and "6271024507850003" not in summary
    assert "keluarga (anak)" in summary


def test_submission_stores_the_request_with_documents_and_history(domain, db_url: str) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        photos = [Media(whatsapp_media_id=f"m{i}", mime_type="image/jpeg") for i in range(3)]
        session.add_all(photos)
        session.flush()
        ids = [m.id for m in photos]
    slots = {**complete(), "surat_dokumen_media": ids}
    run = run_action(ActionSubmitLetter(), in_form("/affirm", "affirm", requested=None, slots=slots), domain)
    reply = run.said("utter_surat_terkirim")
    assert reply["number"].startswith("SKTM-2026-")
    again = run_action(
        ActionSubmitLetter(), in_form("/affirm", "affirm", requested=None, slots=slots), domain
    )
    assert again.said("utter_surat_terkirim")["number"] == reply["number"]
    with db.session_scope() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert (ticket.kind, ticket.state, ticket.on_behalf, ticket.relationship_to_sender) == (
            "surat",
            "diajukan",
            True,
            "anak",
        )
        assert ticket.rt == "3" and ticket.rw == "2"
        assert [d["persyaratan"] for d in ticket.details["dokumen"]] == [
            "Foto KTP pemohon",
            "Foto Kartu Keluarga (KK)",
            "Surat pengantar RT/RW",
        ]
        assert sorted(m.id for m in ticket.media) == sorted(ids)
        assert [h.to_state for h in ticket.history] == ["diajukan"]
