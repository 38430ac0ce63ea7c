"""Finding a service from a citizen's free text: abbreviations, old names, regional spellings and
typos through the project's normaliser; one clear match, several to choose from, or none; and the
published index following every edit without a restart (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import List

import pytest

from layanwarga import db, service_search, services
from layanwarga.config import PROJECT_ROOT
from layanwarga.service_search import NONE, ONE, SEVERAL, ServiceIndex

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
