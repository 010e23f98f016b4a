"""Twin reads (by entity, by category and area, by time range) and sensor ingest.

Every route takes a grant dependency: the permission check and the audit record happen
before the body runs, so a route only fetches and shapes data.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from pydantic_core import to_json

from gateway.deps import (
    CategoryReadGrant,
    EntityReadGrant,
    Grant,
    IngestGrant,
    checksum,
)
from gateway.errors import InvalidRequest
from gateway.twin import BBox, EntityRef, IngestItem, ObservationRow

router = APIRouter(prefix="/twin", tags=["twin"])

MAX_RANGE_S = 366 * 24 * 3600


class Access(BaseModel):
    """Why the answer was allowed, and the chain block it holds for."""

    block: int
    decision: int = Field(description="Sequence number of the decision in the audit log.")
    basis: str = Field(description="role:<ROLE>, consent, agreement or own_data.")

    @classmethod
    def of(cls, grant: Grant) -> Access:
        return cls(block=grant.block, decision=grant.seq, basis=grant.decision.reason)


class EntityOut(BaseModel):
    id: str
    type: str
    category: str
    subject: str | None
    location: tuple[float, float]
    observed_at: int | None = None
    values: dict[str, float] = Field(default_factory=dict)


class EntityReadOut(BaseModel):
    access: Access
    entity: EntityOut


class EntitiesOut(BaseModel):
    access: Access
    entities: list[EntityOut]


class ObservationOut(BaseModel):
    entity_id: str
    observed_at: int
    values: dict[str, float]


class ObservationsOut(BaseModel):
    access: Access
    observations: list[ObservationOut]


# ------------------------------------------------------------------ answers
# The read routes answer with JSON written once from plain values, the content the models
# above describe (and declare as each route's response_model, for the schema and the SDK):
# building the models and letting FastAPI validate them again before writing them cost more
# per request than the permission check (tests hold each answer to its model).


def _floats(values: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()}


def _entity_json(ref: EntityRef, latest: ObservationRow | None = None) -> dict[str, object]:
    """EntityOut's content."""
    return {
        "id": ref.id, "type": ref.type, "category": ref.category, "subject": ref.subject,
        "location": (float(ref.lon), float(ref.lat)),
        "observed_at": latest.observed_at if latest else None,
        "values": _floats(latest.values) if latest else {},
    }


def _observation_json(row: ObservationRow) -> dict[str, object]:
    """ObservationOut's content."""
    return {"entity_id": row.entity_id, "observed_at": row.observed_at,
            "values": _floats(row.values)}


def access_json(block: int, decision: int, basis: str) -> dict[str, object]:
    """Access's content."""
    return {"block": block, "decision": decision, "basis": basis}


def _granted(grant: Grant) -> dict[str, object]:
    return access_json(grant.block, grant.seq, grant.decision.reason)


def _answer(content: dict[str, object]) -> Response:
    """JSON as FastAPI writes a response model (non-finite floats as null)."""
    return Response(to_json(content, inf_nan_mode="null"), media_type="application/json")


def entity_answer(access: dict[str, object], ref: EntityRef,
                  latest: ObservationRow | None) -> Response:
    """An EntityReadOut answer."""
    return _answer({"access": access, "entity": _entity_json(ref, latest)})


def _bbox(text: str | None) -> BBox | None:
    if text is None:
        return None
    try:
        lon0, lat0, lon1, lat1 = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InvalidRequest("bbox is lon_min,lat_min,lon_max,lat_max") from exc
    if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        raise InvalidRequest("bbox is lon_min,lat_min,lon_max,lat_max in WGS84 degrees")
    return BBox(lon0, lat0, lon1, lat1)


def _window(start: int | None, end: int | None) -> tuple[int, int]:
    end = int(time.time()) + 1 if end is None else end
    start = end - 24 * 3600 if start is None else start
    if not 0 <= start < end or end - start > MAX_RANGE_S:
        raise InvalidRequest("the time range must be non-empty and at most a year")
    return start, end


