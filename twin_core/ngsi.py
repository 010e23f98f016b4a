"""NGSI-LD normalized JSON for every twin entity and observation, both ways.

Each entity class has a declarative spec (attribute name, kind, field, unit), and two
generic functions walk it; so adding a field is one line and the round trip cannot drift.
Observations serialise as the observed entity's current state (attributes with
`observedAt`) or in the temporal representation (arrays of instances), as the NGSI-LD
temporal API returns them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twin_core.categories import CATEGORIES
from twin_core.categories import category as get_category
from twin_core.errors import NgsiFormatError
from twin_core.model.city import City
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
from twin_core.model.observations import Observation

NGSI_CONTEXT: tuple[str, ...] = (
    "https://smartdatamodels.org/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
)
_SEVERITY = ("informational", "low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Prop:
    """A Property backed by one field; `unit` is its UN/CEFACT unitCode."""

    attr: str
    field: str
    unit: str | None = None
    datetime: bool = False


@dataclass(frozen=True, slots=True)
class Rel:
    """A Relationship whose object is the URN held in `field` (omitted when None)."""

    attr: str
    field: str


@dataclass(frozen=True, slots=True)
class Geo:
    """The `location` GeoProperty: a Point, a LineString or a bounding-box Polygon."""

    shape: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Const:
    """A Property with a fixed value the type implies (FIWARE's `category` of a Building)."""

    attr: str
    value: Any


_P_LON_LAT = Geo("Point", ("lon", "lat"))
SPECS: dict[type[TwinTable], tuple[str, tuple[Prop | Rel | Geo | Const, ...]]] = {
    District: ("District", (
        Prop("name", "name"), Geo("Polygon", ("lon_min", "lat_min", "lon_max", "lat_max")),
        Prop("population", "population"))),
    Junction: ("Junction", (
        Prop("name", "name"), _P_LON_LAT, Prop("signalised", "signalised"),
        Rel("refDistrict", "district_id"), Prop("turnLeft", "turn_left"),
        Prop("turnStraight", "turn_straight"), Prop("turnRight", "turn_right"),
        Prop("cycleTime", "cycle_s", "SEC"), Prop("nsGreenShare", "ns_green_share"),
        Prop("offset", "offset_s", "SEC"))),
    RoadSegment: ("RoadSegment", (
        Prop("name", "name"), Rel("refStartJunction", "start_id"),
        Rel("refEndJunction", "end_id"), Geo("LineString", ("lon0", "lat0", "lon1", "lat1")),
        Prop("heading", "heading"), Prop("length", "length_m", "MTR"),
        Prop("totalLaneNumber", "lanes"), Prop("maximumAllowedSpeed", "max_speed_kmh", "KMH"),
        Prop("arterial", "arterial"), Rel("refDistrict", "district_id"))),
    Device: ("Device", (
        Prop("name", "name"), Const("category", ["sensor"]), Prop("dataCategory", "category"),
        Rel("refObservedEntity", "observed_id"), Prop("observedType", "observed_type"),
        _P_LON_LAT, Rel("refDistrict", "district_id"), Rel("controlledAsset", "ref_asset"),
        Prop("dataSubject", "data_subject"))),
    Substation: ("Substation", (
        Prop("name", "name"), _P_LON_LAT, Prop("transformerPower", "transformer_kva", "KVA"),
        Rel("refDistrict", "district_id"))),
    Feeder: ("Feeder", (
        Prop("name", "name"), Rel("refSubstation", "substation_id"), _P_LON_LAT,
        Prop("cableType", "cable_type"), Prop("length", "length_m", "MTR"),
        Prop("sections", "sections"), Prop("importLimit", "import_limit_kw", "KWT"))),
    Building: ("Building", (
        Prop("name", "name"), Const("category", ["residential"]), _P_LON_LAT,
        Rel("refDistrict", "district_id"), Rel("refFeeder", "feeder_id"),
        Prop("feederSection", "section"), Prop("occupants", "occupants"),
        Prop("baseLoad", "base_load_kw", "KWT"), Prop("pvPower", "pv_kw", "KWT"),
        Prop("batteryCapacity", "battery_kwh", "KWH"), Prop("batteryPower", "battery_kw", "KWT"),
        Prop("flexibleLoad", "flexible_kw", "KWT"))),
    Depot: ("Depot", (Prop("name", "name"), _P_LON_LAT, Prop("depotKind", "kind"))),
    Vehicle: ("Vehicle", (
        Prop("name", "name"), Const("category", ["municipalServices"]),
        Prop("vehicleType", "vehicle_type"), Rel("refDepot", "depot_id"),
        Prop("capacity", "capacity_people"))),
    Shelter: ("Shelter", (Prop("name", "name"), _P_LON_LAT, Prop("capacity", "capacity"))),
    Alert: ("Alert", (
        Prop("name", "name"), Prop("category", "category"),
        Prop("subCategory", "sub_category"), Prop("severity", "severity"), _P_LON_LAT,
        Prop("dateIssued", "date_issued", datetime=True),
        Prop("inflow", "inflow_m3s", "MQS"), Prop("duration", "duration_s", "SEC"))),
}
_CLASS_BY_TYPE = {ngsi_type: cls for cls, (ngsi_type, _) in SPECS.items()}


def iso(ts: datetime | int) -> str:
    """ISO 8601 UTC with a Z, the form NGSI-LD brokers emit."""
    if isinstance(ts, int):
        ts = datetime.fromtimestamp(ts, tz=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> datetime:
    """An NGSI-LD DateTime (plain string or {"@type": "DateTime", "@value": ...})."""
    if isinstance(value, Mapping):
        value = value.get("@value")
    if not isinstance(value, str):
        raise NgsiFormatError(f"not a DateTime: {value!r}")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError as exc:
        raise NgsiFormatError(f"not an ISO 8601 time: {value!r}") from exc
    if ts.tzinfo is None:
        raise NgsiFormatError(f"time without a zone: {value!r}")
    return ts


def _datetime_value(ts: datetime | int) -> dict[str, str]:
    return {"@type": "DateTime", "@value": iso(ts)}


def _geometry(shape: str, values: Sequence[float]) -> dict[str, Any]:
    if shape == "Point":
        return {"type": "Point", "coordinates": [values[0], values[1]]}
    if shape == "LineString":
        return {"type": "LineString", "coordinates": [[values[0], values[1]],
                                                       [values[2], values[3]]]}
    x0, y0, x1, y1 = values
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _from_geometry(shape: str, geometry: Mapping[str, Any]) -> list[float]:
    if geometry.get("type") != shape:
        raise NgsiFormatError(f"expected a {shape}, got {geometry.get('type')!r}")
    coords = geometry["coordinates"]
    if shape == "Point":
        return [float(coords[0]), float(coords[1])]
    if shape == "LineString":
        return [float(coords[0][0]), float(coords[0][1]),
                float(coords[-1][0]), float(coords[-1][1])]
    ring = coords[0]
    xs = [float(p[0]) for p in ring]
    ys = [float(p[1]) for p in ring]
    return [min(xs), min(ys), max(xs), max(ys)]


def to_ngsi(entity: TwinTable, *, context: bool = True) -> dict[str, Any]:
    """One static entity as NGSI-LD normalized JSON."""
    try:
        ngsi_type, spec = SPECS[type(entity)]
    except KeyError:
        raise NgsiFormatError(f"{type(entity).__name__} has no NGSI-LD form") from None
    doc: dict[str, Any] = {"id": entity.id, "type": ngsi_type}  # type: ignore[attr-defined]
    for item in spec:
        if isinstance(item, Geo):
            values = [getattr(entity, f) for f in item.fields]
            doc["location"] = {"type": "GeoProperty", "value": _geometry(item.shape, values)}
        elif isinstance(item, Const):
            doc[item.attr] = {"type": "Property", "value": item.value}
        elif isinstance(item, Rel):
            target = getattr(entity, item.field)
            if target is not None:
                doc[item.attr] = {"type": "Relationship", "object": target}
        else:
            value = getattr(entity, item.field)
            if value is None:
                continue
            if item.datetime:
                value = _datetime_value(value)
            elif ngsi_type == "Alert" and item.attr == "severity":
                value = _SEVERITY[int(value) - 1]
            prop: dict[str, Any] = {"type": "Property", "value": value}
            if item.unit:
                prop["unitCode"] = item.unit
            doc[item.attr] = prop
    if context:
        doc["@context"] = list(NGSI_CONTEXT)
    return doc


def from_ngsi(doc: Mapping[str, Any]) -> TwinTable:
    """The static entity an NGSI-LD normalized document describes."""
    try:
        cls = _CLASS_BY_TYPE[doc["type"]]
        fields: dict[str, Any] = {"id": doc["id"]}
    except KeyError as exc:
        raise NgsiFormatError(f"not a twin entity: missing or unknown {exc}") from None
    _, spec = SPECS[cls]
    for item in spec:
        if isinstance(item, Const):
            continue
        if isinstance(item, Geo):
            if "location" not in doc:
                raise NgsiFormatError(f"{doc['id']}: no location")
            values = _from_geometry(item.shape, doc["location"]["value"])
            fields.update(zip(item.fields, values, strict=True))
            continue
        attr = doc.get(item.attr)
        if attr is None:
            continue
        if isinstance(item, Rel):
            fields[item.field] = attr["object"]
        elif item.datetime:
            fields[item.field] = int(parse_time(attr["value"]).timestamp())
        elif cls is Alert and item.attr == "severity":
            fields[item.field] = _SEVERITY.index(attr["value"]) + 1
        else:
            fields[item.field] = attr["value"]
    return cls.model_validate(fields)


def observation_to_ngsi(obs: Observation, device: Device, *, context: bool = True) -> dict:
    """An observation as the observed entity's current state (attributes with observedAt)."""
    cat = get_category(device.category)
    when = iso(obs.observed_at)
    doc: dict[str, Any] = {
        "id": device.observed_id,
        "type": device.observed_type,
        "dateObserved": {"type": "Property", "value": _datetime_value(obs.observed_at)},
        "location": {"type": "GeoProperty",
                     "value": _geometry("Point", [device.lon, device.lat])},
        "refDevice": {"type": "Relationship", "object": device.id},
        "dataCategory": {"type": "Property", "value": device.category},
    }
    for spec in cat.attributes:
        if spec.name in obs.values and obs.values[spec.name] is not None:
            doc[spec.name] = {"type": "Property", "value": obs.values[spec.name],
                              "unitCode": spec.unit_code, "observedAt": when}
    if device.ref_asset and device.observed_type == "TrafficFlowObserved":
        doc["refRoadSegment"] = {"type": "Relationship", "object": device.ref_asset}
    if device.data_subject:
        doc["dataSubject"] = {"type": "Property", "value": device.data_subject}
    if context:
        doc["@context"] = list(NGSI_CONTEXT)
    return doc


_NOT_MEASURED = {"id", "type", "@context", "dateObserved", "location", "refDevice",
                 "dataCategory", "refRoadSegment", "dataSubject"}


_MEASURED = frozenset(a.name for c in CATEGORIES.values() for a in c.attributes)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def observation_from_ngsi(doc: Mapping[str, Any]) -> Observation:
    """The observation in an NGSI-LD entity (a broker notification), units kept for ingest.

    Properties that some category measures, and any other numeric ones, are carried over
    for ingest to check; other descriptive Properties (laneDirection, address) are metadata.
    """
    try:
        entity_id = doc["id"]
    except KeyError:
        raise NgsiFormatError("entity without an id") from None
    values: dict[str, Any] = {}
    units: dict[str, str] = {}
    when: datetime | None = None
    for name, attr in doc.items():
        if name in _NOT_MEASURED or not isinstance(attr, Mapping):
            continue
        if attr.get("type") != "Property":
            continue
        value = attr.get("value")
        if name not in _MEASURED and not _is_number(value):
            continue  # descriptive metadata (laneDirection, address, ...), not a measurement
        values[name] = value
        if "unitCode" in attr:
            units[name] = attr["unitCode"]
        if when is None and "observedAt" in attr:
            when = parse_time(attr["observedAt"])
    if "dateObserved" in doc:
        when = parse_time(doc["dateObserved"]["value"])
    if when is None:
        raise NgsiFormatError(f"{entity_id}: no dateObserved or observedAt")
    category = doc.get("dataCategory", {}).get("value")
    return Observation(entity_id=entity_id, observed_at=when, values=values,
                       units=units or None, category=category,
                       entity_type=doc.get("type"))


def temporal_to_ngsi(device: Device, observations: Iterable[Observation], *,
                     context: bool = True) -> dict[str, Any]:
    """A device's history in the NGSI-LD temporal representation (normalized)."""
    cat = get_category(device.category)
    doc: dict[str, Any] = {"id": device.observed_id, "type": device.observed_type,
                           "refDevice": {"type": "Relationship", "object": device.id},
                           "dataCategory": {"type": "Property", "value": device.category}}
    instances: dict[str, list[dict[str, Any]]] = {a.name: [] for a in cat.attributes}
    for obs in observations:
        when = iso(obs.observed_at)
        for spec in cat.attributes:
            value = obs.values.get(spec.name)
            if value is not None:
                instances[spec.name].append({"type": "Property", "value": value,
                                             "unitCode": spec.unit_code, "observedAt": when})
    doc.update({name: items for name, items in instances.items() if items})
    if device.data_subject:
        doc["dataSubject"] = {"type": "Property", "value": device.data_subject}
    if context:
        doc["@context"] = list(NGSI_CONTEXT)
    return doc


def temporal_from_ngsi(doc: Mapping[str, Any]) -> list[Observation]:
    """Observations (one per instant) from a temporal representation, sorted by time."""
    cat_name = doc.get("dataCategory", {}).get("value")
    if cat_name is None:
        raise NgsiFormatError(f"{doc.get('id')}: no dataCategory")
    cat = get_category(cat_name)
    subject = doc.get("dataSubject", {}).get("value")
    device_id = doc.get("refDevice", {}).get("object")
    by_time: dict[datetime, dict[str, Any]] = {}
    for spec in cat.attributes:
        for inst in doc.get(spec.name, []):
            by_time.setdefault(parse_time(inst["observedAt"]), {})[spec.name] = inst["value"]
    return [Observation(entity_id=doc["id"], observed_at=when, values=values,
                        category=cat_name, entity_type=doc["type"], data_subject=subject,
                        device_id=device_id)
            for when, values in sorted(by_time.items())]


def city_to_ngsi(city: City, *, context: bool = True) -> list[dict[str, Any]]:
    """Every entity of the city as NGSI-LD normalized JSON, parents before children."""
    return [to_ngsi(e, context=context) for e in city.entities()]


def city_from_ngsi(docs: Iterable[Mapping[str, Any]], meta: CityMeta) -> City:
    """The city described by NGSI-LD documents (`meta` is not an NGSI-LD entity).

    Devices get their integer keys in document order, the order `city_to_ngsi` writes.
    """
    groups: dict[type, list[TwinTable]] = {cls: [] for cls in SPECS}
    for doc in docs:
        entity = from_ngsi(doc)
        groups[type(entity)].append(entity)
    devices = [d.model_copy(update={"pk": k + 1})  # type: ignore[union-attr]
               for k, d in enumerate(groups[Device])]
    return City(meta=meta, districts=tuple(groups[District]), junctions=tuple(groups[Junction]),
                road_segments=tuple(groups[RoadSegment]), devices=tuple(devices),
                substations=tuple(groups[Substation]), feeders=tuple(groups[Feeder]),
                buildings=tuple(groups[Building]), depots=tuple(groups[Depot]),
                vehicles=tuple(groups[Vehicle]), shelters=tuple(groups[Shelter]),
                alerts=tuple(groups[Alert]))
