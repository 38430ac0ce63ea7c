"""Retraining with a real (small) model (issue 27, item 3): ``layanwarga.retrain`` trains with
``rasa train``, evaluates with ``rasa test nlu`` on the held-out set and registers the candidate;
a candidate that misses emergencies is refused and says which held-out messages it now misreads
and which taught examples are new since the published model; a broken training run publishes
nothing and says why. The model is tests/fixtures/small_model (seconds to train); the commands
are the project's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from layanwarga import model_registry, retrain, teaching

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small_model"
pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(model_registry.STORE_ENV_VAR, str(tmp_path / "store"))
    shutil.copytree(FIXTURE, tmp_path / "project")
    return tmp_path / "project"


def train(project: Path) -> model_registry.Candidate:
    return retrain.train_candidate(
        root=project, actor="staf:konten", holdout="holdout/holdout.yml", nlu_only=True
    )


def test_a_candidate_that_stops_recognising_emergencies_is_refused(project: Path) -> None:
    first = train(project)
    assert first.error is None and first.scores is not None and first.verdict is not None
    assert first.scores.intents["darurat"]["recall"] == 1.0, first.verdict.reasons
    assert first.path.is_file() and first.etag == model_registry.file_etag(first.path)
    assert first.verdict.publishable, first.verdict.reasons
    model_registry.publish(first.id, "staf:konten")
    assert first.taught == [] and len(first.scores.predictions) == 6  # every held-out message
    # Someone's edit loses the emergency examples: the classifier never says darurat again; and
    # staff taught a greeting and a flood report meanwhile.
    (project / "data" / "darurat.yml").unlink()
    taught = teaching.Project(project).taught_file
    taught.parent.mkdir(parents=True, exist_ok=True)
    taught.write_text(
        teaching.render(
            {
                "greet": [{"text": "halo selamat pagi"}],
                "lapor_banjir": [{"text": "air got naik ke jalan"}],
            }
        ),
        encoding="utf-8",
    )
    second = train(project)
    assert second.verdict is not None and not second.verdict.publishable
    assert any("recall darurat" in reason for reason in second.verdict.reasons)
    [darurat] = [w for w in second.verdict.worse if w.intent == "darurat"]
    assert sorted(flip.text for flip in darurat.flips) == ["kebakaran di gang", "tolong ada kecelakaan"]
    assert all(flip.predicted in ("greet", "lapor_banjir") for flip in darurat.flips)
    for flip in darurat.flips:
        [suspect] = darurat.suspects[flip.predicted]
        assert suspect.intent == flip.predicted and suspect.text in (
            "halo selamat pagi",
            "air got naik ke jalan",
        )
    with pytest.raises(model_registry.RegistryError, match="recall darurat"):
        model_registry.publish(second.id, "staf:konten")
    assert model_registry.published().id == first.id


def test_a_failed_training_leaves_the_published_model_and_says_why(project: Path) -> None:
    (project / "data" / "nlu.yml").write_text("version: '3.1'\nnlu:\n- intent: [rusak\n", encoding="utf-8")
    before = model_registry.published()
    failed = train(project)
    assert failed.error is not None and failed.error.startswith("Pelatihan gagal")
    assert model_registry.published() == before
    with pytest.raises(model_registry.RegistryError):
        model_registry.publish(failed.id, "staf:konten")
