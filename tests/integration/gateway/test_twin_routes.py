"""Twin routes over twin_core's store: by entity, by area, by category and time range;
ingest by sensor operators, all behind the permission path."""

from __future__ import annotations

import time

import pytest

HOUSEHOLD, TRAFFIC = "energy.household_meter", "traffic.flow"
SERVICE, PUBLIC = "dpv:ServiceProvision", "dpv:PublicBenefit"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:tiny:M-S00F0H00"
DETECTOR_ID = "urn:ngsi-ld:TrafficFlowObserved:tiny:TD-BE00-J0300"


@pytest.fixture
def ready(gateway):
    gateway.ingest_sample(gateway.token(gateway.world["operator"]))
    return gateway


def test_entity_state_and_history(ready) -> None:
    token = ready.token(ready.world["agency"])
    state = ready.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC).json()
    assert state["entity"]["category"] == TRAFFIC
    assert state["entity"]["values"] == {"intensity": 820.0}
    now = int(time.time())
    history = ready.get(f"/twin/entities/{DETECTOR_ID}/observations", token, purpose=PUBLIC,
                        start=now - 3600, end=now + 1).json()
    times = [o["observed_at"] for o in history["observations"]]
    assert len(times) == 3 and times == sorted(times)
    narrow = ready.get(f"/twin/entities/{DETECTOR_ID}/observations", token, purpose=PUBLIC,
                       start=now - 90, end=now + 1).json()
    assert len(narrow["observations"]) == 2


def test_entities_by_category_and_area(ready) -> None:
    token = ready.token(ready.world["agency"])
    everything = ready.get("/twin/entities", token, category=TRAFFIC, purpose=PUBLIC,
                           limit=1000).json()["entities"]
    assert len(everything) > 5 and {e["category"] for e in everything} == {TRAFFIC}
    lon, lat = next(e["location"] for e in everything if e["id"] == DETECTOR_ID)
    box = f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}"
    near = ready.get("/twin/entities", token, category=TRAFFIC, purpose=PUBLIC, bbox=box).json()
    assert DETECTOR_ID in {e["id"] for e in near["entities"]}
    assert len(near["entities"]) < len(everything)


def test_personal_entities_list_only_the_named_subject(ready) -> None:
    world = ready.world
    token = ready.token(world["enterprise"])
    mine = ready.get("/twin/entities", token, category=HOUSEHOLD, purpose=SERVICE,
                     subject=world["citizen"].address).json()["entities"]
    assert [e["id"] for e in mine] == [METER_ID]
    assert mine[0]["subject"] == world["citizen"].address


def test_agreement_reads_are_narrowed_to_the_provider(ready) -> None:
    world = ready.world
    result = world.qc.consent.grant_agreement(
        world.admin, world["operator"].address, world["enterprise"].address, TRAFFIC, PUBLIC,
        int(time.time()) + 3600)
    ready.wait_for_block(result.block_number)
    token = ready.token(world["enterprise"])
    rows = ready.get("/twin/observations", token, category=TRAFFIC, purpose=PUBLIC,
                     provider=world["operator"].address).json()
    assert {o["entity_id"] for o in rows["observations"]} == {DETECTOR_ID}
    assert rows["access"]["basis"] == "agreement"
    other = ready.get("/twin/observations", token, category=TRAFFIC, purpose=PUBLIC,
                      provider=world["operator2"].address)
    assert other.status_code == 403 and other.json()["code"] == "agreement_missing"


