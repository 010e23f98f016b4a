"""Energy: the balance adds up, storage obeys its limits, the feeders pass a power flow."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from twin_core import InvalidPlan
from twin_core.sim import DispatchPlan, GridModel, balance, build_energy_inputs, evaluate_dispatch


@pytest.fixture(scope="module")
def energy(tiny_city):
    return build_energy_inputs(tiny_city)


def test_net_import_is_demand_minus_solar_minus_shed_plus_charging(energy) -> None:
    plan = DispatchPlan.self_consumption(energy)
    flex = np.zeros_like(plan.flex_on)
    flex[:, 19] = True
    plan = replace(plan, flex_on=flex)
    for f, k, p in zip(energy.feeders, balance(energy, plan), plan.storage_kw, strict=True):
        shed = np.where(flex[0], np.minimum(f.flexible_kw, f.demand_kw), 0.0)
        np.testing.assert_allclose(k.net_import_kw, f.demand_kw - f.solar_kw - shed + p,
                                   atol=1e-9)
        assert k.infeasible_kwh == pytest.approx(0.0, abs=1e-9)
        assert k.shed_kwh == pytest.approx(shed.sum())


def test_storage_stays_within_its_capacity_and_refused_power_is_reported(energy) -> None:
    plan = DispatchPlan.idle(energy)
    greedy = np.full_like(plan.storage_kw, -1e3)  # discharge flat out all day
    result = balance(energy, replace(plan, storage_kw=greedy))
    for f, k in zip(energy.feeders, result, strict=True):
        assert k.soc_kwh.min() >= -1e-9 and k.soc_kwh.max() <= f.storage_kwh + 1e-9
        if f.storage_kwh:
            assert k.infeasible_kwh > 0


def test_self_consumption_imports_less_than_doing_nothing(energy) -> None:
    idle = evaluate_dispatch(energy, DispatchPlan.idle(energy), power_flow=False)
    smart = evaluate_dispatch(energy, DispatchPlan.self_consumption(energy), power_flow=False)
    assert smart.import_kwh < idle.import_kwh
    assert smart.cost < idle.cost


def test_demo_feeders_stay_within_voltage_and_loading_limits(energy) -> None:
    k = evaluate_dispatch(energy, DispatchPlan.self_consumption(energy), periods=None)
    pf = k.power_flow
    assert len(pf.periods) == 24
    assert 0.95 <= pf.min_vm_pu <= pf.max_vm_pu <= 1.05
    assert 0 < pf.max_line_loading_pct < 100 and 0 < pf.max_trafo_loading_pct < 100
    assert k.within_limits
    grid = GridModel(energy)
    critical = evaluate_dispatch(energy, DispatchPlan.self_consumption(energy), grid=grid)
    assert critical.power_flow.min_vm_pu == pytest.approx(pf.min_vm_pu, abs=1e-6)
    assert critical.power_flow.max_line_loading_pct == pytest.approx(pf.max_line_loading_pct,
                                                                     rel=1e-6)


def test_the_power_flow_flags_a_feeder_pushed_past_its_limits(energy) -> None:
    heavy = replace(energy, feeders=tuple(replace(f, demand_kw=f.demand_kw * 8)
                                          for f in energy.feeders))
    k = evaluate_dispatch(heavy, DispatchPlan.idle(heavy))
    assert not k.within_limits
    assert k.power_flow.voltage_violations + k.power_flow.overloads > 0


def test_plans_of_the_wrong_shape_are_refused(energy) -> None:
    with pytest.raises(InvalidPlan):
        balance(energy, DispatchPlan(np.zeros((1, 24)), np.zeros((1, 24), dtype=bool)))


def test_optimiser_view_has_blocks_and_a_price_per_period(energy) -> None:
    f = next(f for f in energy.feeders if f.storage_kwh > 0)
    view = energy.optimiser_view(f.feeder_id)
    assert len(view["demand_kw"]) == len(view["import_price_per_kwh"]) == 24
    assert view["import_limit_kw"] % view["block_kw"] == 0
    assert all(s["power_kw"] % view["block_kw"] == 0 for s in view["storage"])


def test_the_mid_demo_citys_feeders_stay_within_limits_at_their_extremes() -> None:
    from twin_core import DemoCityConfig, generate_city

    energy = build_energy_inputs(generate_city(DemoCityConfig.mid()))
    assert len(energy.feeders) == 27
    k = evaluate_dispatch(energy, DispatchPlan.self_consumption(energy))
    assert k.within_limits, (k.power_flow.min_vm_pu, k.power_flow.max_line_loading_pct)
    assert len(k.power_flow.periods) >= 2  # the import peak and the export peak at least
