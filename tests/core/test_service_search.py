"""Finding a service from a citizen's free text: abbreviations, old names, regional spellings and
typos through the project's normaliser; one clear match, several to choose from, or none; a
city's citizen answered from their own units' services; and the published index following every
edit and withdrawal without a restart (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import List, Optional

import pytest
from city_support import CITY, JEKAN_RAYA, LANGKAI, MENTENG, PAHANDUT, PAHANDUT_SEBERANG, PALANGKA

from layanwarga import db, service_search, services
from layanwarga.config import PROJECT_ROOT
from layanwarga.service_search import NONE, ONE, SEVERAL, ServiceIndex
from layanwarga.services import PublishedService

SHIPPED = PROJECT_ROOT / "catalogue" / "layanan.yml"


@pytest.fixture(scope="module")
def index() -> ServiceIndex:
    return ServiceIndex(services.preview(*services.load_file(SHIPPED)))


def _codes(index: ServiceIndex, text: str) -> List[str]:
    return [m.service.code for m in index.search(text).candidates]


@pytest.mark.parametrize(
    "text, code",
    [
        ("imb", "pbg"),  # the old name of the permit
        ("PBG", "pbg"),
        ("kia", "kia"),
        ("SKCK", "skck"),
        ("pbb", "pbb-p2"),
        ("kk", "kartu-keluarga"),  # the normaliser expands kk -> kartu keluarga
        ("nib", "nib-oss"),
        ("ektp", "ktp-el"),  # written together
        ("ak1", "kartu-kuning"),
    ],
)
def test_abbreviations_and_old_names_give_one_clear_match(index: ServiceIndex, text: str, code: str) -> None:
    result = index.search(text)
    assert result.outcome == ONE and _codes(index, text) == [code]


@pytest.mark.parametrize(
    "text, code",
    [
        ("syarate gawe akta kelahiran opo wae", "akta-kelahiran"),  # Javanese
        ("ulun handak maulah skck", "skck"),  # Banjar
        ("brp lama bikin kartu kuning", "kartu-kuning"),  # slang
        ("akta kelahran anak", "akta-kelahiran"),  # typo in a stemmed word
        ("persetujuan bangunann gedung", "pbg"),  # doubled letter
        ("sertifkat laik higiene", "slhs"),  # dropped letter
    ],
)
def test_regional_words_slang_and_typos_still_find_the_service(
    index: ServiceIndex, text: str, code: str
) -> None:
    assert index.search(text).best.service.code == code  # type: ignore[union-attr]


def test_a_word_shared_by_several_services_offers_them_to_choose(index: ServiceIndex) -> None:
    result = index.search("akta")
    assert result.outcome == SEVERAL
    assert {"akta-kelahiran", "akta-kematian", "akta-perkawinan"} <= set(_codes(index, "akta"))


@pytest.mark.parametrize(
    "text", ["cara bikin paspor", "harga cabe hari ini", "halo selamat pagi", "", "???", "syarat apa aja"]
)
def test_a_question_about_nothing_in_the_catalogue_finds_nothing(index: ServiceIndex, text: str) -> None:
    result = index.search(text)
    assert result.outcome == NONE and result.candidates == ()


def test_short_words_are_not_read_as_typos_of_other_words(index: ServiceIndex) -> None:
    # "bank" is one letter from "anak" (KIA's "kartu anak"); four-letter words are taken as written.
    assert "kia" not in _codes(index, "ganti kartu atm bank")


def test_scores_rank_best_first_and_stay_between_0_and_1(index: ServiceIndex) -> None:
    matches = index.search("syarat bikin akte kelahiran").matches
    assert matches[0].service.code == "akta-kelahiran" and matches[0].score == 1.0
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert all(0 < m.score <= 1 for m in matches)


def test_the_published_index_follows_each_edit_without_a_restart(db_url: str) -> None:
    with db.session_scope(db_url) as session:
        services.import_catalogue(session, *services.load_file(SHIPPED))
    assert service_search.search_published("surat kelakuan baik", db_url).best.service.code == "skck"  # type: ignore[union-attr]
    first = service_search.published_index(db_url)
    assert service_search.published_index(db_url) is first  # nothing changed: no rebuild
    with db.session_scope(db_url) as session:
        skck = services.published_service(session, "skck")
        assert skck is not None
        renamed = services.content_from_mapping(
            {
                **{
                    key: getattr(skck.content, key) for key in ("name", "purpose", "processing_time", "place")
                },
                "requirements": list(skck.content.requirements),
                "fee": 30000,
                "aliases": [*skck.content.aliases, "surat catatan polisi zaman now"],
            }
        )
        services.save_draft(session, "skck", renamed, "staf:polres")
    # A draft is not published: the search does not know the new name yet.
    assert service_search.search_published("zaman now", db_url).outcome == NONE
    with db.session_scope(db_url) as session:
        services.publish(session, "skck", "staf:admin")
    assert service_search.search_published("zaman now", db_url).best.service.code == "skck"  # type: ignore[union-attr]


def test_a_bare_number_left_of_a_name_matches_nothing(index: ServiceIndex) -> None:
    # "AK-1" reads as "aku 1" and "aku" is a filler word: the "1" alone must not name the card.
    assert index.search("1").outcome == NONE
    assert index.search("<script>alert(1)</script>paspor").outcome == NONE


def test_a_withdrawn_service_is_gone_from_the_published_index_at_once(db_url: str) -> None:
    with db.session_scope(db_url) as session:
        services.import_catalogue(session, *services.load_file(SHIPPED))
    assert service_search.published_index(db_url).get("skck") is not None
    with db.session_scope(db_url) as session:
        services.withdraw(session, "skck", "staf:polres", "Pindah ke layanan daring Polri")
    assert service_search.published_index(db_url).get("skck") is None
    assert "skck" not in [m.service.code for m in service_search.search_published("skck", db_url).matches]


def _service(code: str, name: str, unit: Optional[str], letter: Optional[str] = None) -> PublishedService:
    content = services.content_from_mapping(
        {"name": name, "purpose": "x", "requirements": ["KTP"], "processing_time": "1 hari", "place": code}
    )
    office = (
        ("disdukcapil", "Dinas Kependudukan", "Disdukcapil") if unit is None else ("kel", "Kantor", "Kantor")
    )
    return PublishedService(code, *office, letter, 1, None, content, unit_code=unit, unit_name=unit or "")


LANGKAI_CHAIN = frozenset([LANGKAI, PAHANDUT, CITY])
MENTENG_CHAIN = frozenset([MENTENG, JEKAN_RAYA, CITY])
SKTM_LANGKAI = _service("sktm-langkai", "Surat Keterangan Tidak Mampu", LANGKAI, "sktm")
SKTM_MENTENG = _service("sktm-menteng", "Surat Keterangan Tidak Mampu", MENTENG, "sktm")
SKTM_PAHANDUT = _service("sktm-pahandut", "Surat Keterangan Tidak Mampu", PAHANDUT, "sktm")
AKTA = _service("akta-kelahiran", "Akta Kelahiran", None)


def test_a_citizen_is_answered_from_their_units_and_the_citys_services_only() -> None:
    index = ServiceIndex([SKTM_LANGKAI, SKTM_MENTENG, AKTA])
    assert {m.service.code for m in index.search("syarat sktm").candidates} == {
        "sktm-langkai",
        "sktm-menteng",
    }
    own = index.search("syarat sktm", units=LANGKAI_CHAIN)
    assert own.outcome == ONE and own.best.service.code == "sktm-langkai"  # type: ignore[union-attr]
    assert index.search("akta kelahiran", units=LANGKAI_CHAIN).best.service.code == "akta-kelahiran"  # type: ignore[union-attr]
    # A public page filtered on one unit: that unit's services only, not the city's.
    assert index.search("akta kelahiran", units={MENTENG}, unplaced=False).outcome == NONE
    assert index.search("sktm", units={MENTENG}, unplaced=False).best.service.code == "sktm-menteng"  # type: ignore[union-attr]


def test_a_letter_is_described_by_the_nearest_unit_never_another_units() -> None:
    placed = ServiceIndex([SKTM_LANGKAI, SKTM_MENTENG, SKTM_PAHANDUT, AKTA])
    assert placed.for_letter("sktm", LANGKAI_CHAIN) is SKTM_LANGKAI  # the kelurahan before its kecamatan
    assert placed.for_letter("sktm", frozenset([PAHANDUT_SEBERANG, PAHANDUT, CITY])) is SKTM_PAHANDUT
    assert placed.for_letter("sktm", MENTENG_CHAIN) is SKTM_MENTENG
    assert placed.for_letter("sktm", frozenset([PALANGKA, JEKAN_RAYA, CITY])) is None
    assert placed.for_letter("sktm") is None  # unit unknown: no kelurahan's description is the answer
    city_wide = _service("sktm", "Surat Keterangan Tidak Mampu", None, "sktm")
    mixed = ServiceIndex([SKTM_LANGKAI, city_wide])
    assert mixed.for_letter("sktm") is city_wide and mixed.for_letter("sktm", MENTENG_CHAIN) is city_wide
    assert mixed.for_letter("sktm", LANGKAI_CHAIN) is SKTM_LANGKAI
    assert mixed.get("sktm-langkai") is SKTM_LANGKAI and mixed.for_letter("sku") is None