BBoxQuery = Annotated[str | None, Query(max_length=128, description="lon0,lat0,lon1,lat1")]
Epoch = Annotated[int | None, Query(ge=0, le=2**40)]
Limit = Annotated[int, Query(ge=1, le=10_000)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(max_length=64)]
UnitCode = Annotated[str, Field(max_length=8)]


@router.get("/entities/{entity_id}", response_model=EntityReadOut)
async def read_entity(access: EntityReadGrant) -> Response:
    """An entity's latest state."""
    latest = access.grant.runtime.twin.latest(access.entity.id)
    return entity_answer(_granted(access.grant), access.entity, latest)


@router.get("/entities/{entity_id}/observations", response_model=ObservationsOut)
async def entity_history(access: EntityReadGrant, start: Epoch = None, end: Epoch = None,
                         limit: Limit = 1000) -> Response:
    """An entity's observations in [start, end) (epoch seconds; default: the last day)."""
    lo, hi = _window(start, end)
    rows = access.grant.runtime.twin.observations(category=access.entity.category, start=lo, end=hi,
                                     entity_id=access.entity.id, limit=limit)
    return _answer({"access": _granted(access.grant),
                    "observations": [_observation_json(r) for r in rows]})


@router.get("/entities", response_model=EntitiesOut)
async def list_entities(access: CategoryReadGrant, bbox: BBoxQuery = None,
                        limit: Limit = 100) -> Response:
    """Entities of a category, optionally in an area (personal categories: one subject)."""
    refs = access.grant.runtime.twin.entities(category=access.category, bbox=_bbox(bbox),
                                 subject=access.subject, provider=access.provider, limit=limit)
    return _answer({"access": _granted(access.grant),
                    "entities": [_entity_json(r) for r in refs]})


@router.get("/observations", response_model=ObservationsOut)
async def list_observations(access: CategoryReadGrant, bbox: BBoxQuery = None,
                            start: Epoch = None, end: Epoch = None,
                            limit: Limit = 1000) -> Response:
    """Observations of a category in a time range, optionally in an area."""
    lo, hi = _window(start, end)
    rows = access.grant.runtime.twin.observations(category=access.category, start=lo, end=hi,
                                     bbox=_bbox(bbox), subject=access.subject,
                                     provider=access.provider, limit=limit)
    return _answer({"access": _granted(access.grant),
                    "observations": [_observation_json(r) for r in rows]})


# ------------------------------------------------------------------ ingest


class ObservationIn(BaseModel):
    entity_id: str = Field(min_length=3, max_length=256, pattern=r"^urn:ngsi-ld:[\w:.\-]+$")
    observed_at: int = Field(ge=0, le=2**40, description="Epoch seconds (UTC).")
    values: dict[Name, FiniteFloat] = Field(
        min_length=1, max_length=32, description="NGSI-LD attribute names and values."
    )
    units: dict[Name, UnitCode] | None = Field(
        default=None, description="UN/CEFACT unit codes, where not the canonical unit."
    )
    category: str | None = Field(default=None, max_length=64,
                                 description="Must match a known entity's category.")
    entity_type: str | None = Field(default=None, max_length=64,
                                    pattern=r"^[A-Za-z][A-Za-z0-9]*$",
                                    description="With category, lon, lat: registers a new entity.")
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    subject: str | None = Field(default=None, max_length=42,
                                description="The data subject (personal categories).")


class IngestIn(BaseModel):
    observations: list[ObservationIn] = Field(min_length=1, max_length=5000)


class IngestOut(BaseModel):
    access: Access
    received: int
    stored: int


@router.post("/observations", response_model=IngestOut, status_code=201)
async def ingest(body: IngestIn, access: IngestGrant) -> IngestOut:
    """Sensor operators send observations (all or nothing); an entity the twin does not know
    yet is registered when the observation describes it (type, category, place, subject)."""
    items = [IngestItem(o.entity_id, o.observed_at, dict(o.values), o.units, o.category,
                        o.entity_type, o.lon, o.lat,
                        checksum(o.subject, "subject") if o.subject else None)
             for o in body.observations]
    stored = access.runtime.twin.ingest(access.session.address, items)
    return IngestOut(access=Access.of(access), received=len(items), stored=stored)
