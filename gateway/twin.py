"""What the gateway needs from the twin: an interface, so the store behind it can change.

`TwinPort` is implemented by gateway.twin_store.TwinCoreStore over twin_core's store and
queries; another store can stand in behind the same interface (tests, a remote twin). Every
route reaches it only after the permission dependency has allowed the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class EntityRef:
    """An observed entity and the facts a permission check needs about it."""

    id: str
    type: str
    category: str
    subject: str | None
    provider: str | None
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class BBox:
    """A WGS84 bounding box."""

    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float

    def contains(self, lon: float, lat: float) -> bool:
        return self.lon_min <= lon <= self.lon_max and self.lat_min <= lat <= self.lat_max


@dataclass(frozen=True, slots=True)
class ObservationRow:
    """One observation of one entity."""

    entity_id: str
    observed_at: int
    values: dict[str, float]


@dataclass(frozen=True, slots=True)
class IngestItem:
    """One observation as a sensor operator sends it.

    For an entity the twin knows, `category` and `subject` (when given) must match it. An
    entity it does not know yet is registered on first ingest when the item describes it
    (`entity_type`, `category`, `lon`, `lat`, and `subject` for a personal category).
    """

    entity_id: str
    observed_at: int
    values: dict[str, float]
    units: dict[str, str] | None = None
    category: str | None = None
    entity_type: str | None = None
    lon: float | None = None
    lat: float | None = None
    subject: str | None = None

    @property
    def describes_entity(self) -> bool:
        return None not in (self.entity_type, self.category, self.lon, self.lat)


class TwinPort(Protocol):
    """The twin as the gateway's routes see it."""

    def entity(self, entity_id: str) -> EntityRef | None:
        """One entity, or None."""
        ...

    def latest(self, entity_id: str) -> ObservationRow | None:
        """The entity's latest observation."""
        ...

    def entities(
        self, *, category: str, bbox: BBox | None = None, subject: str | None = None,
        provider: str | None = None, limit: int = 100,
    ) -> list[EntityRef]:
        """Entities of a category, optionally inside a box, of a subject or a provider."""
        ...

    def observations(
        self, *, category: str, start: int, end: int, entity_id: str | None = None,
        bbox: BBox | None = None, subject: str | None = None, provider: str | None = None,
        limit: int = 1000,
    ) -> list[ObservationRow]:
        """Observations of a category in [start, end), narrowed like `entities`."""
        ...

    def ingest(self, provider: str, items: Sequence[IngestItem]) -> int:
        """Store observations from `provider`; returns how many were new."""
        ...

    def describe(self) -> dict[str, Any]:
        """What backs this twin (for /health)."""
        ...
