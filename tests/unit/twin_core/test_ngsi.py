"""NGSI-LD normalized JSON: the demo city and its observations survive a round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from twin_core import (
    NgsiFormatError,
    city_from_ngsi,
    city_to_ngsi,
    from_ngsi,
    generate_observations,
    observation_from_ngsi,
    observation_to_ngsi,
    temporal_from_ngsi,
    temporal_to_ngsi,
    to_ngsi,
)


def test_demo_city_round_trips_through_ngsi_ld_json(tiny_city) -> None:
    docs = json.loads(json.dumps(city_to_ngsi(tiny_city)))
    back = city_from_ngsi(docs, tiny_city.meta)
    assert [e.model_dump() for e in back.entities()] == [
        e.model_dump() for e in tiny_city.entities()]
    assert len(docs) == sum(1 for _ in tiny_city.entities())


def test_entities_use_property_geoproperty_and_relationship(tiny_city) -> None:
    seg = to_ngsi(tiny_city.road_segments[0])
    assert seg["type"] == "RoadSegment"
    assert seg["location"]["type"] == "GeoProperty"
    assert seg["location"]["value"]["type"] == "LineString"
    assert seg["refStartJunction"] == {"type": "Relationship",
                                       "object": tiny_city.road_segments[0].start_id}
    assert seg["length"]["unitCode"] == "MTR"
    assert "@context" in seg
    alert = to_ngsi(tiny_city.alerts[0])
    assert alert["severity"]["value"] in {"medium", "high", "critical"}
    assert alert["dateIssued"]["value"]["@type"] == "DateTime"
    assert from_ngsi(alert).severity == tiny_city.alerts[0].severity


def test_observation_snapshot_carries_units_observed_at_and_category(tiny_city) -> None:
    device = next(d for d in tiny_city.devices if d.category == "energy.household_meter")
    obs = next(o for o in generate_observations(tiny_city) if o.entity_id == device.observed_id)
    doc = observation_to_ngsi(obs, device)
    assert doc["id"] == device.observed_id and doc["type"] == "ThreePhaseAcMeasurement"
    assert doc["activePower"]["unitCode"] == "KWT"
    assert doc["activePower"]["observedAt"].endswith("Z")
    assert doc["dataCategory"]["value"] == "energy.household_meter"
    assert doc["dataSubject"]["value"] == device.data_subject
    back = observation_from_ngsi(json.loads(json.dumps(doc)))
    assert back.entity_id == obs.entity_id and back.observed_at == obs.observed_at
    assert dict(back.values) == dict(obs.values)
    assert back.units == {"activePower": "KWT", "reactivePower": "KVR"}


def test_temporal_representation_round_trips_a_day_of_history(tiny_city) -> None:
    device = next(d for d in tiny_city.devices if d.category == "traffic.flow")
    history = [o for o in generate_observations(tiny_city, step=timedelta(hours=1))
               if o.entity_id == device.observed_id]
    doc = json.loads(json.dumps(temporal_to_ngsi(device, history)))
    assert len(doc["intensity"]) == 24
    back = temporal_from_ngsi(doc)
    assert [(o.observed_at, dict(o.values)) for o in back] == [
        (o.observed_at, dict(o.values)) for o in history]
    assert {o.category for o in back} == {"traffic.flow"}


@pytest.mark.parametrize("doc", [
    {"type": "RoadSegment"},
    {"id": "urn:ngsi-ld:Nope:x", "type": "Nope"},
    {"id": "urn:ngsi-ld:TrafficFlowObserved:x", "type": "TrafficFlowObserved",
     "intensity": {"type": "Property", "value": 3}},
    {"id": "urn:ngsi-ld:TrafficFlowObserved:x", "type": "TrafficFlowObserved",
     "dateObserved": {"type": "Property", "value": "2026-01-05T10:00:00"}},
])
def test_malformed_documents_raise_ngsi_format_error(doc) -> None:
    with pytest.raises(NgsiFormatError):
        if doc.get("type") == "TrafficFlowObserved":
            observation_from_ngsi(doc)
        else:
            from_ngsi(doc)


def test_times_are_written_in_utc_with_z() -> None:
    from twin_core.ngsi import iso, parse_time

    local = datetime(2026, 1, 5, 12, 0, tzinfo=UTC) + timedelta(hours=0)
    assert iso(local) == "2026-01-05T12:00:00Z"
    assert parse_time("2026-01-05T12:00:00Z") == local
