"""A city's organisation tree in instansi.yml: read from Kemendagri codes, settings inherited,
every mistake named, and today's single-unit file unchanged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import yaml
from lokal import wilayah

from layanwarga.config import DEFAULT_CONFIG_PATH, PROJECT_ROOT, ConfigError, load_institution, main
from layanwarga.units import UnitTree

SAMPLE = PROJECT_ROOT / "deploy" / "examples" / "instansi-palangka-raya.yml"
CITY, PAHANDUT, JEKAN_RAYA, SABANGAU = "62.71", "62.71.01", "62.71.03", "62.71.04"
LANGKAI, PANARUNG, PALANGKA = "62.71.01.1003", "62.71.01.1002", "62.71.03.1001"


def sample_raw() -> Dict[str, Any]:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


def unit_raw(raw: Dict[str, Any], code: str) -> Dict[str, Any]:
    """The mapping of unit ``code`` inside the raw ``units`` section."""
    stack = [raw["units"]]
    while stack:
        node = stack.pop()
        if node["code"] == code:
            return node
        stack.extend(node.get("children") or [])
    raise KeyError(code)


def write(tmp_path: Path, raw: Dict[str, Any]) -> Path:
    path = tmp_path / "instansi.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_mutated(tmp_path: Path, mutate: Callable[[Dict[str, Any]], None]) -> UnitTree:
    raw = sample_raw()
    mutate(raw)
    return load_institution(write(tmp_path, raw)).units


# -- the sample city -------------------------------------------------------------------------------


def test_sample_palangka_raya_validates_with_the_region_datas_units() -> None:
    inst = load_institution(SAMPLE)
    tree = inst.units
    assert not tree.single
    assert tree.root.code == CITY and tree.root.kind == "kota"
    kecamatan = {w.code: w.name for w in wilayah.list_wilayah(CITY)}
    kelurahan = {w.code: w.name for code in kecamatan for w in wilayah.list_wilayah(code)}
    assert {u.code: u.name for u in tree.at_level(3)} == kecamatan
    assert {u.code: u.name for u in tree.at_level(4)} == kelurahan
    assert len(kelurahan) == 30 and len(tree) == 36
    # The city's own spelling is kept where it names the same place as the region data.
    assert tree.root.name == "Kota Palangka Raya"
    assert wilayah.get_wilayah(CITY).name == "Kota Palangkaraya"
    assert inst.region_code == CITY


def test_sample_config_check_prints_the_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "Units: Kota Palangka Raya (62.71), 1 kota, 5 kecamatan, 30 kelurahan" in out


# -- today's single-unit file ------------------------------------------------------------------------


def test_a_file_without_a_tree_is_one_unit_the_institution() -> None:
    inst = load_institution(DEFAULT_CONFIG_PATH)
    tree = inst.units
    assert tree.single and len(tree) == 1
    unit = tree.root
    assert (unit.code, unit.kind, unit.name, unit.title) == (
        LANGKAI,
        "kelurahan",
        inst.name,
        "Kelurahan Langkai",
    )
    assert unit.parent is None and unit.children == ()
    settings = unit.settings
    assert (settings.address, settings.map_url, settings.phone) == (inst.address, inst.map_url, inst.phone)
    assert (settings.latitude, settings.longitude) == (inst.latitude, inst.longitude)
    assert settings.office_hours == inst.office_hours and dict(settings.holidays) == inst.holidays
    assert dict(settings.letters) == inst.letters
    assert tree.get("6271011003") is unit
    assert tree.unit_at(inst.latitude, inst.longitude) is None  # no boundaries configured


def test_a_single_unit_without_region_code_is_still_one_unit(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    del raw["institution"]["region_code"]
    tree = load_institution(write(tmp_path, raw)).units
    assert tree.single and tree.root.kind == "instansi" and tree.root.code == ""
    assert set(tree.root.settings.letters) == {"sktm", "sku", "domisili"}


# -- navigation ----------------------------------------------------------------------------------------


def test_lookup_ancestors_descendants_and_kecamatan() -> None:
    tree = load_institution(SAMPLE).units
    assert tree[LANGKAI].title == "Kelurahan Langkai"
    assert tree.get("6271011003") is tree[LANGKAI]
    assert tree.get("62.99.01") is None and "62.99.01" not in tree
    with pytest.raises(KeyError):
        tree["62.99.01"]
    assert [u.code for u in tree.ancestors(LANGKAI)] == [PAHANDUT, CITY]
    assert tree.ancestors(CITY) == ()
    assert tree.parent(LANGKAI).code == PAHANDUT and tree.parent(CITY) is None
    assert [u.code for u in tree.children(PAHANDUT)] == [f"{PAHANDUT}.100{i}" for i in range(1, 7)]
    descendants = [u.code for u in tree.descendants(PAHANDUT)]
    assert descendants == [f"{PAHANDUT}.100{i}" for i in range(1, 7)]
    everything = [u.code for u in tree]
    assert everything[:3] == [CITY, PAHANDUT, f"{PAHANDUT}.1001"] and len(everything) == 36
    assert everything.index("62.71.02") == 8  # after Pahandut's six kelurahan: the file's order
    assert (
        tree.is_within(LANGKAI, PAHANDUT)
        and tree.is_within(LANGKAI, LANGKAI)
        and tree.is_within(LANGKAI, CITY)
    )
    assert not tree.is_within(LANGKAI, JEKAN_RAYA) and not tree.is_within(PAHANDUT, LANGKAI)
    assert tree.kecamatan_of(LANGKAI).code == PAHANDUT
    assert tree.kecamatan_of(PAHANDUT).code == PAHANDUT
    assert tree.kecamatan_of(CITY) is None
    assert tree[PAHANDUT].title == "Kecamatan Pahandut" and tree.root.title == "Kota Palangka Raya"


# -- inheritance ------------------------------------------------------------------------------------------


def test_settings_come_from_the_nearest_unit_that_sets_them(tmp_path: Path) -> None:
    def mutate(raw: Dict[str, Any]) -> None:
        raw["institution"]["phone"] = "(0536) 100"
        pahandut = unit_raw(raw, PAHANDUT)
        pahandut["office_hours"] = {"monday": ["08:00-12:00"], "saturday": "08:00-11:00"}
        pahandut["phone"] = "(0536) 200"
        pahandut["holidays"] = {"2026-08-20": "Hari jadi kecamatan"}
        langkai = unit_raw(raw, LANGKAI)
        langkai["holidays"] = {"2026-09-01": "Kantor direnovasi"}
        langkai["signing_official"] = {"title": "Lurah Langkai", "name": "Budi", "nip": "1980"}
        del unit_raw(raw, PANARUNG)["address"]

    tree = load_mutated(tmp_path, mutate)
    city, pahandut, langkai, panarung = (tree[c].settings for c in (CITY, PAHANDUT, LANGKAI, PANARUNG))
    palangka = tree[PALANGKA].settings
    assert (
        langkai.office_hours
        == pahandut.office_hours
        == {
            "monday": ((dt.time(8), dt.time(12)),),
            "saturday": ((dt.time(8), dt.time(11)),),
        }
    )
    assert palangka.office_hours == city.office_hours  # Jekan Raya sets none: the city's
    assert panarung.phone == "(0536) 200" and palangka.phone == "(0536) 100"
    assert langkai.phone == "(0536) 322-1001"  # its own
    # Closures add up along the chain.
    city_day = dt.date(2026, 5, 17)
    assert set(langkai.holidays) == {city_day, dt.date(2026, 8, 20), dt.date(2026, 9, 1)}
    assert set(panarung.holidays) == {city_day, dt.date(2026, 8, 20)}
    assert set(palangka.holidays) == {city_day}
    # Address: Panarung lost its own, so it has its kecamatan's office.
    assert panarung.address == "Kantor Kecamatan Pahandut, Kota Palangka Raya"
    assert langkai.signing_official.name == "Budi" and langkai.signing_official.title == "Lurah Langkai"
    assert panarung.signing_official.title == "Lurah Panarung"
    assert tree[PAHANDUT].settings.signing_official.title == "Camat Pahandut"
    assert city.signing_official.title == "Wali Kota Palangka Raya"
    # Coordinates come as a pair: Langkai's own, Panarung the city's (none).
    assert (langkai.latitude, langkai.longitude) == (-2.2096, 113.9135)
    assert (panarung.latitude, panarung.longitude) == (None, None)


def test_letters_issued_by_kind_with_fields_from_the_nearest_unit(tmp_path: Path) -> None:
    def mutate(raw: Dict[str, Any]) -> None:
        pahandut = unit_raw(raw, PAHANDUT)
        pahandut["letters"] = {
            "sku": {"fee": "Rp 0 (digratiskan kecamatan)", "processing_days": 3},
            "domisili": False,
        }
        langkai = unit_raw(raw, LANGKAI)
        langkai["letters"] = {
            "sktm": {"pickup": "Meja SKTM Kantor Kelurahan Langkai", "requirements": ["Foto KTP pemohon"]},
            "domisili": True,
        }

    tree = load_mutated(tmp_path, mutate)
    # issued_by: [kelurahan] — the city and the kecamatan offices issue none.
    assert dict(tree.root.settings.letters) == {} and dict(tree[PAHANDUT].settings.letters) == {}
    langkai, panarung, palangka = (tree[c].settings.letters for c in (LANGKAI, PANARUNG, PALANGKA))
    assert set(palangka) == {"sktm", "sku", "domisili"}
    # domisili: false at Pahandut reaches its kelurahan; Langkai says true again.
    assert set(panarung) == {"sktm", "sku"} and set(langkai) == {"sktm", "sku", "domisili"}
    # A letter's own pickup beats the unit's; the unit's beats the catalogue's.
    assert langkai["sktm"].pickup == "Meja SKTM Kantor Kelurahan Langkai"
    assert langkai["sku"].pickup.startswith("Loket pelayanan Kantor Kelurahan Langkai")
    assert langkai["sktm"].requirements == ("Foto KTP pemohon",)
    assert panarung["sktm"].requirements == load_institution(SAMPLE).letters["sktm"].requirements
    # Fields set at the kecamatan reach its kelurahan, not the others.
    assert (langkai["sku"].fee, langkai["sku"].processing_days) == ("Rp 0 (digratiskan kecamatan)", 3)
    assert (palangka["sku"].fee, palangka["sku"].processing_days) == ("Gratis", 2)
    # Everything else of the letter type stays the catalogue's.
    assert langkai["sku"].prefix == "SKU" and langkai["sku"].purposes == palangka["sku"].purposes


def test_upt_serves_its_kecamatan_and_their_kelurahan() -> None:
    inst = load_institution(SAMPLE)
    tree, dlh = inst.units, inst.agencies["DLH"]
    assert tree.upt_for(dlh, LANGKAI).name == "UPT Persampahan Wilayah Pahandut dan Sabangau"
    assert tree.upt_for(dlh, SABANGAU).name == "UPT Persampahan Wilayah Pahandut dan Sabangau"
    assert tree.upt_for(dlh, PALANGKA).name == "UPT Persampahan Wilayah Jekan Raya"
    assert tree.upt_for(dlh, "62.71.02.1001") is None  # Bukit Batu: the agency itself
    assert tree.upt_for(dlh, CITY) is None
    assert tree.upt_for(inst.agencies["PUPR"], LANGKAI) is None


# -- every mistake named -------------------------------------------------------------------------------------


def _child(raw: Dict[str, Any], code: str, **extra: Any) -> None:
    unit_raw(raw, PAHANDUT)["children"].append({"code": code, **extra})


MISTAKES = [
    (
        "unknown code",
        lambda r: _child(r, "62.71.01.1099"),
        r"units\.children\[0\]\.children\[6\]\.code: '62\.71\.01\.1099' is not a Kemendagri region code",
    ),
    (
        "outside the city",
        lambda r: r["units"]["children"].append({"code": "62.01.01"}),
        r"units\.children\[5\]\.code: 62\.01\.01 \(.*\) is outside 62\.71 \(Kota Palangka Raya\)",
    ),
    (
        "under the wrong kecamatan",
        lambda r: _child(r, "62.71.02.1001"),
        r"62\.71\.02\.1001 \(Marang\) lies in 62\.71\.02 \(Bukit Batu\), not in 62\.71\.01 \(Pahandut\): list it under 62\.71\.02",
    ),
    (
        "duplicate",
        lambda r: _child(r, LANGKAI),
        r"units\.children\[0\]\.children\[6\]\.code: 62\.71\.01\.1003 \(Langkai\) is listed twice \(also at units\.children\[0\]\.children\[2\]\)",
    ),
    (
        "loop",
        lambda r: _child(r, CITY),
        r"units\.children\[0\]\.children\[6\]\.code: loop: 62\.71 \(Kota Palangkaraya\) is already above this entry",
    ),
    (
        "a unit under a kelurahan",
        lambda r: unit_raw(r, LANGKAI).update(children=[{"code": "62.71.01.1004"}]),
        r"units\.children\[0\]\.children\[2\]\.children: 62\.71\.01\.1003 \(Langkai\) is a kelurahan; no unit lies under",
    ),
    (
        "name of another place",
        lambda r: unit_raw(r, LANGKAI).update(name="Panarung"),
        r"units\.children\[0\]\.children\[2\]\.name: 'Panarung' is not the name of 62\.71\.01\.1003 in the region data \('Langkai'\)",
    ),
    ("unquoted code", lambda r: r["units"].update(code=62.7), r"units\.code: 62\.7: write codes in quotes"),
    ("missing code", lambda r: _child(r, None), r"units\.children\[0\]\.children\[6\]\.code: missing"),
    (
        "unknown key",
        lambda r: unit_raw(r, LANGKAI).update(adress="Jl. X"),
        r"units\.children\[0\]\.children\[2\]\.adress: unknown key",
    ),
    (
        "setting on the city",
        lambda r: r["units"].update(address="Jl. X"),
        r"units\.address: unknown key \(the city's settings are the institution section's\)",
    ),
    (
        "bad office hours of a unit",
        lambda r: unit_raw(r, LANGKAI).update(office_hours={"monday": ["16:00-08:00"]}),
        r"units\.children\[0\]\.children\[2\]\.office_hours\.monday: '16:00-08:00' ends before it starts",
    ),
    (
        "half a coordinate pair",
        lambda r: unit_raw(r, PANARUNG).update(latitude=-2.2),
        r"units\.children\[0\]\.children\[1\]\.longitude: missing \(latitude and longitude go together\)",
    ),
    (
        "unknown letter type at a unit",
        lambda r: unit_raw(r, LANGKAI).update(letters={"ktp": True}),
        r"units\.children\[0\]\.children\[2\]\.letters\.ktp: unknown letter type",
    ),
    (
        "letter type offered nowhere",
        lambda r: r["letters"]["sku"].update(issued_by=["desa"]),
        r"letters\.sku: no unit of the tree issues it \(issued_by: desa\)",
    ),
    (
        "unknown kind in issued_by",
        lambda r: r["letters"]["sku"].update(issued_by=["rt"]),
        r"letters\.sku\.issued_by: expected unit kinds among",
    ),
    (
        "UPT of an unknown kecamatan",
        lambda r: r["agencies"]["DLH"]["upt"][1].update(kecamatan=["62.71.09"]),
        r"agencies\.DLH\.upt\[1\]\.kecamatan: '62\.71\.09' is not a kecamatan of the tree",
    ),
    (
        "UPT naming a kelurahan",
        lambda r: r["agencies"]["DLH"]["upt"][1].update(kecamatan=LANGKAI),
        r"agencies\.DLH\.upt\[1\]\.kecamatan: '62\.71\.01\.1003' is not a kecamatan of the tree",
    ),
    (
        "kecamatan in two UPTs of one agency",
        lambda r: r["agencies"]["DLH"]["upt"][1].update(kecamatan=[PAHANDUT]),
        r"agencies\.DLH\.upt\[1\]\.kecamatan: 62\.71\.01 \(Pahandut\) is already covered by UPT Persampahan",
    ),
    (
        "region code of another place",
        lambda r: r["institution"].update(region_code="62.72"),
        r"institution\.region_code: '62\.72' is not the tree's root",
    ),
    (
        "a place of two units",
        lambda r: unit_raw(r, LANGKAI).update(places=["bundaran  besar"]),
        r"units\.children\[2\]\.children\[0\]\.places: 'Bundaran Besar' is also a place of 62\.71\.01\.1003 \(Langkai\)",
    ),
]


@pytest.mark.parametrize("mutate, message", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_every_mistake_is_named(
    tmp_path: Path, mutate: Callable[[Dict[str, Any]], None], message: str
) -> None:
    raw = sample_raw()
    mutate(raw)
    with pytest.raises(ConfigError, match=message):
        load_institution(write(tmp_path, raw))


def test_a_yaml_alias_looping_back_is_a_loop_not_a_hang(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace(
        'units:\n  code: "62.71"\n', 'units: &city\n  code: "62.71"\n', 1
    )
    text += "        - *city\n"  # Rakumpit's last kelurahan is the whole city again
    raw = yaml.safe_load(text)
    assert raw["units"]["children"][4]["children"][7] is raw["units"]
    path = tmp_path / "instansi.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"units\.children\[4\]\.children\[7\]: loop: this entry contains itself"
    ):
        load_institution(path)


def test_all_mistakes_are_reported_at_once_by_the_config_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = sample_raw()
    _child(raw, "62.71.01.1099")
    _child(raw, "62.71.02.1001")
    unit_raw(raw, LANGKAI)["name"] = "Panarung"
    raw["agencies"]["DLH"]["upt"][1]["kecamatan"] = ["62.71.09"]
    assert main([str(write(tmp_path, raw))]) == 1
    err = capsys.readouterr().err
    assert "4 problems:" in err
    for expected in ("62.71.01.1099", "62.71.02.1001 (Marang)", "'Panarung'", "'62.71.09'"):
        assert expected in err
