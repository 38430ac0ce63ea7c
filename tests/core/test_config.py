"""Institution configuration: the shipped file is valid, and every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from layanwarga.config import DEFAULT_CONFIG_PATH, ConfigError, load_institution


def test_shipped_configuration_is_valid() -> None:
    inst = load_institution(DEFAULT_CONFIG_PATH)
    assert inst.name == "Kelurahan Langkai"
    assert set(inst.letters) == {"sktm", "sku", "domisili"}
    assert inst.agency_for("lapor_sampah").code == "DLH"
    assert all(category.agency in inst.agencies for category in inst.complaint_categories.values())


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "instansi.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "mutate, key",
    [
        (
            lambda r: r["complaint_categories"]["lapor_sampah"].update(agency="DINAS_X"),
            "complaint_categories.lapor_sampah.agency",
        ),
        (lambda r: r["office_hours"].update(monday=["16:00-07:30"]), "office_hours.monday"),
        (lambda r: r["office_hours"].update(funday=["07:00-12:00"]), "office_hours.funday"),
        (lambda r: r["institution"].update(timezone="Asia/Atlantis"), "institution.timezone"),
        (lambda r: r["institution"].pop("address"), "institution.address"),
        (lambda r: r["letters"]["sktm"].update(prefix="ADU"), "letters.sktm.prefix"),
        (
            lambda r: r["letters"]["sku"].update(short_name="Surat Keterangan Usaha Mikro Kecil"),
            "letters.sku.short_name",
        ),
        (
            lambda r: r["complaint_categories"]["lapor_banjir"].update(sla_days=0),
            "complaint_categories.lapor_banjir.sla_days",
        ),
        (lambda r: r["holidays"].update({"2026-13-01": "x"}), "holidays.2026-13-01"),
        (lambda r: r.update(emergency_numbers=[]), "emergency_numbers"),
    ],
)
def test_a_mistake_names_the_key(tmp_path: Path, mutate, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_institution(_write(tmp_path, mutate))


def test_invalid_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "instansi.yml"
    path.write_text("institution: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_institution(path)
