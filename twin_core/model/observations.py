"""Observations: per FIWARE observation type a history table and a current-state table.

This mirrors NGSI-LD: an observed entity has a current state (what a context broker
answers) and a temporal history. A history row is one instant of one device; the key
(time, device) makes ingest idempotent and, time first, lets rows that arrive in time order
append instead of touching one index page per device in every batch (on SQLite under WAL
that difference is 3x in ingest rate). Per-device history reads scan the time range, which
the key serves. The current-state tables are upserted in the same transaction as the
history, so "latest per entity" is a primary-key read. Time is integer epoch seconds UTC, so
both engines index and bucket it the same way. Device references are checked by ingest,
not by a foreign key: PostgreSQL's per-row FK trigger halves COPY throughput.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from sqlalchemy import BigInteger
from sqlmodel import Field

from twin_core.model.entities import TwinTable

_NO_ROWID = {"sqlite_with_rowid": False}


class _History(TwinTable):
    """Key of a history table: time first, so rows arriving in time order append."""

    observed_at: int = Field(sa_type=BigInteger, primary_key=True)
    device_pk: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})


class _Latest(TwinTable):
    """Key of a current-state table: one row per device."""

    device_pk: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    observed_at: int = Field(sa_type=BigInteger)


class _TrafficFlowValues(TwinTable):
    intensity: float | None = None
    occupancy: float | None = None
    average_vehicle_speed: float | None = None


class _AirQualityValues(TwinTable):
    no2: float | None = None
    pm10: float | None = None
    pm25: float | None = None


class _AcMeasurementValues(TwinTable):
    active_power: float | None = None
    reactive_power: float | None = None


class TrafficFlowObservedRow(_History, _TrafficFlowValues, table=True):
    """History of TrafficFlowObserved entities (category traffic.flow)."""

    __tablename__ = "traffic_flow_observed"
    __table_args__ = (_NO_ROWID,)


class AirQualityObservedRow(_History, _AirQualityValues, table=True):
    """History of AirQualityObserved entities (categories air.no2, air.pm)."""

    __tablename__ = "air_quality_observed"
    __table_args__ = (_NO_ROWID,)


class ThreePhaseAcMeasurementRow(_History, _AcMeasurementValues, table=True):
    """History of ThreePhaseAcMeasurement entities (household meters, feeder heads)."""

    __tablename__ = "three_phase_ac_measurement"
    __table_args__ = (_NO_ROWID,)


class TrafficFlowObservedLatest(_Latest, _TrafficFlowValues, table=True):
    """Current state of each TrafficFlowObserved entity."""

    __tablename__ = "traffic_flow_observed_latest"


class AirQualityObservedLatest(_Latest, _AirQualityValues, table=True):
    """Current state of each AirQualityObserved entity."""

    __tablename__ = "air_quality_observed_latest"


class ThreePhaseAcMeasurementLatest(_Latest, _AcMeasurementValues, table=True):
    """Current state of each ThreePhaseAcMeasurement entity."""

    __tablename__ = "three_phase_ac_measurement_latest"


OBSERVATION_TABLES: Mapping[str, type[TwinTable]] = MappingProxyType({
    "TrafficFlowObserved": TrafficFlowObservedRow,
    "AirQualityObserved": AirQualityObservedRow,
    "ThreePhaseAcMeasurement": ThreePhaseAcMeasurementRow,
})
LATEST_TABLES: Mapping[str, type[TwinTable]] = MappingProxyType({
    "TrafficFlowObserved": TrafficFlowObservedLatest,
    "AirQualityObserved": AirQualityObservedLatest,
    "ThreePhaseAcMeasurement": ThreePhaseAcMeasurementLatest,
})


@dataclass(frozen=True, slots=True)
class Observation:
    """One observation of an observed entity at one instant.

    `entity_id` is the observed entity's URN (`urn:ngsi-ld:TrafficFlowObserved:...`) or the
    device's URN; `values` use NGSI-LD attribute names; `units` (UN/CEFACT codes) are only
    needed when a value is not in the category's canonical unit. Reads fill `category`,
    `entity_type` and, for personal categories, `data_subject`.
    """

    entity_id: str
    observed_at: datetime
    values: Mapping[str, float]
    units: Mapping[str, str] | None = None
    category: str | None = None
    entity_type: str | None = None
    data_subject: str | None = None
    device_id: str | None = field(default=None, compare=False)


def to_epoch(ts: datetime) -> int:
    """Aware datetime -> integer epoch seconds (the stored time key)."""
    return int(ts.timestamp())


def from_epoch(seconds: int) -> datetime:
    """Stored time key -> aware UTC datetime."""
    return datetime.fromtimestamp(int(seconds), tz=UTC)
