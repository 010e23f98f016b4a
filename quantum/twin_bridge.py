"""Between the twin and the optimiser: twin state -> problem inputs, plans -> re-simulation.

twin_core exposes each domain's inputs in the builders' shape (``optimiser_view``,
``emergency_view``); these adapters finish the job (candidate plans, link approaches, fleet
shortages, a period window) and map solutions back to the twin's own plan types, which its
simulators re-run to report the KPI change: the store-and-forward traffic model and SUMO for
signal timing, the flooded street network for dispatch, the feeder energy balance (and
optionally pandapower) for energy. twin_core is imported lazily, so the optimiser itself
does not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from quantum.errors import InvalidProblem
from quantum.problems.emergency import EmergencyInput, EmergencyProblem
from quantum.problems.energy import EnergyProblem, FeederInput
from quantum.problems.traffic import Intersection, Link, PhasePlan, TrafficInput, TrafficProblem
from quantum.report import Kpi

if TYPE_CHECKING:
    from twin_core import (
        Demand,
        EnergyInputs,
        FloodResult,
        ResponseInputs,
        ResponsePlan,
        SignalPlan,
        TrafficInputs,
    )
    from twin_core import DispatchPlan as TwinDispatchPlan

EVENING_PEAK = (17, 18, 19, 20)


def traffic_input(inputs: TrafficInputs, *, shares: Sequence[float] | None = (0.4, 0.5, 0.6),
                  offsets_s: Sequence[float] = (0.0,), current: SignalPlan | None = None,
                  name: str = "twin-traffic") -> TrafficInput:
    """Signal-timing inputs: every twin junction with plans ``shares x offsets``.

    ``shares=None`` takes the twin's own candidate shares. Each link's approach comes from
    its heading (N-S links are served by the main phase). ``current`` marks the plan closest
    to today's timing as the status quo.
    """
    view = inputs.optimiser_view()
    chosen = list(view["candidate_shares"] if shares is None else shares)
    plans = [PhasePlan(name=f"s{share:.2f}-o{offset:g}", main_green_share=share,
                       offset_s=offset) for share in chosen for offset in offsets_s]
    currents = _closest_plans(plans, current, len(view["intersections"]))
    nodes = [Intersection(plans=plans, current_plan=currents[k], **row)
             for k, row in enumerate(view["intersections"])]
    approaches = _link_approaches(inputs, len(view["links"]))
    links = [Link(approach=approach, **row) for row, approach
             in zip(view["links"], approaches, strict=True) if row["travel_time_s"] > 0]
    return TrafficInput(name=name, cycle_s=view["cycle_s"], lost_time_s=view["lost_time_s"],
                        horizon_h=view["horizon_h"], intersections=nodes, links=links)


def _closest_plans(plans: list[PhasePlan], current: SignalPlan | None, n: int
                   ) -> list[str | None]:
    if current is None:
        return [None] * n
    shares = np.array([p.main_green_share for p in plans])
    offsets = np.array([p.offset_s for p in plans])
    out = []
    for share, offset in zip(np.asarray(current.ns_share), np.asarray(current.offset_s),
                             strict=True):
        k = int(np.argmin(np.abs(shares - share) * 1000 + np.abs(offsets - offset)))
        out.append(plans[k].name)
    return out


def _link_approaches(inputs: TrafficInputs, count: int) -> list[str]:
    """'main' or 'cross' for each signal-to-signal link, in the optimiser view's order."""
    net = inputs.network
    from_junction = np.full(len(net.node_ids), -1)
    from_junction[net.junction_nodes] = np.arange(net.n_junctions)
    keep = np.flatnonzero((from_junction[net.link_from] >= 0) & (net.link_junction >= 0))
    if len(keep) != count:  # the view changed shape: fall back on the corridor phase
        return ["main"] * count
    return ["main" if ns else "cross" for ns in net.is_ns[keep]]


