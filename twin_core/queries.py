"""Reads: current state per entity, history over a time range, windowed aggregates, places.

Every read can be narrowed by category, entity ids, a bounding box, a district and (for
personal categories) the data subjects whose consent the caller holds; the gateway passes
exactly what its permission check allowed. All statements are SQLAlchemy Core over the
SQLModel tables, so SQLite and PostgreSQL answer the same query. Spatial filters run on the
(indexed) device table, time filters on the history key; current state is a key read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from twin_core.categories import CATEGORIES, OBSERVATION_COLUMNS
from twin_core.categories import category as get_category
from twin_core.errors import EntityNotFound
from twin_core.geo import BBox, normalise_address
from twin_core.model import (
    LATEST_TABLES,
    OBSERVATION_TABLES,
    STATIC_TABLES,
    Device,
    Observation,
    TwinTable,
    from_epoch,
    to_epoch,
)
from twin_core.store import TwinStore

_DEV = Device.__table__  # type: ignore[attr-defined]
Aggregate = Literal["mean", "min", "max", "sum", "count"]
_FUNCS = {"mean": func.avg, "min": func.min, "max": func.max, "sum": func.sum,
          "count": func.count}


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """Which devices a read covers; every field narrows, None means no restriction."""

    categories: Sequence[str] | None = None
    entity_ids: Sequence[str] | None = None
    bbox: BBox | None = None
    district: str | None = None
    subjects: Sequence[str] | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.categories is not None:
            out.append(_DEV.c.category.in_(list(self.categories)))
        if self.entity_ids is not None:
            ids = list(self.entity_ids)
            out.append(or_(_DEV.c.id.in_(ids), _DEV.c.observed_id.in_(ids)))
        if self.bbox is not None:
            lon0, lat0, lon1, lat1 = self.bbox
            out.append(and_(_DEV.c.lat.between(lat0, lat1), _DEV.c.lon.between(lon0, lon1)))
        if self.district is not None:
            out.append(_DEV.c.district_id == self.district)
        if self.subjects is not None:
            out.append(_DEV.c.data_subject.in_([normalise_address(s) for s in self.subjects]))
        return out

    def entity_types(self) -> list[str]:
        """Observation types that can hold matching rows (fewer tables to read)."""
        if self.categories is None:
            return list(OBSERVATION_TABLES)
        return sorted({get_category(c).entity_type for c in self.categories})


def _filter(category_: str | Sequence[str] | None, entity_ids: Sequence[str] | None,
            bbox: BBox | None, district: str | None, subjects: Sequence[str] | None,
            ) -> DeviceFilter:
    cats = [category_] if isinstance(category_, str) else category_
    if cats is not None:
        for name in cats:
            get_category(name)  # unknown names fail loudly, not as an empty answer
    return DeviceFilter(cats, entity_ids, bbox, district, subjects)


def _rows_to_observations(rows: Iterable[Any], entity_type: str) -> list[Observation]:
    """Rows of `_select` (device id, observed id, category, subject, time, values...)."""
    columns = OBSERVATION_COLUMNS[entity_type]
    slots = {name: [(a.name, 5 + columns.index(a.column)) for a in c.attributes]
             for name, c in CATEGORIES.items() if c.entity_type == entity_type}
    out = []
    for row in rows:
        device_id, observed_id, cat, subject, when = row[:5]
        values = {name: row[k] for name, k in slots[cat] if row[k] is not None}
        out.append(Observation(observed_id, datetime.fromtimestamp(when, UTC), values,
                               None, cat, entity_type, subject, device_id))
    return out


def _select(table: Any, entity_type: str, where: list[ColumnElement[bool]]) -> Select:
    cols = [table.c[c] for c in OBSERVATION_COLUMNS[entity_type]]
    return (select(_DEV.c.id, _DEV.c.observed_id, _DEV.c.category, _DEV.c.data_subject,
                   table.c.observed_at, *cols)
            .join(table, table.c.device_pk == _DEV.c.pk).where(*where))


def latest(store: TwinStore, *, category: str | Sequence[str] | None = None,
           entity_ids: Sequence[str] | None = None, bbox: BBox | None = None,
           district: str | None = None, subjects: Sequence[str] | None = None,
           ) -> list[Observation]:
    """The current state of every matching observed entity (one observation each)."""
    flt = _filter(category, entity_ids, bbox, district, subjects)
    out: list[Observation] = []
    with store.engine.connect() as conn:
        for etype in flt.entity_types():
            table = LATEST_TABLES[etype].__table__  # type: ignore[attr-defined]
            rows = conn.execute(_select(table, etype, flt.clauses()).order_by(_DEV.c.pk)).all()
            out.extend(_rows_to_observations(rows, etype))
    return out


def history(store: TwinStore, *, start: datetime, end: datetime,
            category: str | Sequence[str] | None = None,
            entity_ids: Sequence[str] | None = None, bbox: BBox | None = None,
            district: str | None = None, subjects: Sequence[str] | None = None,
            limit: int | None = None) -> list[Observation]:
    """Observations with start <= observedAt < end, in time order then device order."""
    flt = _filter(category, entity_ids, bbox, district, subjects)
    t0, t1 = to_epoch(start), to_epoch(end)
    out: list[Observation] = []
    with store.engine.connect() as conn:
        for etype in flt.entity_types():
            table = OBSERVATION_TABLES[etype].__table__  # type: ignore[attr-defined]
            where = [*flt.clauses(), table.c.observed_at >= t0, table.c.observed_at < t1]
            q = _select(table, etype, where).order_by(table.c.observed_at, _DEV.c.pk)
            if limit is not None:
                q = q.limit(limit)
            out.extend(_rows_to_observations(conn.execute(q).all(), etype))
    out.sort(key=lambda o: o.observed_at)
    return out[:limit] if limit is not None else out


@dataclass(frozen=True, slots=True)
class WindowAggregate:
    """One window's aggregate for one group (an entity, a district, or the whole city)."""

    window_start: datetime
    group: str
    value: float
    count: int


