"""Twin state -> a job's problem, and back again to re-simulate its plan.

Synchronous functions over twin_core's store (run them in a worker thread). Each builder
returns the quantum problem and a small JSON `context` from which the same twin inputs are
rebuilt after the solve (the city is static; the observations read at launch are kept in
the context), so the plan is re-simulated on exactly the inputs it was optimised for, even
after a gateway restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from gateway.jobs.errors import JobInputUnavailable
from quantum import EmergencyJob, EnergyJob, JobSpec, Kpi, SolveReport, TrafficJob
from quantum import twin_bridge as bridge

if TYPE_CHECKING:
    from twin_core import City, EnergyInputs, TwinStore

HOUSEHOLD = "energy.household_meter"
TRAFFIC = "traffic.flow"


def load_city(store: TwinStore) -> City:
    """The twin's static city, or JobInputUnavailable when the store holds none."""
    from twin_core import EntityNotFound

    try:
        return store.load_city()
    except EntityNotFound as exc:
        raise JobInputUnavailable("The twin holds no city to optimise.") from exc


# ------------------------------------------------------------------ traffic


def traffic_problem(store: TwinStore, shares: Sequence[float], offsets_s: Sequence[float]
                    ) -> tuple[TrafficJob, dict[str, Any]]:
    """Signal timing from the latest detector flows (demo peak demand where none reported)."""
    from twin_core import build_traffic_inputs, latest

    city = load_city(store)
    inputs = build_traffic_inputs(city, latest=latest(store, category=TRAFFIC))
    data = bridge.traffic_input(inputs, shares=list(shares), offsets_s=list(offsets_s))
    return TrafficJob(data=data), {"entry_vph": inputs.entry_vph.round(6).tolist()}


def _traffic_kpis(store: TwinStore, spec: JobSpec, context: dict[str, Any], x: np.ndarray
                  ) -> list[Kpi]:
    from quantum import build_traffic
    from twin_core import TrafficInputs, build_network

    inputs = TrafficInputs(network=build_network(load_city(store)),
                           entry_vph=np.asarray(context["entry_vph"], dtype=float))
    problem = build_traffic(spec.problem.data)  # type: ignore[union-attr]
    return bridge.resimulate_traffic(inputs, problem, x, sumo=bool(context.get("sumo")))


# ------------------------------------------------------------------ emergency


def _flood_scenario(city: City) -> tuple[Any, Any, Any]:
    from twin_core import (
        assess_demand,
        build_flood_inputs,
        build_network,
        build_response_inputs,
        simulate_flood,
    )

    flood_inputs = build_flood_inputs(city, build_network(city))
    flood = simulate_flood(flood_inputs)
    resources = build_response_inputs(city)
    return flood, assess_demand(flood_inputs, flood, resources), resources


def emergency_problem(store: TwinStore, turnout_delay_min: float
                      ) -> tuple[EmergencyJob, dict[str, Any]]:
    """Dispatch to the incidents of the twin's flood scenario (static city only)."""
    _flood, demand, resources = _flood_scenario(load_city(store))
    data, unmet = bridge.emergency_input(demand, resources, turnout_delay_min=turnout_delay_min)
    if not data.incidents:
        raise JobInputUnavailable("The flood scenario has no incident to serve.")
    return EmergencyJob(data=data), {"unmet_vehicles": unmet}


def _emergency_kpis(store: TwinStore, spec: JobSpec, x: np.ndarray) -> list[Kpi]:
    from quantum import build_emergency

    flood, demand, resources = _flood_scenario(load_city(store))
    problem = build_emergency(spec.problem.data)  # type: ignore[union-attr]
    return bridge.resimulate_response(flood, demand, resources, problem, x)


# ------------------------------------------------------------------ energy


def feeder_meters(store: TwinStore, feeder_id: str) -> list[tuple[str, str | None]]:
    """(meter entity id, data subject or None) of every household on the feeder."""
    city = load_city(store)
    if feeder_id not in {f.id for f in city.feeders}:
        raise JobInputUnavailable("The twin has no such feeder.", feeder_id=feeder_id[:256])
    homes = {b.id for b in city.buildings if b.feeder_id == feeder_id}
    return [(d.observed_id, d.data_subject) for d in city.devices
            if d.category == HOUSEHOLD and d.ref_asset in homes]


