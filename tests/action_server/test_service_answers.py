"""Questions about any service answered from the published catalogue: one clear match with its
requirements, fee, time, place and link in one WhatsApp message; several as a WhatsApp list; none
with an officer; the letters the assistant takes offering to start the request; an office's edit
answered on the next question without a restart."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from actions.requirements import ActionTellRequirements
from actions.service_answers import ANSWER_RESPONSE, answer_fields
from layanwarga import db, services
from layanwarga.config import PROJECT_ROOT
from whatsapp.messages import INTERACTIVE_BODY_LIMIT, ROW_TITLE_LIMIT, button_messages, units

from .conftest import Run, make_tracker, run_action

SHIPPED = PROJECT_ROOT / "catalogue" / "layanan.yml"


@pytest.fixture
def catalogue(sqlite_url: str) -> str:
    with db.session_scope(sqlite_url) as session:
        services.import_catalogue(session, *services.load_file(SHIPPED))
    return sqlite_url


def ask(domain: Dict[str, Any], text: str, entities: List[dict] = ()) -> Run:  # type: ignore[assignment]
    return run_action(
        ActionTellRequirements(), make_tracker(text, "tanya_syarat", entities=list(entities)), domain
    )


def rendered(domain: Dict[str, Any], message: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The WhatsApp messages the connector sends for one dispatched response."""
    template = domain["responses"][message["response"]][0]["text"]
    fields = {key: value for key, value in message.items() if isinstance(value, str)}
    return button_messages(template.format_map(fields) if "{" in template else template, message["buttons"])


