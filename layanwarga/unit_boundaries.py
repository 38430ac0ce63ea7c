"""Kelurahan/desa boundaries: which unit a WhatsApp location pin falls in.

The city supplies its kelurahan boundaries as one GeoJSON file (RFC 7946: WGS 84 longitude,
latitude), each feature a Polygon or MultiPolygon whose property ``code_property`` (``code`` by
default; ``KDEPUM`` in BIG's village layer) holds the Kemendagri code, dotted or not. Features of
the same code are one kelurahan in pieces (islands). Loading happens at start-up with the
configuration and stops it, naming the file, the feature and the reason, when:

1. the file cannot be read or is not a GeoJSON FeatureCollection;
2. a feature has no code, a code that is not a kelurahan/desa of the tree, a geometry that is
   not a polygon, is empty, invalid (self-intersecting ring, …: shapely's explanation is
   quoted), or not in longitude/latitude;
3. two kelurahan overlap by more than ``overlap_tolerance_m2`` square metres (digitised
   boundaries leave slivers; a real overlap would make a pin's kelurahan a coin toss).

A pin is looked up in an STRtree of the kelurahan polygons: inside one → that kelurahan; on a
shared edge or in a tolerated sliver → the one it lies deepest in; outside all → None, and the
caller sends the request to the city's triage.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import shapely
from lokal import wilayah
from shapely.errors import GeometryTypeError, ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from .config_values import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_CODE_PROPERTY = "code"
# A 30 m x 30 m sliver: more than digitising noise along a shared boundary is an overlap.
DEFAULT_OVERLAP_TOLERANCE_M2 = 900.0
_METRES_PER_DEGREE = 111_320.0
_POLYGONS = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class BoundarySpec:
    """``units.boundaries`` in the configuration: a path, or a mapping with these keys."""

    file: Path
    code_property: str = DEFAULT_CODE_PROPERTY
    overlap_tolerance_m2: float = DEFAULT_OVERLAP_TOLERANCE_M2


def parse_boundary_spec(raw: Any, path: str, base_dir: Path) -> BoundarySpec:
    """The boundary file's settings; a relative ``file`` is read from the configuration's folder."""
    if isinstance(raw, str):
        raw = {"file": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{path}: expected a file path, or a mapping of file, code_property, overlap_tolerance_m2"
        )
    unknown = sorted(set(map(str, raw)) - {"file", "code_property", "overlap_tolerance_m2"})
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown key (use file, code_property, overlap_tolerance_m2)")
    file = raw.get("file")
    if not isinstance(file, str) or not file.strip():
        raise ConfigError(f"{path}.file: missing (a GeoJSON file of the kelurahan boundaries)")
    code_property = raw.get("code_property", DEFAULT_CODE_PROPERTY)
    if not isinstance(code_property, str) or not code_property.strip():
        raise ConfigError(
            f"{path}.code_property: expected the name of the property holding the Kemendagri code"
        )
    tolerance = raw.get("overlap_tolerance_m2", DEFAULT_OVERLAP_TOLERANCE_M2)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise ConfigError(
            f"{path}.overlap_tolerance_m2: expected a number of square metres >= 0, got {tolerance!r}"
        )
    location = Path(file.strip())
    if not location.is_absolute():
        location = base_dir / location
    return BoundarySpec(
        file=location, code_property=code_property.strip(), overlap_tolerance_m2=float(tolerance)
    )


class Boundaries:
    """The kelurahan polygons of a city, indexed for pin lookups."""

    def __init__(self, shapes: Mapping[str, BaseGeometry], source: Path) -> None:
        self.source = source
        self.codes: List[str] = sorted(shapes)
        self._geometries = [shapes[code] for code in self.codes]
        for geometry in self._geometries:
            shapely.prepare(geometry)
        self._edges = [geometry.boundary for geometry in self._geometries]
        self._index = shapely.STRtree(self._geometries)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def code_at(self, latitude: float, longitude: float) -> Optional[str]:
        """The code of the kelurahan containing the point, or None when it lies outside all."""
        if (
            not (math.isfinite(latitude) and math.isfinite(longitude))
            or abs(latitude) > 90
            or abs(longitude) > 180
        ):
            logger.warning(
                "Location pin outside the globe ignored: latitude %r, longitude %r", latitude, longitude
            )
            return None
        point = shapely.Point(longitude, latitude)
        hits = self._index.query(point, predicate="intersects")
        if len(hits) == 0:
            return None
        if len(hits) == 1:
            return self.codes[int(hits[0])]
        # On a shared edge or in a tolerated sliver: the kelurahan the pin lies deepest in.
        best = max(hits, key=lambda i: (self._edges[int(i)].distance(point), -int(i)))
        return self.codes[int(best)]


def _feature_label(index: int, feature: Any, code: Optional[str], names: Mapping[str, str]) -> str:
    if code is not None:
        return f"feature {index} ({code} {names.get(code, '')})".replace(" )", ")")
    ident = feature.get("id") if isinstance(feature, Mapping) else None
    return f"feature {index}" + (f" (id {ident!r})" if ident is not None else "")


def _area_m2(geometry: BaseGeometry) -> float:
    """Area in square metres of a small lon/lat geometry (equirectangular at its latitude)."""
    if geometry.is_empty:
        return 0.0
    scale = _METRES_PER_DEGREE**2 * math.cos(math.radians(geometry.centroid.y))
    return geometry.area * scale


def _read_collection(file: Path) -> Sequence[Any]:
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"units.boundaries: cannot read {file}: {exc}") from None
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise ConfigError(f"units.boundaries: {file} is not valid JSON: {exc}") from None
    if (
        not isinstance(data, Mapping)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise ConfigError(f'units.boundaries: {file} is not a GeoJSON FeatureCollection (a "features" list)')
    crs = data.get("crs")
    if isinstance(crs, Mapping):
        name = str((crs.get("properties") or {}).get("name", ""))
        if name and not name.upper().endswith(("CRS84", "4326")):
            raise ConfigError(
                f"units.boundaries: {file} is in {name}, not longitude/latitude (WGS 84); "
                "convert it: ogr2ogr -f GeoJSON -t_srs EPSG:4326 out.geojson in.shp"
            )
    return data["features"]


def _geometry(feature: Mapping[str, Any]) -> BaseGeometry:
    """The feature's polygon, or ValueError saying what is wrong with it."""
    raw = feature.get("geometry")
    if not isinstance(raw, Mapping):
        raise ValueError("no geometry")
    if raw.get("type") not in _POLYGONS:
        raise ValueError(f"geometry is a {raw.get('type')!r}, not a Polygon or MultiPolygon")
    try:
        geometry = shape(raw)
    except (
        GeometryTypeError,
        ShapelyError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
    ) as exc:
        raise ValueError(f"malformed coordinates: {exc}") from None
    if geometry.is_empty:
        raise ValueError("empty geometry")
    min_x, min_y, max_x, max_y = geometry.bounds
    if (
        not all(math.isfinite(v) for v in geometry.bounds)
        or min_x < -180
        or max_x > 180
        or min_y < -90
        or max_y > 90
    ):
        raise ValueError(
            "coordinates are not longitude/latitude (WGS 84); convert the file with ogr2ogr -t_srs EPSG:4326"
        )
    if not geometry.is_valid:
        raise ValueError(f"invalid polygon: {explain_validity(geometry)}")
    return geometry


