"""The twin behind the gateway: twin_core's store and queries, adapted to `TwinPort`.

twin_core knows entities (devices and the entities they observe), their categories and data
subjects, and the observation history. The gateway adds one fact twin_core has no notion of:
which sensor operator provides an entity's data (the first to ingest it, or the one that
registered it by describing it on first ingest), the `provider` that organisation agreements
on chain name. Entity facts and latest states are cached for a
second: reads stay cheap under load, and a subject re-linked in the twin shows within a
second. Permission checks never use this cache; they read the chain's index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Column, MetaData, String, Table, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from web3 import Web3

from gateway.errors import IngestConflict, InvalidRequest, SubjectRequired
from gateway.twin import BBox, EntityRef, IngestItem, ObservationRow
from twin_core import TwinStore, devices, history, latest
from twin_core.categories import category as twin_category
from twin_core.ingest import Ingestor
from twin_core.model import Device, Observation

_META = MetaData()
_PROVIDER = Table(
    "gateway_twin_provider", _META,
    Column("device_id", String(256), primary_key=True),
    Column("provider", String(42), nullable=False, index=True),
)
_DEVICE = Device.__table__  # type: ignore[attr-defined]
T = TypeVar("T")


def _bbox(box: BBox | None) -> tuple[float, float, float, float] | None:
    return None if box is None else (box.lon_min, box.lat_min, box.lon_max, box.lat_max)


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


class TwinCoreStore:
    """`TwinPort` over a twin_core `TwinStore` (SQLite or PostgreSQL)."""

    def __init__(self, store: TwinStore, *, cache_ttl_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        _META.create_all(store.engine)
        self._ttl = cache_ttl_s
        self._clock = clock
        self._refs: dict[str, tuple[float, EntityRef | None]] = {}
        self._latest: dict[str, tuple[float, ObservationRow | None]] = {}
        self._ingestor = Ingestor(store)

    @classmethod
    def open(cls, url: str) -> TwinCoreStore:
        """Open (creating the twin's tables if missing) the store at a SQLAlchemy URL."""
        return cls(TwinStore.open(url))

    def describe(self) -> dict[str, Any]:
        return {"store": "twin_core", "dialect": self.store.dialect}

    # ------------------------------------------------------------------ cache

    def _cached(self, cache: dict[str, tuple[float, T]], key: str, load: Callable[[], T]) -> T:
        now = self._clock()
        hit = cache.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = load()
        if len(cache) > 100_000:
            cache.clear()
        cache[key] = (now, value)
        return value

    # ------------------------------------------------------------------ reads

    def _providers(self, device_ids: Sequence[str]) -> dict[str, str]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(_PROVIDER).where(_PROVIDER.c.device_id.in_(device_ids)))
            return {r.device_id: r.provider for r in rows}

    def _refs_of(self, found: Sequence[Device]) -> list[EntityRef]:
        providers = self._providers([d.id for d in found]) if found else {}
        return [
            EntityRef(
                id=d.observed_id, type=d.observed_type, category=d.category,
                subject=Web3.to_checksum_address(d.data_subject) if d.data_subject else None,
                provider=providers.get(d.id), lon=d.lon, lat=d.lat,
            )
            for d in found
        ]

    def entity(self, entity_id: str) -> EntityRef | None:
        def load() -> EntityRef | None:
            refs = self._refs_of(devices(self.store, entity_ids=[entity_id]))
            return refs[0] if refs else None

        return self._cached(self._refs, entity_id, load)

    def latest(self, entity_id: str) -> ObservationRow | None:
        def load() -> ObservationRow | None:
            found = latest(self.store, entity_ids=[entity_id])
            return _row(found[0]) if found else None

        return self._cached(self._latest, entity_id, load)

    def entities(self, *, category: str, bbox: BBox | None = None, subject: str | None = None,
                 provider: str | None = None, limit: int = 100) -> list[EntityRef]:
        found = devices(self.store, category=category, bbox=_bbox(bbox),
                        subjects=[subject] if subject else None)
        refs = self._refs_of(found)
        if provider is not None:
            refs = [r for r in refs if r.provider == provider]
        return refs[:limit]

    def observations(self, *, category: str, start: int, end: int, entity_id: str | None = None,
                     bbox: BBox | None = None, subject: str | None = None,
                     provider: str | None = None, limit: int = 1000) -> list[ObservationRow]:
        entity_ids = [entity_id] if entity_id is not None else None
        if provider is not None:  # twin_core does not know providers: narrow by entity ids
            mine = {r.id for r in self.entities(category=category, bbox=bbox, subject=subject,
                                                provider=provider, limit=1_000_000)}
            entity_ids = sorted(mine if entity_ids is None else mine.intersection(entity_ids))
            if not entity_ids:
                return []
        found = history(
            self.store, start=datetime.fromtimestamp(start, UTC),
            end=datetime.fromtimestamp(end, UTC), category=category, entity_ids=entity_ids,
            bbox=_bbox(bbox), subjects=[subject] if subject else None, limit=limit,
        )
        return [_row(o) for o in found]

    # ------------------------------------------------------------------ ingest

    def ingest(self, provider: str, items: Sequence[IngestItem]) -> int:
        """All or nothing: twin_core validates values, units and times; the gateway checks
        the provider and registers entities that sensor operators describe on first ingest."""
        known: dict[str, Device] = {}
        for entity_id in {i.entity_id for i in items}:
            found = devices(self.store, entity_ids=[entity_id])
            if found:
                known[entity_id] = found[0]
        owners = self._providers([d.id for d in known.values()])
        new: dict[str, IngestItem] = {}
        for item in items:
            device = known.get(item.entity_id)
            if device is None:
                if item.describes_entity and item.entity_id not in new:
                    new[item.entity_id] = item
                continue  # otherwise twin_core names it: unknown_entity
            _check_known(device, owners.get(device.id), provider, item)
        registered = self._register(provider, list(new.values())) if new else []
        try:
            if registered:
                self._ingestor.refresh()
            report = self._ingestor.ingest([
                Observation(i.entity_id, datetime.fromtimestamp(i.observed_at, UTC),
                            dict(i.values), units=dict(i.units) if i.units else None)
                for i in items
            ], atomic=True)
            report.raise_for_rejections()
        except Exception:
            self._unregister(registered)  # all or nothing, registrations included
            raise
        claims = [{"device_id": d.id, "provider": provider}
                  for d in known.values() if d.id not in owners]
        if claims:  # first ingest wins; a racing one is refused on its next request
            dialect_insert = pg_insert if self.store.dialect == "postgresql" else sqlite_insert
            with self.store.engine.begin() as conn:
                conn.execute(dialect_insert(_PROVIDER).on_conflict_do_nothing(), claims)
        for entity_id in {i.entity_id for i in items}:
            self._refs.pop(entity_id, None)
            self._latest.pop(entity_id, None)
        return report.written

    def _register(self, provider: str, items: list[IngestItem]) -> list[str]:
        """Add the described entities as devices of `provider`; returns their device ids."""
        rows = []
        for item in items:
            spec = twin_category(str(item.category))  # UnknownCategory (422) if unknown
            if item.entity_type != spec.entity_type:
                raise InvalidRequest(f"{spec.name} is carried by {spec.entity_type} entities",
                                     entity=item.entity_id)
            if spec.personal and item.subject is None:
                raise SubjectRequired(entity=item.entity_id)
            if not spec.personal and item.subject is not None:
                raise InvalidRequest("only personal categories have a data subject",
                                     entity=item.entity_id)
            rows.append({
                "id": "urn:ngsi-ld:Device:" + item.entity_id.removeprefix("urn:ngsi-ld:"),
                "name": item.entity_id.rsplit(":", 1)[-1], "category": spec.name,
                "observed_id": item.entity_id, "observed_type": spec.entity_type,
                "lon": item.lon, "lat": item.lat,
                "data_subject": item.subject.lower() if item.subject else None,
            })
        with self.store.engine.begin() as conn:
            top = conn.execute(select(func.max(_DEVICE.c.pk))).scalar()
            for offset, row in enumerate(rows, start=1):
                row["pk"] = int(top or 0) + offset
            conn.execute(insert(_DEVICE), rows)
            conn.execute(insert(_PROVIDER), [{"device_id": r["id"], "provider": provider}
                                             for r in rows])
        return [r["id"] for r in rows]

    def _unregister(self, device_ids: list[str]) -> None:
        if device_ids:
            with self.store.engine.begin() as conn:
                conn.execute(delete(_PROVIDER).where(_PROVIDER.c.device_id.in_(device_ids)))
                conn.execute(delete(_DEVICE).where(_DEVICE.c.id.in_(device_ids)))
            self._ingestor.refresh()


def _check_known(device: Device, owner: str | None, provider: str, item: IngestItem) -> None:
    """An item for an entity the twin knows must agree with it."""
    if owner is not None and owner != provider:
        raise IngestConflict("The entity's data comes from another provider.",
                             entity=item.entity_id)
    if item.category is not None and item.category != device.category:
        raise IngestConflict("The entity holds another data category.",
                             entity=item.entity_id, category=device.category)
    if item.subject is not None and item.subject.lower() != (device.data_subject or ""):
        raise IngestConflict("The entity belongs to another data subject.",
                             entity=item.entity_id)


def _row(observation: Observation) -> ObservationRow:
    return ObservationRow(observation.entity_id, _epoch(observation.observed_at),
                          {k: float(v) for k, v in observation.values.items()})
