"""Seeded synthetic inputs of any size, for tests, the benchmark and demos without a twin."""

from __future__ import annotations

import numpy as np

from quantum.problems.emergency import Depot, EmergencyInput, Incident
from quantum.problems.energy import FeederInput, FlexibleUnit, Storage
from quantum.problems.traffic import Intersection, Link, PhasePlan, TrafficInput


def demo_traffic(n_intersections: int = 4, n_plans: int = 3, seed: int = 0,
                 cycle_s: float = 90.0) -> TrafficInput:
    """A corridor of signals with platoons both ways and plans mixing splits and offsets."""
    rng = np.random.default_rng(seed)
    nodes = []
    for i in range(n_intersections):
        shares = np.sort(rng.uniform(0.35, 0.7, n_plans))
        offsets = rng.choice(np.arange(0, cycle_s, cycle_s / 6), n_plans, replace=False)
        plans = [PhasePlan(name=f"p{k}", main_green_share=round(float(shares[k]), 3),
                           offset_s=float(offsets[k])) for k in range(n_plans)]
        nodes.append(Intersection(
            id=f"tl{i}", main_vph=float(rng.uniform(500, 900)),
            cross_vph=float(rng.uniform(250, 550)), plans=plans, current_plan=f"p{n_plans // 2}",
        ))
    links = []
    for i in range(n_intersections - 1):
        travel = float(rng.uniform(20, 50))
        links.append(Link(upstream=f"tl{i}", downstream=f"tl{i + 1}", travel_time_s=travel,
                          platoon_vph=float(rng.uniform(200, 400))))
        links.append(Link(upstream=f"tl{i + 1}", downstream=f"tl{i}", travel_time_s=travel,
                          platoon_vph=float(rng.uniform(50, 150))))
    return TrafficInput(name=f"traffic-{n_intersections}x{n_plans}", cycle_s=cycle_s,
                        intersections=nodes, links=links)


def demo_emergency(n_depots: int = 2, n_incidents: int = 4, seed: int = 0,
                   vehicles_per_depot: int | None = None) -> EmergencyInput:
    """Incidents and depots scattered over a 10 km square; fleets just large enough."""
    rng = np.random.default_rng(seed)
    incidents = [Incident(id=f"inc{i}", severity=int(rng.integers(1, 6)),
                          location_km=(float(rng.uniform(0, 10)), float(rng.uniform(0, 10))))
                 for i in range(n_incidents)]
    fleet = vehicles_per_depot or int(np.ceil(n_incidents / n_depots)) + 1
    depots = [Depot(id=f"depot{d}", vehicles=fleet,
                    location_km=(float(rng.uniform(0, 10)), float(rng.uniform(0, 10))))
              for d in range(n_depots)]
    return EmergencyInput(name=f"emergency-{n_depots}x{n_incidents}", incidents=incidents,
                          depots=depots, turnout_delay_min=3.0)


def demo_feeder(n_periods: int = 2, seed: int = 0) -> FeederInput:
    """An evening peak on a small feeder: two flexible units, one battery, a tight import limit."""
    rng = np.random.default_rng(seed)
    demand = [float(rng.uniform(160, 200)) for _ in range(n_periods)]
    prices = [round(float(rng.uniform(0.18, 0.35)), 3) for _ in range(n_periods)]
    units = [FlexibleUnit(id="chp", power_kw=100, cost_per_kwh=0.22, startup_cost=6.0),
             FlexibleUnit(id="dr", power_kw=50, cost_per_kwh=0.30)]
    storage = [Storage(id="bess", power_kw=50, energy_kwh=50.0, wear_cost_per_kwh=0.04)]
    return FeederInput(name=f"energy-{n_periods}p", demand_kw=demand,
                       import_price_per_kwh=prices, import_limit_kw=150, block_kw=50,
                       loss_factor_per_kw=0.002, units=units, storage=storage)
