"""Short-term forecasts per sensor series, scored on held-out data against seasonal naive.

statsmodels' Holt-Winters exponential smoothing (additive daily season) is fitted on all but
the last `horizon` points and forecasts those; the seasonal-naive baseline repeats the last
observed season. A forecast earns its keep only where it beats that baseline, so both
errors are always reported side by side.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from twin_core.errors import InsufficientHistory
from twin_core.geo import BBox
from twin_core.model import from_epoch
from twin_core.queries import aggregate
from twin_core.sim.provenance import Provenance, make_provenance
from twin_core.store import TwinStore


@dataclass(frozen=True, eq=False)
class ForecastReport:
    """One series: the held-out actuals, both forecasts, and their errors."""

    entity_id: str
    attribute: str
    season_length: int
    times: tuple[datetime, ...]  # of the held-out points
    actual: np.ndarray
    forecast: np.ndarray
    naive: np.ndarray
    history_times: tuple[datetime, ...]
    history: np.ndarray
    mae: float
    rmse: float
    mae_naive: float
    rmse_naive: float
    provenance: Provenance

    @property
    def skill(self) -> float:
        """1 - MAE / MAE of seasonal naive: > 0 means the model beats the baseline."""
        return 1.0 - self.mae / self.mae_naive if self.mae_naive > 0 else 0.0


@dataclass(frozen=True, eq=False)
class ForecastSummary:
    """All series of a category and attribute, with the aggregate errors."""

    category: str
    attribute: str
    reports: tuple[ForecastReport, ...]
    skipped: tuple[str, ...]

    @property
    def mae(self) -> float:
        return float(np.mean([r.mae for r in self.reports])) if self.reports else float("nan")

    @property
    def mae_naive(self) -> float:
        return float(np.mean([r.mae_naive for r in self.reports])) if self.reports else float(
            "nan")

    @property
    def share_beating_naive(self) -> float:
        return float(np.mean([r.mae < r.mae_naive for r in self.reports])) if self.reports \
            else 0.0


def forecast_series(values: np.ndarray, *, season_length: int, horizon: int,
                    times: Sequence[datetime] | None = None, entity_id: str = "",
                    attribute: str = "") -> ForecastReport:
    """Fit on all but the last `horizon` values, forecast them, score against seasonal naive."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = np.asarray(values, dtype=float)
    if len(y) < 2 * season_length + horizon:
        raise InsufficientHistory(
            f"{entity_id or 'series'}: {len(y)} points, need {2 * season_length + horizon}",
            entity_id=entity_id)
    if not np.all(np.isfinite(y)):
        raise InsufficientHistory(f"{entity_id or 'series'} has gaps", entity_id=entity_id)
    train, test = y[:-horizon], y[-horizon:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model = ExponentialSmoothing(train, trend=None, seasonal="add",
                                     seasonal_periods=season_length,
                                     initialization_method="estimated").fit()
    forecast = np.asarray(model.forecast(horizon))
    naive = np.resize(train[-season_length:], horizon)
    err, err_naive = forecast - test, naive - test
    stamps = tuple(times) if times is not None else tuple()
    params = {"season_length": season_length, "horizon": horizon, "train": len(train),
              "model": "ExponentialSmoothing(seasonal=add, trend=None)"}
    return ForecastReport(
        entity_id=entity_id, attribute=attribute, season_length=season_length,
        times=stamps[-horizon:], actual=test, forecast=forecast, naive=naive,
        history_times=stamps[:-horizon], history=train,
        mae=float(np.abs(err).mean()), rmse=float(np.sqrt((err**2).mean())),
        mae_naive=float(np.abs(err_naive).mean()),
        rmse_naive=float(np.sqrt((err_naive**2).mean())),
        provenance=make_provenance("forecast.holt_winters", 0, params, ("statsmodels",)))


def forecast_store(store: TwinStore, *, category: str, attribute: str, start: datetime,
                   end: datetime, window: timedelta = timedelta(hours=1),
                   season: timedelta = timedelta(days=1), horizon: int | None = None,
                   entity_ids: Sequence[str] | None = None, bbox: BBox | None = None,
                   district: str | None = None, subjects: Sequence[str] | None = None,
                   ) -> ForecastSummary:
    """Forecast every matching series, resampled to `window` means, holding out one season.

    Series with missing windows are interpolated when the gaps are short (at most 10% of
    the windows) and skipped otherwise; skipped ids are listed in the summary.
    """
    season_length = int(season / window)
    horizon = horizon or season_length
    rows = aggregate(store, category=category, attribute=attribute, window=window,
                     start=start, end=end, how="mean", by="entity", entity_ids=entity_ids,
                     bbox=bbox, district=district, subjects=subjects)
    step = int(window.total_seconds())
    t0 = int(start.timestamp()) // step * step
    n = (int(end.timestamp()) - t0) // step
    series_of: dict[str, np.ndarray] = {}
    for r in rows:
        k = (int(r.window_start.timestamp()) - t0) // step
        if 0 <= k < n:
            series_of.setdefault(r.group, np.full(n, np.nan))[k] = r.value
    times = [from_epoch(t0 + k * step) for k in range(n)]
    reports, skipped = [], []
    for eid, series in series_of.items():
        missing = np.isnan(series)
        if missing.mean() > 0.1:
            skipped.append(eid)
            continue
        if missing.any():
            x = np.arange(n)
            series = np.interp(x, x[~missing], series[~missing])
        try:
            reports.append(forecast_series(series, season_length=season_length,
                                           horizon=horizon, times=times, entity_id=eid,
                                           attribute=attribute))
        except InsufficientHistory:
            skipped.append(eid)
    return ForecastSummary(category, attribute, tuple(reports), tuple(skipped))