def _modelled_net_kw(inputs: EnergyInputs, feeder_id: str) -> np.ndarray:
    """The feeder's modelled net load in the shape of a measured one (see build_energy_inputs)."""
    profile = next(f for f in inputs.feeders if f.feeder_id == feeder_id)
    return (profile.demand_kw - profile.solar_kw) * 1.02


def measured_net_kw(store: TwinStore, feeder_id: str, meters: Sequence[str],
                    complete: bool, now: datetime | None = None) -> list[float]:
    """24 hourly net loads of the feeder: the sum of its meters' hourly means over the last
    day where every meter reported in that hour (and `complete`: every household's meter may
    be read), the twin's model elsewhere."""
    from twin_core import build_energy_inputs, history

    city = load_city(store)
    net = _modelled_net_kw(build_energy_inputs(city), feeder_id)
    if not complete or not meters:
        return net.round(6).tolist()
    end = now or datetime.now(UTC)
    rows = history(store, start=end - timedelta(days=1), end=end, category=HOUSEHOLD,
                   entity_ids=list(meters))
    if not rows:
        return net.round(6).tolist()
    index = {m: k for k, m in enumerate(meters)}
    meter = np.array([index.get(r.entity_id, -1) for r in rows])
    hour = np.array([r.observed_at.astimezone(UTC).hour for r in rows])
    power = np.array([float(r.values.get("activePower", np.nan)) for r in rows])
    keep = (meter >= 0) & np.isfinite(power)
    sums, counts = np.zeros((len(meters), 24)), np.zeros((len(meters), 24))
    np.add.at(sums, (meter[keep], hour[keep]), power[keep])
    np.add.at(counts, (meter[keep], hour[keep]), 1.0)
    reported = (counts > 0).all(axis=0)
    measured = (sums / np.maximum(counts, 1.0)).sum(axis=0)
    return np.where(reported, measured, net).round(6).tolist()


def energy_problem(store: TwinStore, feeder_id: str, periods: Sequence[int], block_kw: int,
                   observed_net_kw: list[float]) -> tuple[EnergyJob, dict[str, Any]]:
    """One feeder's dispatch over `periods`, on the measured (or modelled) net load."""
    if any(not 0 <= t < 24 for t in periods) or len(set(periods)) != len(periods):
        raise JobInputUnavailable("periods must be distinct hours 0..23.")
    inputs = _energy_inputs(store, feeder_id, observed_net_kw)
    data = bridge.energy_input(inputs, feeder_id, periods=list(periods), block_kw=block_kw)
    context = {"feeder_id": feeder_id, "periods": list(periods),
               "observed_net_kw": observed_net_kw}
    return EnergyJob(data=data), context


def _energy_inputs(store: TwinStore, feeder_id: str, observed: list[float]) -> EnergyInputs:
    from twin_core import build_energy_inputs

    return build_energy_inputs(load_city(store),
                               observed_net_kw={feeder_id: np.asarray(observed, dtype=float)})


def _energy_kpis(store: TwinStore, spec: JobSpec, context: dict[str, Any], x: np.ndarray
                 ) -> list[Kpi]:
    from quantum import build_energy

    feeder_id, periods = context["feeder_id"], context["periods"]
    inputs = _energy_inputs(store, feeder_id, context["observed_net_kw"])
    problem = build_energy(spec.problem.data)  # type: ignore[union-attr]
    return bridge.resimulate_energy(inputs, problem, x, feeder_id, periods)


# ------------------------------------------------------------------ re-simulation


def resimulate(store: TwinStore, spec: JobSpec, context: dict[str, Any], report: SolveReport
               ) -> SolveReport:
    """The report with the twin's KPIs of the plan added (before: today's plan or rule)."""
    x = report.result.x
    if x is None or not report.result.feasible:
        return report
    plan = np.asarray(x, dtype=float)
    kind = spec.problem.kind
    if kind == "traffic":
        kpis = _traffic_kpis(store, spec, context, plan)
    elif kind == "emergency":
        kpis = _emergency_kpis(store, spec, plan)
    elif kind == "energy":
        kpis = _energy_kpis(store, spec, context, plan)
    else:
        return report
    return report.model_copy(update={"kpis": [*report.kpis, *kpis]})
