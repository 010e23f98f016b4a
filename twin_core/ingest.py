"""Batch ingest: validate every item, write the valid ones in one transaction, report the rest.

Each item either lands, is recognised as an identical resubmission (idempotent on device and
time), or comes back as a Rejection with a stable code and a reason; nothing is dropped
without a word. With `atomic=True` a single rejection writes nothing. The bulk path is
executemany on SQLite and COPY into a staging table on PostgreSQL; resubmissions whose
values differ from what is stored are found by joining the batch against the table, and
only when the insert reports fewer new rows than it was given, so the fast path stays fast.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from twin_core._bulk import write_postgres, write_sqlite
from twin_core.categories import CATEGORIES, OBSERVATION_COLUMNS, AttributeSpec
from twin_core.errors import IngestRejected, NgsiFormatError
from twin_core.model import OBSERVATION_TABLES, Device, Observation
from twin_core.store import TwinStore

NOT_BEFORE = datetime(2000, 1, 1, tzinfo=UTC)


class RejectionCode(StrEnum):
    """Why an item was not written."""

    MALFORMED = "malformed"
    UNKNOWN_ENTITY = "unknown_entity"
    UNKNOWN_ATTRIBUTE = "unknown_attribute"
    MISSING_VALUE = "missing_value"
    NOT_A_NUMBER = "not_a_number"
    BAD_UNIT = "bad_unit"
    OUT_OF_RANGE = "out_of_range"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused item: its position in the batch, what it was, and why."""

    index: int
    entity_id: str | None
    observed_at: str | None
    code: RejectionCode
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """The outcome of one ingest call.

    When `committed`, every item is accounted for: received == written + duplicates +
    len(rejected). An atomic call that was refused commits nothing and lists why.
    """

    received: int
    written: int
    duplicates: int
    rejected: tuple[Rejection, ...]
    committed: bool

    @property
    def ok(self) -> bool:
        return not self.rejected

    def by_code(self) -> Counter[str]:
        return Counter(r.code.value for r in self.rejected)

    def raise_for_rejections(self) -> None:
        """IngestRejected (carrying the counts per code) when anything was refused."""
        if self.rejected:
            raise IngestRejected(f"{len(self.rejected)} of {self.received} items rejected",
                                 rejected=dict(self.by_code()), committed=self.committed)


@dataclass(frozen=True, slots=True)
class _Target:
    """What validation needs to know about a device, resolved once per ingestor."""

    pk: int
    table: str
    attrs: Mapping[str, tuple[int, AttributeSpec]]
    required: tuple[str, ...]
    width: int


class _RollbackError(Exception):
    """Internal: undo an atomic batch after conflicts were found."""


