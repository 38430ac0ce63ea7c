"""The spaCy pipeline is loaded once per process (rasa_extensions.spacy_model.SharedSpacyNLP,
named in config.yml): its two graph nodes share it, in the trained model too, a rewritten model
directory is loaded again, the shared pipeline tokenizes as a freshly loaded one does, and with
the patches off each node loads its own as Rasa's SpacyNLP does."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from rasa.core.agent import Agent
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.utils.spacy_utils import SpacyNLP

from nlu_components.spacy_model import ensure_blank_model
from rasa_extensions import spacy_model
from rasa_extensions.spacy_model import SharedSpacyNLP
from tests.extensions.model_support import graph_components, rasas_own_code


@pytest.fixture
def model_dir(tmp_path: Path) -> Iterator[str]:
    ensure_blank_model(tmp_path / "spacy-id")
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
    text = "Pak, lampu jalan di RT 03 mati-mati terus sejak kemarin, tolong dicek ya"
    assert [t.text for t in shared(text)] == [t.text for t in own(text)]
    assert own is not shared
