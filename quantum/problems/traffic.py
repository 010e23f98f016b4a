"""Traffic-light timing: one phase plan per intersection, coupled along corridors (green waves).

Model. Each intersection runs one of a few candidate plans (a green share for the corridor
approach and an offset within a common cycle). Delay per plan uses Webster's uniform delay plus
the HCM incremental (oversaturation) delay for randomly arriving vehicles. Vehicles travelling
in platoons between neighbours are delayed by the progression instead: a platoon leaves the
upstream signal when its corridor green starts and is delayed only if it reaches the downstream
signal on red. That platoon delay depends on the plans at both ends: the quadratic couplings.

Binary ``x[i,k] = 1`` when intersection ``i`` runs plan ``k``; exactly one plan per
intersection (an equality constraint, penalised in the QUBO). Objective: vehicle-minutes of
delay over the horizon.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator
from qiskit_optimization import QuadraticProgram

from quantum.problems._base import BuiltProblem, InputModel, lp_name

_SAMPLES = 48  # points across a platoon when averaging its progression delay


class PhasePlan(InputModel):
    """A candidate signal plan: the corridor's share of effective green and the offset."""

    name: str
    main_green_share: float = Field(gt=0.05, lt=0.95)
    offset_s: float = Field(ge=0.0)


class Intersection(InputModel):
    """A signalised intersection with corridor (main) and cross-street demand in veh/h."""

    id: str
    main_vph: float = Field(ge=0.0)
    cross_vph: float = Field(ge=0.0)
    saturation_vph: float = Field(default=1800.0, gt=0.0)
    plans: list[PhasePlan] = Field(min_length=2, max_length=8)
    current_plan: str | None = None

    @model_validator(mode="after")
    def _plans_named_once(self) -> Intersection:
        names = [p.name for p in self.plans]
        if len(set(names)) != len(names):
            raise ValueError(f"intersection {self.id}: plan names repeat")
        if self.current_plan is not None and self.current_plan not in names:
            raise ValueError(f"intersection {self.id}: unknown current plan {self.current_plan}")
        return self


class Link(InputModel):
    """A link carrying platoons from ``upstream`` to ``downstream`` on one approach.

    ``approach`` says which phase serves the platoon at both ends: ``main`` (the corridor,
    N-S in the twin) or ``cross`` (E-W).
    """

    upstream: str
    downstream: str
    travel_time_s: float = Field(gt=0.0)
    platoon_vph: float = Field(ge=0.0)
    approach: Literal["main", "cross"] = "main"


class TrafficInput(InputModel):
    """Twin state for signal timing: demand per intersection, candidate plans, corridor links."""

    name: str = "traffic"
    cycle_s: float = Field(default=90.0, ge=30.0, le=240.0)
    lost_time_s: float = Field(default=8.0, ge=0.0)
    horizon_h: float = Field(default=1.0, gt=0.0)
    intersections: list[Intersection] = Field(min_length=1)
    links: list[Link] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> TrafficInput:
        ids = [i.id for i in self.intersections]
        if len(set(ids)) != len(ids):
            raise ValueError("intersection ids repeat")
        known = set(ids)
        for link in self.links:
            if link.upstream not in known or link.downstream not in known:
                raise ValueError(f"link {link.upstream}->{link.downstream} names an unknown id")
            if link.upstream == link.downstream:
                raise ValueError("a link must join two different intersections")
        if self.lost_time_s >= self.cycle_s:
            raise ValueError("lost time must be shorter than the cycle")
        return self


class TrafficPlan(BaseModel):
    """The chosen plan per intersection and the model's predicted delay."""

    plans: dict[str, str]
    delay_vehicle_minutes: float


