"""`qcity twin ...`: build the demo twin, draw it, forecast it, print its KPIs.

Each command works on the seeded demo city by default (in memory, nothing to set up) or on
a store given by `--db`. Long work shows a rich progress bar.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin_core.demo import DemoCityConfig, generate_city, generate_observations
from twin_core.demo.series import DEFAULT_START
from twin_core.model import City
from twin_core.store import TwinStore

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Build, query and draw the city twin.")
console = Console()

Size = Annotated[str, typer.Option(help="demo city size: tiny, small, mid or large")]
Seed = Annotated[int, typer.Option(help="seed of the demo city")]
Db = Annotated[str | None, typer.Option(help="store URL (sqlite:///twin.db, postgresql://...)")]


class Overlay(StrEnum):
    pollution = "pollution"
    queues = "queues"
    flood = "flood"


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _city(size: str, seed: int, db: str | None) -> City:
    if db:
        with TwinStore.open(db, create=False) as store:
            return store.load_city()
    try:
        return generate_city(DemoCityConfig.preset(size, seed))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def load_store(store: TwinStore, city: City, days: int, batch: int = 10_000) -> int:
    """Save the city and ingest `days` of demo observations with a progress bar."""
    store.save_city(city)
    from twin_core.ingest import ingest

    obs = generate_observations(city, days=days)
    written = 0
    with _progress() as bar:
        task = bar.add_task("ingesting observations", total=len(obs))
        for i in range(0, len(obs), batch):
            report = ingest(store, obs[i:i + batch], now=DEFAULT_START + timedelta(days=days))
            report.raise_for_rejections()
            written += report.written
            bar.advance(task, len(obs[i:i + batch]))
    return written


@app.command("load-demo")
def load_demo(db: Annotated[str, typer.Option(help="store URL to create and fill")],
              size: Size = "mid", seed: Seed = 7,
              days: Annotated[int, typer.Option(help="days of observations")] = 1) -> None:
    """Create a store holding the demo city and its observations."""
    city = _city(size, seed, None)
    with TwinStore.open(db) as store:
        written = load_store(store, city, days)
    console.print(f"[green]stored[/] {len(city.signalised)} signals, {len(city.devices)} "
                  f"devices and {written} observations in {db}")


@app.command("map")
def draw_map(overlay: Annotated[Overlay, typer.Option(help="KPI layer to draw")] =
             Overlay.pollution,
             out: Annotated[Path, typer.Option(help="PNG to write")] = Path("city.png"),
             size: Size = "mid", seed: Seed = 7, db: Db = None) -> None:
    """Write a PNG map of the city with a KPI overlay."""
    from twin_core import plots
    from twin_core.sim.flood import build_flood_inputs, simulate_flood
    from twin_core.sim.pollution import build_pollution_inputs, simulate_pollution
    from twin_core.sim.traffic import SignalPlan, build_traffic_inputs, simulate_traffic

    city = _city(size, seed, db)
    with console.status(f"simulating {overlay.value}"):
        traffic = build_traffic_inputs(city)
        net = traffic.network
        if overlay is Overlay.pollution:
            inputs = build_pollution_inputs(city, net, traffic.link_flows_vph())
            kpis = simulate_pollution(inputs)
            path = plots.plot_pollution_map(city, net, inputs, kpis, out)
            summary = f"population-weighted NO2 {kpis.population_weighted_ugm3:.1f} µg/m³"
        elif overlay is Overlay.queues:
            tk = simulate_traffic(traffic, SignalPlan.current(city))
            path = plots.plot_queue_map(city, net, tk, out)
            summary = f"mean delay {tk.mean_delay_s:.0f} s per vehicle"
        else:
            fin = build_flood_inputs(city, net)
            flood = simulate_flood(fin)
            path = plots.plot_flood_map(city, net, fin, flood, out)
            summary = f"{len(flood.closed_links)} links closed"
    console.print(f"[green]wrote[/] {path} ({summary})")


@app.command("forecast-plot")
def forecast_plot(out: Annotated[Path, typer.Option(help="PNG to write")] = Path("forecast.png"),
                  category: str = "traffic.flow", attribute: str = "intensity",
                  entity: Annotated[str | None, typer.Option(help="observed entity id")] = None,
                  size: Size = "tiny", seed: Seed = 7,
                  days: Annotated[int, typer.Option(help="days of demo data")] = 5) -> None:
    """Forecast one series of the demo twin and plot it against the held-out day."""
    from twin_core.categories import category as get_category
    from twin_core.errors import UnknownCategory
    from twin_core.forecast import forecast_store
    from twin_core.plots import plot_forecast

    try:
        unit = get_category(category).attribute(attribute).unit_label
    except (UnknownCategory, KeyError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    city = _city(size, seed, None)
    with TwinStore.open("sqlite://") as store:
        load_store(store, city, days)
        ids = [entity] if entity else [next(d.observed_id for d in city.devices
                                            if d.category == category)]
        with console.status("fitting exponential smoothing"):
            summary = forecast_store(store, category=category, attribute=attribute,
                                     start=DEFAULT_START,
                                     end=DEFAULT_START + timedelta(days=days), entity_ids=ids)
    if not summary.reports:
        raise typer.BadParameter(f"no forecastable series for {ids}")
    report = summary.reports[0]
    path = plot_forecast(report, out, unit=unit)
    console.print(f"[green]wrote[/] {path}: MAE {report.mae:.2f} vs seasonal naive "
                  f"{report.mae_naive:.2f}")


@app.command("kpis")
def kpis(size: Size = "tiny", seed: Seed = 7, db: Db = None) -> None:
    """Run every simulation on the city with its current plans and print the KPIs."""
    from twin_core.sim.energy import DispatchPlan, build_energy_inputs, evaluate_dispatch
    from twin_core.sim.flood import build_flood_inputs, simulate_flood
    from twin_core.sim.pollution import build_pollution_inputs, simulate_pollution
    from twin_core.sim.response import (
        assess_demand,
        build_response_inputs,
        evaluate_response,
        nearest_first_plan,
    )
    from twin_core.sim.traffic import SignalPlan, build_traffic_inputs, simulate_traffic

    city = _city(size, seed, db)
    table = Table("domain", "KPI", "value")
    with _progress() as bar:
        task = bar.add_task("simulating", total=4)
        traffic = build_traffic_inputs(city)
        tk = simulate_traffic(traffic, SignalPlan.current(city))
        table.add_row("traffic", "mean delay (s/veh)", f"{tk.mean_delay_s:.1f}")
        table.add_row("traffic", "total delay (veh·h)", f"{tk.total_delay_veh_h:.1f}")
        bar.advance(task)
        pk = simulate_pollution(build_pollution_inputs(city, traffic.network,
                                                       traffic.link_flows_vph()))
        table.add_row("pollution", "population-weighted NO2 (µg/m³)",
                      f"{pk.population_weighted_ugm3:.1f}")
        table.add_row("pollution", "people above 40 µg/m³", f"{pk.people_above_limit:.0f}")
        bar.advance(task)
        fin = build_flood_inputs(city, traffic.network)
        flood = simulate_flood(fin)
        resp = build_response_inputs(city)
        demand = assess_demand(fin, flood, resp)
        dk = evaluate_response(flood, demand, resp, nearest_first_plan(demand, resp))
        table.add_row("disaster", "closed links", str(dk.closed_links))
        table.add_row("disaster", "affected people", f"{dk.affected_people:.0f}")
        table.add_row("disaster", "unmet vehicles", str(dk.unmet_vehicles))
        bar.advance(task)
        energy = build_energy_inputs(city)
        ek = evaluate_dispatch(energy, DispatchPlan.self_consumption(energy))
        table.add_row("energy", "import (kWh/day)", f"{ek.import_kwh:.0f}")
        table.add_row("energy", "voltage range (p.u.)",
                      f"{ek.power_flow.min_vm_pu:.3f} – {ek.power_flow.max_vm_pu:.3f}")
        table.add_row("energy", "within limits", str(ek.within_limits))
        bar.advance(task)
    console.print(table)
