"""The twin read routes' pre-serialised answers: the content of their response models."""

from __future__ import annotations

import json
import math

import pytest

from gateway.routes.twin import (
    EntitiesOut,
    EntityReadOut,
    ObservationsOut,
    _answer,
    _entity_json,
    _observation_json,
    access_json,
    entity_answer,
)
from gateway.twin import EntityRef, ObservationRow

REF = EntityRef(id="urn:ngsi-ld:Meter:1", type="Meter", category="energy.household_meter",
                subject="0x" + "cd" * 20, provider=None, lon=11.4050265, lat=47.9030688)
NO_SUBJECT = EntityRef(id="urn:ngsi-ld:Station:2", type="Station", category="mobility.traffic",
                       subject=None, provider="0x" + "ab" * 20, lon=11, lat=-47)
LATEST = ObservationRow(REF.id, 1_700_000_000, {"activePower": 1, "voltage": 230.25})


def _body(response) -> dict:
    assert response.media_type == "application/json"
    return json.loads(response.body)


@pytest.mark.parametrize(("ref", "latest"), [(REF, LATEST), (REF, None), (NO_SUBJECT, LATEST)])
def test_entity_answer_is_the_models_content(ref: EntityRef, latest: ObservationRow | None) -> None:
    access = access_json(19, 5, "consent")
    body = _body(entity_answer(access, ref, latest))
    model = EntityReadOut.model_validate({"access": access, "entity": {
        "id": ref.id, "type": ref.type, "category": ref.category, "subject": ref.subject,
        "location": (ref.lon, ref.lat), "observed_at": latest.observed_at if latest else None,
        "values": latest.values if latest else {}}})
    assert body == json.loads(model.model_dump_json())
    assert EntityReadOut.model_validate_json(entity_answer(access, ref, latest).body) == model


def test_integral_values_and_coordinates_are_written_as_floats() -> None:
    """As the models coerce them: a client reading the JSON sees 1.0, not 1."""
    raw = entity_answer(access_json(1, 2, "own_data"), NO_SUBJECT, LATEST).body
    assert b'"activePower":1.0' in raw and b'"location":[11.0,-47.0]' in raw


def test_non_finite_values_are_written_as_null_as_fastapi_does() -> None:
    row = ObservationRow(REF.id, 5, {"a": math.inf, "b": math.nan})
    raw = _answer({"observations": [_observation_json(row)]}).body
    assert json.loads(raw) == {"observations": [{"entity_id": REF.id, "observed_at": 5,
                                                 "values": {"a": None, "b": None}}]}


def test_list_answers_validate_as_their_models() -> None:
    access = access_json(3, 4, "role:AGENCY")
    listed = [_entity_json(REF), _entity_json(NO_SUBJECT)]
    entities = _answer({"access": access, "entities": listed})
    parsed = EntitiesOut.model_validate_json(entities.body)
    assert [e.id for e in parsed.entities] == [REF.id, NO_SUBJECT.id]
    assert parsed.entities[0].values == {} and parsed.entities[0].observed_at is None
    observations = _answer({"access": access, "observations": [_observation_json(LATEST)]})
    assert ObservationsOut.model_validate_json(observations.body).observations[0].values == {
        "activePower": 1.0, "voltage": 230.25}
