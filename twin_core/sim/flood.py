"""Flood hazard: water from breaches spreading over the terrain, and what it closes and hits.

A cellular flood model (in the family of diffusive-wave cellular automata, not the shallow
water equations): each step, water moves across every cell face in proportion to the
water-surface difference, limited so no cell gives more than it holds. It conserves volume
exactly (inflow = stored + outflow over the edges), which the tests check, and spreads into
low ground first, which is what matters for roads and people. Vectorised over the grid.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from twin_core.demo.terrain import elevation
from twin_core.model import City
from twin_core.sim.network import TrafficNetwork
from twin_core.sim.pollution import Grid
from twin_core.sim.provenance import Provenance, make_provenance


@dataclass(frozen=True, slots=True)
class FloodSource:
    """An incident that releases water: where, how much, how long, how severe."""

    incident_id: str
    x: float
    y: float
    inflow_m3s: float
    duration_s: float
    severity: int


@dataclass(frozen=True, eq=False)
class FloodInputs:
    """Terrain, people and breaches on one grid, plus the street network for closures."""

    grid: Grid
    elevation: np.ndarray
    population: np.ndarray
    sources: tuple[FloodSource, ...]
    network: TrafficNetwork
    duration_s: float = 6 * 3600.0
    dt_s: float = 10.0
    relax: float = 0.2  # share of the surface difference crossing a face per step (< 0.25)
    closure_depth_m: float = 0.3  # cars cannot pass
    affected_depth_m: float = 0.15  # homes take water


@dataclass(frozen=True, eq=False)
class FloodResult:
    """Peak water depth and its consequences, with the volume balance."""

    max_depth: np.ndarray
    depth: np.ndarray
    flooded_km2: float
    closed_links: tuple[str, ...]
    closed_mask: np.ndarray
    affected_people: float
    affected_by_incident: Mapping[str, float]
    volume_in_m3: float
    volume_stored_m3: float
    volume_out_m3: float
    steps: int
    provenance: Provenance
    wall_s: float = field(default=0.0, compare=False)


def build_flood_inputs(city: City, network: TrafficNetwork, *, cell_m: float = 25.0,
                       **options: float) -> FloodInputs:
    """Inputs from the twin: terrain from its seed, residents, and its flood alerts."""
    grid = Grid.covering(city, cell_m)
    xc, yc = grid.centres()
    z = elevation(city.meta, xc, yc)
    district = city.district_of_xy(xc, yc)
    cells = np.bincount(district[district >= 0], minlength=len(city.districts))
    people = np.array([d.population for d in city.districts], dtype=float)
    per_cell = np.divide(people, cells, out=np.zeros_like(people), where=cells > 0)
    pop = np.where(district >= 0, per_cell[np.maximum(district, 0)], 0.0)
    alerts = [a for a in city.alerts if a.sub_category == "flood"]
    xy = city.xy(alerts)
    sources = tuple(FloodSource(a.id, float(p[0]), float(p[1]), a.inflow_m3s, a.duration_s,
                                a.severity) for a, p in zip(alerts, xy, strict=True))
    return FloodInputs(grid=grid, elevation=z, population=pop, sources=sources,
                       network=network, **options)


def flood_step(h: np.ndarray, z: np.ndarray, relax: float) -> float:
    """Move water across all faces in place; returns the volume (depth x cells) that left."""
    eta = z + h
    fx = np.clip(relax * (eta[:, :-1] - eta[:, 1:]), -h[:, 1:] / 4.0, h[:, :-1] / 4.0)
    fy = np.clip(relax * (eta[:-1, :] - eta[1:, :]), -h[1:, :] / 4.0, h[:-1, :] / 4.0)
    h[:, :-1] -= fx
    h[:, 1:] += fx
    h[:-1, :] -= fy
    h[1:, :] += fy
    # Edges drain to the outside as to a neighbour at the same ground level, no water.
    out = 0.0
    for edge in (h[0, :], h[-1, :], h[:, 0], h[:, -1]):
        leave = np.minimum(relax * edge, edge / 4.0)
        edge -= leave
        out += float(leave.sum())
    return out


def simulate_flood(inputs: FloodInputs, *, seed: int = 0) -> FloodResult:
    """Release every source's water and follow it for `duration_s`."""
    started = time.perf_counter()
    g = inputs.grid
    if not 0 < inputs.relax < 0.25:
        raise ValueError("relax must lie in (0, 0.25) for the scheme to stay positive")
    h = np.zeros((g.ny, g.nx))
    hmax = np.zeros_like(h)
    area = g.dx * g.dx
    src_x = np.array([s.x for s in inputs.sources])
    src_y = np.array([s.y for s in inputs.sources])
    rows, cols = g.cell_of(src_x, src_y)
    rate = np.array([s.inflow_m3s for s in inputs.sources]) * inputs.dt_s / area
    until = np.array([s.duration_s for s in inputs.sources])
    steps = int(np.ceil(inputs.duration_s / inputs.dt_s))
    volume_in = out = 0.0
    for k in range(steps):
        active = (k * inputs.dt_s) < until
        if active.any():
            np.add.at(h, (rows[active], cols[active]), rate[active])
            volume_in += float(rate[active].sum()) * area
        out += flood_step(h, inputs.elevation, inputs.relax) * area
        np.maximum(hmax, h, out=hmax)
    flooded = hmax > inputs.affected_depth_m
    closed = _closed_links(inputs, hmax)
    hit = inputs.population * flooded
    by_incident = np.zeros(len(src_x))
    if len(src_x):  # people are attributed to the nearest breach
        xc, yc = g.centres()
        nearest = np.argmin((xc[..., None] - src_x) ** 2 + (yc[..., None] - src_y) ** 2,
                            axis=-1)
        by_incident = np.bincount(nearest.ravel(), weights=hit.ravel(), minlength=len(src_x))
    params = {"duration_s": inputs.duration_s, "dt_s": inputs.dt_s, "relax": inputs.relax,
              "grid": (g.ny, g.nx, g.dx),
              "sources": [(s.incident_id, s.inflow_m3s, s.duration_s) for s in inputs.sources]}
    return FloodResult(
        max_depth=hmax, depth=h, flooded_km2=float(flooded.sum()) * area / 1e6,
        closed_links=tuple(inputs.network.link_ids[k] for k in np.flatnonzero(closed)),
        closed_mask=closed, affected_people=float(hit.sum()),
        affected_by_incident=MappingProxyType({s.incident_id: float(v) for s, v in
                                               zip(inputs.sources, by_incident, strict=True)}),
        volume_in_m3=volume_in, volume_stored_m3=float(h.sum()) * area, volume_out_m3=out,
        steps=steps, provenance=make_provenance("flood.cellular", seed, params),
        wall_s=time.perf_counter() - started)


def _closed_links(inputs: FloodInputs, hmax: np.ndarray, samples: int = 9) -> np.ndarray:
    """Links with water deeper than the closure depth anywhere along them."""
    net = inputs.network
    frac = np.linspace(0.0, 1.0, samples)
    a, b = net.node_xy[net.link_from], net.node_xy[net.link_to]
    pts = a[:, None, :] + (b - a)[:, None, :] * frac[None, :, None]
    row, col = inputs.grid.cell_of(pts[..., 0], pts[..., 1])
    return (hmax[row, col] > inputs.closure_depth_m).any(axis=1)
