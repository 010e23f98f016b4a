"""Energy: demand against rooftop solar and storage per LV feeder over a day, for a dispatch plan.

The energy balance (what each feeder imports or exports every hour, how the batteries' state
of charge evolves, what demand response sheds) is vectorised over feeders and is cheap
enough for an optimiser's loop; the pandapower power flow (`powerflow`) then checks the
plan against the network's physics: voltage band, line and transformer loading.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin_core.demo.profiles import household_profile, solar_profile
from twin_core.errors import InvalidPlan
from twin_core.model import City
from twin_core.sim.provenance import Provenance, make_provenance

HOURS = 24


def time_of_use_price(hours: np.ndarray) -> np.ndarray:
    """A day/night/evening-peak tariff in currency units per kWh."""
    h = np.asarray(hours) % 24
    return np.where((h >= 17) & (h < 21), 0.36, np.where((h >= 7) & (h < 17), 0.26, 0.18))


@dataclass(frozen=True, eq=False)
class FeederProfile:
    """One feeder's day: gross demand and solar per period, its storage and flexibility."""

    feeder_id: str
    substation_id: str
    demand_kw: np.ndarray
    solar_kw: np.ndarray
    storage_kwh: float
    storage_kw: float
    flexible_kw: float  # load the operator may pause (EV chargers), per period
    import_limit_kw: float
    sections: int
    section_share: np.ndarray  # share of the feeder's households on each section
    length_m: float
    cable_type: str
    storage_efficiency: float = 0.95  # one-way, charge and discharge each
    soc0_share: float = 0.5
    flexible_cost_per_kwh: float = 0.15


@dataclass(frozen=True, eq=False)
class EnergyInputs:
    """All feeders over one day, with the tariff and the network limits to respect."""

    feeders: tuple[FeederProfile, ...]
    substation_kva: Mapping[str, float]
    import_price: np.ndarray
    period_h: float = 1.0
    voltage_band: tuple[float, float] = (0.95, 1.05)
    max_loading_pct: float = 100.0

    @property
    def periods(self) -> int:
        return len(self.import_price)

    def optimiser_view(self, feeder_id: str, block_kw: int = 5) -> dict[str, Any]:
        """One feeder in the optimiser's dispatch shape: demand net of solar, units, storage.

        Powers are rounded up to whole `block_kw` blocks, as the optimiser's integer model
        needs; demand response is a unit that sheds load at a cost.
        """
        f = next((x for x in self.feeders if x.feeder_id == feeder_id), None)
        if f is None:
            raise InvalidPlan(f"no feeder {feeder_id}")

        def blocks(kw: float) -> int:
            return int(max(block_kw, block_kw * np.ceil(kw / block_kw)))

        net = np.maximum(f.demand_kw - f.solar_kw, 0.0)
        units = ([{"id": f"{feeder_id}:flex", "power_kw": blocks(f.flexible_kw),
                   "cost_per_kwh": f.flexible_cost_per_kwh}] if f.flexible_kw > 0 else [])
        storage = ([{"id": f"{feeder_id}:battery", "power_kw": blocks(f.storage_kw),
                     "energy_kwh": float(f.storage_kwh)}] if f.storage_kwh > 0 else [])
        return {"name": feeder_id, "period_h": self.period_h,
                "demand_kw": net.round(3).tolist(),
                "import_price_per_kwh": self.import_price.tolist(),
                "import_limit_kw": blocks(f.import_limit_kw), "block_kw": block_kw,
                "units": units, "storage": storage}


@dataclass(frozen=True, eq=False)
class DispatchPlan:
    """Battery power per feeder and period (+ charging, - discharging), demand response on/off."""

    storage_kw: np.ndarray
    flex_on: np.ndarray
    name: str = "plan"

    @classmethod
    def idle(cls, inputs: EnergyInputs) -> DispatchPlan:
        shape = (len(inputs.feeders), inputs.periods)
        return cls(np.zeros(shape), np.zeros(shape, dtype=bool), "idle")

    @classmethod
    def self_consumption(cls, inputs: EnergyInputs) -> DispatchPlan:
        """Baseline: store surplus solar, discharge whenever the feeder imports."""
        p = _profiles(inputs)
        soc = p["cap"] * p["soc0"]
        plan = np.zeros_like(p["demand"])
        for t in range(inputs.periods):
            net = p["demand"][:, t] - p["solar"][:, t]
            room_in = (p["cap"] - soc) / (p["eff"] * inputs.period_h)
            room_out = soc * p["eff"] / inputs.period_h
            charge = np.minimum(np.minimum(-net, p["kw"]), room_in)
            discharge = np.minimum(np.minimum(net, p["kw"]), room_out)
            plan[:, t] = np.where(net < 0, charge, -discharge)
            soc = _soc_step(soc, plan[:, t], p["eff"], inputs.period_h)
        return cls(plan, np.zeros(plan.shape, dtype=bool), "self-consumption")


