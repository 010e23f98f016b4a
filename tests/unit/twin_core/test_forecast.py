"""Forecasts: exponential smoothing against seasonal naive on held-out data."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from twin_core import InsufficientHistory, forecast_series
from twin_core.demo.series import generate_series


def test_holt_winters_beats_seasonal_naive_on_demo_traffic(tiny_city) -> None:
    series = generate_series(tiny_city, days=5, step=timedelta(hours=1))
    flows = series.values["traffic.flow"]["intensity"][:6]
    reports = [forecast_series(y, season_length=24, horizon=24) for y in flows]
    assert np.mean([r.mae for r in reports]) < np.mean([r.mae_naive for r in reports])
    assert sum(r.skill > 0 for r in reports) >= 4
    r = reports[0]
    assert r.actual.shape == r.forecast.shape == r.naive.shape == (24,)
    np.testing.assert_array_equal(r.naive, r.history[-24:])
    assert r.rmse >= r.mae and r.rmse_naive >= r.mae_naive


def test_a_noiseless_season_is_forecast_almost_exactly() -> None:
    y = np.tile(10 + 5 * np.sin(np.arange(24) / 24 * 2 * np.pi), 6)
    r = forecast_series(y, season_length=24, horizon=24)
    assert r.mae < 0.05 and r.mae_naive == pytest.approx(0.0, abs=1e-12)


def test_too_short_a_history_is_refused() -> None:
    with pytest.raises(InsufficientHistory):
        forecast_series(np.ones(50), season_length=24, horizon=24)
    with pytest.raises(InsufficientHistory):
        forecast_series(np.r_[np.ones(80), np.nan], season_length=24, horizon=12)
