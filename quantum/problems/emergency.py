"""Emergency resource allocation: vehicles from depots to incidents, severity-weighted.

``x[d,i]`` is the number of vehicles depot ``d`` sends to incident ``i`` (binary when at most
one can be sent). Each incident gets exactly the vehicles it needs; a depot sends no more than
it has. Objective: severity-weighted response minutes, plus a turnout term: crews of one depot
leave one after another, so every pair of vehicles leaving the same depot adds a delay weighted
by the severities they serve. That term makes the model quadratic and spreads the load.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field, model_validator
from qiskit_optimization import QuadraticProgram

from quantum.problems._base import BuiltProblem, InputModel, lp_name


class Incident(InputModel):
    """An incident zone: severity 1 (minor) to 5 (critical), position in km, vehicles needed."""

    id: str
    severity: int = Field(ge=1, le=5)
    location_km: tuple[float, float]
    vehicles_needed: int = Field(default=1, ge=1, le=8)


class Depot(InputModel):
    """A depot (station) with its available vehicles."""

    id: str
    location_km: tuple[float, float]
    vehicles: int = Field(ge=0)


class EmergencyInput(InputModel):
    """Twin state for dispatch: incidents, depots and travel times (given or from distance)."""

    name: str = "emergency"
    incidents: list[Incident] = Field(min_length=1)
    depots: list[Depot] = Field(min_length=1)
    travel_time_min: list[list[float]] | None = None
    speed_kmh: float = Field(default=40.0, gt=0.0)
    detour_factor: float = Field(default=1.3, ge=1.0)
    turnout_delay_min: float = Field(default=2.0, ge=0.0)

    @model_validator(mode="after")
    def _consistent(self) -> EmergencyInput:
        if self.travel_time_min is not None:
            shape = np.shape(self.travel_time_min)
            if shape != (len(self.depots), len(self.incidents)):
                raise ValueError(f"travel_time_min must be depots x incidents, got {shape}")
        need = sum(i.vehicles_needed for i in self.incidents)
        have = sum(d.vehicles for d in self.depots)
        if need > have:
            raise ValueError(f"incidents need {need} vehicles, depots have {have}")
        return self

    def travel_times(self) -> np.ndarray:
        """Depot x incident travel minutes: the given matrix, or detoured straight-line time."""
        if self.travel_time_min is not None:
            return np.asarray(self.travel_time_min, dtype=float)
        depots = np.array([d.location_km for d in self.depots])
        incidents = np.array([i.location_km for i in self.incidents])
        dist = np.linalg.norm(depots[:, None, :] - incidents[None, :, :], axis=-1)
        return dist * self.detour_factor / self.speed_kmh * 60.0


class DispatchPlan(BaseModel):
    """Depots sending a vehicle to each incident and the resulting response times."""

    assignments: dict[str, list[str]]
    response_min: dict[str, float]
    weighted_response: float


class EmergencyProblem(BuiltProblem[DispatchPlan]):
    """Dispatch as a constrained binary program (see the module docstring)."""

    kind = "emergency"

    def __init__(self, data: EmergencyInput) -> None:
        self.data = data
        self.times = data.travel_times()
        n_d, n_i = self.times.shape
        self.index = [(d, i) for d in range(n_d) for i in range(n_i)]
        names = [lp_name("dispatch", d, i) for d, i in self.index]
        program = QuadraticProgram(data.name)
        for name, (d, i) in zip(names, self.index, strict=True):
            most = min(data.depots[d].vehicles, data.incidents[i].vehicles_needed)
            if most <= 1:
                program.binary_var(name)
            else:
                program.integer_var(0, most, name)
        severity = np.array([inc.severity for inc in data.incidents], dtype=float)
        linear = {n: float(severity[i] * self.times[d, i])
                  for n, (d, i) in zip(names, self.index, strict=True)}
        quadratic: dict[tuple[str, str], float] = {}
        delay = data.turnout_delay_min
        if delay > 0:
            for d in range(n_d):
                for i in range(n_i):
                    own = names[d * n_i + i]
                    if program.get_variable(own).upperbound > 1:
                        # k vehicles to one incident: k(k-1)/2 pairs leave one after another
                        quadratic[(own, own)] = 0.5 * delay * severity[i]
                        linear[own] -= 0.5 * delay * severity[i]
                    for j in range(i + 1, n_i):
                        weight = delay * 0.5 * (severity[i] + severity[j])
                        quadratic[(own, names[d * n_i + j])] = float(weight)
        program.minimize(linear=linear, quadratic=quadratic)
        for i, inc in enumerate(data.incidents):
            row = {names[d * n_i + i]: 1 for d in range(n_d)}
            program.linear_constraint(row, "==", inc.vehicles_needed, lp_name("cover", i))
        for d, depot in enumerate(data.depots):
            if depot.vehicles < sum(min(depot.vehicles, inc.vehicles_needed)
                                    for inc in data.incidents):
                row = {names[d * n_i + i]: 1 for i in range(n_i)}
                program.linear_constraint(row, "<=", depot.vehicles, lp_name("fleet", d))
        super().__init__(program)

    def decode(self, x: np.ndarray) -> DispatchPlan:
        """Assignments and per-incident response (the slowest vehicle that was sent)."""
        x = np.asarray(x).round().astype(int)
        n_d, n_i = self.times.shape
        grid = x.reshape(n_d, n_i)
        assignments, response = {}, {}
        for i, inc in enumerate(self.data.incidents):
            sent = np.flatnonzero(grid[:, i])
            assignments[inc.id] = [self.data.depots[d].id for d in sent
                                   for _ in range(grid[d, i])]
            response[inc.id] = float(self.times[sent, i].max()) if len(sent) else float("inf")
        value = float(self.program.objective.evaluate(x.astype(float)))
        return DispatchPlan(assignments=assignments, response_min=response,
                            weighted_response=value)

    def status_quo(self) -> np.ndarray:
        """Today's rule: nearest depot with a free vehicle, most severe incident first."""
        n_d, n_i = self.times.shape
        free = np.array([d.vehicles for d in self.data.depots])
        grid = np.zeros((n_d, n_i))
        order = sorted(range(n_i), key=lambda i: -self.data.incidents[i].severity)
        for i in order:
            for d in np.argsort(self.times[:, i], kind="stable"):
                take = min(free[d], self.data.incidents[i].vehicles_needed - grid[:, i].sum())
                grid[d, i] += take
                free[d] -= take
        return grid.ravel()


def build_emergency(data: EmergencyInput) -> EmergencyProblem:
    """Build the dispatch model from twin-like inputs."""
    return EmergencyProblem(data)
