"""Problem builders: the QUBO's optimum is the constrained model's optimum (brute force)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from quantum import (
    Depot,
    EmergencyInput,
    FeederInput,
    Incident,
    TrafficInput,
    build_emergency,
    build_energy,
    build_traffic,
    demo_emergency,
    demo_feeder,
    demo_traffic,
    to_qubo,
)
from quantum._arrays import ProgramArrays

SMALL = [
    build_traffic(demo_traffic(2, 3, seed=0)),
    build_traffic(demo_traffic(3, 3, seed=4)),
    build_traffic(demo_traffic(2, 4, seed=2)),
    build_emergency(demo_emergency(2, 3, seed=0)),
    build_emergency(demo_emergency(3, 3, seed=5, vehicles_per_depot=1)),
    build_emergency(demo_emergency(2, 4, seed=1)),
    build_emergency(EmergencyInput(
        name="emergency-counts", turnout_delay_min=3.0,
        incidents=[Incident(id="a", severity=5, location_km=(1, 1), vehicles_needed=2),
                   Incident(id="b", severity=2, location_km=(6, 2))],
        depots=[Depot(id="n", location_km=(0, 0), vehicles=2),
                Depot(id="s", location_km=(5, 5), vehicles=2)])),
    build_energy(demo_feeder(1, seed=0)),
    build_energy(demo_feeder(2, seed=3)),
]


@pytest.mark.parametrize("problem", SMALL, ids=lambda p: p.program.name)
def test_qubo_optimum_is_the_constrained_optimum(problem):
    conversion = to_qubo(problem.program)
    original = ProgramArrays.from_program(problem.program)
    _, constrained_best = original.brute_force()
    qubo = ProgramArrays.from_program(conversion.qubo)
    states = np.concatenate(list(qubo.enumerate()))
    energies = qubo.objective(states)
    minimisers = states[energies <= energies.min() + 1e-7 * max(1.0, abs(energies.min()))]
    decoded = conversion.interpret(minimisers)
    assert original.feasible(decoded).all()
    assert np.allclose(original.objective(decoded), constrained_best, rtol=1e-9)
    assert conversion.verified


def test_traffic_delay_grows_when_platoons_meet_red():
    data = demo_traffic(2, 3, seed=0)
    problem = build_traffic(data)
    couplings = np.array(list(problem.coupling.values()))
    assert couplings.min() >= 0 and couplings.max() > couplings.min()
    assert (problem.linear_cost > 0).all()


def test_traffic_decode_names_one_plan_per_intersection():
    problem = build_traffic(demo_traffic(3, 3, seed=1))
    x, value = ProgramArrays.from_program(problem.program).brute_force()
    plan = problem.decode(x)
    assert set(plan.plans) == {"tl0", "tl1", "tl2"}
    assert plan.delay_vehicle_minutes == pytest.approx(value)


def test_emergency_plan_serves_every_incident_within_fleets():
    data = demo_emergency(3, 4, seed=2, vehicles_per_depot=2)
    problem = build_emergency(data)
    x, _ = ProgramArrays.from_program(problem.program).brute_force()
    plan = problem.decode(x)
    assert all(len(depots) == 1 for depots in plan.assignments.values())
    sent = [d for depots in plan.assignments.values() for d in depots]
    assert max(sent.count(d.id) for d in data.depots) <= 2
    assert np.isfinite(list(plan.response_min.values())).all()


def test_energy_schedule_meets_demand_and_import_limit():
    data = demo_feeder(3, seed=1)
    problem = build_energy(data)
    x, _ = ProgramArrays.from_program(problem.program).brute_force()
    schedule = problem.decode(x)
    power = {u.id: u.power_kw for u in data.units} | {b.id: b.power_kw for b in data.storage}
    for t, demand in enumerate(data.demand_kw):
        supply = schedule.import_kw[t] + sum(power[u] for u in schedule.units_on[t]) + sum(
            power[b] for b in schedule.storage_discharging[t])
        assert supply >= demand
        assert schedule.import_kw[t] <= data.import_limit_kw


def test_status_quo_is_feasible_and_not_better_than_the_optimum():
    for problem in SMALL:
        arrays = ProgramArrays.from_program(problem.program)
        today = problem.status_quo()[None, :]
        _, best = arrays.brute_force()
        assert arrays.feasible(today)[0], problem.program.name
        assert arrays.objective(today)[0] >= best - 1e-9


def test_inputs_reject_inconsistent_twin_state():
    data = demo_traffic(2, 2).model_dump()
    data["links"][0]["downstream"] = "nowhere"
    with pytest.raises(ValidationError, match="unknown id"):
        TrafficInput.model_validate(data)
    emergency = demo_emergency(2, 3).model_dump()
    emergency["depots"][0]["vehicles"] = 0
    emergency["depots"][1]["vehicles"] = 1
    with pytest.raises(ValidationError, match="need"):
        EmergencyInput.model_validate(emergency)
    feeder = demo_feeder(1).model_dump()
    feeder["units"][0]["power_kw"] = 75
    with pytest.raises(ValidationError, match="multiples"):
        FeederInput.model_validate(feeder)


def test_inputs_round_trip_through_json():
    for data in (demo_traffic(3, 2), demo_emergency(2, 3), demo_feeder(2)):
        again = type(data).model_validate_json(data.model_dump_json())
        assert again == data