def signal_plan(problem: TrafficProblem, x: np.ndarray, inputs: TrafficInputs,
                name: str = "qcity") -> SignalPlan:
    """The solution as the twin's fixed-time plan (one share and offset per junction)."""
    from twin_core import SignalPlan

    chosen = problem.decode(x).plans
    by_name = {p.name: p for node in problem.data.intersections for p in node.plans}
    ids = inputs.network.junction_ids
    missing = [j for j in ids if j not in chosen]
    if missing:
        raise InvalidProblem(f"the plan has no timing for {len(missing)} junctions")
    shares = np.array([by_name[chosen[j]].main_green_share for j in ids])
    offsets = np.array([by_name[chosen[j]].offset_s for j in ids])
    return SignalPlan(shares, offsets, inputs.cycle_s, inputs.lost_time_s, name)


def resimulate_traffic(inputs: TrafficInputs, problem: TrafficProblem, x: np.ndarray, *,
                       baseline: SignalPlan | None = None, sumo: bool = False,
                       seed: int = 0) -> list[Kpi]:
    """Total delay before (``baseline``, default Webster's proportional plan) and after,
    in the twin's macroscopic model and, with ``sumo``, in SUMO."""
    from twin_core import SignalPlan, simulate_sumo, simulate_traffic

    before = baseline or SignalPlan.proportional(inputs)
    after = signal_plan(problem, x, inputs)
    k0, k1 = simulate_traffic(inputs, before, seed=seed), simulate_traffic(inputs, after,
                                                                          seed=seed)
    kpis = [Kpi(name="total delay", unit="vehicle-hours", before=k0.total_delay_veh_h,
                after=k1.total_delay_veh_h, source="twin.store_and_forward"),
            Kpi(name="mean delay", unit="s per vehicle", before=k0.mean_delay_s,
                after=k1.mean_delay_s, source="twin.store_and_forward")]
    if sumo:
        s0, s1 = simulate_sumo(inputs, before, seed=seed), simulate_sumo(inputs, after, seed=seed)
        kpis += [Kpi(name="total delay", unit="vehicle-hours", before=s0.total_delay_veh_h,
                     after=s1.total_delay_veh_h, source="sumo"),
                 Kpi(name="mean delay", unit="s per vehicle", before=s0.mean_delay_s,
                     after=s1.mean_delay_s, source="sumo")]
    return kpis


def emergency_input(demand: Demand, resources: ResponseInputs, *,
                    turnout_delay_min: float = 2.0, name: str = "twin-emergency"
                    ) -> tuple[EmergencyInput, dict[str, int]]:
    """Dispatch inputs from the flood's demand, and the vehicles that cannot be sent.

    The model serves every stated need exactly, so when the fleet is short the least severe
    incidents' needs are cut first; the cuts are returned per incident, to be reported as
    unmet demand.
    """
    from twin_core import emergency_view

    view = emergency_view(demand, resources)
    fleet = sum(d["vehicles"] for d in view["depots"])
    unmet: dict[str, int] = {}
    need = sum(r["vehicles_needed"] for r in view["incidents"])
    for row in sorted(view["incidents"], key=lambda r: r["severity"]):
        while need > fleet and row["vehicles_needed"] > 0:
            row["vehicles_needed"] -= 1
            unmet[row["id"]] = unmet.get(row["id"], 0) + 1
            need -= 1
    served = [r for r in view["incidents"] if r["vehicles_needed"] > 0]
    keep = [k for k, r in enumerate(view["incidents"]) if r["vehicles_needed"] > 0]
    travel = [[row[k] for k in keep] for row in view["travel_time_min"]]
    data = EmergencyInput(name=name, incidents=served, depots=view["depots"],
                          travel_time_min=travel, turnout_delay_min=turnout_delay_min)
    return data, unmet


def response_plan(problem: EmergencyProblem, x: np.ndarray, demand: Demand,
                  name: str = "qcity") -> ResponsePlan:
    """The solution as the twin's depots x incidents dispatch matrix."""
    from twin_core import ResponsePlan

    grid = np.asarray(x).round().astype(int).reshape(problem.times.shape)
    served = [inc.id for inc in problem.data.incidents]
    dispatch = np.zeros((grid.shape[0], len(demand.incident_ids)), dtype=int)
    for k, incident in enumerate(served):
        dispatch[:, demand.incident_ids.index(incident)] = grid[:, k]
    return ResponsePlan(dispatch, name)