@dataclass(frozen=True, eq=False)
class FeederKPIs:
    """One feeder's day under a plan."""

    feeder_id: str
    net_import_kw: np.ndarray
    soc_kwh: np.ndarray
    peak_import_kw: float
    import_kwh: float
    export_kwh: float
    self_sufficiency: float
    shed_kwh: float
    over_limit_kwh: float
    infeasible_kwh: float  # battery power the plan asked for that the state of charge refused
    cost: float


@dataclass(frozen=True, eq=False)
class EnergyKPIs:
    """A plan's energy balance for every feeder and, when run, its power-flow check."""

    plan: str
    feeders: tuple[FeederKPIs, ...]
    import_kwh: float
    export_kwh: float
    coincident_peak_kw: float
    cost: float
    power_flow: Any  # PowerFlowKPIs, or None when the check was skipped
    provenance: Provenance
    wall_s: float = field(default=0.0, compare=False)

    @property
    def within_limits(self) -> bool:
        """No feeder over its import limit and (if checked) the power flow within limits."""
        ok = all(f.over_limit_kwh == 0 for f in self.feeders)
        return ok and (self.power_flow is None or self.power_flow.within_limits)


def build_energy_inputs(city: City, *, observed_net_kw: Mapping[str, np.ndarray] | None = None,
                        cloud_factor: float = 0.8) -> EnergyInputs:
    """Hourly feeder profiles from the twin's households (and measured feeder loads if given).

    Solar is estimated from installed PV and a clear-sky curve; where a feeder's measured net
    load is given (24 hourly means), gross demand is that plus the solar estimate.
    """
    hours = np.arange(HOURS) + 0.5
    sun = solar_profile(hours) * cloud_factor
    ev_window = ((hours >= 18) & (hours < 20)).astype(float)
    by_feeder: dict[str, list] = {f.id: [] for f in city.feeders}
    for b in city.buildings:
        by_feeder[b.feeder_id].append(b)
    feeders = []
    for f in city.feeders:
        hh = by_feeder[f.id]
        base = sum(b.base_load_kw for b in hh)
        flex = sum(b.flexible_kw for b in hh)
        demand = base * household_profile(hours) + flex * ev_window
        solar = sum(b.pv_kw for b in hh) * sun
        if observed_net_kw is not None and f.id in observed_net_kw:
            demand = np.maximum(np.asarray(observed_net_kw[f.id], dtype=float) / 1.02 + solar, 0)
        share = np.bincount([b.section - 1 for b in hh], minlength=f.sections).astype(float)
        feeders.append(FeederProfile(
            feeder_id=f.id, substation_id=f.substation_id, demand_kw=demand, solar_kw=solar,
            storage_kwh=sum(b.battery_kwh for b in hh), storage_kw=sum(b.battery_kw for b in hh),
            flexible_kw=flex, import_limit_kw=f.import_limit_kw, sections=f.sections,
            section_share=share / max(share.sum(), 1.0), length_m=f.length_m,
            cable_type=f.cable_type))
    return EnergyInputs(feeders=tuple(feeders),
                        substation_kva={s.id: s.transformer_kva for s in city.substations},
                        import_price=time_of_use_price(hours - 0.5))


def _profiles(inputs: EnergyInputs) -> dict[str, np.ndarray]:
    fs = inputs.feeders
    return {"demand": np.array([f.demand_kw for f in fs]),
            "solar": np.array([f.solar_kw for f in fs]),
            "cap": np.array([f.storage_kwh for f in fs]),
            "kw": np.array([f.storage_kw for f in fs]),
            "eff": np.array([f.storage_efficiency for f in fs]),
            "soc0": np.array([f.soc0_share for f in fs]),
            "flex": np.array([f.flexible_kw for f in fs]),
            "flex_cost": np.array([f.flexible_cost_per_kwh for f in fs]),
            "limit": np.array([f.import_limit_kw for f in fs])}


