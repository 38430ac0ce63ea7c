"""The teach root on a deployment's volume (issue 27): each dashboard start brings the release's
training data, domain, config, held-out set and spaCy pipeline, and keeps the examples staff
taught there, even across a refresh that crashed halfway; the operator's own working copy is
never touched unless asked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layanwarga import model_registry, retrain, teach_root, teaching
from layanwarga.config import PROJECT_ROOT
from layanwarga.teach_root import TAUGHT, TeachRootError, refresh

TAUGHT_TEXT = 'version: "3.1"\nnlu:\n- intent: lapor_banjir\n  examples: |\n    - rob pasang masuk gang\n'


def release(folder: Path, rule: str = "rules: []\n") -> Path:
    for name, text in {
        "config.yml": "language: id\n",
        "domain/umum.yml": "intents: [greet]\n",
        "data/nlu/umum.yml": "nlu: []\n",
        "data/rules/umum.yml": rule,
        "tests/nlu/holdout.yml": "nlu: []\n",
        "var/spacy-id/meta.json": "{}\n",
    }.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_new_release_replaces_everything_but_what_staff_taught(tmp_path: Path) -> None:
    root = tmp_path / "teach"
    first = release(tmp_path / "v1")
    (first / "data" / "rules" / "lama.yml").write_text("rules: []\n", encoding="utf-8")
    refresh(first, root)
    assert (root / "data" / "rules" / "lama.yml").exists() and not (root / TAUGHT).exists()
    (root / TAUGHT).write_text(TAUGHT_TEXT, encoding="utf-8")  # staff teach on the deployment

    second = release(tmp_path / "v2", rule="rules:\n- rule: baru\n")
    (second / TAUGHT).write_text("nlu: []\n", encoding="utf-8")  # an older export in the release
    refresh(second, root)
    assert (root / "data" / "rules" / "umum.yml").read_text(encoding="utf-8") == "rules:\n- rule: baru\n"
    assert not (root / "data" / "rules" / "lama.yml").exists()  # deleted by the release
    assert (root / TAUGHT).read_text(encoding="utf-8") == TAUGHT_TEXT
    for name in teach_root.RELEASE_FILES:
        assert (root / name).exists(), name
    assert sorted(p.name for p in root.iterdir()) == ["config.yml", "data", "domain", "tests", "var"]


def test_the_release_taught_file_starts_an_empty_root(tmp_path: Path) -> None:
    source = release(tmp_path / "v1")
    (source / TAUGHT).write_text(TAUGHT_TEXT, encoding="utf-8")
    refresh(source, tmp_path / "teach")
    assert (tmp_path / "teach" / TAUGHT).read_text(encoding="utf-8") == TAUGHT_TEXT


def test_a_refresh_that_crashed_mid_swap_loses_nothing(tmp_path: Path) -> None:
    root = tmp_path / "teach"
    source = release(tmp_path / "v1")
    refresh(source, root)
    (root / TAUGHT).write_text(TAUGHT_TEXT, encoding="utf-8")
    # The crash: the old data moved aside, the new copy half made, never moved in.
    os.replace(root / "data", root / ".data.old")
    (root / ".data.new" / "nlu").mkdir(parents=True)
    refresh(source, root)
    assert (root / TAUGHT).read_text(encoding="utf-8") == TAUGHT_TEXT
    assert not (root / ".data.old").exists() and not (root / ".data.new").exists()


def test_nothing_is_touched_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(teach_root.SOURCE_ENV_VAR, raising=False)
    monkeypatch.setenv(teaching.ROOT_ENV_VAR, str(tmp_path / "checkout"))
    assert teach_root.refresh_from_environment() is False and not (tmp_path / "checkout").exists()
    monkeypatch.setenv(teach_root.SOURCE_ENV_VAR, str(release(tmp_path / "v1")))
    assert teach_root.refresh_from_environment() is True and (tmp_path / "checkout" / "config.yml").exists()
    monkeypatch.delenv(teaching.ROOT_ENV_VAR)
    with pytest.raises(TeachRootError, match=teaching.ROOT_ENV_VAR):
        teach_root.refresh_from_environment()


def test_a_release_without_the_spacy_pipeline_is_refused_by_name(tmp_path: Path) -> None:
    source = release(tmp_path / "v1")
    (source / "var" / "spacy-id" / "meta.json").unlink()
    (source / "var" / "spacy-id").rmdir()
    with pytest.raises(TeachRootError, match="var/spacy-id"):
        refresh(source, tmp_path / "teach")
    assert not (tmp_path / "teach").exists()


@pytest.mark.slow
def test_retraining_runs_in_a_refreshed_root_as_the_dashboard_image_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard image's set-up (deploy/Dockerfile.dashboard): the project's release files in
    the teach root, the code only on PYTHONPATH. ``rasa train`` there loads config.yml's own
    components and the blank spaCy pipeline it names, and ``rasa test nlu`` the held-out set.
    (Without PYTHONPATH it fails: ``No module named 'rasa_extensions'``.) The NLU examples are
    the small model's (examples and held-out set), so it runs in seconds; config, domain and
    pipeline are the project's."""
    if not (PROJECT_ROOT / "var" / "spacy-id").is_dir():
        subprocess.run(
            [sys.executable, "-m", "nlu_components.spacy_model", "var/spacy-id"], cwd=PROJECT_ROOT, check=True
        )
    root = tmp_path / "teach"
    refresh(PROJECT_ROOT, root)
    shutil.rmtree(root / "data")
    small = PROJECT_ROOT / "tests" / "fixtures" / "small_model"
    shutil.copytree(small / "data", root / "data" / "nlu")
    shutil.copyfile(small / "holdout" / "holdout.yml", root / "tests" / "nlu" / "holdout.yml")
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "false")
    monkeypatch.setenv(model_registry.STORE_ENV_VAR, str(tmp_path / "store"))
    candidate = retrain.train_candidate(root=root, nlu_only=True)
    assert candidate.error is None, candidate.error
    assert candidate.scores is not None and candidate.path.is_file()
