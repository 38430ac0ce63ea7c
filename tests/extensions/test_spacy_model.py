"""The spaCy pipeline is loaded once per process (rasa_extensions.spacy_model.SharedSpacyNLP,
named in config.yml): its two graph nodes share it, in the trained model too, a rewritten model
directory is loaded again, the shared pipeline tokenizes as a freshly loaded one does (its
tokenizer is built once from the language's defaults when the saved one is those defaults, and
read from disk when it is not), and with the patches off each node loads its own as Rasa's
SpacyNLP does."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest
import spacy
from rasa.core.agent import Agent
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.utils.spacy_utils import SpacyNLP

from nlu_components.spacy_model import ensure_blank_model
from rasa_extensions import spacy_model
from rasa_extensions.spacy_model import SharedSpacyNLP
from tests.extensions.model_support import graph_components, rasas_own_code


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The blank Indonesian pipeline, saved once for the module (each test gets a copy)."""
    path = tmp_path_factory.mktemp("spacy") / "spacy-id"
    ensure_blank_model(path)
    return path


@pytest.fixture
def model_dir(saved_model: Path, tmp_path: Path) -> Iterator[str]:
    shutil.copytree(saved_model, tmp_path / "spacy-id")
    spacy_model.clear()
    yield str(tmp_path / "spacy-id")
    spacy_model.clear()


def create(model: str, tmp_path: Path, node: str) -> SpacyNLP:
    return SharedSpacyNLP.create(
        {**SharedSpacyNLP.get_default_config(), "model": model},
        LocalModelStorage(tmp_path / "storage"),
        Resource(node),
        ExecutionContext(GraphSchema({}), node),
    )


def test_both_graph_nodes_get_one_pipeline(model_dir: str, tmp_path: Path) -> None:
    provide = create(model_dir, tmp_path, "provide_SpacyNLP0")
    run = create(model_dir, tmp_path, "run_SpacyNLP0")
    assert provide.provide().model is run.provide().model


def test_the_trained_models_nodes_share_one_pipeline(agent: Agent) -> None:
    nodes = {name: c for name, c in graph_components(agent).items() if isinstance(c, SpacyNLP)}
    assert {type(c) for c in nodes.values()} == {SharedSpacyNLP}
    assert len(nodes) == 2
    assert len({id(c.provide().model) for c in nodes.values()}) == 1


def test_with_the_patches_off_each_node_loads_its_own(model_dir: str, tmp_path: Path) -> None:
    with rasas_own_code():
        provide = create(model_dir, tmp_path, "provide_SpacyNLP0")
        run = create(model_dir, tmp_path, "run_SpacyNLP0")
    assert provide.provide().model is not run.provide().model


def test_a_rewritten_model_directory_is_loaded_again(model_dir: str, tmp_path: Path) -> None:
    first = create(model_dir, tmp_path, "provide_SpacyNLP0").provide().model
    meta = Path(model_dir) / "meta.json"
    stat = meta.stat()
    os.utime(meta, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = create(model_dir, tmp_path, "provide_SpacyNLP0").provide().model
    assert second is not first


def test_the_shared_pipeline_tokenizes_as_rasas_own_load(model_dir: str, tmp_path: Path) -> None:
    shared = create(model_dir, tmp_path, "provide_SpacyNLP0").provide().model
    own = SpacyNLP.load_model(model_dir).model
    # The shared load builds the tokenizer from the language's defaults; Rasa's reads it from disk.
    assert shared.tokenizer.to_bytes(exclude=["vocab"]) == own.tokenizer.to_bytes(exclude=["vocab"])
    for text in (
        "Pak, lampu jalan di RT 03 mati-mati terus sejak kemarin, tolong dicek ya",
        "anak-anak main di jln. Merdeka no.5 https://contoh.go.id/a?b=1 :) 😀 Rp50.000,- jam 08.30",
    ):
        assert [t.text for t in shared(text)] == [t.text for t in own(text)]
    assert own is not shared


def test_a_tokenizer_saved_with_an_exception_of_its_own_is_read_from_disk(tmp_path: Path) -> None:
    # A small language keeps this quick; what matters is a saved tokenizer that is not the defaults.
    nlp = spacy.blank("xx")
    nlp.tokenizer.add_special_case("dicek", [{"ORTH": "di"}, {"ORTH": "cek"}])
    nlp.to_disk(tmp_path / "own")
    loaded = spacy_model.load_model(str(tmp_path / "own")).model
    assert [t.text for t in loaded("tolong dicek ya")] == ["tolong", "di", "cek", "ya"]
