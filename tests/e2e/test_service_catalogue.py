"""The service catalogue over WhatsApp, end to end (simulator -> connector -> Rasa -> action
server -> ticket database -> simulator): a question about a service gets its answer, a letter
the assistant takes starts from that answer, a word shared by several services brings a list,
a letter request that names another service gets that service's answer and starts no request,
and an office's edit is in the very next answer, with no retraining or restart."""

from __future__ import annotations

from layanwarga import db, services
from layanwarga.config import PROJECT_ROOT

from .conftest import WhatsAppStack
from .support import new_phone

SHIPPED = PROJECT_ROOT / "catalogue" / "layanan.yml"


def _import(url: str) -> None:
    with db.session_scope(url, write=True) as session:
        if services.published_service(session, "skck") is None:
            services.import_catalogue(session, *services.load_file(SHIPPED))


def test_a_service_question_is_answered_and_a_letter_starts_from_the_answer(
    whatsapp_stack: WhatsAppStack,
) -> None:
    _import(whatsapp_stack.database_url)
    chat = whatsapp_stack.simulator.chat(new_phone(), "Rina Wati")
    turn = chat.say("syarat bikin akta kelahiran anak apa aja ya", until="Persyaratan")
    assert "Akta Kelahiran" in turn.text and "Surat keterangan lahir" in turn.text and "Gratis" in turn.text
    turn = chat.say("syarat surat miskin buat berobat apa aja", until="Persyaratan")
    assert "Surat Keterangan Tidak Mampu" in turn.text and "Ajukan sekarang" in turn.buttons
    turn = chat.tap("Ajukan sekarang", until="kami bantu pengajuan")
    assert "Surat Keterangan Tidak Mampu" in turn.text


def test_several_services_come_as_a_list_and_a_choice_is_answered(whatsapp_stack: WhatsAppStack) -> None:
    _import(whatsapp_stack.database_url)
    chat = whatsapp_stack.simulator.chat(new_phone(), "Andi")
    turn = chat.say("syarat akta apa saja", until="Silakan pilih salah satu")
    assert "Akta Kematian" in turn.rows and "Tidak ada di daftar" in turn.rows
    turn = chat.tap("Akta Kematian", until="Persyaratan")
    assert "Surat keterangan kematian" in turn.text


def test_a_letter_request_naming_another_service_gets_its_answer_and_no_request(
    whatsapp_stack: WhatsAppStack,
) -> None:
    _import(whatsapp_stack.database_url)
    chat = whatsapp_stack.simulator.chat(new_phone(), "Sari")
    # Read as a business letter (SKU) request by NLU; the catalogue places it on NIB.
    turn = chat.say("mau daftar nib buat usaha kue", until="Persyaratan")
    assert "Nomor Induk Berusaha" in turn.text and "Ajukan sekarang" not in turn.buttons
    # A letter this assistant does not take, named in a letter request.
    turn = chat.say("mau urus surat keterangan ahli waris", until="Persyaratan")
    assert "ahli waris" in turn.text
    # No form was started on the way: a letter request naming none gets the letters.
    turn = chat.say("mau urus surat", until="Surat apa yang ingin")
    assert "SKTM" in turn.rows


def test_an_offices_new_fee_is_in_the_next_answer(whatsapp_stack: WhatsAppStack) -> None:
    url = whatsapp_stack.database_url
    _import(url)
    chat = whatsapp_stack.simulator.chat(new_phone(), "Yanto")
    assert "Rp30.000" in chat.say("syarat skck apa aja, biayanya berapa", until="Persyaratan").text
    # As the dashboard's editor saves: a unit of work that reads, then writes (write=True).
    with db.session_scope(url, write=True) as session:
        current = services.published_service(session, "skck")
        assert current is not None
        changed = services.content_from_mapping(
            {
                "name": current.content.name,
                "purpose": current.content.purpose,
                "place": current.content.place,
                "processing_time": current.content.processing_time,
                "requirements": list(current.content.requirements),
                "fee": "Rp35.000",
                "fee_note": "PNBP, tarif baru",
            }
        )
        services.save_draft(session, "skck", changed, "staf:polres")
        services.publish(session, "skck", "staf:admin")
    assert (
        "Rp35.000 (PNBP, tarif baru)"
        in chat.say("syarat skck apa aja, biayanya berapa", until="Persyaratan").text
    )
