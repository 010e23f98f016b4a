"""Pictures and the CLI: PNGs are written and the commands run on the tiny city."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from typer.testing import CliRunner

from twin_core import forecast_series
from twin_core.cli import app
from twin_core.demo.series import generate_series
from twin_core.plots import plot_forecast, plot_queue_map
from twin_core.sim import SignalPlan, simulate_traffic

PNG = b"\x89PNG\r\n\x1a\n"


def test_queue_map_and_forecast_plot_are_pngs(tmp_path, tiny_city, tiny_traffic) -> None:
    k = simulate_traffic(tiny_traffic, SignalPlan.uniform(tiny_traffic, 0.5))
    path = plot_queue_map(tiny_city, tiny_traffic.network, k, tmp_path / "q.png")
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 20_000
    series = generate_series(tiny_city, days=3, step=timedelta(hours=1))
    y = series.values["traffic.flow"]["intensity"][0]
    from twin_core.model import from_epoch

    report = forecast_series(y, season_length=24, horizon=24,
                             times=[from_epoch(int(t)) for t in series.epochs])
    out = plot_forecast(report, tmp_path / "f.png")
    assert out.read_bytes()[:8] == PNG
    assert np.isfinite(report.mae)


def test_cli_draws_each_overlay_on_the_tiny_city(tmp_path) -> None:
    runner = CliRunner()
    for overlay in ("pollution", "queues", "flood"):
        out = tmp_path / f"{overlay}.png"
        result = runner.invoke(app, ["map", "--overlay", overlay, "--size", "tiny",
                                     "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:8] == PNG


def test_cli_refuses_an_unknown_size(tmp_path) -> None:
    result = CliRunner().invoke(app, ["map", "--size", "huge", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "unknown city size" in result.output


def test_cli_loads_the_demo_into_a_store(tmp_path, tiny_city) -> None:
    from twin_core import TwinStore

    db = f"sqlite:///{tmp_path}/demo.db"
    result = CliRunner().invoke(app, ["load-demo", "--db", db, "--size", "tiny"])
    assert result.exit_code == 0, result.output
    with TwinStore.open(db, create=False) as store:
        assert len(store.load_city().signalised) == 16
        assert store.count_observations() == 96 * len(tiny_city.devices)
