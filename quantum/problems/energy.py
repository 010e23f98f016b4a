"""Energy dispatch on one feeder: switch flexible units and storage to meet demand at least cost.

Per period ``t``: binary ``on[u,t]`` for each flexible unit (a generator or a demand-response
block, both reduce what the feeder must import), binary ``dis[b,t]`` for each battery
discharging, and integer ``imp[t]`` blocks of grid import, bounded by the feeder's import limit.
Supply must cover demand (and, if set, may not exceed it by more than the export limit); each
battery discharges for at most as many periods as its energy allows. Objective: running cost,
start-up cost (``on[u,t] * (1 - on[u,t-1])``, quadratic), battery wear, import cost and the
feeder's resistive losses, which grow with the square of the import (quadratic).

Powers are counted in blocks of ``block_kw`` so that every constraint has integer coefficients,
as the QUBO slack conversion requires. Demand is rounded up to whole blocks (never under-served).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field, model_validator
from qiskit_optimization import QuadraticProgram

from quantum.problems._base import BuiltProblem, InputModel, lp_name


class FlexibleUnit(InputModel):
    """A switchable unit: ``power_kw`` of supply (or of load shed) at a cost per kWh."""

    id: str
    power_kw: int = Field(gt=0)
    cost_per_kwh: float = Field(ge=0.0)
    startup_cost: float = Field(default=0.0, ge=0.0)


class Storage(InputModel):
    """A battery that can discharge ``power_kw`` for ``energy_kwh / power_kw`` hours."""

    id: str
    power_kw: int = Field(gt=0)
    energy_kwh: float = Field(gt=0.0)
    wear_cost_per_kwh: float = Field(default=0.0, ge=0.0)


class FeederInput(InputModel):
    """Twin state for dispatch: per-period demand and prices, units, storage, feeder limits."""

    name: str = "energy"
    period_h: float = Field(default=1.0, gt=0.0)
    demand_kw: list[float] = Field(min_length=1)
    import_price_per_kwh: list[float]
    import_limit_kw: int = Field(ge=0)
    export_limit_kw: int | None = Field(default=None, ge=0)
    block_kw: int = Field(default=50, gt=0)
    loss_factor_per_kw: float = Field(default=0.0, ge=0.0)
    units: list[FlexibleUnit] = Field(default_factory=list)
    storage: list[Storage] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> FeederInput:
        if len(self.import_price_per_kwh) != len(self.demand_kw):
            raise ValueError("one import price per period is needed")
        powers = [u.power_kw for u in self.units] + [b.power_kw for b in self.storage]
        if any(p % self.block_kw for p in [*powers, self.import_limit_kw]):
            raise ValueError(f"powers and the import limit must be multiples of {self.block_kw} kW")
        most = sum(powers) + self.import_limit_kw
        if any(d > most for d in self.demand_kw):
            raise ValueError("demand exceeds everything the feeder can supply")
        return self


class DispatchSchedule(BaseModel):
    """Per-period decisions and their cost."""

    units_on: list[list[str]]
    storage_discharging: list[list[str]]
    import_kw: list[float]
    cost: float


class EnergyProblem(BuiltProblem[DispatchSchedule]):
    """Feeder dispatch as a constrained integer program (see the module docstring)."""

    kind = "energy"

    def __init__(self, data: FeederInput) -> None:
        self.data = data
        blk, dt = data.block_kw, data.period_h
        periods = range(len(data.demand_kw))
        program = QuadraticProgram(data.name)
        on = [[program.binary_var(lp_name("on", u, t)).name for t in periods]
              for u in range(len(data.units))]
        dis = [[program.binary_var(lp_name("dis", b, t)).name for t in periods]
               for b in range(len(data.storage))]
        max_blocks = data.import_limit_kw // blk
        imp = [program.integer_var(0, max_blocks, lp_name("imp", t)).name for t in periods]
        linear: dict[str, float] = {}
        quadratic: dict[tuple[str, str], float] = {}
        for u, unit in enumerate(data.units):
            for t in periods:
                run = unit.cost_per_kwh * unit.power_kw * dt
                linear[on[u][t]] = run + unit.startup_cost
                if t > 0:
                    quadratic[(on[u][t], on[u][t - 1])] = -unit.startup_cost
        for b, bat in enumerate(data.storage):
            for t in periods:
                linear[dis[b][t]] = bat.wear_cost_per_kwh * bat.power_kw * dt
        for t in periods:
            price = data.import_price_per_kwh[t]
            linear[imp[t]] = price * blk * dt
            quadratic[(imp[t], imp[t])] = price * data.loss_factor_per_kw * blk**2 * dt
        program.minimize(linear=linear, quadratic=quadratic)
        self.demand_blocks = [math.ceil(d / blk - 1e-9) for d in data.demand_kw]
        for t in periods:
            row = {on[u][t]: unit.power_kw // blk for u, unit in enumerate(data.units)}
            row |= {dis[b][t]: bat.power_kw // blk for b, bat in enumerate(data.storage)}
            row[imp[t]] = 1
            program.linear_constraint(row, ">=", self.demand_blocks[t], lp_name("demand", t))
            if data.export_limit_kw is not None:
                cap = self.demand_blocks[t] + data.export_limit_kw // blk
                program.linear_constraint(row, "<=", cap, lp_name("export", t))
        for b, bat in enumerate(data.storage):
            periods_of_energy = int(bat.energy_kwh // (bat.power_kw * dt))
            if periods_of_energy < len(data.demand_kw):
                program.linear_constraint(dict.fromkeys(dis[b], 1), "<=", periods_of_energy,
                                          lp_name("energy", b))
        self.on, self.dis, self.imp = on, dis, imp
        super().__init__(program)

    def decode(self, x: np.ndarray) -> DispatchSchedule:
        """Per-period units on, batteries discharging and import in kW."""
        x = np.asarray(x).round()
        idx = self.program.variables_index
        periods = range(len(self.data.demand_kw))
        units_on = [[u.id for k, u in enumerate(self.data.units) if x[idx[self.on[k][t]]]]
                    for t in periods]
        storage = [[b.id for k, b in enumerate(self.data.storage) if x[idx[self.dis[k][t]]]]
                   for t in periods]
        imports = [float(x[idx[self.imp[t]]] * self.data.block_kw) for t in periods]
        cost = float(self.program.objective.evaluate(x.astype(float)))
        return DispatchSchedule(units_on=units_on, storage_discharging=storage,
                                import_kw=imports, cost=cost)

    def status_quo(self) -> np.ndarray:
        """Today's rule: import as much as the feeder allows, then the cheapest units."""
        x = np.zeros(self.program.get_num_vars())
        idx = self.program.variables_index
        blk = self.data.block_kw
        order = sorted(range(len(self.data.units)), key=lambda u: self.data.units[u].cost_per_kwh)
        for t, need in enumerate(self.demand_blocks):
            take = min(need, self.data.import_limit_kw // blk)
            x[idx[self.imp[t]]] = take
            need -= take
            for u in order:
                if need <= 0:
                    break
                x[idx[self.on[u][t]]] = 1
                need -= self.data.units[u].power_kw // blk
            for b in range(len(self.data.storage)):
                if need <= 0:
                    break
                x[idx[self.dis[b][t]]] = 1
                need -= self.data.storage[b].power_kw // blk
        return x


def build_energy(data: FeederInput) -> EnergyProblem:
    """Build the feeder dispatch model from twin-like inputs."""
    return EnergyProblem(data)
