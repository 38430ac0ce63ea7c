"""The normaliser as a Rasa graph component, on the real SpacyNLP + SpacyTokenizer."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List

import pytest
import spacy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components import spacy_model
from nlu_components.normalizer import IndonesianTokenNormalizer
from nlu_components.text_normalizer import DEFAULT_LEXICON_DIR, EMOJI_PLACEHOLDER


def lemmas_by_text(message: Message) -> Dict[str, str]:
    return {t.text: t.lemma for t in message.get(TOKENS_NAMES[TEXT])}


def token_spans(message: Message) -> List[tuple]:
    return [(t.text, t.start, t.end) for t in message.get(TOKENS_NAMES[TEXT])]


# ----------------------------------------------------------------- spaCy model helper
def test_blank_model_is_saved_once_and_loads(tmp_path: Path) -> None:
    target = tmp_path / "var" / "spacy-id"
    assert spacy_model.ensure_blank_model(target) is True
    assert spacy_model.is_saved_model(target)
    assert spacy_model.ensure_blank_model(target) is False  # idempotent
    nlp = spacy.load(target)
    assert nlp.lang == "id"
    assert [t.text for t in nlp("jln rusak parah")] == ["jln", "rusak", "parah"]


def test_blank_model_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "spacy-id"
    assert spacy_model.main([str(target)]) == 0
    assert spacy_model.main([str(target)]) == 0
    out = capsys.readouterr().out
    assert "saved" in out and "already present" in out


def test_directory_of_another_language_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "model"
    spacy.blank("en").to_disk(target)
    assert not spacy_model.is_saved_model(target)
    assert spacy_model.ensure_blank_model(target) is True
    assert spacy.load(target).lang == "id"


# ----------------------------------------------------------------- registration
def test_component_is_registered_as_tokenizer_stage() -> None:
    registered = DefaultV1Recipe._from_registry("nlu_components.normalizer.IndonesianTokenNormalizer")
    assert registered.clazz is IndonesianTokenNormalizer
    assert DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER in registered.types
    assert registered.is_trainable is False


# ----------------------------------------------------------------- lemmas and offsets
CASES = {
    "jln depan rmh sy rusak parah gk diperbaiki2": {
        "jln": "jalan",
        "rmh": "rumah",
        "sy": "saya",
        "rusak": "rusak",
        "gk": "tidak",
        "diperbaiki2": "perbaiki",
    },
    "tolongggg lampu PJU mati": {
        "tolongggg": "tolong",
        "pju": "lampu jalan",
        "mati": "mati",
    },
    "ulun handak minta sktm": {
        "ulun": "saya",
        "handak": "mau",
        "sktm": "sktm surat keterangan tidak mampu",
    },
    "nik sy 3507124506850003": {"nik": "nik", "3507124506850003": "3507124506850003"},
    "cek ADU-2026-00042": {"cek": "cek", "2026": "2026", "00042": "00042"},
    "kk saya hilang": {"kk": "kartu keluarga", "hilang": "hilang"},
    "rt 03 rw 05": {"rt": "rt", "03": "03", "rw": "rw", "05": "05"},
    "kerusakan jalan di kel. sukamaju dr kmrn": {
        "kerusakan": "rusak",
        "kel": "kelurahan",
        "dr": "dari",
        "kmrn": "kemarin",
    },
    "lampune mati pak, dalane peteng": {
        "lampune": "lampu",
        "dalane": "jalan",
        "peteng": "gelap",
        "pak": "bapak",
    },
    "kamek ndak paham macam mane ngurusnye bah": {
        "kamek": "saya",
        "ndak": "tidak",
        "mane": "mana",
    },
    "gue kagak bisa ngurusin surat domisili": {
        "gue": "saya",
        "kagak": "tidak",
        "ngurusin": "urus",
        "domisili": "domisili",
    },
    "abdi teu acan nampi bantosan, jalanna ruksak": {
        "abdi": "saya",
        "teu": "tidak",
        "acan": "belum",
        "jalanna": "jalan",
        "ruksak": "rusak",
    },
    "anak2 kebanjiran, gorong2 mampet": {
        "anak2": "anak",
        "kebanjiran": "banjir",
        "gorong2": "gorong",
        "mampet": "sumbat",
    },
}


@pytest.mark.parametrize("text", list(CASES))
def test_lemmas_are_normalised_and_offsets_untouched(run_pipeline, text: str) -> None:
    (plain,) = run_pipeline([text], normalize=False)
    (normalised,) = run_pipeline([text])
    # Only the lemma changes: text/start/end are what the tokenizer produced...
    assert token_spans(normalised) == token_spans(plain)
    # ...and still point into the original message text.
    for token_text, start, end in token_spans(normalised):
        assert text[start:end].lower() == token_text
    lemmas = lemmas_by_text(normalised)
    for token_text, expected in CASES[text].items():
        assert lemmas[token_text] == expected, (token_text, lemmas)


def test_kk_is_kartu_keluarga_not_kakak(run_pipeline) -> None:
    (message,) = run_pipeline(["kk saya hilang"])
    assert "kakak" not in lemmas_by_text(message)["kk"]


def test_emoji_and_punctuation(run_pipeline) -> None:
    (message,) = run_pipeline(["tolong!!! 😭😭 jalan rusak"])
    lemmas = lemmas_by_text(message)
    assert lemmas["😭"] == EMOJI_PLACEHOLDER
    assert lemmas["!"] == "!"
    assert lemmas["tolong"] == "tolong"


def test_training_data_path_keeps_entity_offsets(spacy_nlp, tokenizer, normalizer) -> None:
    text = "cek status ADU-2026-00042 ya min, nik 3507124506850003"
    ticket = "ADU-2026-00042"
    start = text.index(ticket)
    example = Message.build(
        text=text,
        intent="cek_status",
        entities=[
            {"start": start, "end": start + len(ticket), "value": ticket, "entity": "nomor_tiket"},
        ],
    )
    training_data = TrainingData([example])
    spacy_nlp.process_training_data(training_data, spacy_nlp.provide())
    tokenizer.process_training_data(training_data)
    before = token_spans(example)
    normalizer.process_training_data(training_data)
    assert token_spans(example) == before
    lemmas = lemmas_by_text(example)
    assert lemmas["min"] == "admin"
    assert lemmas["ya"] == "ya"
    entity = example.get(ENTITIES)[0]
    covered = [
        t for t in example.get(TOKENS_NAMES[TEXT]) if t.start >= entity["start"] and t.end <= entity["end"]
    ]
    assert "".join(t.text for t in covered).upper() == ticket.replace("-", "-")
    # Intent tokens are labels, not text: left alone.
    assert [t.lemma for t in example.get(TOKENS_NAMES[INTENT])] == ["cek_status"]


def test_count_vectors_see_normalised_words(
    spacy_nlp, tokenizer, normalizer, model_storage, execution_context
) -> None:
    """The downstream CountVectorsFeaturizer (use_lemma default) learns normalised words."""
    texts = ["kk saya hilang", "jln rusak parah", "lampu pju mati", "sy mau urus sktm"]
    training_data = TrainingData([Message.build(text=t, intent="x") for t in texts])
    spacy_nlp.process_training_data(training_data, spacy_nlp.provide())
    tokenizer.process_training_data(training_data)
    normalizer.process_training_data(training_data)
    featurizer = CountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(),
        model_storage,
        Resource("cvf_word"),
        execution_context,
    )
    featurizer.train(training_data)
    vocabulary = featurizer.vectorizers[TEXT].vocabulary_
    for word in ("kartu", "keluarga", "jalan", "saya", "sktm", "mampu"):
        assert word in vocabulary, word
    for raw in ("kk", "jln", "sy", "pju"):
        assert raw not in vocabulary, raw


def test_deterministic(run_pipeline, normalizer) -> None:
    """The same lemmas on every run (its speed is measured by scripts/benchmark_nlu.py)."""
    texts = [text for text in CASES] * 20
    messages = run_pipeline(texts, normalize=False)
    normalizer.process(messages)
    again = run_pipeline(texts)
    assert [[t.lemma for t in m.get(TOKENS_NAMES[TEXT])] for m in messages] == [
        [t.lemma for t in m.get(TOKENS_NAMES[TEXT])] for m in again
    ]


def test_fingerprint_follows_lexicon_files(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon"
    shutil.copytree(DEFAULT_LEXICON_DIR, lexicon, ignore=shutil.ignore_patterns("stif-*"))
    config = {"lexicon_dir": str(lexicon)}
    first = IndonesianTokenNormalizer.fingerprint_addon(config)
    assert first == IndonesianTokenNormalizer.fingerprint_addon(config)
    with (lexicon / "domain_overrides.tsv").open("a", encoding="utf-8") as handle:
        handle.write("xyzzy\tplugh\n")
    assert IndonesianTokenNormalizer.fingerprint_addon(config) != first


def test_custom_lexicon_dir_and_domain_override_wins(
    tmp_path: Path, model_storage, execution_context, spacy_nlp, tokenizer
) -> None:
    lexicon = tmp_path / "lexicon"
    shutil.copytree(DEFAULT_LEXICON_DIR, lexicon, ignore=shutil.ignore_patterns("stif-*"))
    with (lexicon / "domain_overrides.tsv").open("a", encoding="utf-8") as handle:
        handle.write("bgt\tpolll\n")  # IndoCollex says "sekali"
    component = IndonesianTokenNormalizer.create(
        {**IndonesianTokenNormalizer.get_default_config(), "lexicon_dir": str(lexicon)},
        model_storage,
        Resource("normalizer_custom"),
        execution_context,
    )
    message = Message.build(text="parah bgt")
    spacy_nlp.process([message], spacy_nlp.provide())
    tokenizer.process([message])
    component.process([message])
    assert lemmas_by_text(message)["bgt"] == "polll"
