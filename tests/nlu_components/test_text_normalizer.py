"""The plain-Python normaliser: steps, lexicon precedence, stemming, STIF measure."""

from __future__ import annotations

import pytest

from nlu_components.stif_eval import align_pairs, evaluate
from nlu_components.text_normalizer import (
    DEFAULT_LEXICON_DIR,
    DOMAIN_OVERRIDES_FILE,
    NEGATION_WORDS,
    NOT_WORDS,
    IndonesianNormalizer,
    get_normalizer,
    load_indocollex,
    load_pairs_tsv,
)


@pytest.fixture(scope="module")
def norm() -> IndonesianNormalizer:
    return get_normalizer()


@pytest.mark.parametrize(
    "token",
    ["3507124506850003", "07.30", "2026", "00042", "03", "12/05", "+6281234567890", "5"],
)
def test_tokens_without_letters_are_never_touched(norm, token: str) -> None:
    assert norm.normalize(token) == token
    assert norm.lemma(token) == token


@pytest.mark.parametrize(
    "token,surface,lemma",
    [
        ("anak2", "anak-anak", "anak"),
        ("diperbaiki2", "diperbaiki-diperbaiki", "perbaiki"),
        ("lampu2nya", "lampu-lampunya", "lampu"),
        ("gorong2", "gorong-gorong", "gorong"),
        ("temen2", "teman-teman", "teman"),
        ("rt2", "rt2", "rt2"),  # too short to be reduplication
        ("adu202600042", "adu202600042", "adu202600042"),  # loosely typed ticket number
    ],
)
def test_reduplication_with_2(norm, token: str, surface: str, lemma: str) -> None:
    assert norm.normalize(token) == surface
    assert norm.lemma(token) == lemma


@pytest.mark.parametrize(
    "token,expected",
    [
        ("tolongggg", "tolong"),
        ("parahhh", "parah"),
        ("pagiii", "pagi"),
        ("sampahhhh", "sampah"),
        ("makasihhh", "terima kasih"),
        ("gkkk", "tidak"),
        ("maaf", "maaf"),  # a real double letter stays
        ("saat", "saat"),
    ],
)
def test_repeated_letters_are_squeezed(norm, token: str, expected: str) -> None:
    assert norm.normalize(token) == expected


@pytest.mark.parametrize(
    "token,expected",
    [
        ("un-subscribe", "berhenti langganan"),  # a known word written with a hyphen
        ("e-ktp", "ktp"),  # listed as written
        ("sayur-mayur", "sayur-mayur"),  # not reduplication, joined form unknown: kept
        ("rumah-rumah", "rumah-rumah"),
    ],
)
def test_hyphenated_known_words(norm, token: str, expected: str) -> None:
    assert norm.normalize(token) == expected


def test_domain_overrides_win_over_general_lexicon(norm) -> None:
    # The general lexicon really has these traps...
    assert norm.general.get("kk") == "kakak"
    assert norm.general.get("kel") in {"keluarga", "kelurahan"}
    # ...and the domain list decides.
    assert norm.normalize("kk") == "kartu keluarga"
    assert norm.normalize("rt") == "rt"
    assert norm.normalize("kel") == "kelurahan"
    assert norm.normalize("dr") == "dari"
    assert norm.normalize("Kel.") == "kelurahan"


def test_general_lexicon_does_not_rewrite_standard_words() -> None:
    normalizer = get_normalizer()
    general = load_indocollex(DEFAULT_LEXICON_DIR, normalizer.root_words)
    assert "malang" not in general  # IndoCollex: malang -> ngalam (boso walikan)
    assert "enam" not in general  # data_full "rev": enam -> mane
    assert general["gmn"] == "bagaimana"


