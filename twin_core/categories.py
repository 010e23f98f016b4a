"""Data categories: what each kind of observation measures, in which unit, and whose it is.

A category is the unit of consent: the gateway asks "may this address read `air.no2` for
`dpv:PublicBenefit`?", and for a personal category it also asks the data subject. The twin
keeps, per category, the FIWARE entity type that carries it, the attributes with their
UN/CEFACT unit codes (as NGSI-LD `unitCode` expects) and plausible ranges that ingest
enforces. One registry here, so ingest, queries and NGSI-LD serialisation cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from twin_core.errors import UnknownCategory


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One measured attribute: NGSI-LD name, database column, unit and accepted range."""

    name: str
    column: str
    unit_code: str
    unit_label: str
    low: float
    high: float
    required: bool = True
    # Other unit codes accepted on ingest, with the factor that converts them to `unit_code`.
    conversions: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Category:
    """A dotted data category (`traffic.flow`) and the observations that carry it."""

    name: str
    entity_type: str
    attributes: tuple[AttributeSpec, ...]
    personal: bool
    description: str

    def attribute(self, name: str) -> AttributeSpec:
        """The attribute spec by its NGSI-LD name."""
        for spec in self.attributes:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no attribute {name!r}")

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes)


_UGM3 = {"GP": 1000.0}  # mg/m³ -> µg/m³
_KW = {"WTT": 1e-3, "MAW": 1e3}  # W, MW -> kW
_KVAR = {"D44": 1e-3}  # var -> kvar

TRAFFIC_FLOW = Category(
    name="traffic.flow",
    entity_type="TrafficFlowObserved",
    attributes=(
        # FIWARE counts vehicles per observation period; the twin keeps the rate (veh/h,
        # UN/CEFACT H10 "reciprocal hour") so that periods of any length compare.
        AttributeSpec("intensity", "intensity", "H10", "veh/h", 0.0, 10_000.0),
        AttributeSpec("occupancy", "occupancy", "C62", "fraction", 0.0, 1.0, required=False,
                      conversions={"P1": 0.01}),
        AttributeSpec("averageVehicleSpeed", "average_vehicle_speed", "KMH", "km/h", 0.0, 250.0,
                      required=False, conversions={"MTS": 3.6}),
    ),
    personal=False,
    description="Vehicle flow, occupancy and speed at a road detector.",
)
AIR_NO2 = Category(
    name="air.no2",
    entity_type="AirQualityObserved",
    attributes=(AttributeSpec("no2", "no2", "GQ", "µg/m³", 0.0, 5_000.0, conversions=_UGM3),),
    personal=False,
    description="Nitrogen dioxide concentration at an air-quality analyser.",
)
AIR_PM = Category(
    name="air.pm",
    entity_type="AirQualityObserved",
    attributes=(
        AttributeSpec("pm10", "pm10", "GQ", "µg/m³", 0.0, 5_000.0, conversions=_UGM3),
        AttributeSpec("pm25", "pm25", "GQ", "µg/m³", 0.0, 5_000.0, conversions=_UGM3),
    ),
    personal=False,
    description="Particulate matter (PM10, PM2.5) at an air-quality monitor.",
)
HOUSEHOLD_METER = Category(
    name="energy.household_meter",
    entity_type="ThreePhaseAcMeasurement",
    attributes=(
        # Net active power at the household connection: negative when solar exports.
        AttributeSpec("activePower", "active_power", "KWT", "kW", -100.0, 100.0,
                      conversions=_KW),
        AttributeSpec("reactivePower", "reactive_power", "KVR", "kvar", -100.0, 100.0,
                      required=False, conversions=_KVAR),
    ),
    personal=True,
    description="A household smart meter: personal data of the household's resident.",
)
FEEDER_LOAD = Category(
    name="energy.feeder_load",
    entity_type="ThreePhaseAcMeasurement",
    attributes=(
        AttributeSpec("activePower", "active_power", "KWT", "kW", -10_000.0, 10_000.0,
                      conversions=_KW),
        AttributeSpec("reactivePower", "reactive_power", "KVR", "kvar", -10_000.0, 10_000.0,
                      required=False, conversions=_KVAR),
    ),
    personal=False,
    description="Aggregate load measured at the head of a low-voltage feeder.",
)

CATEGORIES: Mapping[str, Category] = MappingProxyType(
    {c.name: c for c in (TRAFFIC_FLOW, AIR_NO2, AIR_PM, HOUSEHOLD_METER, FEEDER_LOAD)}
)

# Observation entity type -> the database columns its table holds, in table order.
OBSERVATION_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "TrafficFlowObserved": ("intensity", "occupancy", "average_vehicle_speed"),
    "AirQualityObserved": ("no2", "pm10", "pm25"),
    "ThreePhaseAcMeasurement": ("active_power", "reactive_power"),
})


def category(name: str) -> Category:
    """The category registered under `name`, or UnknownCategory."""
    try:
        return CATEGORIES[name]
    except KeyError:
        raise UnknownCategory(f"unknown data category {name!r}", category=name) from None


def personal_categories() -> tuple[str, ...]:
    """Names of the categories whose observations belong to a data subject."""
    return tuple(name for name, c in CATEGORIES.items() if c.personal)
