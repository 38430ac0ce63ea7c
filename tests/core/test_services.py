"""The service catalogue's domain rules: what a valid service is, drafts, publishing,
withdrawing and history with an editor and date on each change, services of a city's units and
who may edit them, and the idempotent import of the shipped starting set (SQLite and
PostgreSQL)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from city_support import CITY, LANGKAI, MENTENG, PAHANDUT, PAHANDUT_SEBERANG, write_city_config

from layanwarga import db, services
from layanwarga.config import PROJECT_ROOT, load_institution
from layanwarga.models import ServiceRevision
from layanwarga.units import UnitTree

SHIPPED = PROJECT_ROOT / "catalogue" / "layanan.yml"

VALID = {
    "name": "Akta Kelahiran",
    "purpose": "Pencatatan kelahiran anak.",
    "requirements": ["Surat keterangan lahir", "KK orang tua"],
    "processing_time": "1 hari kerja",
    "place": "Loket Disdukcapil",
    "fee": "gratis",
}


def _with(**changes: object) -> dict:
    return {**VALID, **changes}


@pytest.mark.parametrize(
    "fee, amount",
    [
        ("gratis", 0),
        ("Gratis", 0),
        ("0", 0),
        (30000, 30000),
        ("30000", 30000),
        ("Rp30.000", 30000),
        ("Rp 120.000", 120000),
        ("dihitung", None),
    ],
)
def test_a_fee_is_a_rupiah_amount_free_or_computed(fee: object, amount: object) -> None:
    assert services.parse_fee(fee) == amount


@pytest.mark.parametrize("fee", ["murah", "30rb", "-5000", "Rp", "sekitar 50000", True])
def test_a_fee_that_is_not_a_number_or_gratis_is_refused_with_the_reason(fee: object) -> None:
    with pytest.raises(services.InvalidService) as refused:
        services.content_from_mapping(_with(fee=fee))
    assert "fee" in refused.value.errors and "gratis" in refused.value.errors["fee"]


def test_a_computed_fee_needs_the_note_that_says_how() -> None:
    with pytest.raises(services.InvalidService) as refused:
        services.content_from_mapping(_with(fee="dihitung"))
    assert set(refused.value.errors) == {"fee_note"}
    content = services.content_from_mapping(_with(fee="dihitung", fee_note="5% dari NPOP"))
    assert content.fee_amount is None and content.fee_text == "5% dari NPOP"


@pytest.mark.parametrize("requirements", [[], ["", "  "], None, ""])
def test_an_empty_requirement_list_is_refused(requirements: object) -> None:
    with pytest.raises(services.InvalidService) as refused:
        services.content_from_mapping(_with(requirements=requirements))
    assert set(refused.value.errors) == {"requirements"}


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://x.go.id", "oss.go.id", "http://", "https://a b"]
)
def test_a_link_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(services.InvalidService) as refused:
        services.content_from_mapping(_with(online_url=url))
    assert set(refused.value.errors) == {"online_url"}


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(services.InvalidService) as refused:
        services.content_from_mapping({"fee": "murah", "online_url": "x"})
    assert {"name", "requirements", "fee", "online_url", "purpose", "processing_time", "place"} <= set(
        refused.value.errors
    )


def test_fee_text_reads_as_citizens_write_it() -> None:
    assert services.content_from_mapping(_with(fee=0)).fee_text == "Gratis"
    assert services.content_from_mapping(_with(fee="30000", fee_note="PNBP")).fee_text == "Rp30.000 (PNBP)"


def _agency(session) -> None:  # type: ignore[no-untyped-def]
    services.save_agency(session, "disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil", "Disdukcapil")


def test_a_draft_is_not_published_until_someone_publishes_it(db_url: str) -> None:
    content = services.content_from_mapping(VALID)
    with db.session_scope(db_url) as session:
        _agency(session)
        services.save_draft(session, "akta-kelahiran", content, "staf:dukcapil", agency_code="disdukcapil")
    with db.session_scope(db_url) as session:
        assert services.published_services(session) == []
        services.publish(session, "akta-kelahiran", "staf:admin")
    with db.session_scope(db_url) as session:
        [published] = services.published_services(session)
    assert published.code == "akta-kelahiran" and published.agency_short_name == "Disdukcapil"
    assert published.content == content and published.revision == 1


def test_each_change_is_a_new_revision_with_its_editor_and_date_and_the_old_one_stays(db_url: str) -> None:
    first = services.content_from_mapping(VALID)
    second = services.content_from_mapping(_with(fee="dihitung", fee_note="denda keterlambatan Rp1.000"))
    with db.session_scope(db_url) as session:
        _agency(session)
        services.save_draft(session, "akta-kelahiran", first, "impor", agency_code="disdukcapil")
        services.publish(session, "akta-kelahiran", "impor")
        stamp_before = services.catalogue_stamp(session)
        services.save_draft(session, "akta-kelahiran", second, "staf:dukcapil", note="tambah denda")
        # The draft changes the catalogue's stamp (caches rebuild) but not what citizens see.
        assert services.catalogue_stamp(session) != stamp_before
        assert services.published_services(session)[0].content == first
        services.publish(session, "akta-kelahiran", "staf:admin")
    with db.session_scope(db_url) as session:
        revisions = services.history(session, "akta-kelahiran")
        assert [(r.number, r.status, r.edited_by, r.published_by) for r in revisions] == [
            (1, "superseded", "impor", "impor"),
            (2, "published", "staf:dukcapil", "staf:admin"),
        ]
        assert all(r.edited_at is not None and r.published_at is not None for r in revisions)
        assert revisions[1].change_note == "tambah denda"
        assert services.published_services(session)[0].content == second


def test_an_earlier_revision_can_be_published_again(db_url: str) -> None:
    with db.session_scope(db_url) as session:
        _agency(session)
        services.save_draft(
            session, "kia", services.content_from_mapping(_with(name="KIA")), "a", agency_code="disdukcapil"
        )
        services.publish(session, "kia", "a")
        services.save_draft(session, "kia", services.content_from_mapping(_with(name="KIA salah")), "b")
        services.publish(session, "kia", "b")
        services.publish(session, "kia", "c", number=1)
        assert services.published_services(session)[0].content.name == "KIA"
        statuses = [r.status for r in services.history(session, "kia")]
    assert statuses == ["published", "superseded"]


def test_a_service_of_an_unknown_office_or_with_a_bad_code_is_refused(db_url: str) -> None:
    content = services.content_from_mapping(VALID)
    with db.session_scope(db_url) as session:
        with pytest.raises(services.InvalidService, match="agency"):
            services.save_draft(session, "akta", content, "x", agency_code="tidak-ada")
        _agency(session)
        with pytest.raises(services.InvalidService, match="code"):
            services.save_draft(session, "Akta Lahir!", content, "x", agency_code="disdukcapil")


def test_the_shipped_starting_set_is_large_valid_and_marked_to_be_verified() -> None:
    agencies, entries = services.load_file(SHIPPED)
    assert len(entries) >= 40
    assert len({entry["agency"] for entry in entries}) >= 8
    for entry in entries:
        services.content_from_mapping(entry)
    text = SHIPPED.read_text(encoding="utf-8")
    assert "PERLU DIVERIFIKASI OLEH SETIAP OPD" in text
    assert yaml.safe_load(text)["verification"]
    letters = {entry["code"]: entry.get("letter") for entry in entries if entry.get("letter")}
    assert letters == {"sktm": "sktm", "sku": "sku", "domisili": "domisili"}


def test_importing_the_shipped_set_twice_changes_nothing_the_second_time(db_url: str) -> None:
    agencies, entries = services.load_file(SHIPPED)
    with db.session_scope(db_url) as session:
        first = services.import_catalogue(session, agencies, entries, source="layanan.yml")
    with db.session_scope(db_url) as session:
        stamp = services.catalogue_stamp(session)
        second = services.import_catalogue(session, agencies, entries, source="layanan.yml")
        assert services.catalogue_stamp(session) == stamp
        revisions = session.query(ServiceRevision).count()
        published = services.published_services(session)
    assert len(first.created) == len(entries) and not first.updated
    assert second.created == [] and second.updated == [] and len(second.unchanged) == len(entries)
    assert revisions == len(entries) and len(published) == len(entries)
    assert {p.code: p.letter_code for p in published if p.letter_code} == {
        "sktm": "sktm",
        "sku": "sku",
        "domisili": "domisili",
    }


def test_a_changed_file_updates_imported_services_but_never_an_offices_own_edit(db_url: str) -> None:
    agencies, entries = services.load_file(SHIPPED)
    with db.session_scope(db_url) as session:
        services.import_catalogue(session, agencies, entries)
        edited = services.content_from_mapping(_with(name="SKCK (diperbarui Polres)"))
        services.save_draft(session, "skck", edited, "staf:polres")
        services.publish(session, "skck", "staf:admin")
    changed = [dict(entry) for entry in entries]
    for entry in changed:
        if entry["code"] in {"skck", "kia"}:
            entry["processing_time"] = "2 hari kerja"
    with db.session_scope(db_url) as session:
        report = services.import_catalogue(session, agencies, changed)
        by_code = {p.code: p for p in services.published_services(session)}
    assert report.updated == ["kia"] and report.kept == ["skck"]
    assert by_code["kia"].content.processing_time == "2 hari kerja" and by_code["kia"].revision == 2
    assert by_code["skck"].content.name == "SKCK (diperbarui Polres)"


def test_a_file_with_bad_entries_names_each_and_writes_nothing(db_url: str) -> None:
    agencies, entries = services.load_file(SHIPPED)
    bad = [
        dict(entries[0], fee="murah"),
        dict(entries[1], agency="entah"),
        dict(entries[2], code=entries[3]["code"]),
        *entries[3:],
    ]
    with db.session_scope(db_url) as session:
        with pytest.raises(services.InvalidService) as refused:
            services.import_catalogue(session, agencies, bad)
    assert set(refused.value.errors) == {
        f"{entries[0]['code']}.fee",
        f"{entries[1]['code']}.agency",
        f"{entries[3]['code']}.code",
    }
    with db.session_scope(db_url) as session:
        assert services.published_services(session) == [] and services.catalogue_stamp(session) == (0, 0)


CSV = """code,agency,agency_name,agency_short_name,name,aliases,purpose,requirements,steps,fee,fee_note,legal_basis,processing_time,place,hours,online_url,contact
skck,polres,Kepolisian Resor Kota,Polresta,SKCK,surat kelakuan baik|SKKB,Untuk melamar kerja.,KTP|KK|Pas foto 4x6,Daftar|Ambil,30000,PNBP,PP 76/2020,1 hari,Polresta,08.00-14.00,https://skck.polri.go.id,
kartu-kuning,disnaker,Dinas Tenaga Kerja,Disnaker,Kartu kuning (AK/1),AK1|kartu pencari kerja,Melamar kerja.,KTP|Ijazah,,gratis,,Permenaker 39/2016,1 hari,Disnaker,,,
"""


def test_a_csv_file_imports_the_same_way_and_idempotently(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "layanan.csv"
    path.write_text(CSV, encoding="utf-8")
    agencies, entries = services.load_file(path)
    with db.session_scope(db_url) as session:
        assert len(services.import_catalogue(session, agencies, entries).created) == 2
    with db.session_scope(db_url) as session:
        assert len(services.import_catalogue(session, agencies, entries).unchanged) == 2
        skck = services.published_service(session, "skck")
    assert skck is not None and skck.agency_short_name == "Polresta"
    assert skck.content.aliases == ("surat kelakuan baik", "SKKB")
    assert skck.content.requirements == ("KTP", "KK", "Pas foto 4x6") and skck.content.fee_amount == 30000


def test_the_import_command_reports_counts_and_names_bad_entries(sqlite_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": sqlite_url, "PATH": "/usr/bin:/bin", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    run = [sys.executable, "-m", "layanwarga.services", "import"]
    first = subprocess.run(
        [*run, str(SHIPPED)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert f"{len(services.load_file(SHIPPED)[1])} baru" in first.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV.replace("30000,PNBP", "tiga puluh ribu,PNBP"), encoding="utf-8")
    second = subprocess.run(
        [*run, str(bad)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 1 and "skck.fee" in second.stdout


def test_the_catalogue_migration_goes_down_and_up_again(db_url: str) -> None:
    from alembic import command

    from layanwarga import migrate

    config = migrate.alembic_config(db_url)
    command.downgrade(config, "0018_city_units")
    command.upgrade(config, "head")
    migrate.require_current("test", db_url)


def test_questions_are_counted_per_service_and_what_found_nothing_is_kept_masked(db_url: str) -> None:
    import datetime as dt

    with db.session_scope(db_url) as session:
        for _ in range(3):
            services.record_question(session, "one", "skck", "skck dmn")
        services.record_question(session, "one", "kia", "kia anak")
        services.record_question(session, "several", None, "akta")
        services.record_question(session, "none", None, "Cara bikin PASPOR, nik 6271014506850003")
        services.record_question(session, "none", None, "cara bikin paspor,  nik 6271014506850003")
        services.record_question(session, "none", None, "harga cabe")
    since = dt.datetime.utcnow() - dt.timedelta(days=1)
    with db.session_scope(db_url) as session:
        everything = services.question_stats(session, since)
        polres = services.question_stats(session, since, ["skck"])
        later = services.question_stats(session, dt.datetime.utcnow() + dt.timedelta(days=1))
    assert everything.most_asked == [("skck", 3), ("kia", 1)] and polres.most_asked == [("skck", 3)]
    assert everything.total == 8 and everything.several == 1
    [(text, count, _), (other, once, _)] = everything.not_found
    assert count == 2 and once == 1 and other == "harga cabe"
    assert "6271014506850003" not in text and text.startswith("cara bikin paspor")
    assert later.total == 0 and later.most_asked == []


# -- withdrawing a published service --------------------------------------------------------------------
def test_a_withdrawn_service_leaves_citizens_at_once_keeps_who_when_why_and_can_come_back(
    db_url: str,
) -> None:
    content = services.content_from_mapping(VALID)
    with db.session_scope(db_url) as session:
        _agency(session)
        services.save_draft(session, "akta-kelahiran", content, "impor", agency_code="disdukcapil")
        services.publish(session, "akta-kelahiran", "impor")
        stamp = services.catalogue_stamp(session)
        with pytest.raises(services.InvalidService, match="reason"):
            services.withdraw(session, "akta-kelahiran", "staf:dukcapil", "   ")
        services.withdraw(session, "akta-kelahiran", "staf:dukcapil", "Dipindah ke  Mal Pelayanan Publik")
        # The stamp changes: every process's search index drops it on the next question.
        assert services.catalogue_stamp(session) != stamp
    with db.session_scope(db_url) as session:
        assert services.published_services(session) == []
        [revision] = services.history(session, "akta-kelahiran")
        assert (revision.status, revision.withdrawn_by, revision.withdrawal_reason) == (
            "withdrawn",
            "staf:dukcapil",
            "Dipindah ke Mal Pelayanan Publik",
        )
        assert revision.withdrawn_at is not None and revision.published_by == "impor"
        assert services.withdrawn_revision(session, "akta-kelahiran") is revision
        with pytest.raises(services.InvalidService, match="reason"):
            services.withdraw(session, "akta-kelahiran", "staf:dukcapil", "lagi")  # nothing published
        with pytest.raises(services.InvalidService, match="publish"):
            services.publish(session, "akta-kelahiran", "staf:admin")  # the record is never overwritten
        services.publish_again(session, "akta-kelahiran", "staf:admin", publish_now=True)
    with db.session_scope(db_url) as session:
        [published] = services.published_services(session)
        revisions = services.history(session, "akta-kelahiran")
        assert services.withdrawn_revision(session, "akta-kelahiran") is None
        with pytest.raises(services.InvalidService, match="publish"):
            services.publish_again(session, "akta-kelahiran", "staf:admin", publish_now=True)
    assert published.content == content and published.revision == 2
    assert [(r.number, r.status) for r in revisions] == [(1, "withdrawn"), (2, "published")]
    assert revisions[0].withdrawal_reason == "Dipindah ke Mal Pelayanan Publik"
    assert revisions[1].change_note == "Terbit lagi (isi versi 1)"


def test_publishing_again_under_approval_is_a_draft_until_the_admin_publishes_it(db_url: str) -> None:
    with db.session_scope(db_url) as session:
        _agency(session)
        services.save_draft(
            session, "kia", services.content_from_mapping(_with(name="KIA")), "a", agency_code="disdukcapil"
        )
        services.publish(session, "kia", "a")
        services.withdraw(session, "kia", "staf:dukcapil", "salah isi")
        draft = services.publish_again(session, "kia", "staf:dukcapil", publish_now=False)
        assert draft.status == "draft" and services.published_services(session) == []
        services.publish(session, "kia", "staf:admin")
        assert [p.code for p in services.published_services(session)] == ["kia"]


# -- units of a city ----------------------------------------------------------------------------------
def _city(folder: Path) -> UnitTree:
    return load_institution(write_city_config(folder)).units


def test_a_unit_is_a_unit_of_the_tree_within_the_editors_area(tmp_path: Path) -> None:
    tree = _city(tmp_path)
    assert services.service_unit(tree, LANGKAI) == LANGKAI
    assert services.service_unit(tree, "6271011003") == LANGKAI  # written without dots
    assert services.service_unit(tree, "") is None and services.service_unit(tree, CITY) is None
    with pytest.raises(services.InvalidService, match="unit"):
        services.service_unit(tree, "62.71.09.9999")
    pahandut = frozenset([PAHANDUT, LANGKAI, PAHANDUT_SEBERANG])
    assert services.service_unit(tree, LANGKAI, pahandut) == LANGKAI
    for outside in (MENTENG, "", CITY):  # another kecamatan's, or no unit at all
        with pytest.raises(services.InvalidService, match="unit"):
            services.service_unit(tree, outside, pahandut)
    single = load_institution(PROJECT_ROOT / "instansi.yml").units
    assert single.single and services.service_unit(single, LANGKAI) is None
    assert services.service_unit(single, "62.71.09.9999") is None  # one office: nothing to place


def test_a_citizens_services_are_those_of_their_unit_and_the_units_above(tmp_path: Path) -> None:
    tree = _city(tmp_path)
    assert services.unit_chain(tree, LANGKAI) == {LANGKAI, PAHANDUT, CITY}
    assert services.unit_chain(tree, None) is None and services.unit_chain(tree, "62.71.09.9999") is None
    assert services.unit_chain(load_institution(PROJECT_ROOT / "instansi.yml").units, LANGKAI) is None


def test_who_may_edit_a_service_of_an_office_and_a_unit(tmp_path: Path) -> None:
    tree = _city(tmp_path)
    city = services.Editor.of(tree, "admin", None, None)
    camat = services.Editor.of(tree, "admin", None, PAHANDUT)
    lurah_menteng = services.Editor.of(tree, "admin", None, MENTENG)
    dinsos = services.Editor.of(tree, "opd", "DINSOS", None)
    clerk = services.Editor.of(tree, "surat", None, LANGKAI)
    langkai_service, city_service = ("kelurahan", LANGKAI), ("dinsos", None)
    assert services.may_edit(city, *langkai_service) and services.may_edit(city, *city_service)
    assert services.may_edit(camat, *langkai_service) and not services.may_edit(camat, *city_service)
    assert not services.may_edit(lurah_menteng, *langkai_service)
    assert services.may_edit(dinsos, *city_service) and not services.may_edit(dinsos, *langkai_service)
    assert not services.may_edit(clerk, *langkai_service)  # letter clerks do not keep the catalogue
    # Publishing: the whole deployment's admins, others only when the city does not approve first.
    assert services.may_publish(city, *langkai_service, approval_required=True)
    assert not services.may_publish(camat, *langkai_service, approval_required=True)
    assert services.may_publish(camat, *langkai_service, approval_required=False)
    assert not services.may_publish(lurah_menteng, *langkai_service, approval_required=False)


def test_a_city_imports_the_kelurahan_services_at_their_unit_idempotently(
    db_url: str, tmp_path: Path
) -> None:
    tree = _city(tmp_path)
    agencies, entries = services.load_file(SHIPPED)
    placed = {entry["code"] for entry in entries if entry.get("unit")}
    assert placed == {entry["code"] for entry in entries if entry["agency"] == "kelurahan"}
    with db.session_scope(db_url) as session:
        services.import_catalogue(session, agencies, entries, tree=tree)
    with db.session_scope(db_url) as session:
        again = services.import_catalogue(session, agencies, entries, tree=tree)
        published = services.published_services(session, unit_names=services.unit_titles(tree))
    assert len(again.unchanged) == len(entries)
    by_code = {p.code: p for p in published}
    assert {code for code, p in by_code.items() if p.unit_code == LANGKAI} == placed
    assert by_code["sktm"].unit_name == "Kelurahan Langkai" and by_code["skck"].unit_code is None
    assert by_code["sktm"].office == "Kantor Kelurahan Langkai"  # the office's name says the unit


def test_a_service_names_its_unit_after_its_office_unless_the_office_says_it() -> None:
    content = services.content_from_mapping(VALID)
    generic = services.PublishedService(
        "sktm",
        "kelurahan",
        "Kantor kelurahan",
        "Kelurahan",
        "sktm",
        1,
        None,
        content,
        MENTENG,
        "Kelurahan Menteng",
    )
    assert generic.office == "Kantor kelurahan, Kelurahan Menteng"
    assert generic.office_short == "Kelurahan · Kelurahan Menteng"
    own = dataclasses.replace(
        generic, agency_name="Kantor Kelurahan Menteng", agency_short_name="Kel. Menteng"
    )
    assert own.office == "Kantor Kelurahan Menteng" and own.office_short == "Kel. Menteng · Kelurahan Menteng"
    assert dataclasses.replace(generic, unit_code=None, unit_name="").office == "Kantor kelurahan"


def test_a_single_unit_deployment_imports_every_service_without_a_unit(db_url: str) -> None:
    single = load_institution(PROJECT_ROOT / "instansi.yml").units
    agencies, entries = services.load_file(SHIPPED)
    with db.session_scope(db_url) as session:
        report = services.import_catalogue(session, agencies, entries, tree=single)
        published = services.published_services(session)
    assert len(report.created) == len(entries)
    assert all(p.unit_code is None and p.office == p.agency_name for p in published)


def test_a_unit_not_of_the_citys_tree_is_named_and_nothing_is_written(db_url: str, tmp_path: Path) -> None:
    agencies, entries = services.load_file(SHIPPED)
    bad = [dict(entry, unit="62.71.09.9999") if entry["code"] == "sku" else entry for entry in entries]
    with db.session_scope(db_url) as session:
        with pytest.raises(services.InvalidService) as refused:
            services.import_catalogue(session, agencies, bad, tree=_city(tmp_path))
    assert set(refused.value.errors) == {"sku.unit"}
    with db.session_scope(db_url) as session:
        assert services.catalogue_stamp(session) == (0, 0)
