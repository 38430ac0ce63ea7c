"""`scripts/run.sh` and `scripts/test.sh` train only when the model in models/ was not trained
from the current files: the fingerprint lives in the model itself, not in Rasa's cache folder.

Found from outside (2026-12-07): the run command retrained for two minutes, and overwrote the
model, although models/ held a model of the same data, because `.rasa/cache` was missing.
"""

from __future__ import annotations

import io
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import train_if_needed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in train_if_needed.TRAINING + train_if_needed.CODE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, tmp_path / name)
    return tmp_path


def small_model(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        data = b'{"model_id": "x"}'
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def test_the_fingerprint_follows_every_input_and_only_the_inputs(project: Path) -> None:
    first = train_if_needed.fingerprint(project)
    assert train_if_needed.fingerprint(project) == first
    (project / "README.md").write_text("not an input")
    assert train_if_needed.fingerprint(project) == first
    nlu = next((project / "data" / "nlu").glob("*.yml"))
    nlu.write_text(nlu.read_text() + "\n")
    changed = train_if_needed.fingerprint(project)
    assert changed["training"] != first["training"] and changed["code"] == first["code"]
    component = next((project / "nlu_components").glob("*.py"))
    component.write_text(component.read_text() + "\n")
    assert train_if_needed.fingerprint(project)["code"] != first["code"]
    before = train_if_needed.fingerprint(project)["code"]
    policies = project / "rasa_extensions" / "policies.py"  # a policy subclass config.yml names
    policies.write_text(policies.read_text() + "\n")
    assert train_if_needed.fingerprint(project)["code"] != before


def test_the_fingerprint_is_kept_inside_the_model(tmp_path: Path) -> None:
    model = small_model(tmp_path / "layanwarga.tar.gz")
    assert train_if_needed.stored_fingerprint(model) is None
    value = {"training": "a" * 64, "code": "b" * 64, "rasa": "3.6.21"}
    train_if_needed.stamp(model, value)
    assert train_if_needed.stored_fingerprint(model) == value
    train_if_needed.stamp(model, {**value, "training": "c" * 64})  # stamped again: replaced, not added
    with tarfile.open(model, "r:gz") as archive:
        names = archive.getnames()
    assert sorted(names) == ["layanwarga-fingerprint.json", "metadata.json"]
    assert train_if_needed.stored_fingerprint(tmp_path / "missing.tar.gz") is None
