"""Pictures: the city map with a KPI overlay, and forecast against actual.

Figures are built with matplotlib's object API on the Agg canvas, never through pyplot, so
drawing from a server thread or a test touches no global backend state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from twin_core.forecast import ForecastReport
from twin_core.model import City
from twin_core.sim.flood import FloodInputs, FloodResult
from twin_core.sim.network import TrafficNetwork
from twin_core.sim.pollution import LIMIT_UGM3, PollutionInputs, PollutionKPIs
from twin_core.sim.traffic import TrafficKPIs


def _figure(size: tuple[float, float] = (8.0, 7.0)) -> tuple[Figure, Axes]:
    fig = Figure(figsize=size, dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def draw_city(ax: Axes, city: City, net: TrafficNetwork, *, road_colour: str = "0.35",
              districts: bool = True) -> None:
    """Districts, streets (arterials thicker) and signals, in km east/north of the origin."""
    if districts:
        for d in city.districts:
            x0, y0 = city.frame.to_xy(d.lon_min, d.lat_min)
            x1, y1 = city.frame.to_xy(d.lon_max, d.lat_max)
            ax.add_patch(Rectangle((x0 / 1e3, y0 / 1e3), (x1 - x0) / 1e3, (y1 - y0) / 1e3,
                                   fill=False, lw=0.8, ls="--", ec="0.55", zorder=1))
            ax.text((x0 + x1) / 2e3, y1 / 1e3 - 0.04, d.name, ha="center", va="top",
                    fontsize=7, color="0.3", zorder=5)
    a = net.node_xy[net.link_from] / 1e3
    b = net.node_xy[net.link_to] / 1e3
    widths = np.where(net.arterial, 2.2, 0.9)
    ax.add_collection(LineCollection(np.stack([a, b], axis=1), colors=road_colour,
                                     linewidths=widths, zorder=2))
    sig = net.node_xy[net.junction_nodes] / 1e3
    ax.scatter(sig[:, 0], sig[:, 1], s=6, c="0.15", zorder=3)
    ax.set_xlim(0, city.meta.width_m / 1e3)
    ax.set_ylim(0, city.meta.height_m / 1e3)
    ax.set_aspect("equal")
    ax.set_xlabel("km east")
    ax.set_ylabel("km north")


def plot_pollution_map(city: City, net: TrafficNetwork, inputs: PollutionInputs,
                       kpis: PollutionKPIs, path: str | Path) -> Path:
    """Time-mean NO2 over the city, with each district's population-weighted exposure."""
    fig, ax = _figure()
    g = inputs.grid
    extent = (g.x0 / 1e3, (g.x0 + g.nx * g.dx) / 1e3, g.y0 / 1e3, (g.y0 + g.ny * g.dx) / 1e3)
    im = ax.imshow(kpis.concentration, origin="lower", extent=extent, cmap="magma_r",
                   vmin=inputs.background_ugm3, vmax=max(kpis.max_ugm3, LIMIT_UGM3 * 0.6),
                   zorder=0)
    draw_city(ax, city, net, road_colour="0.5", districts=True)
    for d in city.districts:
        x0, y0 = city.frame.to_xy(d.lon_min, d.lat_min)
        x1, y1 = city.frame.to_xy(d.lon_max, d.lat_max)
        ax.text((x0 + x1) / 2e3, (y0 + y1) / 2e3, f"{kpis.exposure_by_district[d.id]:.1f}",
                ha="center", va="center", fontsize=9, weight="bold", color="navy",
                bbox={"boxstyle": "round", "fc": "white", "alpha": 0.75, "lw": 0}, zorder=6)
    fig.colorbar(im, ax=ax, shrink=0.8, label="NO₂ µg/m³ (time mean, background included)")
    ax.set_title(f"NO₂ — plan '{kpis.plan}': population-weighted "
                 f"{kpis.population_weighted_ugm3:.1f} µg/m³, "
                 f"wind ({inputs.wind_u:.1f}, {inputs.wind_v:.1f}) m/s", fontsize=10)
    return _save(fig, path)