def test_one_clear_match_answers_with_requirements_fee_time_place_and_link(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    message = ask(domain, "syarat bikin akte kelahiran anak gmn ya").said(ANSWER_RESPONSE)
    assert message["name"] == "Akta Kelahiran"
    assert "1. Surat keterangan lahir dari rumah sakit, puskesmas atau bidan" in message["requirements"]
    assert message["fee"] == "Gratis" and message["processing"] == "1 hari kerja"
    assert "Disdukcapil" in message["place"]
    [whatsapp] = rendered(domain, message)
    body = whatsapp["interactive"]["body"]["text"]
    assert whatsapp["interactive"]["type"] == "button" and units(body) <= INTERACTIVE_BODY_LIMIT
    assert "Persyaratan" in body and "Biaya: Gratis" in body
    assert [b["reply"]["title"] for b in whatsapp["interactive"]["action"]["buttons"]] == [
        "Tanya petugas",
        "Lihat menu",
    ]


def test_the_online_link_and_a_computed_fee_are_given(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    message = ask(domain, "imb rumah sekarang apa namanya").said(ANSWER_RESPONSE)
    assert message["name"].startswith("Persetujuan Bangunan Gedung")
    assert "https://simbg.pu.go.id" in message["online"]
    assert "Retribusi PBG dihitung" in message["fee"]


def test_a_letter_the_assistant_takes_offers_to_start_the_request(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    for text, entities, intent in [
        ("surat miskin buat berobat syaratnya", [], "minta_sktm"),
        ("syarat sktm apa aja", [{"entity": "layanan", "value": "sktm"}], "minta_sktm"),
        ("surat keterangan domisili perlu apa", [], "surat_domisili"),
    ]:
        message = ask(domain, text, entities).said(ANSWER_RESPONSE)
        assert {"title": "Ajukan sekarang", "payload": f"/{intent}"} in message["buttons"], text


def test_several_matches_come_as_a_whatsapp_list_with_an_officer_row(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    message = ask(domain, "akta").said("utter_layanan_pilih")
    payloads = [b["payload"] for b in message["buttons"]]
    assert '/tanya_syarat{"layanan": "akta-kelahiran"}' in payloads and payloads[-1] == "/minta_petugas"
    [whatsapp] = rendered(domain, message)
    assert whatsapp["interactive"]["type"] == "list"
    rows = [row for section in whatsapp["interactive"]["action"]["sections"] for row in section["rows"]]
    assert all(units(row["title"]) <= ROW_TITLE_LIMIT for row in rows)
    assert any("Disdukcapil" in row.get("description", "") for row in rows)


def test_a_choice_from_the_list_answers_that_service(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    run = ask(
        domain, '/tanya_syarat{"layanan": "akta-kematian"}', [{"entity": "layanan", "value": "akta-kematian"}]
    )
    assert run.said(ANSWER_RESPONSE)["name"] == "Akta Kematian"


def test_a_service_not_in_the_catalogue_is_said_so_with_an_officer(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    message = ask(domain, "cara bikin paspor").said("utter_layanan_tidak_ditemukan")
    assert [b["payload"] for b in message["buttons"]] == ["/minta_petugas", "/bantuan"]


def test_no_service_named_offers_the_letters(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    assert ask(domain, "syaratnya apa").responses == ["utter_pilih_syarat"]
    assert ask(domain, "/tanya_syarat").responses == ["utter_pilih_syarat"]


def test_an_offices_edit_is_answered_on_the_next_question(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    assert ask(domain, "skck biayanya brp").said(ANSWER_RESPONSE)["fee"] == "Rp30.000 (PNBP)"
    with db.session_scope(catalogue) as session:
        skck = services.published_service(session, "skck")
        assert skck is not None
        edited = services.content_from_mapping(
            {
                "name": skck.content.name,
                "purpose": skck.content.purpose,
                "place": skck.content.place,
                "processing_time": skck.content.processing_time,
                "requirements": list(skck.content.requirements),
                "fee": "Rp35.000",
                "fee_note": "PNBP, tarif baru",
            }
        )
        services.save_draft(session, "skck", edited, "staf:polres")
        services.publish(session, "skck", "staf:admin")
    assert ask(domain, "skck biayanya brp").said(ANSWER_RESPONSE)["fee"] == "Rp35.000 (PNBP, tarif baru)"


def test_a_long_service_drops_details_until_it_fits_one_message(domain) -> None:  # type: ignore[no-untyped-def]
    agencies, entries = services.load_file(SHIPPED)
    [kk] = [s for s in services.preview(agencies, entries) if s.code == "kartu-keluarga"]
    long = services.content_from_mapping(
        {
            "name": kk.content.name,
            "purpose": "Tujuan " * 60,
            "place": kk.content.place,
            "processing_time": "1 hari",
            "requirements": [f"Dokumen nomor {n} yang perlu dibawa" for n in range(1, 15)],
            "steps": [f"Langkah {n} yang harus dilalui warga" for n in range(1, 12)],
            "legal_basis": "UU " * 100,
            "fee": 0,
            "contact": "Loket",
        }
    )
    service = services.PublishedService(**{**kk.__dict__, "content": long})
    template = domain["responses"][ANSWER_RESPONSE][0]["text"]
    fields = answer_fields(service, template)
    assert units(template.format(**fields)) <= INTERACTIVE_BODY_LIMIT
    assert fields["legal_basis"] == "" and fields["steps"] == ""
    assert "Dokumen nomor 14" in fields["requirements"]  # requirements are never dropped


def test_html_typed_into_a_field_reaches_whatsapp_as_plain_text(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope(catalogue) as session:
        services.save_draft(
            session,
            "kia",
            services.content_from_mapping(
                {
                    "name": "Kartu Identitas Anak (KIA)",
                    "purpose": "<script>alert(1)</script>",
                    "place": "<b>Loket</b>",
                    "processing_time": "1 hari",
                    "requirements": ["Akta <i>kelahiran</i>"],
                    "fee": 0,
                }
            ),
            "staf:x",
        )
        services.publish(session, "kia", "staf:x")
    message = ask(domain, "kartu identitas anak").said(ANSWER_RESPONSE)
    assert message["place"] == "<b>Loket</b>" and "Akta <i>kelahiran</i>" in message["requirements"]


def test_without_a_catalogue_the_letters_are_answered_from_configuration(domain, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    run = ask(domain, "syarat sktm apa aja", [{"entity": "layanan", "value": "sktm"}])
    assert run.said("utter_syarat_surat")["request_intent"] == "minta_sktm"
    assert ask(domain, "syarat bikin akte kelahiran").responses == ["utter_pilih_syarat"]


def fallback(domain: Dict[str, Any], text: str, **kwargs: Any) -> Run:
    from actions.fallback import ActionDefaultFallback

    return run_action(
        ActionDefaultFallback(), make_tracker(text, "nlu_fallback", confidence=0.3, **kwargs), domain
    )


def test_a_service_named_without_a_question_word_is_answered_from_the_catalogue(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    # NLU has no "syarat"/"berapa" to go on and falls back; the catalogue still knows the service.
    run = fallback(domain, "kk sy ilang pak")
    assert run.said(ANSWER_RESPONSE)["name"].startswith("Kartu Keluarga")
    assert [e["event"] for e in run.events] == ["rewind"]
    assert fallback(domain, "akta").responses == ["utter_layanan_pilih"]


def test_a_misunderstood_message_naming_no_service_is_still_asked_again(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    assert fallback(domain, "resep sayur asem").responses == ["utter_default"]
    # Inside a form, a misunderstood message is not taken for a catalogue question.
    assert fallback(domain, "kk sy ilang pak", active_loop="sktm_form").responses == ["utter_default"]


def test_free_text_outside_a_form_that_names_one_service_is_answered(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    from actions.feedback import ActionShortReply

    def reply(text: str) -> Run:
        return run_action(ActionShortReply(), make_tracker(text, "inform"), domain)

    assert reply("pajak papan nama toko").said(ANSWER_RESPONSE)["name"].startswith("Izin dan Pajak Reklame")
    # A short answer that names no single service keeps the usual reply.
    usual = reply("Budi Santoso").responses
    assert usual and usual[0] != ANSWER_RESPONSE
    assert reply("akta").responses == usual


def test_each_question_is_counted_for_the_offices_statistics(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    ask(domain, "skck biayanya brp")
    ask(domain, '/tanya_syarat{"layanan": "skck"}', [{"entity": "layanan", "value": "skck"}])
    ask(domain, "cara bikin paspor")
    ask(domain, "syaratnya apa")  # names nothing: not a question about a service
    fallback(domain, "resep sayur asem")  # a misunderstood message is not counted as a question
    with db.session_scope(catalogue) as session:
        result = services.question_stats(session, dt.datetime.utcnow() - dt.timedelta(hours=1))
    assert result.most_asked == [("skck", 2)]
    assert [text for text, _, _ in result.not_found] == ["cara bikin paspor"] and result.total == 3


def in_letter_form(domain: Dict[str, Any], text: str, entities: List[dict]) -> Run:
    """A side question asked while the SKTM form waits for the NIK."""
    from actions.letters import ValidateSktmForm

    tracker = make_tracker(
        text,
        "tanya_syarat",
        entities=entities,
        slots={"surat_jenis": "sktm", "flow_id": "f1", "requested_slot": "surat_nik"},
        active_loop="sktm_form",
    )
    return run_action(ValidateSktmForm(), tracker, domain)


SKTM = [{"entity": "layanan", "value": "sktm"}]


def test_a_letters_requirements_asked_inside_its_form_come_from_the_catalogue(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    run = in_letter_form(domain, "syaratnya apa aja ya", SKTM)
    assert run.responses[:2] == [ANSWER_RESPONSE, "utter_lanjut_form"]
    message = run.said(ANSWER_RESPONSE)
    # The catalogue's wording (the public page's), not instansi.yml's "Foto KTP pemohon".
    assert "1. KTP-el pemohon" in message["requirements"] and "Foto" not in message["requirements"]
    assert message["name"] == "Surat Keterangan Tidak Mampu (SKTM)"
    assert run.slots == {"surat_nik": None}  # the NIK is asked again


def test_a_withdrawn_letter_service_leaves_its_configuration_to_answer(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope(catalogue) as session:
        services.withdraw(session, "sktm", "staf:kelurahan", "Persyaratan sedang direvisi")
    inside = in_letter_form(domain, "syaratnya apa aja ya", SKTM)
    assert inside.responses[:2] == ["utter_syarat_surat", "utter_lanjut_form"]
    assert "1. Foto KTP pemohon" in inside.said("utter_syarat_surat")["requirements"]
    assert ask(domain, "syarat sktm apa aja", SKTM).responses[0] == "utter_syarat_surat"
    # Searched by its other names, the withdrawn service is gone at once.
    assert "Surat Keterangan Tidak Mampu (SKTM)" not in str(ask(domain, "surat keterangan miskin").messages)


def test_without_a_catalogue_a_letters_requirements_in_its_form_come_from_configuration(
    domain, sqlite_url
) -> None:  # type: ignore[no-untyped-def]
    run = in_letter_form(domain, "syaratnya apa aja ya", SKTM)
    assert run.responses[:2] == ["utter_syarat_surat", "utter_lanjut_form"]


def start_letter(domain: Dict[str, Any], text: str, intent: str, entities: List[dict] = ()) -> Run:  # type: ignore[assignment]
    from actions.letters import ActionStartLetter

    return run_action(ActionStartLetter(), make_tracker(text, intent, entities=list(entities)), domain)


def test_a_letter_request_that_clearly_asks_about_another_service_is_answered_from_the_catalogue(
    domain, catalogue
) -> None:  # type: ignore[no-untyped-def]
    # NLU reads a business letter (SKU) in these; the catalogue places them on other services.
    for text, intent, name in [
        ("izin lingkungan buat usaha cuci mobil", "izin_usaha", "Persetujuan lingkungan"),
        ("mau daftar nib buat usaha kue", "izin_usaha", "Nomor Induk Berusaha"),
        ("surat pindah ke luar kota", "surat_domisili", "Surat Pindah"),
    ]:
        run = start_letter(domain, text, intent)
        assert run.said(ANSWER_RESPONSE)["name"].startswith(name), text
        # No request starts: the rule's form is skipped, the assistant listens.
        assert run.events == [{"event": "followup", "name": "action_listen", "timestamp": None}], text


def test_a_letter_request_naming_its_letter_or_pressing_its_button_starts_the_request(
    domain, catalogue
) -> None:  # type: ignore[no-untyped-def]
    for text, entities in [
        ("mau bikin sku buat usaha laundry", [{"entity": "layanan", "value": "sku"}]),
        # Not named by NLU, but the catalogue's clear match is the letter itself.
        ("bikin surat buat usaha laundry", []),
        ("/izin_usaha", []),
        # Named, although the catalogue would place the text on NIB.
        ("mau ajukan izin usaha buat daftar nib", [{"entity": "layanan", "value": "sku"}]),
    ]:
        run = start_letter(domain, text, "izin_usaha", entities)
        assert run.slots["surat_jenis"] == "sku" and "utter_surat_mulai" in run.responses, text


def test_a_letter_request_answered_from_the_catalogue_is_counted_for_the_statistics(
    domain, catalogue
) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    start_letter(domain, "mau daftar nib buat usaha kue", "izin_usaha")
    start_letter(
        domain, "mau bikin sku buat usaha laundry", "izin_usaha", [{"entity": "layanan", "value": "sku"}]
    )
    with db.session_scope(catalogue) as session:
        result = services.question_stats(session, dt.datetime.utcnow() - dt.timedelta(hours=1))
    assert result.most_asked == [("nib-oss", 1)] and result.total == 1


def offer_letters(domain: Dict[str, Any], text: str) -> Run:
    from actions.requirements import ActionOfferLetters

    return run_action(ActionOfferLetters(), make_tracker(text, "mau_urus_surat"), domain)


def test_a_letter_request_naming_a_service_of_the_catalogue_is_answered_from_it(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    # Before, every one of these got the list of the three letters this assistant takes.
    message = offer_letters(domain, "mau urus surat keterangan ahli waris").said(ANSWER_RESPONSE)
    assert message["name"] == "Surat keterangan ahli waris"
    assert {"title": "Tanya petugas", "payload": "/minta_petugas"} in message["buttons"]
    # A letter this assistant takes is answered with its request button.
    message = offer_letters(domain, "mau minta surat keterangan usaha").said(ANSWER_RESPONSE)
    assert {"title": "Ajukan sekarang", "payload": "/izin_usaha"} in message["buttons"]


def test_a_letter_request_naming_no_service_gets_the_letters(domain, catalogue) -> None:  # type: ignore[no-untyped-def]
    for text in ("mau urus surat", "saya perlu surat dari kelurahan", "/mau_urus_surat"):
        assert offer_letters(domain, text).responses == ["utter_pilih_surat"], text


def test_without_a_catalogue_a_letter_request_gets_the_letters(domain, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    assert offer_letters(domain, "mau urus surat keterangan ahli waris").responses == ["utter_pilih_surat"]
