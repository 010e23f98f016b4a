"""Twin state in, plans re-simulated in the twin (macroscopic model, SUMO, flood, feeder)."""

from __future__ import annotations

import numpy as np
import pytest

from quantum import MilpSolver, build_emergency, build_energy, build_traffic, to_qubo
from quantum import twin_bridge as bridge

twin = pytest.importorskip("twin_core")


@pytest.fixture(scope="module")
def city():
    return twin.generate_city(twin.DemoCityConfig.tiny())


@pytest.fixture(scope="module")
def traffic_inputs(city):
    return twin.build_traffic_inputs(city)


def test_traffic_plan_from_the_twin_is_resimulated_in_the_model_and_sumo(city, traffic_inputs):
    data = bridge.traffic_input(traffic_inputs, shares=(0.4, 0.6),
                                current=twin.SignalPlan.current(city))
    assert [n.id for n in data.intersections] == list(traffic_inputs.network.junction_ids)
    assert {link.approach for link in data.links} == {"main", "cross"}
    problem = build_traffic(data)
    result = MilpSolver().solve(problem.program)
    plan = bridge.signal_plan(problem, np.array(result.x), traffic_inputs)
    assert set(np.round(plan.ns_share, 2)) <= {0.4, 0.6}
    kpis = bridge.resimulate_traffic(traffic_inputs, problem, np.array(result.x), sumo=True)
    sources = {k.source for k in kpis}
    assert sources == {"twin.store_and_forward", "sumo"}
    assert all(k.before > 0 and k.after > 0 for k in kpis)


def test_dispatch_from_the_flooded_twin_serves_the_demand(city, traffic_inputs):
    flood_inputs = twin.build_flood_inputs(city, traffic_inputs.network)
    flood = twin.simulate_flood(flood_inputs)
    resources = twin.build_response_inputs(city)
    demand = twin.assess_demand(flood_inputs, flood, resources)
    data, unmet = bridge.emergency_input(demand, resources)
    assert sum(i.vehicles_needed for i in data.incidents) + sum(unmet.values()) == int(
        demand.vehicles_needed.sum())
    problem = build_emergency(data)
    result = MilpSolver().solve(problem.program)
    kpis = bridge.resimulate_response(flood, demand, resources, problem, np.array(result.x))
    weighted, missing = kpis
    assert weighted.after <= weighted.before + 1e-9  # never worse than nearest-first
    assert missing.after == sum(unmet.values())


def test_feeder_dispatch_window_lowers_the_day_cost(city):
    inputs = twin.build_energy_inputs(city)
    feeder = inputs.feeders[0].feeder_id
    data = bridge.energy_input(inputs, feeder, periods=(18, 19))
    problem = build_energy(data)
    assert to_qubo(problem.program, calibrate=False).num_qubits > problem.program.get_num_vars()
    result = MilpSolver().solve(problem.program)
    cost, peak = bridge.resimulate_energy(inputs, problem, np.array(result.x), feeder,
                                          periods=(18, 19))
    assert cost.after <= cost.before and peak.after <= peak.before
    assert cost.source == "twin.energy_balance"
