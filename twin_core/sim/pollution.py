"""Air pollution: traffic and heating emissions carried by the wind, exposure per district.

The city becomes a grid; traffic emissions come from link flows (vehicle-km times an NO2
emission factor) and heating from district population; a 2-D advection-diffusion model in a
well-mixed layer spreads them (see `_advection`). A plan scales emissions (a low-emission
zone, less traffic) and the KPIs say what people breathe: population-weighted NO2 per
district and how many live above the limit value.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np

from twin_core.errors import InvalidPlan
from twin_core.model import City
from twin_core.sim._advection import (
    Transport,
    advance_numba,
    advance_numpy,
    boundary_outflow,
    stable_dt,
)
from twin_core.sim.network import TrafficNetwork
from twin_core.sim.provenance import Provenance, make_provenance

NO2_G_PER_VEH_KM = 0.4  # urban fleet NOx as NO2 (primary and quickly converted)
HEATING_UG_PER_S_PER_PERSON = 6.0
LIMIT_UGM3 = 40.0  # EU annual limit value for NO2


@dataclass(frozen=True, slots=True)
class Grid:
    """A regular grid over the city frame: cell (i, j) covers x0 + j*dx, y0 + i*dx."""

    x0: float
    y0: float
    dx: float
    nx: int
    ny: int

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(ny, nx) arrays of cell-centre x and y."""
        x = self.x0 + (np.arange(self.nx) + 0.5) * self.dx
        y = self.y0 + (np.arange(self.ny) + 0.5) * self.dx
        return np.meshgrid(x, y)

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of points, clipped to the grid."""
        col = np.clip(((np.asarray(x) - self.x0) // self.dx).astype(int), 0, self.nx - 1)
        row = np.clip(((np.asarray(y) - self.y0) // self.dx).astype(int), 0, self.ny - 1)
        return row, col

    @classmethod
    def covering(cls, city: City, cell_m: float) -> Grid:
        nx = int(np.ceil(city.meta.width_m / cell_m))
        ny = int(np.ceil(city.meta.height_m / cell_m))
        return cls(0.0, 0.0, cell_m, nx, ny)


@dataclass(frozen=True, eq=False)
class PollutionInputs:
    """Everything the dispersion model needs, as arrays on one grid."""

    grid: Grid
    traffic_ugps: np.ndarray  # emission per cell from traffic, µg/s
    other_ugps: np.ndarray  # emission per cell from other sources (heating), µg/s
    population: np.ndarray  # residents per cell
    district_index: np.ndarray  # district of each cell (-1 outside)
    district_ids: tuple[str, ...]
    wind_u: float = 2.5
    wind_v: float = 1.0
    diffusivity: float = 15.0  # m²/s, horizontal eddy diffusivity
    mixing_height_m: float = 50.0
    decay_per_s: float = 1.0 / 7200.0  # deposition and chemistry, ~2 h lifetime
    background_ugm3: float = 14.0
    duration_s: float = 7200.0


@dataclass(frozen=True)
class PollutionPlan:
    """Emission changes: factors per district (low-emission zones) and for all traffic."""

    district_traffic_scale: Mapping[str, float] = field(default_factory=dict)
    traffic_scale: float = 1.0
    name: str = "baseline"


@dataclass(frozen=True, eq=False)
class PollutionKPIs:
    """Time-averaged NO2 (background included) and who is exposed to it."""

    plan: str
    concentration: np.ndarray  # time-mean µg/m³ per cell
    mean_ugm3: float
    max_ugm3: float
    population_weighted_ugm3: float
    exposure_by_district: Mapping[str, float]
    people_above_limit: float
    emitted_kg: float
    outflow_kg: float
    decayed_kg: float
    in_domain_kg: float
    steps: int
    dt_s: float
    kernel: str
    provenance: Provenance
    wall_s: float = field(default=0.0, compare=False)


def rasterise_links(grid: Grid, net: TrafficNetwork, link_vph: np.ndarray,
                    samples: int = 12) -> np.ndarray:
    """Traffic NO2 emission per cell (µg/s) from link flows, spread along each link."""
    frac = (np.arange(samples) + 0.5) / samples
    a, b = net.node_xy[net.link_from], net.node_xy[net.link_to]
    pts = a[:, None, :] + (b - a)[:, None, :] * frac[None, :, None]
    rate = link_vph / 3600.0 * net.length_m / 1000.0 * NO2_G_PER_VEH_KM * 1e6  # µg/s
    row, col = grid.cell_of(pts[..., 0].ravel(), pts[..., 1].ravel())
    out = np.zeros((grid.ny, grid.nx))
    np.add.at(out, (row, col), np.repeat(rate / samples, samples))
    return out


def build_pollution_inputs(city: City, net: TrafficNetwork, link_vph: np.ndarray, *,
                           cell_m: float = 50.0, **options: float) -> PollutionInputs:
    """Inputs from the twin: its streets' flows, districts' residents and prevailing wind."""
    grid = Grid.covering(city, cell_m)
    xc, yc = grid.centres()
    district = city.district_of_xy(xc, yc)
    pop = np.zeros((grid.ny, grid.nx))
    cells = np.bincount(district[district >= 0], minlength=len(city.districts))
    people = np.array([d.population for d in city.districts], dtype=float)
    per_cell = np.divide(people, cells, out=np.zeros_like(people), where=cells > 0)
    pop[district >= 0] = per_cell[district[district >= 0]]
    params = {"wind_u": city.meta.wind_u_mps, "wind_v": city.meta.wind_v_mps, **options}
    return PollutionInputs(grid=grid, traffic_ugps=rasterise_links(grid, net, link_vph),
                           other_ugps=pop * HEATING_UG_PER_S_PER_PERSON, population=pop,
                           district_index=district,
                           district_ids=tuple(d.id for d in city.districts), **params)


def simulate_pollution(inputs: PollutionInputs, plan: PollutionPlan | None = None, *,
                       kernel: Literal["numba", "numpy"] = "numba", snapshots: int = 24,
                       seed: int = 0) -> PollutionKPIs:
    """Run dispersion from clean air for `duration_s`; average the field over the second half.

    The first half spins the field up from clean air; averaging the second half gives the
    quasi-steady concentrations that exposure is about.
    """
    started = time.perf_counter()
    plan = plan or PollutionPlan()
    g = inputs.grid
    unknown = set(plan.district_traffic_scale) - set(inputs.district_ids)
    if unknown:
        raise InvalidPlan(f"unknown districts in plan: {sorted(unknown)}")
    if plan.traffic_scale < 0 or any(v < 0 for v in plan.district_traffic_scale.values()):
        raise InvalidPlan("emission factors must be non-negative")
    scale = np.full(len(inputs.district_ids) + 1, plan.traffic_scale)  # last: outside
    for k, did in enumerate(inputs.district_ids):
        scale[k] *= plan.district_traffic_scale.get(did, 1.0)
    emission = inputs.traffic_ugps * scale[inputs.district_index] + inputs.other_ugps
    volume = g.dx * g.dx * inputs.mixing_height_m  # m³ per cell
    dt = stable_dt(g.dx, inputs.wind_u, inputs.wind_v, inputs.diffusivity, inputs.decay_per_s)
    tr = Transport(g.dx, dt, inputs.wind_u, inputs.wind_v, inputs.diffusivity,
                   inputs.decay_per_s)
    tr.stencil()  # refuses an unstable step before any work
    src_dt = emission / volume * dt  # µg/m³ added per step
    steps = max(2 * snapshots, int(np.ceil(inputs.duration_s / dt)))
    per = steps // snapshots
    advance = advance_numba if kernel == "numba" else advance_numpy
    c = np.zeros((g.ny, g.nx))
    mean = np.zeros_like(c)
    outflow = decayed = 0.0
    for k in range(snapshots):
        before = c
        c = advance(c, per, tr, src_dt)
        # trapezoid estimate of what left and decayed during the chunk, for the KPIs only
        avg_out = 0.5 * (boundary_outflow(before, tr) + boundary_outflow(c, tr))
        outflow += avg_out * per
        decayed += inputs.decay_per_s * dt * per * 0.5 * float(before.sum() + c.sum())
        if k >= snapshots // 2:
            mean += c
    mean /= snapshots - snapshots // 2
    total = mean + inputs.background_ugm3
    pop = inputs.population
    exposure = {}
    for k, did in enumerate(inputs.district_ids):
        mask = inputs.district_index == k
        people = pop[mask].sum()
        exposure[did] = float((total[mask] * pop[mask]).sum() / people) if people else 0.0
    weighted = float((total * pop).sum() / pop.sum()) if pop.sum() else float(total.mean())
    to_kg = volume * 1e-9
    params = {"duration_s": inputs.duration_s, "wind": (inputs.wind_u, inputs.wind_v),
              "diffusivity": inputs.diffusivity, "decay_per_s": inputs.decay_per_s,
              "grid": (g.ny, g.nx, g.dx), "plan": plan.name,
              "traffic_scale": plan.traffic_scale,
              "district_traffic_scale": dict(plan.district_traffic_scale)}
    return PollutionKPIs(
        plan=plan.name, concentration=total, mean_ugm3=float(total.mean()),
        max_ugm3=float(total.max()), population_weighted_ugm3=weighted,
        exposure_by_district=MappingProxyType(exposure),
        people_above_limit=float(pop[total > LIMIT_UGM3].sum()),
        emitted_kg=float(emission.sum()) * dt * per * snapshots * 1e-9,
        outflow_kg=outflow * to_kg, decayed_kg=decayed * to_kg,
        in_domain_kg=float(c.sum()) * to_kg, steps=per * snapshots, dt_s=dt, kernel=kernel,
        provenance=make_provenance("pollution.advection_diffusion", seed, params, ("numba",)),
        wall_s=time.perf_counter() - started)
