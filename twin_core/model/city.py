"""The city as one in-memory value: the static twin state that simulations start from.

The store loads it, the demo generator makes it, and every simulation's input builder
reads it, so a simulation never needs a database and a test never needs more than a
generator call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from twin_core.errors import EntityNotFound
from twin_core.geo import LocalFrame
from twin_core.model.entities import (
    Alert,
    Building,
    CityMeta,
    Depot,
    Device,
    District,
    Feeder,
    Junction,
    RoadSegment,
    Shelter,
    Substation,
    TwinTable,
    Vehicle,
)


@dataclass(frozen=True)
class City:
    """All static entities of one city, grouped by type (tuples in a stable order)."""

    meta: CityMeta
    districts: tuple[District, ...]
    junctions: tuple[Junction, ...]
    road_segments: tuple[RoadSegment, ...]
    devices: tuple[Device, ...]
    substations: tuple[Substation, ...]
    feeders: tuple[Feeder, ...]
    buildings: tuple[Building, ...]
    depots: tuple[Depot, ...]
    vehicles: tuple[Vehicle, ...]
    shelters: tuple[Shelter, ...]
    alerts: tuple[Alert, ...]

    def entities(self) -> Iterator[TwinTable]:
        """Every NGSI-LD entity of the city (not the meta row), parents before children."""
        for group in (self.districts, self.junctions, self.road_segments, self.substations,
                      self.feeders, self.buildings, self.devices, self.depots, self.vehicles,
                      self.shelters, self.alerts):
            yield from group

    @cached_property
    def frame(self) -> LocalFrame:
        """The metric frame simulations use (origin at the city's south-west corner)."""
        return LocalFrame(self.meta.origin_lon, self.meta.origin_lat)

    @cached_property
    def _by_id(self) -> dict[str, TwinTable]:
        return {e.id: e for e in self.entities()}  # type: ignore[attr-defined]

    def get(self, entity_id: str) -> TwinTable:
        """An entity by URN, or EntityNotFound."""
        try:
            return self._by_id[entity_id]
        except KeyError:
            raise EntityNotFound(f"no entity {entity_id}", entity_id=entity_id) from None

    @property
    def signalised(self) -> tuple[Junction, ...]:
        return tuple(j for j in self.junctions if j.signalised)

    def xy(self, entities: tuple | list) -> np.ndarray:
        """(n, 2) metres east/north of point entities (anything with lon/lat)."""
        if not entities:
            return np.zeros((0, 2))
        lon = np.array([e.lon for e in entities])
        lat = np.array([e.lat for e in entities])
        x, y = self.frame.to_xy(lon, lat)
        return np.column_stack([x, y])

    def district_of_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index into `districts` for each point (-1 outside every district)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        out = np.full(x.shape, -1, dtype=int)
        for k, d in enumerate(self.districts):
            x0, y0 = self.frame.to_xy(d.lon_min, d.lat_min)
            x1, y1 = self.frame.to_xy(d.lon_max, d.lat_max)
            inside = (x >= x0) & (x < x1) & (y >= y0) & (y < y1) & (out < 0)
            out[inside] = k
        return out
