"""Annotations become training data the project's way (issue 27, item 2): the right intent, no
duplicate, no held-out message, no bad text; who and when kept with each example; the project's
data validation decides before the file changes; an export when the data cannot be written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from layanwarga import db, teaching
from layanwarga.models import ReviewAnnotation
from layanwarga.teaching import AnnotationRefused, Project

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A copy of the project's training data, domain, config and held-out set."""
    for name in ("data", "domain"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "config.yml", tmp_path / "config.yml")
    (tmp_path / "tests" / "nlu").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "nlu" / "holdout.yml", tmp_path / "tests" / "nlu" / "holdout.yml")
    return Project(tmp_path)


def annotate(project: Project, **values: object) -> teaching.Saved:
    with db.session_scope(write=True) as session:
        return teaching.annotate(session, project, actor="staf:konten", validate=False, **values)  # type: ignore[arg-type]


def test_an_example_is_written_with_who_and_when_and_passes_rasa_data_validate(
    sqlite_url: str, project: Project
) -> None:
    with db.session_scope(write=True) as session:
        saved = teaching.annotate(
            session,
            project,
            key="k1",
            decision="intent",
            intent="lapor_lampu_padam",
            text="pju gang kenari byarpet tiap malam",
            actor="staf:konten",
        )
    assert saved.written_to == "data/nlu/diajarkan.yml"
    content = yaml.safe_load(project.taught_file.read_text(encoding="utf-8"))
    [block] = content["nlu"]
    assert block["intent"] == "lapor_lampu_padam"
    assert block["examples"][0]["text"] == "pju gang kenari byarpet tiap malam"
    assert block["examples"][0]["metadata"]["ditambahkan_oleh"] == "staf:konten"
    assert ("lapor_lampu_padam", "pju gang kenari byarpet tiap malam") in set(
        teaching.examples_of(project.taught_file)
    )


def test_a_contradiction_is_refused_and_the_data_stays_untouched(sqlite_url: str, project: Project) -> None:
    existing_intent, existing_text = next(iter(teaching.examples_of(project.nlu_dir / "aduan.yml")))
    other = "greet" if existing_intent != "greet" else "thanks"
    with pytest.raises(AnnotationRefused, match=f"sudah menjadi contoh intent '{existing_intent}'"):
        annotate(project, key="k", decision="intent", intent=other, text=existing_text.upper() + "!!")
    with pytest.raises(AnnotationRefused, match="sudah ada di data pelatihan"):
        annotate(project, key="k", decision="intent", intent=existing_intent, text=existing_text)
    assert not project.taught_file.exists()
    with db.session_scope() as session:
        assert session.query(ReviewAnnotation).count() == 0


def test_a_held_out_message_is_refused(sqlite_url: str, project: Project) -> None:
    intent, text = next(iter(teaching.examples_of(project.holdout)))
    with pytest.raises(AnnotationRefused, match="set uji tersisih"):
        annotate(project, key="k", decision="intent", intent=intent, text=text)


@pytest.mark.parametrize(
    ("intent", "text", "reason"),
    [
        ("lapor_pohon_tumbang", "pohon tumbang di jalan", "tidak ada di domain"),
        ("greet", "   ", "kosong"),
        ("greet", "🙏🙏 👍", "emoji"),
        ("greet", "halo " * 1000, "batas pesan WhatsApp"),
        ("greet", "halo <script>alert(1)</script>", "HTML"),
        ("greet", "halo &amp; selamat", "HTML"),
    ],
)
def test_bad_input_is_refused_with_the_reason(
    sqlite_url: str, project: Project, intent: str, text: str, reason: str
) -> None:
    with pytest.raises(AnnotationRefused, match=reason):
        annotate(project, key="k", decision="example", intent=intent, text=text)


def test_out_of_scope_and_ignore(sqlite_url: str, project: Project) -> None:
    annotate(project, key="k1", decision="out_of_scope", text="rekomendasi drakor yg seru dong min")
    annotate(project, key="k2", decision="ignore")
    assert ("out_of_scope", "rekomendasi drakor yg seru dong min") in set(
        teaching.examples_of(project.taught_file)
    )
    with db.session_scope() as session:
        assert teaching.added_per_intent(session) == [("out_of_scope", 1)]


def test_a_read_only_deployment_keeps_the_decision_for_the_export(sqlite_url: str, project: Project) -> None:
    project = Project(project.root, writes=False)
    saved = annotate(
        project,
        key="k1",
        decision="intent",
        intent="lapor_sampah",
        text="tong sampah rt 4 udh luber seminggu",
    )
    assert saved.written_to is None and not project.taught_file.exists()
    with db.session_scope() as session:
        exported = yaml.safe_load(teaching.export_yaml(session))
    assert exported["nlu"][0]["intent"] == "lapor_sampah"
    assert exported["nlu"][0]["examples"][0]["text"] == "tong sampah rt 4 udh luber seminggu"


def test_a_validation_failure_leaves_the_file_as_it_was(sqlite_url: str, project: Project) -> None:
    annotate(
        project,
        key="k1",
        decision="intent",
        intent="lapor_sampah",
        text="tong sampah rt 4 udh luber seminggu",
    )
    before = project.taught_file.read_text(encoding="utf-8")
    # A rule someone broke by hand meanwhile: Rasa's validation refuses the training data.
    (project.root / "data" / "rules" / "rusak.yml").write_text(
        "version: '3.1'\nrules:\n- rule: [rusak\n", encoding="utf-8"
    )
    with (
        db.session_scope(write=True) as session,
        pytest.raises(AnnotationRefused, match="Validasi data pelatihan"),
    ):
        teaching.annotate(
            session,
            project,
            key="k2",
            decision="intent",
            intent="lapor_banjir",
            text="got mampet air naik ke teras",
            actor="staf:konten",
        )
    assert project.taught_file.read_text(encoding="utf-8") == before