class Ingestor:
    """Validates and writes observations for one store; caches the device lookup."""

    def __init__(self, store: TwinStore, *, max_future: timedelta = timedelta(minutes=5),
                 not_before: datetime = NOT_BEFORE) -> None:
        self.store = store
        self.max_future = max_future
        self.not_before = int(not_before.timestamp())
        self.refresh()

    def refresh(self) -> None:
        """Re-read the devices (after entities were added to the store)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(Device.__table__)).mappings().all()  # type: ignore[attr-defined]
        targets: dict[str, _Target] = {}
        for r in rows:
            cat = CATEGORIES[r["category"]]
            columns = OBSERVATION_COLUMNS[cat.entity_type]
            attrs = {a.name: (columns.index(a.column), a) for a in cat.attributes}
            target = _Target(pk=r["pk"], table=OBSERVATION_TABLES[cat.entity_type].__tablename__,
                             attrs=attrs, width=len(columns),
                             required=tuple(a.name for a in cat.attributes if a.required))
            targets[r["id"]] = targets[r["observed_id"]] = target
        self._targets = targets

    # ------------------------------------------------------------------ validation
    def _validate(self, items: Iterable[Observation | Mapping[str, Any]], now: int,
                  ) -> tuple[dict[str, list[tuple]], dict[tuple[int, int], tuple[int, str]],
                             list[Rejection], int, int]:
        rows: dict[str, list[tuple]] = {}
        where: dict[tuple[int, int], tuple[int, str]] = {}
        seen: dict[tuple[int, int], tuple] = {}
        rejected: list[Rejection] = []
        horizon = now + int(self.max_future.total_seconds())
        targets = self._targets
        duplicates = received = 0

        for index, item in enumerate(items):
            received += 1
            if not isinstance(item, Observation):
                try:
                    item = _coerce(item)
                except (NgsiFormatError, KeyError, TypeError, ValueError) as exc:
                    rejected.append(Rejection(index, None, None, RejectionCode.MALFORMED,
                                              str(exc)))
                    continue
            target = targets.get(item.entity_id)
            problem: tuple[RejectionCode, str] | None = None
            if target is None:
                rejected.append(_rejection(index, item, RejectionCode.UNKNOWN_ENTITY,
                                           f"no device observes {item.entity_id}"))
                continue
            ts = item.observed_at
            t = 0
            if not isinstance(ts, datetime) or ts.tzinfo is None:
                problem = (RejectionCode.BAD_TIMESTAMP, "observedAt must be a time with a zone")
            else:
                t = int(ts.timestamp())
                if t > horizon:
                    problem = (RejectionCode.FUTURE_TIMESTAMP, "observedAt is in the future")
                elif t < self.not_before:
                    problem = (RejectionCode.STALE_TIMESTAMP, "observedAt is before 2000")
            if problem is not None:
                rejected.append(_rejection(index, item, *problem))
                continue
            row: list[Any] = [None] * target.width
            units = item.units
            for name, value in item.values.items():
                slot = target.attrs.get(name)
                if slot is None:
                    problem = (RejectionCode.UNKNOWN_ATTRIBUTE, f"{name} is not measured here")
                    break
                col, spec = slot
                if value is None:  # "not measured this time": leaves the column empty
                    continue
                if value.__class__ is not float:
                    if isinstance(value, bool) or not isinstance(value, int | float):
                        problem = (RejectionCode.NOT_A_NUMBER, f"{name}={value!r}")
                        break
                    value = float(value)
                if units and name in units and units[name] != spec.unit_code:
                    factor = spec.conversions.get(units[name])
                    if factor is None:
                        problem = (RejectionCode.BAD_UNIT, f"{name} in {units[name]!r}, "
                                   f"expected {spec.unit_code} ({spec.unit_label})")
                        break
                    value *= factor
                if not (spec.low <= value <= spec.high):
                    code = (RejectionCode.NOT_A_NUMBER if math.isnan(value)
                            else RejectionCode.OUT_OF_RANGE)
                    problem = (code, f"{name}={value} outside [{spec.low}, {spec.high}] "
                               f"{spec.unit_label}")
                    break
                row[col] = value
            if problem is None:
                for name in target.required:
                    if item.values.get(name) is None:
                        problem = (RejectionCode.MISSING_VALUE, f"{name} is required")
                        break
            if problem is not None:
                rejected.append(_rejection(index, item, *problem))
                continue
            key = (target.pk, t)
            record = (target.pk, t, *row)
            earlier = seen.get(key)
            if earlier is not None:
                if earlier == record:
                    duplicates += 1
                else:
                    rejected.append(_rejection(
                        index, item, RejectionCode.CONFLICTING_DUPLICATE,
                        "the batch holds this device and time twice with other values"))
                continue
            seen[key] = record
            where[key] = (index, item.entity_id)
            rows.setdefault(target.table, []).append(record)
        return rows, where, rejected, duplicates, received

    @staticmethod
    def _latest(batch: list[tuple]) -> list[tuple]:
        """The newest record per device in a batch (the current-state candidates)."""
        newest: dict[int, tuple] = {}
        for record in batch:
            have = newest.get(record[0])
            if have is None or record[1] > have[1]:
                newest[record[0]] = record
        return list(newest.values())

    # ------------------------------------------------------------------ writing
    def ingest(self, items: Iterable[Observation | Mapping[str, Any]], *, atomic: bool = False,
               now: datetime | None = None) -> IngestReport:
        """Validate and write `items` (Observations or NGSI-LD entities) in one transaction."""
        now_s = int((now or datetime.now(UTC)).timestamp())
        rows, where, rejected, duplicates, received = self._validate(items, now_s)
        if atomic and rejected:
            return IngestReport(received, 0, 0, tuple(rejected), committed=False)
        written = 0
        conflicts: list[tuple[int, int]] = []
        try:
            with self.store.engine.begin() as conn:
                raw = conn.connection.driver_connection
                for table, batch in rows.items():
                    latest = self._latest(batch)
                    if self.store.dialect == "postgresql":
                        n, bad = write_postgres(raw, table, batch, latest)
                    else:
                        n, bad = write_sqlite(raw, table, batch, latest)
                    written += n
                    conflicts.extend(bad)
                if atomic and conflicts:
                    raise _RollbackError
        except _RollbackError:
            written = 0
        for key in conflicts:
            index, entity_id = where[key]
            when = datetime.fromtimestamp(key[1], UTC).isoformat()
            rejected.append(Rejection(index, entity_id, when,
                                      RejectionCode.CONFLICTING_DUPLICATE,
                                      "already stored with other values; the first write wins"))
        valid = sum(len(b) for b in rows.values())
        committed = not (atomic and conflicts)
        duplicates += (valid - written - len(conflicts)) if committed else 0
        rejected.sort(key=lambda r: r.index)
        return IngestReport(received, written, duplicates, tuple(rejected), committed)


def _rejection(index: int, item: Observation, code: RejectionCode, reason: str) -> Rejection:
    when = item.observed_at
    shown = when.isoformat() if isinstance(when, datetime) else repr(when)
    return Rejection(index, item.entity_id, shown, code, reason)


def _coerce(item: Mapping[str, Any]) -> Observation:
    """An NGSI-LD entity, or a plain mapping with Observation's fields, as an Observation."""
    if "type" in item and "id" in item:
        from twin_core.ngsi import observation_from_ngsi

        return observation_from_ngsi(item)
    when = item["observed_at"]
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return Observation(entity_id=item["entity_id"], observed_at=when,
                       values=dict(item["values"]), units=item.get("units"))


def ingest(store: TwinStore, items: Iterable[Observation | Mapping[str, Any]], *,
           atomic: bool = False, now: datetime | None = None) -> IngestReport:
    """Validate and write observations into `store` (see the module docstring)."""
    if store._ingestor is None:
        store._ingestor = Ingestor(store)
    return store._ingestor.ingest(items, atomic=atomic, now=now)