def test_ingest_refusals(ready) -> None:
    world = ready.world
    now = int(time.time())
    operator = ready.token(world["operator"])
    unknown = ready.post("/twin/observations", operator, {"observations": [
        {"entity_id": "urn:ngsi-ld:TrafficFlowObserved:nowhere", "observed_at": now,
         "values": {"intensity": 1.0}}]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "ingest_rejected"
    out_of_range = ready.post("/twin/observations", operator, {"observations": [
        {"entity_id": DETECTOR_ID, "observed_at": now, "values": {"intensity": -5.0}}]})
    assert out_of_range.status_code == 422 and out_of_range.json()["code"] == "ingest_rejected"
    wrong_category = ready.post("/twin/observations", operator, {"observations": [
        {"entity_id": DETECTOR_ID, "observed_at": now, "values": {"intensity": 5.0},
         "category": "air.no2"}]})
    assert wrong_category.status_code == 409
    other = ready.token(world["operator2"])
    taken = ready.post("/twin/observations", other, {"observations": [
        {"entity_id": DETECTOR_ID, "observed_at": now, "values": {"intensity": 5.0}}]})
    assert taken.status_code == 409 and taken.json()["code"] == "ingest_conflict"
    nan = ready.client.post("/twin/observations", content=(
        b'{"observations": [{"entity_id": "' + DETECTOR_ID.encode()
        + b'", "observed_at": 1, "values": {"intensity": NaN}}]}'),
        headers={"Authorization": f"Bearer {operator}", "Content-Type": "application/json"})
    assert nan.status_code == 422


def test_unknown_terms_and_bad_queries_are_422(ready) -> None:
    token = ready.token(ready.world["agency"])
    purpose = ready.get(f"/twin/entities/{DETECTOR_ID}", token, purpose="dpv:Anything")
    assert purpose.status_code == 422 and purpose.json()["code"] == "unknown_purpose"
    category = ready.get("/twin/observations", token, category="weather.mood", purpose=PUBLIC)
    assert category.status_code == 422 and category.json()["code"] == "unknown_category"
    bbox = ready.get("/twin/entities", token, category=TRAFFIC, purpose=PUBLIC, bbox="1,2,3")
    assert bbox.status_code == 422 and bbox.json()["code"] == "invalid_request"
    window = ready.get("/twin/observations", token, category=TRAFFIC, purpose=PUBLIC,
                       start=10, end=5)
    assert window.status_code == 422
    subject = ready.get("/twin/observations", token, category=HOUSEHOLD, purpose=SERVICE,
                        subject="0x123")
    assert subject.status_code == 422
    missing = ready.get("/twin/entities/urn:ngsi-ld:Nothing:here", token, purpose=PUBLIC)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_citizen_sees_decisions_about_their_data(ready) -> None:
    world = ready.world
    enterprise = ready.token(world["enterprise"])
    assert ready.get(f"/twin/entities/{METER_ID}", enterprise, purpose=SERVICE).status_code == 200
    citizen = ready.token(world["citizen"])
    mine = ready.get("/me/decisions", citizen).json()["decisions"]
    assert mine and mine[0]["fields"]["actor"] == world["enterprise"].address
    assert mine[0]["fields"]["subject"] == world["citizen"].address
    assert ready.get("/me/decisions", ready.token(world["neighbour"])).json()["decisions"] == []


def test_new_entity_is_registered_on_first_ingest(ready) -> None:
    world = ready.world
    new_meter = "urn:ngsi-ld:ThreePhaseAcMeasurement:new-home"
    described = {"entity_id": new_meter, "observed_at": int(time.time()),
                 "values": {"activePower": 3.5}, "entity_type": "ThreePhaseAcMeasurement",
                 "category": HOUSEHOLD, "lon": 11.41, "lat": 47.91}
    operator = ready.token(world["operator"])
    no_subject = ready.post("/twin/observations", operator, {"observations": [described]})
    assert no_subject.status_code == 422 and no_subject.json()["code"] == "subject_required"
    wrong_type = ready.post("/twin/observations", operator, {"observations": [
        {**described, "entity_type": "TrafficFlowObserved",
         "subject": world["neighbour"].address}]})
    assert wrong_type.status_code == 422
    ok = ready.post("/twin/observations", operator, {"observations": [
        {**described, "subject": world["neighbour"].address}]})
    assert ok.status_code == 201 and ok.json()["stored"] == 1
    # the new entity is the neighbour's: the neighbour reads it, the enterprise may not
    neighbour = ready.get(f"/twin/entities/{new_meter}", ready.token(world["neighbour"]),
                          purpose=SERVICE)
    assert neighbour.status_code == 200 and neighbour.json()["entity"]["values"] == {
        "activePower": 3.5}
    enterprise = ready.get(f"/twin/entities/{new_meter}", ready.token(world["enterprise"]),
                           purpose=SERVICE)
    assert enterprise.status_code == 403 and enterprise.json()["code"] == "consent_missing"
    again = ready.post("/twin/observations", operator, {"observations": [
        {**described, "observed_at": int(time.time()) - 5, "subject": world["citizen"].address}]})
    assert again.status_code == 409 and again.json()["code"] == "ingest_conflict"


def test_failed_ingest_registers_nothing(ready) -> None:
    operator = ready.token(ready.world["operator"])
    entity = "urn:ngsi-ld:TrafficFlowObserved:half-made"
    response = ready.post("/twin/observations", operator, {"observations": [
        {"entity_id": entity, "observed_at": int(time.time()), "values": {"intensity": -1.0},
         "entity_type": "TrafficFlowObserved", "category": TRAFFIC, "lon": 11.4, "lat": 47.9}]})
    assert response.status_code == 422 and response.json()["code"] == "ingest_rejected"
    assert ready.runtime.twin.entity(entity) is None