def signal_delay_s(
    cycle_s: float, green_ratio: np.ndarray, volume_vph: np.ndarray, saturation_vph: np.ndarray,
    horizon_h: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Webster uniform delay and HCM incremental delay, seconds per vehicle (vectorised).

    Returns the two terms separately: platoon vehicles replace the uniform term by their
    progression delay but still queue behind an oversaturated approach.
    """
    lam = np.asarray(green_ratio, dtype=float)
    capacity = np.maximum(saturation_vph * lam, 1e-9)
    x = np.asarray(volume_vph, dtype=float) / capacity
    uniform = 0.5 * cycle_s * (1 - lam) ** 2 / (1 - np.minimum(1.0, x) * lam)
    incremental = 900.0 * horizon_h * (
        (x - 1) + np.sqrt((x - 1) ** 2 + 4.0 * x / (capacity * horizon_h))
    )
    return uniform, incremental


def progression_delay_s(
    cycle_s: float, arrival_start_s: np.ndarray, platoon_s: np.ndarray, green_s: np.ndarray,
) -> np.ndarray:
    """Mean wait of a platoon spread uniformly over ``platoon_s`` seconds (vectorised).

    Times are relative to the start of the downstream green: a vehicle arriving at phase
    ``phi`` of the cycle waits ``cycle - phi`` when ``phi`` falls outside ``[0, green_s)``.
    """
    frac = (np.arange(_SAMPLES) + 0.5) / _SAMPLES
    t = arrival_start_s[..., None] + platoon_s[..., None] * frac
    phase = np.mod(t, cycle_s)
    wait = np.where(phase < green_s[..., None], 0.0, cycle_s - phase)
    return wait.mean(axis=-1)


class TrafficProblem(BuiltProblem[TrafficPlan]):
    """Signal timing as a constrained binary program (see the module docstring)."""

    kind = "traffic"

    def __init__(self, data: TrafficInput) -> None:
        self.data = data
        self.index = [(i, k) for i, node in enumerate(data.intersections)
                      for k in range(len(node.plans))]
        self.linear_cost, self.coupling = _costs(data)
        program = QuadraticProgram(data.name)
        names = [lp_name("tl", i, k) for i, k in self.index]
        for name in names:
            program.binary_var(name)
        quadratic = {(names[a], names[b]): float(c) for (a, b), c in self.coupling.items()}
        program.minimize(linear=dict(zip(names, self.linear_cost.tolist(), strict=True)),
                         quadratic=quadratic)
        for i in range(len(data.intersections)):
            members = [names[j] for j, (ii, _k) in enumerate(self.index) if ii == i]
            program.linear_constraint(dict.fromkeys(members, 1), "==", 1, lp_name("one_plan", i))
        super().__init__(program)

    def decode(self, x: np.ndarray) -> TrafficPlan:
        """Chosen plan per intersection (the first chosen one if a raw sample picked several)."""
        x = np.asarray(x).round().astype(int)
        plans: dict[str, str] = {}
        for j, (i, k) in enumerate(self.index):
            node = self.data.intersections[i]
            if x[j] and node.id not in plans:
                plans[node.id] = node.plans[k].name
        value = float(self.program.objective.evaluate(x.astype(float)))
        return TrafficPlan(plans=plans, delay_vehicle_minutes=value)

    def status_quo(self) -> np.ndarray:
        """Current plans (the first candidate where none is stated)."""
        x = np.zeros(len(self.index))
        for j, (i, k) in enumerate(self.index):
            node = self.data.intersections[i]
            current = node.current_plan or node.plans[0].name
            x[j] = float(node.plans[k].name == current)
        return x


def build_traffic(data: TrafficInput) -> TrafficProblem:
    """Build the signal-timing model from twin-like inputs."""
    return TrafficProblem(data)


def _costs(data: TrafficInput) -> tuple[np.ndarray, dict[tuple[int, int], float]]:
    """Linear delay per (intersection, plan) and platoon couplings per pair of variables."""
    effective = (data.cycle_s - data.lost_time_s) / data.cycle_s
    green_s = effective * data.cycle_s
    pos = {node.id: i for i, node in enumerate(data.intersections)}
    incoming = np.zeros((len(data.intersections), 2))
    for link in data.links:
        incoming[pos[link.downstream], int(link.approach == "cross")] += link.platoon_vph
    linear = []
    for i, node in enumerate(data.intersections):
        share = np.array([p.main_green_share for p in node.plans])
        main_u, main_i = signal_delay_s(data.cycle_s, share * effective, np.full_like(share,
                                        node.main_vph), node.saturation_vph, data.horizon_h)
        cross_u, cross_i = signal_delay_s(data.cycle_s, (1 - share) * effective,
                                          np.full_like(share, node.cross_vph),
                                          node.saturation_vph, data.horizon_h)
        random_main = max(node.main_vph - incoming[i, 0], 0.0)
        random_cross = max(node.cross_vph - incoming[i, 1], 0.0)
        veh_s = (random_main * main_u + node.main_vph * main_i
                 + random_cross * cross_u + node.cross_vph * cross_i)
        linear.append(veh_s * data.horizon_h / 60.0)
    first = np.cumsum([0] + [len(node.plans) for node in data.intersections])
    coupling: dict[tuple[int, int], float] = {}
    for link in data.links:
        iu, idn = pos[link.upstream], pos[link.downstream]
        u, d = data.intersections[iu], data.intersections[idn]
        start_u, len_u = _green_window(u, link.approach, green_s, data.lost_time_s)
        start_d, len_d = _green_window(d, link.approach, green_s, data.lost_time_s)
        platoon = np.minimum(len_u, link.platoon_vph * data.cycle_s / u.saturation_vph)
        start = start_u[:, None] + link.travel_time_s - start_d[None, :]
        shape = (len(u.plans), len(d.plans))
        wait = progression_delay_s(data.cycle_s, np.broadcast_to(start, shape),
                                   np.broadcast_to(platoon[:, None], shape),
                                   np.broadcast_to(len_d[None, :], shape))
        cost = link.platoon_vph * data.horizon_h * wait / 60.0
        rows, cols = np.meshgrid(first[iu] + np.arange(shape[0]),
                                 first[idn] + np.arange(shape[1]), indexing="ij")
        for a, b, c in zip(rows.ravel().tolist(), cols.ravel().tolist(), cost.ravel().tolist(),
                           strict=True):
            key = (min(a, b), max(a, b))
            coupling[key] = coupling.get(key, 0.0) + c
    return np.concatenate(linear), coupling


def _green_window(node: Intersection, approach: str, green_s: float, lost_s: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Start (in the common cycle) and length of each plan's green for ``approach``."""
    share = np.array([p.main_green_share for p in node.plans])
    offset = np.array([p.offset_s for p in node.plans])
    if approach == "main":
        return offset, share * green_s
    return offset + share * green_s + lost_s / 2.0, (1.0 - share) * green_s
