"""The advection-diffusion step: a compiled kernel and the plain-numpy reference it must match.

Finite volumes on a uniform grid with uniform wind: first-order upwind advection, central
diffusion, first-order decay, explicit Euler. Boundaries: clean air (background 0) flows in,
pollution flows out with the wind, and no diffusive flux crosses the edge (zero gradient).

The reference (`step_numpy`) is written from the physics: face fluxes, then their
divergence. The kernel (`advance_numba`) is the same scheme collapsed into a five-point
stencil whose weights are non-negative when dt respects `stable_dt`, so it is positive and
cannot blow up. Being in flux form, the domain's mass changes by exactly sources minus
outflow minus decay: the mass-balance test checks that against `boundary_outflow`.

Arrays are indexed [row, column] = [y, x]: row 0 is the southern edge, column 0 the western.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True, slots=True)
class Stencil:
    """Weights of one explicit step: centre, upwind/diffusive neighbours, boundary self-weight."""

    centre: float
    west: float
    east: float
    south: float
    north: float
    edge: float  # weight of a boundary cell's own value standing in for the missing neighbour

    def as_tuple(self) -> tuple[float, ...]:
        return (self.centre, self.west, self.east, self.south, self.north, self.edge)


def stable_dt(dx: float, u: float, v: float, diffusivity: float, decay: float = 0.0,
              safety: float = 0.9) -> float:
    """Largest time step (times `safety`) that keeps every stencil weight non-negative."""
    rate = (abs(u) + abs(v)) / dx + 4.0 * diffusivity / dx**2 + decay
    if rate <= 0:
        raise ValueError("no transport and no decay: any time step is stable, choose one")
    return safety / rate


def stencil(dx: float, dt: float, u: float, v: float, diffusivity: float,
            decay: float = 0.0) -> Stencil:
    """Weights for wind (u east, v north), diffusivity and decay at step dt."""
    ax, ay = u * dt / dx, v * dt / dx
    d = diffusivity * dt / dx**2
    centre = 1.0 - abs(ax) - abs(ay) - 4.0 * d - decay * dt
    if centre < -1e-12:
        raise ValueError(f"dt={dt} is unstable here; use stable_dt()")
    return Stencil(centre=centre, west=max(ax, 0.0) + d, east=max(-ax, 0.0) + d,
                   south=max(ay, 0.0) + d, north=max(-ay, 0.0) + d, edge=d)


@dataclass(frozen=True, slots=True)
class Transport:
    """The physics of one run: grid spacing, time step, wind, diffusivity, decay."""

    dx: float
    dt: float
    u: float
    v: float
    diffusivity: float
    decay: float = 0.0

    def stencil(self) -> Stencil:
        return stencil(self.dx, self.dt, self.u, self.v, self.diffusivity, self.decay)


def face_fluxes(c: np.ndarray, tr: Transport) -> tuple[np.ndarray, np.ndarray]:
    """Flux per unit concentration-area across every x-face (ny, nx+1) and y-face (ny+1, nx).

    Upwind advection takes the upstream cell's value, with clean air (0) beyond the edges;
    diffusion is Fick's law between neighbours and zero across the edges.
    """
    ny, nx = c.shape
    fx = np.zeros((ny, nx + 1))
    fy = np.zeros((ny + 1, nx))
    fx[:, 1:] += max(tr.u, 0.0) * c  # eastward wind carries the cell west of the face
    fx[:, :-1] += min(tr.u, 0.0) * c  # westward wind carries the cell east of it
    fy[1:, :] += max(tr.v, 0.0) * c
    fy[:-1, :] += min(tr.v, 0.0) * c
    fx[:, 1:-1] -= tr.diffusivity / tr.dx * (c[:, 1:] - c[:, :-1])
    fy[1:-1, :] -= tr.diffusivity / tr.dx * (c[1:, :] - c[:-1, :])
    return fx, fy


def step_numpy(c: np.ndarray, tr: Transport, source_dt: np.ndarray) -> np.ndarray:
    """One finite-volume step written from the physics (fluxes, divergence), in numpy.

    This is the reference: it shares no stencil weights with the compiled kernel, so
    agreement between the two checks the kernel's derivation, not just its arithmetic.
    """
    fx, fy = face_fluxes(c, tr)
    divergence = (fx[:, 1:] - fx[:, :-1] + fy[1:, :] - fy[:-1, :]) / tr.dx
    return c + tr.dt * (-divergence - tr.decay * c) + source_dt


def advance_numpy(c: np.ndarray, n_steps: int, tr: Transport,
                  source_dt: np.ndarray) -> np.ndarray:
    """`n_steps` reference steps from `c` (not modified)."""
    out = np.array(c, dtype=np.float64)
    for _ in range(n_steps):
        out = step_numpy(out, tr, source_dt)
    return out


def boundary_outflow(c: np.ndarray, tr: Transport) -> float:
    """Concentration x cells that leave the domain in one step from field `c`."""
    fx, fy = face_fluxes(c, tr)
    out = fx[:, -1].sum() - fx[:, 0].sum() + fy[-1, :].sum() - fy[0, :].sum()
    return float(out) * tr.dt / tr.dx


@njit(nogil=True, cache=True)
def _advance_band(c: np.ndarray, out: np.ndarray, r0: int, r1: int, steps: int,
                  centre: float, west: float, east: float, south: float, north: float,
                  edge: float, src: np.ndarray) -> None:
    """Advance rows [r0, r1) of `c` by `steps` steps into `out`, without talking to anyone.

    The band is copied with `steps` halo rows on each side; each step computes one halo row
    less on each side, so after `steps` steps rows [r0, r1) are exact even though the halo's
    outer rows only ever saw a clamped neighbour.
    """
    ny, nx = c.shape
    b0 = max(r0 - steps, 0)
    b1 = min(r1 + steps, ny)
    m = b1 - b0
    a = c[b0:b1].copy()
    b = np.empty_like(a)
    for s in range(steps):
        reach = steps - 1 - s
        lo = max(r0 - b0 - reach, 0)
        hi = min(r1 - b0 + reach, m)
        for k in range(lo, hi):
            g = b0 + k
            up = a[max(k - 1, 0)]
            row = a[k]
            dn = a[min(k + 1, m - 1)]
            res = b[k]
            sg = src[g]
            ws = south if g > 0 else edge
            wn = north if g < ny - 1 else edge
            res[0] = (centre * row[0] + edge * row[0] + east * row[1]
                      + ws * up[0] + wn * dn[0] + sg[0])
            for j in range(1, nx - 1):
                res[j] = (centre * row[j] + west * row[j - 1] + east * row[j + 1]
                          + ws * up[j] + wn * dn[j] + sg[j])
            res[nx - 1] = (centre * row[nx - 1] + west * row[nx - 2] + edge * row[nx - 1]
                           + ws * up[nx - 1] + wn * dn[nx - 1] + sg[nx - 1])
        a, b = b, a
    out[r0:r1] = a[r0 - b0:r1 - b0]


def default_threads(ny: int) -> int:
    """One band per core, but bands of at least 96 rows (smaller ones cost more than they save)."""
    return max(1, min(os.cpu_count() or 1, ny // 96, 8))


def advance_numba(c: np.ndarray, n_steps: int, tr: Transport, source_dt: np.ndarray, *,
                  threads: int | None = None, halo: int = 16) -> np.ndarray:
    """`n_steps` compiled steps from `c` (not modified); needs at least 2 columns.

    Rows are split into one band per thread; threads (numba releases the GIL) advance their
    band `halo` steps at a time and meet only between those blocks. Why not numba's
    `parallel=True`: it synchronises every step and its OpenMP threads spin while they wait,
    so on a 2-core machine that has anything else running it fell to a tenth of the serial
    speed, while bands with halos kept their pace (measured; see docs/benchmarks.md).
    """
    if c.shape[1] < 2:
        raise ValueError("the compiled kernel needs at least two columns")
    w = tr.stencil().as_tuple()
    src = np.ascontiguousarray(source_dt, dtype=np.float64)
    cur = np.array(c, dtype=np.float64)
    nxt = np.empty_like(cur)
    ny = cur.shape[0]
    bands = threads or default_threads(ny)
    if bands == 1:
        _advance_band(cur, nxt, 0, ny, int(n_steps), *w, src)
        return nxt
    edges = np.linspace(0, ny, bands + 1).astype(int)
    with ThreadPoolExecutor(bands) as pool:
        done = 0
        while done < n_steps:
            block = min(halo, n_steps - done)
            jobs = [pool.submit(_advance_band, cur, nxt, int(edges[k]), int(edges[k + 1]),
                                block, *w, src) for k in range(bands)]
            for job in jobs:
                job.result()
            cur, nxt = nxt, cur
            done += block
    return cur
