"""The twin's static entities as SQLModel tables.

Types follow the FIWARE Smart Data Models where one exists (RoadSegment, Device, Building,
Vehicle, Alert); where none does (districts, junctions, substations, feeders, depots,
shelters) the type keeps a plain name and the NGSI-LD serialisation marks it as a qcity
extension through the @context. Ids are NGSI-LD URNs. Coordinates are WGS84 lon/lat.

All tables share one SQLAlchemy registry of their own, so creating the twin's schema never
touches tables that other packages declare on SQLModel's default metadata.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

TWIN_REGISTRY = registry()


class TwinTable(SQLModel, registry=TWIN_REGISTRY):
    """Base of every twin table (own metadata, see the module docstring)."""


class CityMeta(TwinTable, table=True):
    """One row: what the city is and how its synthetic parts (terrain) were made."""

    __tablename__ = "city_meta"

    id: int = Field(default=1, primary_key=True)
    name: str
    seed: int
    origin_lon: float
    origin_lat: float
    width_m: float
    height_m: float
    block_m: float
    wind_u_mps: float = 1.6
    wind_v_mps: float = 0.6


class District(TwinTable, table=True):
    """An administrative district: the unit for exposure KPIs and spatial queries."""

    __tablename__ = "district"

    id: str = Field(primary_key=True)
    name: str
    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float
    population: int


class Junction(TwinTable, table=True):
    """A road node: a signalised intersection or a boundary node where traffic enters/leaves.

    Turn shares and the current signal timing live here because they are properties of the
    intersection that both the macroscopic model and the SUMO export read.
    """

    __tablename__ = "junction"

    id: str = Field(primary_key=True)
    name: str
    lon: float
    lat: float
    signalised: bool
    district_id: str | None = Field(default=None, foreign_key="district.id", index=True)
    turn_left: float = 0.1
    turn_straight: float = 0.8
    turn_right: float = 0.1
    cycle_s: float = 60.0
    ns_green_share: float = 0.5
    offset_s: float = 0.0


class RoadSegment(TwinTable, table=True):
    """A directed road link between two junctions (FIWARE RoadSegment)."""

    __tablename__ = "road_segment"

    id: str = Field(primary_key=True)
    name: str
    start_id: str = Field(foreign_key="junction.id", index=True)
    end_id: str = Field(foreign_key="junction.id", index=True)
    lon0: float
    lat0: float
    lon1: float
    lat1: float
    heading: str  # N, E, S or W: the direction of travel on a grid street
    length_m: float
    lanes: int
    max_speed_kmh: float
    arterial: bool
    district_id: str | None = Field(default=None, foreign_key="district.id")


class Device(TwinTable, table=True):
    """A sensor (FIWARE Device) and the observed entity it feeds.

    The category and the data subject live here, not on each observation row: a device's
    category never changes, and re-linking a subject to a real address is one update.
    The integer `pk` is what observation rows reference, for compact and fast indexes.
    """

    __tablename__ = "device"
    __table_args__ = (Index("ix_device_lat_lon", "lat", "lon"),)

    pk: int | None = Field(default=None, primary_key=True,
                           sa_column_kwargs={"autoincrement": False})
    id: str = Field(unique=True, index=True)
    name: str
    category: str = Field(index=True)
    observed_id: str = Field(unique=True, index=True)
    observed_type: str
    lon: float
    lat: float
    district_id: str | None = Field(default=None, foreign_key="district.id", index=True)
    ref_asset: str | None = None  # road segment, building or feeder the device measures
    data_subject: str | None = Field(default=None, index=True)


class Substation(TwinTable, table=True):
    """A secondary substation: an MV/LV transformer feeding several LV feeders."""

    __tablename__ = "substation"

    id: str = Field(primary_key=True)
    name: str
    lon: float
    lat: float
    transformer_kva: float
    district_id: str | None = Field(default=None, foreign_key="district.id")


class Feeder(TwinTable, table=True):
    """A radial LV feeder: a cable in `sections` equal pieces with households along it."""

    __tablename__ = "feeder"

    id: str = Field(primary_key=True)
    name: str
    substation_id: str = Field(foreign_key="substation.id", index=True)
    lon: float
    lat: float
    cable_type: str
    length_m: float
    sections: int
    import_limit_kw: float


class Building(TwinTable, table=True):
    """A household's building (FIWARE Building, category residential) with its DER."""

    __tablename__ = "building"

    id: str = Field(primary_key=True)
    name: str
    lon: float
    lat: float
    district_id: str | None = Field(default=None, foreign_key="district.id", index=True)
    feeder_id: str = Field(foreign_key="feeder.id", index=True)
    section: int  # 1..feeder.sections: where along the feeder the household connects
    occupants: int
    base_load_kw: float
    pv_kw: float = 0.0
    battery_kwh: float = 0.0
    battery_kw: float = 0.0
    flexible_kw: float = 0.0  # a shiftable load (EV charger, heat pump) the DSO may switch


class Depot(TwinTable, table=True):
    """An emergency depot (fire station, ambulance station) that vehicles leave from."""

    __tablename__ = "depot"

    id: str = Field(primary_key=True)
    name: str
    lon: float
    lat: float
    kind: str


class Vehicle(TwinTable, table=True):
    """An emergency vehicle (FIWARE Vehicle) stationed at a depot."""

    __tablename__ = "vehicle"

    id: str = Field(primary_key=True)
    name: str
    depot_id: str = Field(foreign_key="depot.id", index=True)
    vehicle_type: str
    capacity_people: int


class Shelter(TwinTable, table=True):
    """An evacuation shelter with a capacity in people."""

    __tablename__ = "shelter"

    id: str = Field(primary_key=True)
    name: str
    lon: float
    lat: float
    capacity: int


class Alert(TwinTable, table=True):
    """An incident (FIWARE Alert): where, how severe, and for floods the inflow that drives it."""

    __tablename__ = "alert"

    id: str = Field(primary_key=True)
    name: str
    category: str  # FIWARE Alert category, e.g. "weather"
    sub_category: str  # "flood" or "fire"
    severity: int  # 1 informational .. 5 critical
    lon: float
    lat: float
    date_issued: int = Field(sa_column=Column(BigInteger, nullable=False))  # epoch seconds UTC
    inflow_m3s: float = 0.0
    duration_s: float = 0.0


STATIC_TABLES: tuple[type[TwinTable], ...] = (
    CityMeta, District, Junction, RoadSegment, Device, Substation, Feeder, Building,
    Depot, Vehicle, Shelter, Alert,
)
