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


# -- entities marked in an example (Rasa's annotation syntax) ---------------------------------
@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("syaratnya [sktm](layanan) apa aja min", "syaratnya [sktm](layanan) apa aja min"),
        # spaces inside the brackets go outside them; the whitespace is WhatsApp-normalised
        ("syaratnya [ sktm ](layanan)  apa aja", "syaratnya [sktm](layanan) apa aja"),
        ("syaratnya[ sktm ](layanan)apa", "syaratnya [sktm](layanan) apa"),
        ("cek [ADU-2026-00042](nomor_tiket) dong", "cek [ADU-2026-00042](nomor_tiket) dong"),
        ("syarat [surat tidak mampu](layanan:sktm) apa", "syarat [surat tidak mampu](layanan:sktm) apa"),
        (
            'syarat [surat usaha]{"entity":"layanan","value":"sku"} apa',
            'syarat [surat usaha]{"entity": "layanan", "value": "sku"} apa',
        ),
        ("[sktm](layanan) sama [sku](layanan) beda ya", "[sktm](layanan) sama [sku](layanan) beda ya"),
        ("jalan rusak (parah) di rt 2", "jalan rusak (parah) di rt 2"),  # plain brackets stay text
    ],
)
def test_a_good_annotation_is_accepted_and_written_the_canonical_way(typed: str, written: str) -> None:
    entities = ("layanan", "nomor_tiket", "nik")
    assert teaching.check_text(typed, entities) == written
    text, plain, spans = teaching.parse_annotated(written, entities)
    assert text == written
    for span in spans:  # every span points at its words in the plain text, as Rasa computes it
        assert plain[span.start : span.end] == span.text


def test_spans_are_where_rasa_puts_them() -> None:
    _, plain, spans = teaching.parse_annotated(
        'minta [sktm](layanan) utk [6271014506850003](nik) ya [usaha]{"entity": "layanan", "value": "sku"}',
        ("layanan", "nik"),
    )
    assert plain == "minta sktm utk 6271014506850003 ya usaha"
    assert [(s.text, s.entity, s.start, s.end, s.value) for s in spans] == [
        ("sktm", "layanan", 6, 10, None),
        ("6271014506850003", "nik", 15, 31, None),
        ("usaha", "layanan", 35, 40, "sku"),
    ]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("syarat [sktm](surat) apa", "Entitas 'surat' pada \\[sktm\\] tidak ada di domain"),
        ('syarat [sktm]{"entity": "surat"} apa', "Entitas 'surat'"),
        ("syarat [sktm] (layanan) apa", "harus ada nama entitas dalam kurung"),
        ("syarat [sktm] apa", "harus ada nama entitas dalam kurung"),
        ("syarat [sktm apa", "'\\[' tanpa pasangan"),
        ("syarat sktm](layanan) apa", "'\\]' tanpa pasangan"),
        ("syarat [sktm](layanan apa", "belum ditutup"),
        ("syarat [sktm](layanan:) apa", "Nilai untuk"),
        ('syarat [sktm]{"entity": "layanan", "role": "x"} apa', "tidak dikenali"),
        ("syarat [sktm]{layanan} apa", "tidak dikenali"),
        ("syarat [surat [sktm](layanan)](layanan) apa", "bertumpuk"),
        ("syarat [[sktm](layanan)](layanan) apa", "bertumpuk"),
        ("syarat [](layanan) apa", "kosong"),
        ("syarat [ ](layanan) apa", "kosong"),
        ("syarat [skt](layanan)m apa", "memotong sebuah kata"),
        ("syarat s[ktm](layanan) apa", "memotong sebuah kata"),
        ("[🙏](layanan)", "emoji"),
        ("halo <b>[sktm](layanan)</b>", "HTML"),
        ("[sktm](layanan) &amp; sku", "HTML"),
    ],
)
def test_a_bad_annotation_is_refused_with_the_reason(typed: str, reason: str) -> None:
    with pytest.raises(AnnotationRefused, match=reason):
        teaching.check_text(typed, ("layanan", "nik"))


def test_the_entities_are_the_domains(project: Project) -> None:
    entities = teaching.domain_entities(project)
    assert {"nik", "nomor_tiket", "layanan"} <= set(entities)
    # An entity the domain does not declare is refused on the way in, with the known ones named.
    with pytest.raises(AnnotationRefused, match="Pilih salah satu: .*layanan"):
        teaching.check_example(project, "tanya_syarat", "syarat [sktm](jenis_surat) apa aja min")


def test_duplicates_and_held_out_messages_are_compared_without_the_annotation(
    sqlite_url: str, project: Project
) -> None:
    intent, text = next(
        (intent, text) for intent, text in teaching.examples_of(project.nlu_dir / "surat.yml") if " " in text
    )
    first, rest = text.split(" ", 1)
    with pytest.raises(AnnotationRefused, match="sudah ada di data pelatihan"):
        annotate(project, key="k", decision="intent", intent=intent, text=f"[{first}](nik) {rest}")
    held_intent, held_text = next(
        (intent, text) for intent, text in teaching.examples_of(project.holdout) if " " in text
    )
    first, rest = held_text.split(" ", 1)
    with pytest.raises(AnnotationRefused, match="set uji tersisih"):
        annotate(project, key="k", decision="intent", intent=held_intent, text=f"[{first}](nik) {rest}")


def test_an_annotated_example_is_written_with_its_annotation_and_rasa_learns_the_entity(
    sqlite_url: str, project: Project
) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    typed = "syaratnya [ sktm ](layanan) apa aja ya min, buat [6271014506850003](nik)"
    with db.session_scope(write=True) as session:
        saved = teaching.annotate(  # with the project's data validation (rasa data validate)
            session,
            project,
            key="k1",
            decision="example",
            intent="tanya_syarat",
            text=typed,
            actor="staf:konten",
        )
    assert saved.written_to == "data/nlu/diajarkan.yml"
    written = "syaratnya [sktm](layanan) apa aja ya min, buat [6271014506850003](nik)"
    [block] = yaml.safe_load(project.taught_file.read_text(encoding="utf-8"))["nlu"]
    assert (block["intent"], block["examples"][0]["text"]) == ("tanya_syarat", written)
    [example] = load_data(str(project.taught_file)).training_examples
    assert example.get("text") == "syaratnya sktm apa aja ya min, buat 6271014506850003"
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in example.get("entities")] == [
        ("layanan", "sktm", 10, 14),
        ("nik", "6271014506850003", 36, 52),
    ]
    with db.session_scope() as session:
        assert session.query(ReviewAnnotation).one().example == written


def test_examples_someone_wrote_into_the_taught_file_by_hand_survive_the_next_one(
    sqlite_url: str, project: Project
) -> None:
    project.taught_file.write_text(
        'version: "3.1"\nnlu:\n- intent: lapor_lampu_padam\n  examples: |\n    - pju mati total di gang kenari\n',
        encoding="utf-8",
    )
    annotate(project, key="k1", decision="intent", intent="lapor_lampu_padam", text="lampu jalan rt 3 padam")
    assert set(teaching.examples_of(project.taught_file)) == {
        ("lapor_lampu_padam", "pju mati total di gang kenari"),
        ("lapor_lampu_padam", "lampu jalan rt 3 padam"),
    }
    assert [t.text for t in teaching.taught_examples(project.taught_file)] == [
        "pju mati total di gang kenari",
        "lampu jalan rt 3 padam",
    ]