@pytest.mark.parametrize(
    "token,expected",
    [
        # Javanese
        ("kulo", "saya"),
        ("mboten", "tidak"),
        ("nyuwun", "minta"),
        ("piye", "bagaimana"),
        ("dalan", "jalan"),
        ("lampune", "lampunya"),
        ("sampahe", "sampahnya"),
        ("ndak", "tidak"),
        ("opo", "apa"),
        # Banjar
        ("ulun", "saya"),
        ("handak", "mau"),
        ("kada", "tidak"),
        ("banar", "benar"),
        # Pontianak Malay
        ("kamek", "saya"),
        ("mane", "mana"),
        # Betawi
        ("gue", "saya"),
        ("kagak", "tidak"),
        ("aye", "saya"),
        # Sundanese
        ("abdi", "saya"),
        ("teu", "tidak"),
        ("ruksak", "rusak"),
    ],
)
def test_regional_words(norm, token: str, expected: str) -> None:
    assert norm.normalize(token) == expected


@pytest.mark.parametrize(
    "token,lemma",
    [
        ("kerusakan", "rusak"),  # Sastrawi alone: "rusa" (deer)
        ("berserakan", "serak"),
        ("perbaikan", "perbaiki"),  # Sastrawi alone: "baik", an affirm word
        ("sebaiknya", "sebaiknya"),
        ("keterangan", "keterangan"),
        ("penerangan", "penerangan"),
        ("pemadam", "pemadam"),
        ("sktm", "sktm surat keterangan tidak mampu"),
        ("ktp", "ktp"),
        ("domisili", "domisili"),
        ("diangkut", "angkut"),
        ("lubangnya", "lubang"),
        ("pengaduan", "adu"),
        ("ngurusin", "urus"),
        ("nanyain", "tanya"),
        ("ngecek", "cek"),
        ("diberesin", "beres"),
    ],
)
def test_stemming_with_protection(norm, token: str, lemma: str) -> None:
    assert norm.lemma(token) == lemma


def test_without_stemmer_lemma_is_surface_form() -> None:
    normalizer = IndonesianNormalizer(use_stemmer=False)
    assert normalizer.lemma("diperbaiki2") == "perbaiki"  # listed exception still applies
    assert normalizer.lemma("lubangnya") == "lubangnya"


def test_align_pairs() -> None:
    pairs = align_pairs("gmn cara cek sy".split(), "bagaimana cara periksa saya".split())
    assert pairs == [("gmn", "bagaimana"), ("cara", "cara"), ("cek", "periksa"), ("sy", "saya")]
    assert ("dmn", "di mana") in align_pairs(["dmn", "ya"], ["di", "mana", "ya"])


@pytest.mark.parametrize("split", ["dev", "test"])
def test_stif_normalisation_beats_identity(norm, split: str) -> None:
    """Token-level accuracy on STIF-Indonesia (customer-service complaint tweets).

    A real measure that can fail: the lexicon must fix informal words without breaking
    formal ones, clearly more often than leaving the text unchanged.
    """
    result = evaluate(norm.normalize, split)
    print(result.summary())
    assert result.tokens > 1500
    assert result.normalizer_accuracy >= result.identity_accuracy + 0.04
    assert result.informal_recall >= 0.35


def test_every_negation_spelling_is_read_as_its_standard_word(norm) -> None:
    """The negation list and the lexicon agree: a reader comparing raw words and one comparing
    normalised words see the same negations."""
    assert {word: norm.normalize(word) for word in NOT_WORDS} == dict.fromkeys(NOT_WORDS, "tidak")
    others = {word: norm.normalize(word) for word in NEGATION_WORDS - NOT_WORDS}
    assert set(others.values()) == {"bukan", "belum"}, others


def test_every_spelling_of_tidak_in_the_project_lexicon_is_in_the_negation_list() -> None:
    """A spelling added to the lexicon's overrides must be added to ``NOT_WORDS`` too, unless
    it is mostly something else as a raw word."""
    overrides = load_pairs_tsv(DEFAULT_LEXICON_DIR / DOMAIN_OVERRIDES_FILE)
    elsewhere = {"seng", "dak", "❌"}  # zinc (atap seng), a concrete roof slab (dak beton), an emoji
    assert {key for key, value in overrides.items() if value == "tidak"} - elsewhere <= NOT_WORDS
