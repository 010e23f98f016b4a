"""A day (or several) of demo observations with daily patterns and correlated noise.

Values are built as (devices x times) arrays per category, so a mid-size city's day takes
milliseconds before the Observation records are made. Traffic detectors see the flows the
macroscopic network carries under the demo demand, air stations see traffic nearby, and
meters see household loads minus rooftop solar, so the simulations and the data agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from twin_core.demo.profiles import (
    entry_peak_vph,
    household_profile,
    solar_profile,
    traffic_profile,
)
from twin_core.model import City, Device, Observation

DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


@dataclass(frozen=True, eq=False)
class DemoSeries:
    """Observations as arrays: one (devices, times) matrix per attribute and category."""

    epochs: np.ndarray
    devices: dict[str, tuple[Device, ...]]
    values: dict[str, dict[str, np.ndarray]]

    def observations(self) -> list[Observation]:
        """The series as Observation records in time order (all devices at t0, then t1, ...),

        the order a live feed delivers them in.
        """
        times = [datetime.fromtimestamp(int(t), tz=UTC) for t in self.epochs]
        per_cat = []
        for cat, devices in self.devices.items():
            attrs = self.values[cat]
            names = list(attrs)
            # (times, devices, attributes) so that one time step is contiguous
            stacked = np.stack([attrs[a] for a in names], axis=-1).round(4)
            per_cat.append(([d.observed_id for d in devices], names,
                            stacked.transpose(1, 0, 2).tolist()))
        out: list[Observation] = []
        for k, when in enumerate(times):
            for ids, names, rows in per_cat:
                out.extend(Observation(oid, when, dict(zip(names, row, strict=True)))
                           for oid, row in zip(ids, rows[k], strict=True))
        return out


def _ar_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float,
              phi: float = 0.8) -> np.ndarray:
    """AR(1) noise along time with stationary standard deviation `sigma`."""
    eps = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), size=shape)
    out = np.empty(shape)
    out[:, 0] = rng.normal(0.0, sigma, size=shape[0])
    for t in range(1, shape[1]):  # over time steps, vectorised over series
        out[:, t] = phi * out[:, t - 1] + eps[:, t]
    return out


def generate_series(city: City, *, start: datetime = DEFAULT_START, days: int = 1,
                    step: timedelta = timedelta(minutes=15), seed: int | None = None,
                    ) -> DemoSeries:
    """Observation arrays for every device of `city` over `days` from `start`."""
    from twin_core.sim.network import build_network

    rng = np.random.default_rng(city.meta.seed + 404 if seed is None else seed)
    n_steps = int(days * timedelta(days=1) / step)
    epochs = int(start.timestamp()) + np.arange(n_steps) * int(step.total_seconds())
    hours = (epochs % 86_400) / 3600.0
    weekday = ((epochs // 86_400) + 3) % 7  # 1970-01-01 was a Thursday (3)
    week_factor = np.where(weekday >= 5, 0.7, 1.0)
    by_cat: dict[str, list[Device]] = {}
    for d in city.devices:
        by_cat.setdefault(d.category, []).append(d)
    values: dict[str, dict[str, np.ndarray]] = {}

    net = build_network(city)
    index = {lid: k for k, lid in enumerate(net.link_ids)}
    entry = np.zeros(net.n_links)
    for lid, vph in entry_peak_vph(city).items():
        entry[index[lid]] = vph
    flows = net.steady_flows_vph(entry)
    shape_t = traffic_profile(hours) * week_factor

    traffic = by_cat.get("traffic.flow", [])
    if traffic:
        k = np.array([index[d.ref_asset] for d in traffic])
        base = flows[k][:, None] * shape_t[None, :]
        intensity = np.clip(base * np.exp(_ar_noise(rng, base.shape, 0.08)), 0, None)
        sat = net.sat_flow_vph[k][:, None]
        occupancy = np.clip(0.9 * (intensity / sat) ** 1.2, 0.0, 0.95)
        speed = net.free_speed_mps[k][:, None] * 3.6 * (1 - 0.5 * occupancy)
        speed = np.clip(speed + rng.normal(0, 1.5, size=speed.shape), 1.0, None)
        values["traffic.flow"] = {"intensity": intensity, "occupancy": occupancy,
                                  "averageVehicleSpeed": speed}

    air = by_cat.get("air.no2", []) + by_cat.get("air.pm", [])
    if air:
        mid = (net.node_xy[net.link_from] + net.node_xy[net.link_to]) / 2
        xy = city.xy(air)
        dist = np.linalg.norm(xy[:, None, :] - mid[None, :, :], axis=-1)
        local = (flows[None, :] * np.exp(-dist / 250.0)).sum(axis=1) / 1000.0
        no2 = 14.0 + 9.0 * local[:, None] * shape_t[None, :]
        no2 = np.clip(no2 * np.exp(_ar_noise(rng, no2.shape, 0.10)), 0, None)
        pm10 = np.clip(12.0 + 0.35 * (no2 - 14.0) + rng.normal(0, 1.5, no2.shape), 0, None)
        n_no2 = len(by_cat.get("air.no2", []))
        if n_no2:
            values["air.no2"] = {"no2": no2[:n_no2]}
        if n_no2 < len(air):
            values["air.pm"] = {"pm10": pm10[n_no2:], "pm25": 0.6 * pm10[n_no2:]}

    meters = by_cat.get("energy.household_meter", [])
    buildings = {b.id: b for b in city.buildings}
    if meters:
        hh = [buildings[d.ref_asset] for d in meters]
        base = np.array([b.base_load_kw for b in hh])[:, None] * household_profile(hours)
        load = base * np.exp(_ar_noise(rng, base.shape, 0.15, phi=0.6))
        ev = np.array([b.flexible_kw for b in hh])[:, None] * (
            (hours >= 18.0) & (hours < 20.0))[None, :]
        cloud = 0.6 + 0.4 * rng.random(days).repeat(n_steps // days or 1)[:n_steps]
        pv = np.array([b.pv_kw for b in hh])[:, None] * (solar_profile(hours) * cloud)[None, :]
        active = load + ev - pv
        values["energy.household_meter"] = {"activePower": active,
                                            "reactivePower": 0.25 * (load + ev)}
        feeders = by_cat.get("energy.feeder_load", [])
        if feeders:
            row_of = {f.ref_asset: k for k, f in enumerate(feeders)}
            which = np.array([row_of[b.feeder_id] for b in hh])
            fa = np.zeros((len(feeders), n_steps))
            fr = np.zeros((len(feeders), n_steps))
            np.add.at(fa, which, active)
            np.add.at(fr, which, 0.25 * (load + ev))
            values["energy.feeder_load"] = {"activePower": 1.02 * fa, "reactivePower": fr}
    return DemoSeries(epochs=epochs,
                      devices={c: tuple(ds) for c, ds in by_cat.items() if c in values},
                      values=values)


def generate_observations(city: City, *, start: datetime = DEFAULT_START, days: int = 1,
                          step: timedelta = timedelta(minutes=15), seed: int | None = None,
                          ) -> list[Observation]:
    """Every device's observations over `days` (one list, ready for ingest)."""
    return generate_series(city, start=start, days=days, step=step, seed=seed).observations()
