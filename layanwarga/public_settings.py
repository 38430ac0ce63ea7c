"""``publik`` in the institution configuration: what the public map and the Open311 API show
and accept (``instansi.yml``; every key optional).

- ``area_radius_km``: an Open311 POST's pin must fall within this distance of the institution's
  coordinates (``institution.latitude/longitude``); when the city's kelurahan boundaries are
  configured, the pin must instead fall inside one of them.
- ``recently_fixed_days``: how long a resolved complaint stays on the public map.
- ``map``: the tile server (``tile_url`` with ``{z}/{x}/{y}``, ``attribution``, ``max_zoom``) the
  public map draws on. Tiles are the only thing the page loads from elsewhere, so the page's
  content security policy admits this one origin; leave ``tile_url`` empty for a map of markers
  only (an intranet without a tile server).
- ``api``: Open311 requests per minute allowed per API key and per client address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from .config_values import ConfigError, whole_number

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = "&copy; kontributor OpenStreetMap"


@dataclass(frozen=True)
class PublicSettings:
    area_radius_km: int = 30
    recently_fixed_days: int = 30
    tile_url: str = DEFAULT_TILE_URL
    tile_attribution: str = DEFAULT_ATTRIBUTION
    max_zoom: int = 19
    requests_per_minute_per_key: int = 60
    requests_per_minute_per_ip: int = 120

    @property
    def tile_origin(self) -> Optional[str]:
        """``scheme://host[:port]`` of the tile server, for the page's content security policy."""
        if not self.tile_url:
            return None
        parts = urlsplit(self.tile_url)
        return f"{parts.scheme}://{parts.netloc}"


def _mapping(raw: Any, path: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping")
    return raw


def _known(raw: Mapping[str, Any], path: str, keys: tuple) -> None:
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown key (use {', '.join(keys)})")


def _number(raw: Mapping[str, Any], key: str, path: str, default: int, minimum: int = 1) -> int:
    return default if raw.get(key) is None else whole_number(raw, key, path, minimum=minimum)


def parse_public_settings(raw: Any, path: str = "publik") -> PublicSettings:
    section = _mapping(raw, path)
    _known(section, path, ("area_radius_km", "recently_fixed_days", "map", "api"))
    map_raw = _mapping(section.get("map"), f"{path}.map")
    _known(map_raw, f"{path}.map", ("tile_url", "attribution", "max_zoom"))
    api_raw = _mapping(section.get("api"), f"{path}.api")
    _known(api_raw, f"{path}.api", ("requests_per_minute_per_key", "requests_per_minute_per_ip"))
    defaults = PublicSettings()
    tile_url = map_raw.get("tile_url", defaults.tile_url)
    tile_url = "" if tile_url is None else str(tile_url).strip()
    if tile_url:
        parts = urlsplit(tile_url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or not all(p in tile_url for p in ("{z}", "{x}", "{y}"))
        ):
            raise ConfigError(
                f"{path}.map.tile_url: expected an http(s) URL with {{z}}, {{x}} and {{y}}, got {tile_url!r}"
            )
    return PublicSettings(
        area_radius_km=_number(section, "area_radius_km", path, defaults.area_radius_km),
        recently_fixed_days=_number(
            section, "recently_fixed_days", path, defaults.recently_fixed_days, minimum=0
        ),
        tile_url=tile_url,
        tile_attribution=str(map_raw.get("attribution") or defaults.tile_attribution),
        max_zoom=_number(map_raw, "max_zoom", f"{path}.map", defaults.max_zoom),
        requests_per_minute_per_key=_number(
            api_raw, "requests_per_minute_per_key", f"{path}.api", defaults.requests_per_minute_per_key
        ),
        requests_per_minute_per_ip=_number(
            api_raw, "requests_per_minute_per_ip", f"{path}.api", defaults.requests_per_minute_per_ip
        ),
    )
