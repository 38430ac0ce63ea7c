"""Location pins: the kelurahan a pin falls in, from the city's boundary file; a bad file stops
start-up naming the file, the feature and the reason."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import yaml

from layanwarga.config import PROJECT_ROOT, ConfigError, load_institution, main
from layanwarga.units import UnitTree

SAMPLE = PROJECT_ROOT / "deploy" / "examples" / "instansi-palangka-raya.yml"
FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "units" / "palangka-raya-test-boundaries.geojson"
LANGKAI, PAHANDUT_SEBERANG, PALANGKA, MENTENG = (
    "62.71.01.1003",
    "62.71.01.1005",
    "62.71.03.1001",
    "62.71.03.1002",
)


def fixture() -> Dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def city_config(tmp_path: Path, boundaries: Any) -> Path:
    """The sample city with ``units.boundaries`` set; config and boundary file side by side."""
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    raw["units"]["boundaries"] = boundaries
    path = tmp_path / "instansi.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def with_geojson(tmp_path: Path, data: Any, **spec: Any) -> Path:
    target = tmp_path / "batas.geojson"
    target.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return city_config(tmp_path, {"file": "batas.geojson", **spec})


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> UnitTree:
    return load_institution(city_config(tmp_path_factory.mktemp("city"), str(FIXTURE))).units


def test_the_fixture_is_labelled_test_geometry() -> None:
    data = fixture()
    assert "TEST GEOMETRY" in data["description"]
    assert all("not official" in f["properties"]["note"] for f in data["features"])
    # At least two kecamatan and four kelurahan.
    codes = {f["properties"]["code"] for f in data["features"]}
    assert len(codes) >= 4 and len({c.rsplit(".", 1)[0] for c in codes}) >= 2


@pytest.mark.parametrize(
    "latitude, longitude, code",
    [
        (-2.215, 113.905, LANGKAI),
        (-2.215, 113.915, PAHANDUT_SEBERANG),
        (-2.205, 113.905, PALANGKA),
        (-2.205, 113.915, MENTENG),
        (-2.205, 113.935, MENTENG),  # Menteng's second piece (a MultiPolygon)
    ],
)
def test_a_pin_inside_a_kelurahan_finds_it(
    tree: UnitTree, latitude: float, longitude: float, code: str
) -> None:
    unit = tree.unit_at(latitude, longitude)
    assert unit is not None and unit.code == code


@pytest.mark.parametrize(
    "latitude, longitude",
    [
        (-2.30, 113.90),  # south of every boundary
        (-2.205, 113.925),  # the gap between Menteng's two pieces
        (0.0, 0.0),
        (math.nan, 113.9),
        (95.0, 113.9),
    ],
)
def test_a_pin_outside_every_boundary_is_none(tree: UnitTree, latitude: float, longitude: float) -> None:
    assert tree.unit_at(latitude, longitude) is None


def test_a_pin_on_a_shared_edge_gets_one_kelurahan_every_time(tree: UnitTree) -> None:
    edge = (-2.215, 113.91)  # between Langkai and Pahandut Seberang
    found = {tree.unit_at(*edge).code for _ in range(5)}
    assert found == {LANGKAI}
    # Just inside either side, the side it is on.
    assert tree.unit_at(-2.215, 113.9099).code == LANGKAI
    assert tree.unit_at(-2.215, 113.9101).code == PAHANDUT_SEBERANG


def test_the_config_check_says_which_kelurahan_have_no_boundary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "batas.geojson"
    target.write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    assert main([str(city_config(tmp_path, "batas.geojson"))]) == 0  # relative to the config's folder
    out = capsys.readouterr().out
    assert "Boundaries: 4 of 30 kelurahan/desa" in out and "Kelurahan Panarung" in out


def test_pieces_of_one_kelurahan_are_one_area(tmp_path: Path) -> None:
    data = fixture()
    menteng = next(f for f in data["features"] if f["properties"]["code"] == MENTENG)
    first, second = menteng["geometry"]["coordinates"]
    menteng["geometry"] = {"type": "Polygon", "coordinates": first}
    data["features"].append(
        {
            "type": "Feature",
            "properties": {"code": "6271031002"},
            "geometry": {"type": "Polygon", "coordinates": second},
        }
    )
    tree = load_institution(with_geojson(tmp_path, data)).units
    assert tree.unit_at(-2.205, 113.935).code == MENTENG and tree.unit_at(-2.205, 113.915).code == MENTENG


def test_a_property_named_as_in_bigs_data_is_read(tmp_path: Path) -> None:
    data = fixture()
    for feature in data["features"]:
        feature["properties"] = {"KDEPUM": feature["properties"]["code"].replace(".", "")}
    tree = load_institution(with_geojson(tmp_path, data, code_property="KDEPUM")).units
    assert tree.unit_at(-2.215, 113.905).code == LANGKAI


# -- a bad file stops start-up, naming the file, the feature and the reason -----------------------------


def _mutate(change: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
    data = copy.deepcopy(fixture())
    change(data)
    return data


def _feature(data: Dict[str, Any], index: int) -> Dict[str, Any]:
    return data["features"][index]


BOWTIE = [[[113.90, -2.22], [113.91, -2.21], [113.91, -2.22], [113.90, -2.21], [113.90, -2.22]]]
BAD_FEATURES = [
    ("no code", lambda d: _feature(d, 1)["properties"].pop("code"), r"feature 1: no 'code' property"),
    (
        "code outside the tree",
        lambda d: _feature(d, 1)["properties"].update(code="62.01.01.2001"),
        r"feature 1 \(62\.01\.01\.2001\): '62\.01\.01\.2001' \(.*Kotawaringin Barat.*\) is not a kelurahan/desa of the tree",
    ),
    (
        "code that does not exist",
        lambda d: _feature(d, 1)["properties"].update(code="99"),
        r"feature 1 \(99\): '99' \(not a Kemendagri code\) is not a kelurahan/desa of the tree",
    ),
    (
        "a point, not a polygon",
        lambda d: _feature(d, 2).update(geometry={"type": "Point", "coordinates": [113.9, -2.2]}),
        r"feature 2 \(62\.71\.03\.1001 Palangka\): geometry is a 'Point', not a Polygon or MultiPolygon",
    ),
    (
        "no geometry",
        lambda d: _feature(d, 2).update(geometry=None),
        r"feature 2 \(62\.71\.03\.1001 Palangka\): no geometry",
    ),
    (
        "self-intersecting ring",
        lambda d: _feature(d, 0).update(geometry={"type": "Polygon", "coordinates": BOWTIE}),
        r"feature 0 \(62\.71\.01\.1003 Langkai\): invalid polygon: (Ring )?Self-intersection",
    ),
    (
        "ring of two points",
        lambda d: _feature(d, 0).update(
            geometry={"type": "Polygon", "coordinates": [[[113.9, -2.2], [113.91, -2.2]]]}
        ),
        r"feature 0 \(62\.71\.01\.1003 Langkai\): malformed coordinates",
    ),
    (
        "projected coordinates",
        lambda d: _feature(d, 3)["geometry"].update(
            type="Polygon",
            coordinates=[[[800000, 9750000], [801000, 9750000], [801000, 9751000], [800000, 9750000]]],
        ),
        r"feature 3 \(62\.71\.03\.1002 Menteng\): coordinates are not longitude/latitude \(WGS 84\)",
    ),
    (
        "not a feature",
        lambda d: d["features"].append({"type": "Polygon"}),
        r"feature 4: not a GeoJSON Feature",
    ),
    (
        "overlapping kelurahan",
        lambda d: _feature(d, 1)["geometry"]["coordinates"][0].__setitem__(
            slice(None),
            [[113.905, -2.22], [113.92, -2.22], [113.92, -2.21], [113.905, -2.21], [113.905, -2.22]],
        ),
        r"feature 0 \(62\.71\.01\.1003 Langkai\) and feature 1 \(62\.71\.01\.1005 Pahandut Seberang\) overlap by [\d,]+ m²",
    ),
]


@pytest.mark.parametrize("change, message", [b[1:] for b in BAD_FEATURES], ids=[b[0] for b in BAD_FEATURES])
def test_a_bad_feature_stops_start_up_naming_it(
    tmp_path: Path, change: Callable[[Dict[str, Any]], None], message: str
) -> None:
    path = with_geojson(tmp_path, _mutate(change))
    with pytest.raises(ConfigError, match=message) as raised:
        load_institution(path)
    assert str(tmp_path / "batas.geojson") in str(raised.value)


def test_a_sliver_within_the_tolerance_is_accepted_and_a_larger_one_is_not(tmp_path: Path) -> None:
    # Pahandut Seberang reaches 0.0001 degrees (about 11 m) into Langkai along their 1.1 km edge:
    # about 12,000 m², an overlap by default, digitising noise with a generous tolerance.
    def widen(data: Dict[str, Any]) -> None:
        _feature(data, 1)["geometry"]["coordinates"] = [
            [[113.9099, -2.22], [113.92, -2.22], [113.92, -2.21], [113.9099, -2.21], [113.9099, -2.22]]
        ]

    with pytest.raises(ConfigError, match=r"overlap by 12,\d{3} m² \(tolerance 900 m²"):
        load_institution(with_geojson(tmp_path, _mutate(widen)))
    tree = load_institution(with_geojson(tmp_path, _mutate(widen), overlap_tolerance_m2=20000)).units
    # In the sliver, the pin goes to the kelurahan it lies deepest in.
    assert tree.unit_at(-2.215, 113.90992).code == LANGKAI  # 8 m inside Langkai, 2 m inside the other
    assert tree.unit_at(-2.215, 113.90998).code == PAHANDUT_SEBERANG


def test_every_bad_feature_is_listed_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def spoil(data: Dict[str, Any]) -> None:
        _feature(data, 0)["geometry"] = {"type": "Polygon", "coordinates": BOWTIE}
        _feature(data, 2)["properties"].pop("code")

    assert main([str(with_geojson(tmp_path, _mutate(spoil)))]) == 1
    err = capsys.readouterr().err
    assert (
        "2 problem(s)" in err and "feature 0 (62.71.01.1003 Langkai)" in err and "feature 2: no 'code'" in err
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", r"batas\.geojson is not valid JSON"),
        (json.dumps({"type": "Feature"}), r"is not a GeoJSON FeatureCollection"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32750"}},
                    "features": [],
                }
            ),
            r"is in urn:ogc:def:crs:EPSG::32750, not longitude/latitude \(WGS 84\); convert it: ogr2ogr",
        ),
    ],
)
def test_a_malformed_file_stops_start_up(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_institution(with_geojson(tmp_path, content))


def test_a_missing_file_and_bad_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"units\.boundaries: cannot read .*nowhere\.geojson"):
        load_institution(city_config(tmp_path, "nowhere.geojson"))
    with pytest.raises(ConfigError, match=r"units\.boundaries\.overlap_tolerance_m2: expected a number"):
        load_institution(city_config(tmp_path, {"file": str(FIXTURE), "overlap_tolerance_m2": "besar"}))
    with pytest.raises(ConfigError, match=r"units\.boundaries\.layer: unknown key"):
        load_institution(city_config(tmp_path, {"file": str(FIXTURE), "layer": "desa"}))


def test_the_benchmarks_synthetic_grid_is_a_valid_city(tmp_path: Path) -> None:
    """scripts/benchmark_units.py times lookups on this grid: it must load, and each cell's
    centre must be its own kelurahan, or the benchmark measures failures."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "benchmark_units", PROJECT_ROOT / "scripts" / "benchmark_units.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    codes = [u.code for u in load_institution(SAMPLE).units if u.level == 4]
    tree = load_institution(with_geojson(tmp_path, bench.grid_geojson(codes, 40))).units
    x0, y0 = bench.ORIGIN
    for index, code in enumerate(codes):
        i, j = index % bench.COLUMNS, index // bench.COLUMNS
        assert tree.unit_at(y0 + bench.CELL * (j + 0.5), x0 + bench.CELL * (i + 0.5)).code == code
    assert tree.unit_at(y0 - bench.CELL / 2, x0) is None
