"""Emergency response to a flood: what the incidents need and how well a dispatch serves them.

The flood closes links; travel times from each depot to each incident are shortest paths on
what stays open (scipy's Dijkstra), so a plan that looked fine on a dry map can be slow or
impossible on the flooded one. A dispatch plan is a depots x incidents matrix of vehicle
counts; the KPIs are unmet demand and severity-weighted response time, the same objective
the optimiser's dispatch model minimises, so both can be compared plan by plan.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from twin_core.errors import InvalidPlan
from twin_core.model import City
from twin_core.sim.flood import FloodInputs, FloodResult
from twin_core.sim.provenance import Provenance, make_provenance

EMERGENCY_SPEED_FACTOR = 1.2  # blue lights: faster than the posted speed
TURNOUT_S = 90.0
PEOPLE_PER_VEHICLE_NEED = 150.0
EVACUATING_SHARE = 0.3


@dataclass(frozen=True, eq=False)
class ResponseInputs:
    """Depots with their vehicles, shelters with capacity, on the city's street network."""

    depot_ids: tuple[str, ...]
    depot_xy: np.ndarray
    vehicles: np.ndarray
    shelter_ids: tuple[str, ...]
    shelter_xy: np.ndarray
    shelter_capacity: np.ndarray


@dataclass(frozen=True, eq=False)
class Demand:
    """What the flood asks of the emergency services, per incident."""

    incident_ids: tuple[str, ...]
    incident_xy: np.ndarray
    severity: np.ndarray
    vehicles_needed: np.ndarray
    travel_min: np.ndarray  # depots x incidents on the open network (inf: unreachable)
    evacuees: float
    shelter_capacity_usable: float


@dataclass(frozen=True, eq=False)
class ResponsePlan:
    """Vehicles sent from each depot (rows) to each incident (columns)."""

    dispatch: np.ndarray
    name: str = "plan"


@dataclass(frozen=True, eq=False)
class DisasterKPIs:
    """The flood's impact and the response plan's performance against it."""

    plan: str
    flooded_km2: float
    closed_links: int
    affected_people: float
    evacuees: float
    shelter_shortfall: float
    vehicles_needed: int
    vehicles_sent: int
    unmet_vehicles: int
    unreachable_dispatches: int
    weighted_response_min: float
    response_min_by_incident: Mapping[str, float]
    provenance: Provenance
    wall_s: float = field(default=0.0, compare=False)


def build_response_inputs(city: City) -> ResponseInputs:
    """Depots, their vehicle counts and shelters from the twin."""
    counts = {d.id: 0 for d in city.depots}
    for v in city.vehicles:
        counts[v.depot_id] += 1
    return ResponseInputs(
        depot_ids=tuple(d.id for d in city.depots), depot_xy=city.xy(city.depots),
        vehicles=np.array([counts[d.id] for d in city.depots]),
        shelter_ids=tuple(s.id for s in city.shelters), shelter_xy=city.xy(city.shelters),
        shelter_capacity=np.array([s.capacity for s in city.shelters], dtype=float))


def assess_demand(flood_in: FloodInputs, flood: FloodResult, resp: ResponseInputs) -> Demand:
    """Vehicles each incident needs and travel times on the roads the flood left open."""
    net = flood_in.network
    open_links = ~flood.closed_mask
    seconds = net.length_m / (net.free_speed_mps * EMERGENCY_SPEED_FACTOR)
    n = len(net.node_ids)
    graph = sparse.csr_matrix((seconds[open_links], (net.link_from[open_links],
                                                     net.link_to[open_links])), shape=(n, n))
    node_depth = flood.max_depth[flood_in.grid.cell_of(net.node_xy[:, 0], net.node_xy[:, 1])]
    dry = node_depth <= flood_in.closure_depth_m
    src = [s for s in flood_in.sources]
    inc_xy = np.array([[s.x, s.y] for s in src]).reshape(-1, 2)
    depot_node = _nearest(net.node_xy, resp.depot_xy, dry)
    target = _nearest(net.node_xy, inc_xy, dry)  # the dry edge of the incident zone
    times = dijkstra(graph, directed=True, indices=depot_node)
    travel = (times[:, target] + TURNOUT_S) / 60.0
    affected = np.array([flood.affected_by_incident[s.incident_id] for s in src])
    severity = np.array([s.severity for s in src])
    need = np.clip(np.ceil(affected / PEOPLE_PER_VEHICLE_NEED) + (severity >= 4), 1, 4)
    shelter_depth = flood.max_depth[flood_in.grid.cell_of(resp.shelter_xy[:, 0],
                                                          resp.shelter_xy[:, 1])]
    usable = float(resp.shelter_capacity[shelter_depth <= flood_in.affected_depth_m].sum())
    return Demand(incident_ids=tuple(s.incident_id for s in src), incident_xy=inc_xy,
                  severity=severity, vehicles_needed=need.astype(int), travel_min=travel,
                  evacuees=EVACUATING_SHARE * flood.affected_people,
                  shelter_capacity_usable=usable)