def aggregate(store: TwinStore, *, category: str, attribute: str, window: timedelta,
              start: datetime, end: datetime, how: Aggregate = "mean",
              by: Literal["entity", "district", "city"] = "entity",
              entity_ids: Sequence[str] | None = None, bbox: BBox | None = None,
              district: str | None = None, subjects: Sequence[str] | None = None,
              ) -> list[WindowAggregate]:
    """`how` of `attribute` per window of `window` length, per entity, district or city.

    Windows are aligned to the epoch (a one-hour window starts on the hour, UTC).
    """
    cat = get_category(category)
    spec = cat.attribute(attribute)
    flt = _filter(category, entity_ids, bbox, district, subjects)
    table = OBSERVATION_TABLES[cat.entity_type].__table__  # type: ignore[attr-defined]
    width = int(window.total_seconds())
    if width <= 0:
        raise ValueError("window must be positive")
    bucket = (table.c.observed_at - table.c.observed_at % width).label("bucket")
    group = {"entity": _DEV.c.observed_id, "district": _DEV.c.district_id,
             "city": None}[by]
    value = table.c[spec.column]
    agg = _FUNCS[how](value)
    cols = [bucket, agg.label("value"), func.count(value).label("n")]
    if group is not None:
        cols.insert(1, group.label("grp"))
    q = (select(*cols).select_from(_DEV.join(table, table.c.device_pk == _DEV.c.pk))
         .where(*flt.clauses(), table.c.observed_at >= to_epoch(start),
                table.c.observed_at < to_epoch(end), value.is_not(None))
         .group_by(*([bucket, group] if group is not None else [bucket]))
         .order_by(bucket, *([group] if group is not None else [])))
    with store.engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [WindowAggregate(from_epoch(r["bucket"]), r["grp"] if group is not None else "city",
                            float(r["value"]), int(r["n"])) for r in rows]


def devices(store: TwinStore, *, category: str | Sequence[str] | None = None,
            entity_ids: Sequence[str] | None = None, bbox: BBox | None = None,
            district: str | None = None, subjects: Sequence[str] | None = None,
            ) -> list[Device]:
    """Devices matching the filter, in key order."""
    flt = _filter(category, entity_ids, bbox, district, subjects)
    with store.engine.connect() as conn:
        rows = conn.execute(select(_DEV).where(*flt.clauses()).order_by(_DEV.c.pk)).mappings()
        return [Device.model_validate(dict(r)) for r in rows]


def get_entity(store: TwinStore, entity_id: str) -> TwinTable:
    """Any static entity by its URN (the type is read from the URN)."""
    parts = entity_id.split(":")
    kind = parts[2] if len(parts) > 3 and parts[:2] == ["urn", "ngsi-ld"] else None
    for cls in STATIC_TABLES:
        if cls.__name__ == kind:
            table = cls.__table__  # type: ignore[attr-defined]
            with store.engine.connect() as conn:
                row = conn.execute(select(table).where(table.c.id == entity_id)).mappings().first()
            if row is not None:
                return cls.model_validate(dict(row))
    raise EntityNotFound(f"no entity {entity_id}", entity_id=entity_id)


def latest_entities(store: TwinStore, **filters: Any) -> list[dict[str, Any]]:
    """`latest(store, **filters)` as NGSI-LD normalized entities, ready to serve."""
    from twin_core.ngsi import observation_to_ngsi

    current = latest(store, **filters)
    by_id = {d.id: d for d in devices(store, entity_ids=[o.device_id for o in current
                                                          if o.device_id])}
    return [observation_to_ngsi(o, by_id[o.device_id]) for o in current
            if o.device_id in by_id]