def load_boundaries(spec: BoundarySpec, villages: Mapping[str, str]) -> Boundaries:
    """Reads and checks the boundary file against the tree's kelurahan/desa (code -> name).

    Raises ConfigError naming the file and every feature with a problem, and every overlap.
    """
    features = _read_collection(spec.file)
    problems: List[str] = []
    pieces: Dict[str, List[BaseGeometry]] = {}
    first_feature: Dict[str, int] = {}
    for index, feature in enumerate(features):
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            problems.append(f"{_feature_label(index, feature, None, villages)}: not a GeoJSON Feature")
            continue
        properties = feature.get("properties") or {}
        raw_code = properties.get(spec.code_property) if isinstance(properties, Mapping) else None
        if raw_code in (None, ""):
            problems.append(
                f"{_feature_label(index, feature, None, villages)}: no {spec.code_property!r} property "
                "(the kelurahan's Kemendagri code)"
            )
            continue
        code = wilayah.normalize_wilayah_code(str(raw_code).strip())
        label = _feature_label(index, feature, code, villages)
        if code not in villages:
            region = wilayah.get_wilayah(code) if code else None
            what = f"{region.path}" if region is not None else "not a Kemendagri code"
            problems.append(f"{label}: {raw_code!r} ({what}) is not a kelurahan/desa of the tree")
            continue
        try:
            geometry = _geometry(feature)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
            continue
        pieces.setdefault(code, []).append(geometry)
        first_feature.setdefault(code, index)

    shapes = {
        code: shapely.union_all(parts) if len(parts) > 1 else parts[0] for code, parts in pieces.items()
    }
    codes = sorted(shapes)
    geometries = [shapes[code] for code in codes]
    index = shapely.STRtree(geometries)
    for i, geometry in enumerate(geometries):
        for j in index.query(geometry, predicate="intersects"):
            j = int(j)
            if j <= i:
                continue
            overlap = _area_m2(geometry.intersection(geometries[j]))
            if overlap > spec.overlap_tolerance_m2:
                a, b = codes[i], codes[j]
                problems.append(
                    f"feature {first_feature[a]} ({a} {villages[a]}) and feature {first_feature[b]} ({b} {villages[b]}) "
                    f"overlap by {overlap:,.0f} m² (tolerance {spec.overlap_tolerance_m2:,.0f} m², "
                    "units.boundaries.overlap_tolerance_m2)"
                )
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"units.boundaries: {spec.file}: {len(problems)} problem(s):\n{listed}")
    return Boundaries(shapes, spec.file)