def plot_queue_map(city: City, net: TrafficNetwork, kpis: TrafficKPIs, path: str | Path) -> Path:
    """Mean queue at each signal (vehicles on all approaches), sized and coloured."""
    fig, ax = _figure()
    draw_city(ax, city, net, road_colour="0.7")
    xy = net.node_xy[net.junction_nodes] / 1e3
    q = kpis.queue_by_junction
    dots = ax.scatter(xy[:, 0], xy[:, 1], s=20 + 12 * q, c=q, cmap="YlOrRd", ec="0.2",
                      lw=0.5, vmin=0, zorder=4)
    fig.colorbar(dots, ax=ax, shrink=0.8, label="mean queue per junction (vehicles)")
    ax.set_title(f"Queues — plan '{kpis.plan}': mean delay {kpis.mean_delay_s:.0f} s/vehicle, "
                 f"total {kpis.total_delay_veh_h:.0f} veh·h", fontsize=10)
    return _save(fig, path)


def plot_flood_map(city: City, net: TrafficNetwork, inputs: FloodInputs, flood: FloodResult,
                   path: str | Path) -> Path:
    """Peak water depth over the terrain, closed links, breaches, depots and shelters."""
    fig, ax = _figure()
    g = inputs.grid
    extent = (g.x0 / 1e3, (g.x0 + g.nx * g.dx) / 1e3, g.y0 / 1e3, (g.y0 + g.ny * g.dx) / 1e3)
    ax.imshow(inputs.elevation, origin="lower", extent=extent, cmap="Greys", alpha=0.55,
              zorder=0)
    ax.contour(inputs.elevation, levels=10, origin="lower", extent=extent, colors="0.6",
               linewidths=0.4, zorder=0)
    water = np.ma.masked_less(flood.max_depth, inputs.affected_depth_m)
    im = ax.imshow(water, origin="lower", extent=extent, cmap="Blues", vmin=0,
                   vmax=max(1.0, float(flood.max_depth.max())), zorder=1)
    draw_city(ax, city, net, road_colour="0.45")
    closed = flood.closed_mask
    if closed.any():
        a = net.node_xy[net.link_from[closed]] / 1e3
        b = net.node_xy[net.link_to[closed]] / 1e3
        ax.add_collection(LineCollection(np.stack([a, b], axis=1), colors="red",
                                         linewidths=3, zorder=4, label="closed road"))
    for pts, marker, colour, label in (
            (np.array([[s.x, s.y] for s in inputs.sources]), "v", "crimson", "breach"),
            (city.xy(city.depots), "s", "darkgreen", "depot"),
            (city.xy(city.shelters), "P", "purple", "shelter")):
        if len(pts):
            ax.scatter(pts[:, 0] / 1e3, pts[:, 1] / 1e3, marker=marker, s=70, c=colour,
                       ec="white", zorder=6, label=label)
    fig.colorbar(im, ax=ax, shrink=0.8, label="peak water depth (m)")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    ax.set_title(f"Flood: {flood.flooded_km2:.2f} km² flooded, {len(flood.closed_links)} links "
                 f"closed, {flood.affected_people:.0f} people affected", fontsize=10)
    return _save(fig, path)


def plot_forecast(report: ForecastReport, path: str | Path, *, history_points: int = 48,
                  unit: str | None = None) -> Path:
    """Held-out actuals against the model's and the seasonal-naive forecast."""
    fig, ax = _figure((9.0, 4.5))
    hist_t = report.history_times[-history_points:]
    hist = report.history[-history_points:]
    ht = list(hist_t) if hist_t else list(range(-len(hist), 0))
    ft = list(report.times) if report.times else list(range(len(report.actual)))
    ax.plot(ht, hist, color="0.55", lw=1.2, label="history")
    ax.plot(ft, report.actual, color="black", lw=1.8, label="actual (held out)")
    ax.plot(ft, report.forecast, color="tab:blue", lw=1.8,
            label=f"Holt-Winters (MAE {report.mae:.2f})")
    ax.plot(ft, report.naive, color="tab:orange", lw=1.4, ls="--",
            label=f"seasonal naive (MAE {report.mae_naive:.2f})")
    if report.times:
        ax.axvline(report.times[0], color="0.3", lw=0.8, ls=":")
        fig.autofmt_xdate()
    ax.set_ylabel(f"{report.attribute} ({unit})" if unit else report.attribute)
    ax.legend(fontsize=8, loc="upper left")
    name = report.entity_id.rsplit(":", 1)[-1]
    ax.set_title(f"{name}: forecast vs actual — skill {report.skill:+.0%} vs seasonal naive",
                 fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, path)
