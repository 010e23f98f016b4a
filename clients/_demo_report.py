"""The demo's report: the story as Markdown, with maps, a forecast plot, the optimisation jobs
and the audit timeline.

People would rather look than read: every picture is a PNG beside `report.md`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from clients.auditor import ChainSnapshot, VerificationReport
from clients.auditor._report import write_report as write_audit_report
from quantum import SolveReport, build_traffic
from quantum import twin_bridge as bridge
from twin_core import City, TwinStore, latest
from twin_core.demo.series import DEFAULT_START
from twin_core.forecast import forecast_store
from twin_core.sim.flood import build_flood_inputs, simulate_flood
from twin_core.sim.pollution import build_pollution_inputs, simulate_pollution
from twin_core.sim.traffic import SignalPlan, TrafficKPIs, build_traffic_inputs, simulate_traffic

Job = tuple[str, dict[str, Any], SolveReport]
"""A succeeded job as the report shows it: label, the request sent, the typed report."""
BEFORE = {"traffic": "(model) every junction on its first candidate plan; (twin) Webster's "
                     "proportional plan, re-simulated",
          "emergency": "(model) nearest free depot, most severe incident first; (twin) "
                       "nearest-first dispatch on the flooded network"}
"""What each job's KPI 'before' is: the status quo the plan is measured against."""


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


def optimised_queues(city: City, store: TwinStore, request: dict[str, Any],
                     report: SolveReport) -> tuple[TrafficKPIs, TrafficKPIs]:
    """The twin's traffic under Webster's proportional plan and under the job's plan.

    The same inputs and re-simulation as the gateway's (the latest detector flows, seed 0),
    kept here per junction for the picture; the totals equal the job's KPIs."""
    inputs = build_traffic_inputs(city, latest=latest(store, category="traffic.flow"))
    data = bridge.traffic_input(inputs, shares=request.get("shares", [0.4, 0.5, 0.6]),
                                offsets_s=request.get("offsets_s", [0.0]))
    plan = bridge.signal_plan(build_traffic(data), np.asarray(report.result.x), inputs,
                              name="optimised")
    return (simulate_traffic(inputs, SignalPlan.proportional(inputs), seed=0),
            simulate_traffic(inputs, plan, seed=0))


def _status_quo(report: SolveReport) -> float | None:
    model = [k for k in report.kpis if k.source == "model"]
    return model[0].before if model else None


def draw_jobs(city: City, store: TwinStore, jobs: Sequence[Job], folder: Path
              ) -> tuple[str, str] | None:
    """Each job's objective by solver, and the signal plan's queue per junction."""
    if not jobs:
        return None
    traffic = next(((r, q) for _l, q, r in jobs if r.kind == "traffic"), None)
    panels = len(jobs) + (traffic is not None)
    fig = Figure(figsize=(4.2 * panels, 4.2), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for ax, (label, _request, report) in zip(axes, jobs, strict=False):
        names = ["status quo\n(model)", f"{report.result.solver}\n(QAOA + classical)",
                 f"{report.baseline.solver if report.baseline else '-'}\n(classical baseline)"]
        values = [_status_quo(report), report.result.objective,
                  report.baseline.objective if report.baseline else None]
        shown = [(n, v) for n, v in zip(names, values, strict=True) if v is not None]
        bars = ax.bar([n for n, _v in shown], [v for _n, v in shown],
                      color=["0.65", "tab:purple", "tab:blue"][:len(shown)])
        ax.bar_label(bars, fmt="%.4g", fontsize=8)
        ax.set_title(f"{label}: objective ({report.sense})", fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
    if traffic is not None:
        report, request = traffic
        before, after = optimised_queues(city, store, request, report)
        ax = axes[-1]
        top = 1.05 * float(max(before.queue_by_junction.max(), after.queue_by_junction.max()))
        top = top if top > 0 else 1.0
        ax.plot([0, top], [0, top], color="0.6", lw=0.8, ls="--")
        ax.scatter(before.queue_by_junction, after.queue_by_junction, s=14, c="tab:purple")
        ax.set_xlabel("mean queue, Webster's proportional plan (vehicles)")
        ax.set_ylabel("mean queue, optimised plan (vehicles)")
        ax.set_title(f"per junction: mean delay {before.mean_delay_s:.0f} s → "
                     f"{after.mean_delay_s:.0f} s per vehicle", fontsize=10)
    fig.savefig(folder / "jobs.png")
    better = "lower" if all(r.sense == "minimize" for _l, _q, r in jobs) else "see titles"
    return (f"The optimisation jobs: objective by solver ({better} is better), and the queue "
            "at each junction under the optimised signal plan", "jobs.png")


def jobs_section(jobs: Sequence[Job], failed: Sequence[str], picture: tuple[str, str] | None
                 ) -> str:
    """Markdown: what each job found against the classical baseline, in the report's words."""
    lines = ["## Optimisation jobs\n",
             "Launched by the agency through the gateway (permission-checked and audited like a "
             "read), solved by the hybrid solver beside the HiGHS MILP baseline, each plan "
             "re-simulated in the twin. The circuits ran on a classical simulator (Qiskit "
             "Aer).\n"]
    for label, _request, r in jobs:
        c = r.result.circuit
        lines.append(f"### {label}\n")
        lines.append(f"- {r.num_vars} variables ({r.sense}); {r.result.solver} objective "
                     f"{_fmt(r.result.objective)}, classical baseline "
                     f"{_fmt(r.baseline.objective if r.baseline else None)}, gap "
                     f"{_pct(r.gap)}")
        if c is not None:
            lines.append(f"- {100 * r.result.quantum_share:.0f}% of the plan's variables from "
                         f"QAOA samples; widest circuit {c.num_qubits} qubits, depth "
                         f"{c.depth}, {c.shots} shots, {c.evaluations} evaluations")
        lines.append(f"- wall time {r.result.wall_s:.1f} s against "
                     f"{r.baseline.wall_s if r.baseline else float('nan'):.2f} s classically")
        for k in r.kpis:
            lines.append(f"- {k.name} ({k.unit}, {k.source}): {k.before:.4g} → {k.after:.4g}")
        if r.kind in BEFORE:
            lines.append(f"- KPI 'before': {BEFORE[r.kind]}")
        lines.append(f"\n{r.verdict}\n")
    lines += [f"- {label}: the job did not succeed\n" for label in failed]
    if picture is not None:
        lines.append(f"![{picture[0]}]({picture[1]})\n")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def write_demo_report(folder: Path, lines: list[str], pictures: list[tuple[str, str]],
                      snapshot: ChainSnapshot, verification: VerificationReport,
                      optimisation: str = "") -> Path:
    """`report.md` (the story, the jobs and pictures) and `audit-report.md` (the auditor's)."""
    timeline = write_audit_report(snapshot, verification, folder / "audit-report.md")
    figures = [f"### {caption}\n\n![{caption}]({name})\n" for caption, name in pictures]
    figures.append(f"### The audit trail on chain\n\n![timeline]({timeline.name})\n\n"
                   "Full auditor's report: [audit-report.md](audit-report.md)\n")
    path = folder / "report.md"
    path.write_text("# qcity demo\n" + "\n".join(lines) + "\n\n" + optimisation
                    + "\n## Pictures\n\n" + "\n".join(figures))
    return path