def resimulate_response(flood: FloodResult, demand: Demand, resources: ResponseInputs,
                        problem: EmergencyProblem, x: np.ndarray) -> list[Kpi]:
    """Severity-weighted response and unmet vehicles: nearest-first rule against the plan."""
    from twin_core import evaluate_response, nearest_first_plan

    k0 = evaluate_response(flood, demand, resources, nearest_first_plan(demand, resources))
    k1 = evaluate_response(flood, demand, resources, response_plan(problem, x, demand))
    return [Kpi(name="severity-weighted response", unit="severity x minutes",
                before=k0.weighted_response_min, after=k1.weighted_response_min,
                source="twin.flooded_network"),
            Kpi(name="unmet vehicles", unit="vehicles", before=k0.unmet_vehicles,
                after=k1.unmet_vehicles, source="twin.flooded_network")]


def energy_input(inputs: EnergyInputs, feeder_id: str, *,
                 periods: Sequence[int] = EVENING_PEAK, block_kw: int = 5,
                 name: str | None = None) -> FeederInput:
    """One feeder over a window of periods (the evening peak by default)."""
    view: dict[str, Any] = inputs.optimiser_view(feeder_id, block_kw=block_kw)
    window = list(periods)
    view["demand_kw"] = [view["demand_kw"][t] for t in window]
    view["import_price_per_kwh"] = [view["import_price_per_kwh"][t] for t in window]
    view["name"] = name or f"{feeder_id.rsplit(':', 1)[-1]}-{window[0]}h-{window[-1] + 1}h"
    return FeederInput.model_validate(view)


def dispatch_plan(problem: EnergyProblem, x: np.ndarray, inputs: EnergyInputs,
                  feeder_id: str, periods: Sequence[int] = EVENING_PEAK,
                  name: str = "qcity") -> TwinDispatchPlan:
    """The solution as the twin's feeders x day plan (idle outside the window)."""
    from twin_core import DispatchPlan

    plan = DispatchPlan.idle(inputs)
    storage, flex = plan.storage_kw.copy(), plan.flex_on.copy()
    row = [f.feeder_id for f in inputs.feeders].index(feeder_id)
    schedule = problem.decode(x)
    power = {b.id: b.power_kw for b in problem.data.storage}
    for k, t in enumerate(periods):
        storage[row, t] = -sum(power[b] for b in schedule.storage_discharging[k])
        flex[row, t] = bool(schedule.units_on[k])
    return DispatchPlan(storage, flex, name)


def resimulate_energy(inputs: EnergyInputs, problem: EnergyProblem, x: np.ndarray,
                      feeder_id: str, periods: Sequence[int] = EVENING_PEAK, *,
                      power_flow: bool = False) -> list[Kpi]:
    """Day cost and peak import of the feeder: idle storage and no load shedding, then the
    plan (with ``power_flow``, pandapower also checks voltages and loading)."""
    from twin_core import DispatchPlan, evaluate_dispatch

    k0 = evaluate_dispatch(inputs, DispatchPlan.idle(inputs), power_flow=power_flow)
    k1 = evaluate_dispatch(inputs, dispatch_plan(problem, x, inputs, feeder_id, periods),
                           power_flow=power_flow)
    f0 = next(f for f in k0.feeders if f.feeder_id == feeder_id)
    f1 = next(f for f in k1.feeders if f.feeder_id == feeder_id)
    source = "twin.energy_balance" + ("+pandapower" if power_flow else "")
    return [Kpi(name="feeder day cost", unit="currency units", before=f0.cost, after=f1.cost,
                source=source),
            Kpi(name="feeder peak import", unit="kW", before=f0.peak_import_kw,
                after=f1.peak_import_kw, source=source)]