def _nearest(points: np.ndarray, targets: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(points[None, :, :] - targets[:, None, :], axis=-1)
    d[:, ~allowed] = np.inf
    return np.argmin(d, axis=1)


def evaluate_response(flood: FloodResult, demand: Demand, resp: ResponseInputs,
                      plan: ResponsePlan, *, seed: int = 0) -> DisasterKPIs:
    """KPIs of a dispatch plan against the flood's demand (the optimiser's entry point)."""
    started = time.perf_counter()
    x = np.asarray(plan.dispatch)
    if x.shape != demand.travel_min.shape:
        raise InvalidPlan(f"dispatch must be depots x incidents {demand.travel_min.shape}")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise InvalidPlan("dispatch counts must be non-negative integers")
    over = x.sum(axis=1) > resp.vehicles
    if over.any():
        raise InvalidPlan("a depot sends more vehicles than it has",
                          depots=[resp.depot_ids[k] for k in np.flatnonzero(over)])
    reachable = np.isfinite(demand.travel_min)
    useful = np.where(reachable, x, 0)
    sent = useful.sum(axis=0)
    unmet = np.maximum(demand.vehicles_needed - sent, 0)
    times = np.where(reachable, demand.travel_min, 0.0)
    weighted = float((useful * times * demand.severity[None, :]).sum())
    per_incident = {iid: float((useful[:, k] * times[:, k]).sum() / sent[k]) if sent[k] else
                    float("inf") for k, iid in enumerate(demand.incident_ids)}
    params = {"plan": plan.name, "dispatch": x.tolist()}
    return DisasterKPIs(
        plan=plan.name, flooded_km2=flood.flooded_km2, closed_links=len(flood.closed_links),
        affected_people=flood.affected_people, evacuees=demand.evacuees,
        shelter_shortfall=max(0.0, demand.evacuees - demand.shelter_capacity_usable),
        vehicles_needed=int(demand.vehicles_needed.sum()), vehicles_sent=int(x.sum()),
        unmet_vehicles=int(unmet.sum()), unreachable_dispatches=int((x * ~reachable).sum()),
        weighted_response_min=weighted,
        response_min_by_incident=MappingProxyType(per_incident),
        provenance=make_provenance("emergency.response", seed, params),
        wall_s=time.perf_counter() - started)


def nearest_first_plan(demand: Demand, resp: ResponseInputs) -> ResponsePlan:
    """Baseline: most severe incident first, each takes the nearest vehicles still free."""
    x = np.zeros(demand.travel_min.shape, dtype=int)
    free = resp.vehicles.copy()
    for k in np.argsort(-demand.severity, kind="stable"):
        for d in np.argsort(demand.travel_min[:, k], kind="stable"):
            while x[:, k].sum() < demand.vehicles_needed[k] and free[d] > 0 and np.isfinite(
                    demand.travel_min[d, k]):
                x[d, k] += 1
                free[d] -= 1
    return ResponsePlan(x, "nearest-first")


def emergency_view(demand: Demand, resp: ResponseInputs) -> dict[str, Any]:
    """Plain data in the optimiser's dispatch-problem shape (km positions, minutes).

    Unreachable pairs get a prohibitive 999 minutes instead of infinity, so a solver can
    still read the matrix.
    """
    travel = np.where(np.isfinite(demand.travel_min), demand.travel_min, 999.0)
    return {
        "incidents": [{"id": iid, "severity": int(sev),
                       "location_km": [float(p[0]) / 1000, float(p[1]) / 1000],
                       "vehicles_needed": int(need)}
                      for iid, sev, p, need in zip(demand.incident_ids, demand.severity,
                                                   demand.incident_xy, demand.vehicles_needed,
                                                   strict=True)],
        "depots": [{"id": did, "location_km": [float(p[0]) / 1000, float(p[1]) / 1000],
                    "vehicles": int(n)}
                   for did, p, n in zip(resp.depot_ids, resp.depot_xy, resp.vehicles,
                                        strict=True)],
        "travel_time_min": travel.round(3).tolist(),
    }
