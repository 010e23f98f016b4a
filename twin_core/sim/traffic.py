"""Signal timing: inputs, plans, and a fast macroscopic queue model for the optimiser's loop.

The model is a store-and-forward network at one-second resolution with explicit signal
states: vehicles travel each link at free speed, join a vertical queue at the stop line,
and discharge at saturation flow only while their phase is green. Discharge is routed
downstream by the turning shares. That keeps red-time (uniform) delay, which averaged
store-and-forward models lose, at the cost of ignoring spillback; SUMO is the reference
that has it. Vectorised over links; the only loop is over time steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin_core.demo.profiles import entry_peak_vph
from twin_core.errors import InvalidPlan
from twin_core.model import City, Observation
from twin_core.sim.network import TrafficNetwork, build_network
from twin_core.sim.provenance import Provenance, make_provenance

DEFAULT_SHARES = (0.3, 0.4, 0.5, 0.6, 0.7)


@dataclass(frozen=True, eq=False)
class TrafficInputs:
    """What a signal-timing decision depends on: the network and its entry demand."""

    network: TrafficNetwork
    entry_vph: np.ndarray
    horizon_s: float = 900.0
    drain_s: float = 900.0
    cycle_s: float = 60.0
    lost_time_s: float = 8.0
    candidate_shares: tuple[float, ...] = DEFAULT_SHARES

    def link_flows_vph(self) -> np.ndarray:
        """Steady link flows implied by the entry demand and turning shares."""
        return self.network.steady_flows_vph(self.entry_vph)

    def approach_vph(self) -> np.ndarray:
        """(junctions, 2) arrival rates: N-S approaches, E-W approaches."""
        return self.network.approach_vph(self.link_flows_vph())

    def optimiser_view(self) -> dict[str, Any]:
        """Plain data for a problem builder: per-intersection demand and corridor links.

        Field names follow the quantum package's traffic input (main = N-S approaches,
        cross = E-W); `links` are signal-to-signal links with their free travel time and
        the platoon flow they carry.
        """
        net = self.network
        approach = self.approach_vph()
        sat = np.zeros(net.n_junctions)
        np.maximum.at(sat, net.link_junction[~net.is_exit],
                      net.sat_flow_vph[~net.is_exit].astype(float))
        flows = self.link_flows_vph()
        from_j = np.full(len(net.node_ids), -1)
        from_j[net.junction_nodes] = np.arange(net.n_junctions)
        ids = net.junction_ids
        links = []
        for k in np.flatnonzero((from_j[net.link_from] >= 0) & (net.link_junction >= 0)):
            links.append({"upstream": ids[from_j[net.link_from[k]]],
                          "downstream": ids[net.link_junction[k]],
                          "travel_time_s": float(net.length_m[k] / net.free_speed_mps[k]),
                          "platoon_vph": float(flows[k])})
        return {
            "cycle_s": self.cycle_s, "lost_time_s": self.lost_time_s,
            "horizon_h": self.horizon_s / 3600.0, "candidate_shares": list(self.candidate_shares),
            "intersections": [{"id": ids[j], "main_vph": float(approach[j, 0]),
                               "cross_vph": float(approach[j, 1]),
                               "saturation_vph": float(sat[j])} for j in range(net.n_junctions)],
            "links": links,
        }


@dataclass(frozen=True, eq=False)
class SignalPlan:
    """A fixed-time two-phase plan per junction: N-S share of effective green, offset."""

    ns_share: np.ndarray
    offset_s: np.ndarray
    cycle_s: float = 60.0
    lost_time_s: float = 8.0
    name: str = "plan"

    def __post_init__(self) -> None:
        share = np.asarray(self.ns_share, dtype=float)
        if share.ndim != 1 or np.any(share < 0.05) or np.any(share > 0.95):
            raise InvalidPlan("N-S green shares must be a vector within [0.05, 0.95]")
        if np.shape(self.offset_s) != share.shape:
            raise InvalidPlan("one offset per junction is needed")
        if self.lost_time_s >= self.cycle_s:
            raise InvalidPlan("lost time must be shorter than the cycle")

    @property
    def green_s(self) -> tuple[np.ndarray, np.ndarray]:
        """Effective green seconds of the N-S and the E-W phase per junction."""
        effective = self.cycle_s - self.lost_time_s
        share = np.asarray(self.ns_share, dtype=float)
        return share * effective, (1.0 - share) * effective

    @classmethod
    def uniform(cls, inputs: TrafficInputs, share: float, name: str | None = None,
                ) -> SignalPlan:
        n = inputs.network.n_junctions
        return cls(np.full(n, share), np.zeros(n), inputs.cycle_s, inputs.lost_time_s,
                   name or f"uniform-{share:.2f}")

    @classmethod
    def proportional(cls, inputs: TrafficInputs, name: str = "proportional") -> SignalPlan:
        """Webster's rule: green in proportion to each phase's critical flow ratio."""
        net = inputs.network
        ratio = np.zeros((net.n_junctions, 2))
        inbound = ~net.is_exit
        col = np.where(net.is_ns, 0, 1)
        per_lane = inputs.link_flows_vph() / net.sat_flow_vph
        np.maximum.at(ratio, (net.link_junction[inbound], col[inbound]), per_lane[inbound])
        total = ratio.sum(axis=1)
        share = np.where(total > 0, ratio[:, 0] / np.where(total > 0, total, 1.0), 0.5)
        return cls(np.clip(share, 0.15, 0.85), np.zeros(net.n_junctions), inputs.cycle_s,
                   inputs.lost_time_s, name)

    @classmethod
    def from_choices(cls, inputs: TrafficInputs, choices: Sequence[int],
                     offsets_s: Sequence[float] | None = None, name: str = "chosen",
                     ) -> SignalPlan:
        """A plan from one index into `inputs.candidate_shares` per junction."""
        idx = np.asarray(choices, dtype=int)
        if idx.shape != (inputs.network.n_junctions,):
            raise InvalidPlan("one choice per junction is needed")
        if np.any(idx < 0) or np.any(idx >= len(inputs.candidate_shares)):
            raise InvalidPlan("a choice is outside the candidate shares")
        offsets = np.zeros(len(idx)) if offsets_s is None else np.asarray(offsets_s, float)
        return cls(np.asarray(inputs.candidate_shares)[idx], offsets, inputs.cycle_s,
                   inputs.lost_time_s, name)

    @classmethod
    def current(cls, city: City) -> SignalPlan:
        """The timing the city runs today (stored on its junctions)."""
        sig = city.signalised
        return cls(np.array([j.ns_green_share for j in sig]), np.array([j.offset_s for j in sig]),
                   float(sig[0].cycle_s), 8.0, "current")


@dataclass(frozen=True, eq=False)
class TrafficKPIs:
    """What a plan does to traffic, with the vehicle balance that shows nothing leaked."""

    plan: str
    total_delay_veh_h: float
    mean_delay_s: float
    mean_queue_veh: float
    max_queue_veh: float
    queue_by_junction: np.ndarray
    vehicles_entered: float
    vehicles_exited: float
    vehicles_queued: float
    vehicles_moving: float
    provenance: Provenance
    wall_s: float = field(default=0.0, compare=False)

    @property
    def vehicles_in_network(self) -> float:
        return self.vehicles_queued + self.vehicles_moving


def build_traffic_inputs(city: City, *, latest: Iterable[Observation] | None = None,
                         scale: float = 1.0, **options: Any) -> TrafficInputs:
    """Inputs from the twin: entry demand from the latest detector flows where present.

    Entry links without a fresh observation fall back on the demo's peak demand, so the
    inputs are complete even on a city whose detectors have not reported yet.
    """
    net = build_network(city)
    demand = dict(entry_peak_vph(city))
    if latest is not None:
        link_of = {d.observed_id: d.ref_asset for d in city.devices
                   if d.category == "traffic.flow"}
        link_of.update({d.id: d.ref_asset for d in city.devices if d.category == "traffic.flow"})
        for obs in latest:
            link = link_of.get(obs.entity_id)
            if link in demand and obs.values.get("intensity") is not None:
                demand[link] = float(obs.values["intensity"])
    index = {lid: k for k, lid in enumerate(net.link_ids)}
    entry = np.zeros(net.n_links)
    for lid, vph in demand.items():
        entry[index[lid]] = vph * scale
    return TrafficInputs(network=net, entry_vph=entry, **options)


def _green_table(net: TrafficNetwork, plan: SignalPlan, dt: float) -> np.ndarray:
    """(steps per cycle, links) bool: is the link's phase green at that step of the cycle."""
    period = round(plan.cycle_s / dt)
    t = np.arange(period)[:, None] * dt
    inbound = ~net.is_exit
    junction = np.where(inbound, net.link_junction, 0)
    g_ns, g_ew = plan.green_s
    tc = np.mod(t - np.asarray(plan.offset_s)[junction][None, :], plan.cycle_s)
    half_lost = plan.lost_time_s / 2.0
    ns_green = tc < g_ns[junction][None, :]
    ew_start = g_ns[junction][None, :] + half_lost
    ew_green = (tc >= ew_start) & (tc < ew_start + g_ew[junction][None, :])
    green = np.where(net.is_ns[None, :], ns_green, ew_green)
    return green | ~inbound[None, :]


