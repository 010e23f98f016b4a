"""The demo's report: the story as Markdown, with maps, a forecast plot and the audit timeline.

People would rather look than read: every picture is a PNG beside `report.md`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from clients.auditor import ChainSnapshot, VerificationReport
from clients.auditor._report import write_report as write_audit_report
from twin_core import City, TwinStore
from twin_core.demo.series import DEFAULT_START
from twin_core.forecast import forecast_store
from twin_core.sim.flood import build_flood_inputs, simulate_flood
from twin_core.sim.pollution import build_pollution_inputs, simulate_pollution
from twin_core.sim.traffic import SignalPlan, TrafficKPIs, build_traffic_inputs, simulate_traffic


def draw_pictures(city: City, store: TwinStore, days: int, folder: Path,
                  queues: TrafficKPIs | None = None) -> list[tuple[str, str]]:
    """Write the maps and the forecast plot; return (caption, file name) pairs."""
    from twin_core import plots

    traffic = build_traffic_inputs(city)
    net = traffic.network
    pictures: list[tuple[str, str]] = []
    pollution_in = build_pollution_inputs(city, net, traffic.link_flows_vph())
    pollution = simulate_pollution(pollution_in)
    plots.plot_pollution_map(city, net, pollution_in, pollution, folder / "map-pollution.png")
    pictures.append((f"NO2 over the city (population-weighted "
                     f"{pollution.population_weighted_ugm3:.1f} µg/m³)", "map-pollution.png"))
    kpis = queues or simulate_traffic(traffic, SignalPlan.current(city))
    plots.plot_queue_map(city, net, kpis, folder / "map-queues.png")
    pictures.append((f"Queues under the signal plan (mean delay {kpis.mean_delay_s:.0f} s per "
                     "vehicle)", "map-queues.png"))
    flood_in = build_flood_inputs(city, net)
    flood = simulate_flood(flood_in)
    plots.plot_flood_map(city, net, flood_in, flood, folder / "map-flood.png")
    pictures.append((f"A river flood: {len(flood.closed_links)} road links closed",
                     "map-flood.png"))
    sensor = next(d.observed_id for d in city.devices if d.category == "traffic.flow")
    summary = forecast_store(store, category="traffic.flow", attribute="intensity",
                             start=DEFAULT_START, end=DEFAULT_START + timedelta(days=days),
                             entity_ids=[sensor])
    if summary.reports:
        report = summary.reports[0]
        plots.plot_forecast(report, folder / "forecast.png", unit="vehicles/h")
        pictures.append((f"Next-day traffic forecast for {sensor.split(':')[-1]}: MAE "
                         f"{report.mae:.1f} against {report.mae_naive:.1f} for seasonal naive",
                         "forecast.png"))
    return pictures


def write_demo_report(folder: Path, lines: list[str], pictures: list[tuple[str, str]],
                      snapshot: ChainSnapshot, verification: VerificationReport) -> Path:
    """`report.md` (the story and pictures) and `audit-report.md` (the auditor's view)."""
    timeline = write_audit_report(snapshot, verification, folder / "audit-report.md")
    figures = [f"### {caption}\n\n![{caption}]({name})\n" for caption, name in pictures]
    figures.append(f"### The audit trail on chain\n\n![timeline]({timeline.name})\n\n"
                   "Full auditor's report: [audit-report.md](audit-report.md)\n")
    path = folder / "report.md"
    path.write_text("# qcity demo\n" + "\n".join(lines) + "\n\n## Pictures\n\n"
                    + "\n".join(figures))
    return path
