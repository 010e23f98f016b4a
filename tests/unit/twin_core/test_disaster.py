"""Flood and response: water is conserved, roads close, dispatch plans are scored honestly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from twin_core import InvalidPlan
from twin_core.sim import (
    ResponsePlan,
    assess_demand,
    build_flood_inputs,
    build_response_inputs,
    emergency_view,
    evaluate_response,
    nearest_first_plan,
    simulate_flood,
)
from twin_core.sim.flood import flood_step


@pytest.fixture(scope="module")
def flood_case(tiny_city, tiny_traffic):
    inputs = build_flood_inputs(tiny_city, tiny_traffic.network, cell_m=25.0,
                                duration_s=3 * 3600.0)
    return inputs, simulate_flood(inputs)


def test_water_volume_is_conserved(flood_case) -> None:
    inputs, flood = flood_case
    assert flood.volume_in_m3 == pytest.approx(
        sum(s.inflow_m3s * min(s.duration_s, inputs.duration_s) for s in inputs.sources),
        rel=0.01)
    assert flood.volume_stored_m3 + flood.volume_out_m3 == pytest.approx(flood.volume_in_m3,
                                                                       rel=1e-12)


def test_a_closed_basin_keeps_all_its_water_and_levels_out() -> None:
    x = np.linspace(-1, 1, 30)
    z = 5.0 * (x[None, :] ** 2 + x[:, None] ** 2)  # a bowl: the rim is high
    h = np.zeros_like(z)
    h[15, 15] = 50.0
    out = sum(flood_step(h, z, 0.2) for _ in range(4000))
    assert h.sum() + out == pytest.approx(50.0, rel=1e-12)
    assert out < 1e-6
    wet = h > 1e-3
    assert np.ptp((z + h)[wet]) < 0.05  # a flat water surface
    assert h.min() >= 0.0


def test_the_flood_closes_roads_and_affects_people(flood_case) -> None:
    inputs, flood = flood_case
    assert flood.flooded_km2 > 0 and flood.affected_people > 0
    assert len(flood.closed_links) == int(flood.closed_mask.sum()) > 0
    assert sum(flood.affected_by_incident.values()) == pytest.approx(flood.affected_people)
    dry = simulate_flood(replace(inputs, sources=()))
    assert dry.flooded_km2 == 0 and dry.closed_links == () and dry.affected_people == 0


def test_greedy_dispatch_meets_demand_and_respects_depots(tiny_city, flood_case) -> None:
    inputs, flood = flood_case
    resp = build_response_inputs(tiny_city)
    demand = assess_demand(inputs, flood, resp)
    plan = nearest_first_plan(demand, resp)
    k = evaluate_response(flood, demand, resp, plan)
    assert k.unmet_vehicles == 0 and k.vehicles_sent == int(demand.vehicles_needed.sum())
    assert k.weighted_response_min > 0
    none = evaluate_response(flood, demand, resp, ResponsePlan(np.zeros_like(plan.dispatch)))
    assert none.unmet_vehicles == int(demand.vehicles_needed.sum())
    too_many = plan.dispatch.copy()
    too_many[0, 0] += int(resp.vehicles[0]) + 1
    with pytest.raises(InvalidPlan):
        evaluate_response(flood, demand, resp, ResponsePlan(too_many))


def test_closed_roads_lengthen_the_trip(tiny_city, flood_case) -> None:
    inputs, flood = flood_case
    resp = build_response_inputs(tiny_city)
    wet = assess_demand(inputs, flood, resp).travel_min
    no_closures = replace(flood, closed_mask=np.zeros_like(flood.closed_mask))
    dry = assess_demand(inputs, no_closures, resp).travel_min
    assert np.all(wet >= dry - 1e-9)


def test_emergency_view_matches_the_optimisers_shape(tiny_city, flood_case) -> None:
    inputs, flood = flood_case
    resp = build_response_inputs(tiny_city)
    view = emergency_view(assess_demand(inputs, flood, resp), resp)
    assert {"incidents", "depots", "travel_time_min"} <= set(view)
    assert all(1 <= i["severity"] <= 5 and 1 <= i["vehicles_needed"] <= 4
               for i in view["incidents"])
    assert np.shape(view["travel_time_min"]) == (len(view["depots"]), len(view["incidents"]))