def _soc_step(soc: np.ndarray, p: np.ndarray, eff: np.ndarray, dt_h: float) -> np.ndarray:
    return soc + np.where(p > 0, p * eff, p / eff) * dt_h


def balance(inputs: EnergyInputs, plan: DispatchPlan) -> tuple[FeederKPIs, ...]:
    """Each feeder's hourly net import and battery state under `plan` (vectorised)."""
    p = _profiles(inputs)
    shape = p["demand"].shape
    if np.shape(plan.storage_kw) != shape or np.shape(plan.flex_on) != shape:
        raise InvalidPlan(f"plan arrays must be feeders x periods {shape}")
    dt = inputs.period_h
    asked = np.clip(np.asarray(plan.storage_kw, dtype=float), -p["kw"][:, None],
                    p["kw"][:, None])
    soc = np.zeros((shape[0], shape[1] + 1))
    soc[:, 0] = p["cap"] * p["soc0"]
    done = np.zeros(shape)
    for t in range(shape[1]):
        room_in = (p["cap"] - soc[:, t]) / (p["eff"] * dt)
        room_out = soc[:, t] * p["eff"] / dt
        done[:, t] = np.clip(asked[:, t], -room_out, room_in)
        soc[:, t + 1] = _soc_step(soc[:, t], done[:, t], p["eff"], dt)
    shed = np.minimum(np.asarray(plan.flex_on, dtype=bool) * p["flex"][:, None], p["demand"])
    net = p["demand"] - p["solar"] - shed + done
    imp, exp = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    over = np.maximum(net - p["limit"][:, None], 0.0)
    cost = (imp * inputs.import_price[None, :]).sum(axis=1) * dt + shed.sum(axis=1) * dt * \
        p["flex_cost"]
    local = np.minimum(p["demand"] - shed + np.maximum(done, 0), p["solar"] + np.maximum(-done, 0))
    demand_kwh = (p["demand"] - shed + np.maximum(done, 0)).sum(axis=1)
    infeasible = np.abs(np.asarray(plan.storage_kw, dtype=float) - done).sum(axis=1) * dt
    return tuple(FeederKPIs(
        feeder_id=f.feeder_id, net_import_kw=net[k], soc_kwh=soc[k],
        peak_import_kw=float(net[k].max()), import_kwh=float(imp[k].sum() * dt),
        export_kwh=float(exp[k].sum() * dt),
        self_sufficiency=float(local[k].sum() / demand_kwh[k]) if demand_kwh[k] else 1.0,
        shed_kwh=float(shed[k].sum() * dt), over_limit_kwh=float(over[k].sum() * dt),
        infeasible_kwh=float(infeasible[k]), cost=float(cost[k]))
        for k, f in enumerate(inputs.feeders))


def evaluate_dispatch(inputs: EnergyInputs, plan: DispatchPlan, *, power_flow: bool = True,
                      periods: list[int] | str | None = "critical", numba: bool = False,
                      grid: Any = None, seed: int = 0) -> EnergyKPIs:
    """The optimiser's entry point: energy balance, then (optionally) the power flow.

    Pass a `powerflow.GridModel` of the same inputs as `grid` when checking many plans;
    `periods` and `numba` go to its `run`.
    """
    started = time.perf_counter()
    feeders = balance(inputs, plan)
    pf = None
    if power_flow:
        from twin_core.sim.powerflow import GridModel

        if grid is None:
            grid = GridModel(inputs)
        elif grid.inputs is not inputs:
            raise InvalidPlan("the grid model was built for other inputs")
        pf = grid.run(np.array([f.net_import_kw for f in feeders]), periods, numba=numba)
    net = np.array([f.net_import_kw for f in feeders])
    params = {"plan": plan.name, "period_h": inputs.period_h, "periods": periods,
              "voltage_band": inputs.voltage_band}
    return EnergyKPIs(
        plan=plan.name, feeders=feeders, import_kwh=sum(f.import_kwh for f in feeders),
        export_kwh=sum(f.export_kwh for f in feeders),
        coincident_peak_kw=float(net.sum(axis=0).max()), cost=sum(f.cost for f in feeders),
        power_flow=pf,
        provenance=make_provenance("energy.dispatch", seed, params,
                                   ("pandapower",) if power_flow else ()),
        wall_s=time.perf_counter() - started)
