"""The macroscopic traffic model: conservation, plan sensitivity, reproducibility."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from twin_core import DemoCityConfig, InvalidPlan, generate_city
from twin_core.sim import (
    SignalPlan,
    build_traffic_inputs,
    evaluate_signal_plan,
    simulate_traffic,
)


def test_vehicles_are_conserved(tiny_traffic) -> None:
    k = simulate_traffic(tiny_traffic, SignalPlan.uniform(tiny_traffic, 0.5))
    assert k.vehicles_entered > 500
    assert k.vehicles_entered == pytest.approx(k.vehicles_exited + k.vehicles_in_network,
                                               rel=1e-12)


def test_vehicles_are_conserved_when_the_network_is_still_full() -> None:
    city = generate_city(DemoCityConfig.tiny())
    inputs = build_traffic_inputs(city, scale=3.0, drain_s=0.0)  # oversaturated, no drain
    k = simulate_traffic(inputs, SignalPlan.uniform(inputs, 0.3))
    assert k.vehicles_in_network > 50
    assert k.vehicles_entered == pytest.approx(k.vehicles_exited + k.vehicles_in_network,
                                               rel=1e-12)


def _hand_made():
    """A 2x2 grid where only north-south traffic enters: 450 veh/h per entry, all straight."""
    city = generate_city(DemoCityConfig(nx=2, ny=2, district_junctions=2, name="hand"))
    sig = [replace_turns(j) for j in city.junctions]
    city = replace(city, junctions=tuple(sig))
    inputs = build_traffic_inputs(city)
    net = inputs.network
    entry = np.where(net.is_entry & net.is_ns, 450.0, 0.0)
    entry = np.where(net.is_entry & ~net.is_ns, 90.0, entry)
    return replace(inputs, entry_vph=entry)


def replace_turns(j):
    return j.model_copy(update={"turn_straight": 1.0, "turn_left": 0.0, "turn_right": 0.0}) \
        if j.signalised else j


def test_green_for_the_busy_direction_lowers_delay_on_a_hand_made_case() -> None:
    inputs = _hand_made()
    starved = simulate_traffic(inputs, SignalPlan.uniform(inputs, 0.3))
    even = simulate_traffic(inputs, SignalPlan.uniform(inputs, 0.5))
    favoured = simulate_traffic(inputs, SignalPlan.uniform(inputs, 0.75))
    assert favoured.mean_delay_s < even.mean_delay_s < starved.mean_delay_s
    proportional = SignalPlan.proportional(inputs)
    assert np.all(proportional.ns_share > 0.5)


def test_the_model_is_deterministic_and_carries_provenance(tiny_traffic) -> None:
    plan = SignalPlan.proportional(tiny_traffic)
    a, b = simulate_traffic(tiny_traffic, plan), simulate_traffic(tiny_traffic, plan)
    assert a.total_delay_veh_h == b.total_delay_veh_h
    np.testing.assert_array_equal(a.queue_by_junction, b.queue_by_junction)
    assert a.provenance.model == "traffic.store_and_forward"
    assert a.provenance.parameters["plan"] == "proportional"
    assert "numpy" in a.provenance.versions


def test_plans_that_do_not_fit_the_network_are_refused(tiny_traffic) -> None:
    n = tiny_traffic.network.n_junctions
    with pytest.raises(InvalidPlan):
        simulate_traffic(tiny_traffic, SignalPlan(np.full(n - 1, 0.5), np.zeros(n - 1)))
    with pytest.raises(InvalidPlan):
        SignalPlan(np.full(n, 0.99), np.zeros(n))
    with pytest.raises(InvalidPlan):
        SignalPlan.from_choices(tiny_traffic, [9] * n)
    with pytest.raises(InvalidPlan):
        evaluate_signal_plan(tiny_traffic, {"urn:nope": 0.5})


def test_optimiser_view_lists_demand_and_links_per_signal(tiny_traffic) -> None:
    view = tiny_traffic.optimiser_view()
    assert len(view["intersections"]) == 16
    first = view["intersections"][0]
    assert set(first) == {"id", "main_vph", "cross_vph", "saturation_vph"}
    assert sum(i["main_vph"] + i["cross_vph"] for i in view["intersections"]) > 0
    assert all(link["travel_time_s"] > 0 for link in view["links"])
    assert len(view["links"]) == 2 * 2 * 4 * 3  # both directions of 24 internal streets
    choices = [view["candidate_shares"].index(0.6)] * 16
    plan = SignalPlan.from_choices(tiny_traffic, choices)
    shares = {i["id"]: 0.6 for i in view["intersections"]}
    assert evaluate_signal_plan(tiny_traffic, shares).total_delay_veh_h == pytest.approx(
        simulate_traffic(tiny_traffic, plan).total_delay_veh_h)
