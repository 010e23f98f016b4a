"""Coordinates: entities keep WGS84 lon/lat (as NGSI-LD GeoJSON wants), simulations work in metres.

A city is a few kilometres across, so an equirectangular projection around the city's
origin is accurate to well under a metre and, unlike a UTM library, needs nothing installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from twin_core.errors import InvalidAddress

EARTH_RADIUS_M = 6_371_008.8
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

BBox = tuple[float, float, float, float]
"""(lon_min, lat_min, lon_max, lat_max), the order GeoJSON and NGSI-LD use."""


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """Metres east/north of an origin, to and from lon/lat."""

    origin_lon: float
    origin_lat: float

    @property
    def _m_per_deg_lat(self) -> float:
        return EARTH_RADIUS_M * np.pi / 180.0

    @property
    def _m_per_deg_lon(self) -> float:
        return self._m_per_deg_lat * float(np.cos(np.radians(self.origin_lat)))

    def to_lonlat(self, x: np.ndarray | float, y: np.ndarray | float) -> tuple:
        """Metres east/north -> (lon, lat)."""
        lon = self.origin_lon + np.asarray(x, dtype=float) / self._m_per_deg_lon
        lat = self.origin_lat + np.asarray(y, dtype=float) / self._m_per_deg_lat
        return lon, lat

    def to_xy(self, lon: np.ndarray | float, lat: np.ndarray | float) -> tuple:
        """(lon, lat) -> metres east/north."""
        x = (np.asarray(lon, dtype=float) - self.origin_lon) * self._m_per_deg_lon
        y = (np.asarray(lat, dtype=float) - self.origin_lat) * self._m_per_deg_lat
        return x, y


def normalise_address(address: str) -> str:
    """Lower-case 0x address, or InvalidAddress; stored lower-case so comparisons are exact."""
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise InvalidAddress(f"not an Ethereum address: {address!r}", address=str(address))
    return address.lower()