def simulate_traffic(inputs: TrafficInputs, plan: SignalPlan, *, dt: float = 1.0,
                     seed: int = 0) -> TrafficKPIs:
    """Run the macroscopic model for the demand horizon plus a drain period."""
    started = time.perf_counter()
    net = inputs.network
    if len(plan.ns_share) != net.n_junctions:
        raise InvalidPlan(f"plan has {len(plan.ns_share)} junctions, network "
                          f"{net.n_junctions}")
    n = net.n_links
    green = _green_table(net, plan, dt)
    cap = np.where(net.is_exit, np.inf, net.sat_flow_vph / 3600.0 * dt)
    tau = np.maximum(1, np.round(net.length_m / net.free_speed_mps / dt)).astype(int)
    ring_len = int(tau.max()) + 1
    ring = np.zeros((ring_len, n))
    queue = np.zeros(n)
    turn_t = net.turn.T.tocsr()
    entry_step = inputs.entry_vph / 3600.0 * dt
    inbound = ~net.is_exit
    lanes = np.arange(n)
    demand_steps = round(inputs.horizon_s / dt)
    steps = demand_steps + round(inputs.drain_s / dt)
    entered = exited = delay = 0.0
    queue_sum = np.zeros(n)
    max_queue = 0.0
    for k in range(steps):
        slot = k % ring_len
        queue += ring[slot]
        ring[slot] = 0.0
        out = np.minimum(queue, cap * green[k % len(green)])
        queue -= out
        exited += float(out[net.is_exit].sum())
        inflow = turn_t @ out
        if k < demand_steps:
            inflow += entry_step
            entered += float(entry_step.sum())
        ring[(k + tau) % ring_len, lanes] += inflow
        waiting = queue * inbound
        delay += float(waiting.sum()) * dt
        queue_sum += waiting
        max_queue = max(max_queue, float(waiting.max(initial=0.0)))
    mean_queue_link = queue_sum / steps
    by_junction = np.zeros(net.n_junctions)
    np.add.at(by_junction, net.link_junction[inbound], mean_queue_link[inbound])
    params = {"dt": dt, "horizon_s": inputs.horizon_s, "drain_s": inputs.drain_s,
              "cycle_s": plan.cycle_s, "plan": plan.name,
              "entry_vph_total": float(inputs.entry_vph.sum())}
    return TrafficKPIs(
        plan=plan.name, total_delay_veh_h=delay / 3600.0,
        mean_delay_s=delay / entered if entered > 0 else 0.0,
        mean_queue_veh=float(by_junction.mean()) if net.n_junctions else 0.0,
        max_queue_veh=max_queue, queue_by_junction=by_junction, vehicles_entered=entered,
        vehicles_exited=exited, vehicles_queued=float(queue.sum()),
        vehicles_moving=float(ring.sum()),
        provenance=make_provenance("traffic.store_and_forward", seed, params),
        wall_s=time.perf_counter() - started)


def evaluate_signal_plan(inputs: TrafficInputs, plan: SignalPlan | Mapping[str, float],
                         ) -> TrafficKPIs:
    """The optimiser's entry point: a plan (or junction id -> N-S share) in, KPIs out."""
    if not isinstance(plan, SignalPlan):
        ids = inputs.network.junction_ids
        missing = set(ids) - set(plan)
        if missing:
            raise InvalidPlan(f"no share for {len(missing)} junctions", missing=sorted(missing))
        plan = SignalPlan(np.array([plan[i] for i in ids]), np.zeros(len(ids)),
                          inputs.cycle_s, inputs.lost_time_s, "optimiser")
    return simulate_traffic(inputs, plan)
