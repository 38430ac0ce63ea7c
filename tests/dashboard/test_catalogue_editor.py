"""The service catalogue editor: each OPD edits only its own office's services, admins approve
publication (or OPDs publish themselves when the city turns approval off), every save is a
revision with editor and date, and bad input is refused next to the field with nothing lost
(SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Dict

from flask import Flask

from dashboard import create_app
from dashboard.settings import DashboardSettings
from layanwarga import db, service_search, services
from layanwarga.config import PROJECT_ROOT
from tests.dashboard.support import csrf, login, make_user

SHIPPED = PROJECT_ROOT / "catalogue" / "layanan.yml"


def _setup() -> None:
    with db.session_scope() as session:
        services.import_catalogue(session, *services.load_file(SHIPPED))
    make_user("admin", "admin")
    make_user("dinsos", "opd", "DINSOS")
    make_user("dlh", "opd", "DLH")
    make_user("surat", "surat")


def _form(client, code: str, **changes: str) -> Dict[str, str]:  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        values = services.form_values(services.history(session, code)[-1])
    return {**values, **changes, "csrf_token": csrf(client, f"/katalog/{code}")}


def _published_fee(code: str) -> str:
    with db.session_scope() as session:
        found = services.published_service(session, code)
    assert found is not None
    return found.content.fee_text


def test_an_opd_sees_and_edits_only_its_own_services(app: Flask) -> None:
    _setup()
    dinsos = login(app, "dinsos")
    listing = dinsos.get("/katalog").get_data(as_text=True)
    assert "/katalog/pbi-jk" in listing and "/katalog/dtks" in listing
    assert "/katalog/skck" not in listing and "/katalog/angkut-sampah" not in listing
    assert dinsos.get("/katalog/pbi-jk").status_code == 200
    assert dinsos.get("/katalog/angkut-sampah").status_code == 404
    token = csrf(dinsos, "/katalog/pbi-jk")
    refused = dinsos.post(
        "/katalog/angkut-sampah",
        data={
            "csrf_token": token,
            "name": "Diubah Dinsos",
            "fee": "1",
            "requirements": "KTP",
            "purpose": "x",
            "processing_time": "1",
            "place": "x",
            "publish": "1",
        },
    )
    assert refused.status_code == 404
    with db.session_scope() as session:
        assert len(services.history(session, "angkut-sampah")) == 1
    assert login(app, "surat").get("/katalog").status_code == 403


def test_an_opd_edit_waits_for_the_admin_then_reaches_whatsapp(app: Flask, db_url: str) -> None:
    _setup()
    dinsos = login(app, "dinsos")
    saved = dinsos.post(
        "/katalog/pbi-jk",
        data=_form(
            dinsos,
            "pbi-jk",
            fee="gratis",
            fee_note="tanpa biaya apa pun",
            change_note="tegaskan gratis",
            publish="1",
        ),
    )
    assert saved.status_code == 302
    assert "menunggu persetujuan admin" in dinsos.get("/katalog/pbi-jk").get_data(as_text=True)
    assert _published_fee("pbi-jk") == "Gratis"  # citizens still see version 1
    admin = login(app, "admin")
    assert "Menunggu terbit" in admin.get("/katalog").get_data(as_text=True)
    approved = admin.post("/katalog/pbi-jk/terbitkan", data={"csrf_token": csrf(admin, "/katalog/pbi-jk")})
    assert approved.status_code == 302
    assert _published_fee("pbi-jk") == "Gratis (tanpa biaya apa pun)"
    best = service_search.search_published("bpjs pbi nonaktif", db_url).best
    assert best is not None and best.service.content.fee_note == "tanpa biaya apa pun"
    with db.session_scope() as session:
        history = [
            (r.number, r.status, r.edited_by, r.published_by) for r in services.history(session, "pbi-jk")
        ]
    assert history[-1] == (2, "published", "staf:dinsos", "staf:admin") and history[0][1] == "superseded"
    page = admin.get("/katalog/pbi-jk").get_data(as_text=True)
    assert "tegaskan gratis" in page and "staf:dinsos" in page


def test_without_approval_an_opd_publishes_its_own_edit(db_url: str) -> None:
    application = create_app(
        DashboardSettings(secret_key="x" * 40, digest_time=None, catalogue_approval=False)
    )
    application.testing = True
    _setup()
    dinsos = login(application, "dinsos")
    dinsos.post(
        "/katalog/pbi-jk", data=_form(dinsos, "pbi-jk", fee="0", fee_note="ditanggung APBD", publish="1")
    )
    assert _published_fee("pbi-jk") == "Gratis (ditanggung APBD)"
    approving = dinsos.post("/katalog/pbi-jk/terbitkan", data={"csrf_token": csrf(dinsos, "/katalog/pbi-jk")})
    assert approving.status_code == 403  # approving stays an admin's


def test_bad_input_is_refused_next_to_each_field_and_nothing_typed_is_lost(app: Flask) -> None:
    _setup()
    admin = login(app, "admin")
    response = admin.post(
        "/katalog/skck",
        data=_form(
            admin,
            "skck",
            requirements="  \n ",
            fee="murah sekali",
            online_url="javascript:alert(1)",
            place="<script>alert('x')</script>",
            publish="1",
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="err-requirements"' in html and 'id="err-fee"' in html and 'id="err-online_url"' in html
    assert "gratis" in html.split('id="err-fee"', 1)[1][:200]
    assert "murah sekali" in html and "javascript:alert(1)" in html  # what was typed stays in the form
    assert "<script>alert('x')</script>" not in html and "&lt;script&gt;" in html
    with db.session_scope() as session:
        assert len(services.history(session, "skck")) == 1
    assert _published_fee("skck") == "Rp30.000 (PNBP)"


def test_the_editor_is_in_the_menu_of_admins_and_opd_only(app: Flask) -> None:
    _setup()
    assert 'href="/katalog"' in login(app, "dinsos").get("/tiket").get_data(as_text=True)
    assert 'href="/katalog"' not in login(app, "surat").get("/tiket").get_data(as_text=True)


def test_offices_see_what_citizens_ask_most_and_what_found_nothing(app: Flask) -> None:
    _setup()
    with db.session_scope() as session:
        for code in ("pbi-jk", "pbi-jk", "skck"):
            services.record_question(session, "one", code, "x")
        services.record_question(session, "none", None, "klaim <b>jht</b> bpjs ketenagakerjaan")
    admin = login(app, "admin").get("/katalog/statistik").get_data(as_text=True)
    most = admin.split('id="paling-ditanya"', 1)[1].split("</table>", 1)[0]
    assert most.index("BPJS Kesehatan gratis") < most.index("Surat Keterangan Catatan Kepolisian")
    assert "klaim &lt;b&gt;jht&lt;/b&gt; bpjs ketenagakerjaan" in admin
    dinsos = login(app, "dinsos").get("/katalog/statistik?hari=7").get_data(as_text=True)
    own = dinsos.split('id="paling-ditanya"', 1)[1].split("</table>", 1)[0]
    assert "BPJS Kesehatan gratis" in own and "Kepolisian" not in own
    assert login(app, "surat").get("/katalog/statistik").status_code == 403


def _new_service(client, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "name": "Surat keterangan janda/duda",
        "purpose": "Keterangan status janda atau duda.",
        "requirements": "Pengantar RT/RW\nAkta kematian pasangan",
        "fee": "gratis",
        "processing_time": "1 hari kerja",
        "place": "Loket dinas",
        "csrf_token": csrf(client, "/katalog/baru"),
    }
    return client.post("/katalog/baru", data={**data, **fields})


def test_an_opd_adds_a_service_to_its_own_office_only(app: Flask) -> None:
    _setup()
    dlh = login(app, "dlh")
    # The form's office choice is ignored for an OPD: the service is DLH's.
    created = _new_service(
        dlh, code="izin-pembuangan-limbah", agency="polres", name="Izin pembuangan limbah cair", publish="1"
    )
    assert created.status_code == 302
    with db.session_scope() as session:
        assert services.service_agency(session, "izin-pembuangan-limbah") == "dlh"
        assert services.published_service(session, "izin-pembuangan-limbah") is None  # waits for the admin
    assert "/katalog/izin-pembuangan-limbah" in dlh.get("/katalog").get_data(as_text=True)
    # A code already used (another office's service) is refused, not added to that service.
    taken = _new_service(dlh, code="skck")
    assert taken.status_code == 400 and "sudah dipakai" in taken.get_data(as_text=True)
    with db.session_scope() as session:
        assert len(services.history(session, "skck")) == 1


def test_an_office_new_to_the_catalogue_joins_it_with_its_first_service(app: Flask) -> None:
    _setup()
    make_user("pupr", "opd", "PUPR")
    pupr = login(app, "pupr")
    assert _new_service(pupr, code="izin-galian", name="Izin galian jalan").status_code == 302
    admin = login(app, "admin")
    approved = admin.post(
        "/katalog/izin-galian/terbitkan", data={"csrf_token": csrf(admin, "/katalog/izin-galian")}
    )
    assert approved.status_code == 302
    with db.session_scope() as session:
        published = services.published_service(session, "izin-galian")
    assert published is not None and published.agency_code == "pupr"
    assert published.agency_name == "Dinas Pekerjaan Umum dan Penataan Ruang"


def test_an_office_withdraws_its_service_at_once_and_it_can_come_back(app: Flask, db_url: str) -> None:
    _setup()
    dinsos, dlh = login(app, "dinsos"), login(app, "dlh")
    token = csrf(dinsos, "/katalog/pbi-jk")
    # Another office cannot withdraw it, and no reason is no withdrawal.
    assert (
        dlh.post(
            "/katalog/pbi-jk/tarik", data={"csrf_token": csrf(dlh, "/katalog"), "reason": "x"}
        ).status_code
        == 404
    )
    refused = dinsos.post(
        "/katalog/pbi-jk/tarik", data={"csrf_token": token, "reason": "  "}, follow_redirects=True
    )
    assert "Tuliskan alasan penarikan" in refused.get_data(as_text=True)
    assert app.test_client().get("/layanan/pbi-jk").status_code == 200
    withdrawn = dinsos.post(
        "/katalog/pbi-jk/tarik", data={"csrf_token": token, "reason": "Program <b>dihentikan</b> sementara"}
    )
    assert withdrawn.status_code == 302
    # Gone from the public page, its search and WhatsApp's at once; kept in the history.
    public = app.test_client()
    assert public.get("/layanan/pbi-jk").status_code == 404
    assert 'href="/layanan/pbi-jk"' not in public.get("/layanan?q=bpjs+pbi").get_data(as_text=True)
    assert "pbi-jk" not in [
        m.service.code for m in service_search.search_published("bpjs pbi", db_url).matches
    ]
    page = dinsos.get("/katalog/pbi-jk").get_data(as_text=True)
    assert 'id="ditarik"' in page and "staf:dinsos" in page
    assert "Program &lt;b&gt;dihentikan&lt;/b&gt; sementara" in page and "<b>dihentikan" not in page
    assert "Ditarik" in dinsos.get("/katalog").get_data(as_text=True)
    # Under approval the office asks to publish it again; the admin approves.
    again = dinsos.post("/katalog/pbi-jk/terbit-lagi", data={"csrf_token": token}, follow_redirects=True)
    assert "menunggu persetujuan admin" in again.get_data(as_text=True)
    assert public.get("/layanan/pbi-jk").status_code == 404
    admin = login(app, "admin")
    assert (
        admin.post("/katalog/pbi-jk/terbitkan", data={"csrf_token": csrf(admin, "/katalog")}).status_code
        == 302
    )
    assert public.get("/layanan/pbi-jk").status_code == 200
    with db.session_scope() as session:
        statuses = [(r.status, r.withdrawn_by) for r in services.history(session, "pbi-jk")]
    assert statuses == [("withdrawn", "staf:dinsos"), ("published", None)]


def test_the_new_and_edit_forms_share_one_set_of_fields(app: Flask) -> None:
    _setup()
    admin = login(app, "admin")
    new = admin.get("/katalog/baru").get_data(as_text=True)
    edit = admin.get("/katalog/skck").get_data(as_text=True)
    fields = [f'id="f-{name}"' for name in ("name", "requirements", "fee", "place", "contact")]
    assert all(field in new and field in edit for field in fields)
    assert 'id="f-code"' in new and 'id="f-code"' not in edit
    assert 'id="f-unit"' not in new  # a single-unit deployment has no units to choose
