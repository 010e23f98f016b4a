"""Forecasts from stored observations: windowed means per sensor, held-out last day.

SQLite only: the windowed means come from `aggregate`, which test_queries runs on both
engines.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from twin_core import TwinStore, forecast_store, generate_observations, ingest
from twin_core.demo.series import DEFAULT_START

DAYS = 4


@pytest.fixture(scope="module")
def week(tiny, tmp_path_factory):
    store = TwinStore.open(f"sqlite:///{tmp_path_factory.mktemp('fc')}/twin.db")
    store.save_city(tiny)
    ingest(store, generate_observations(tiny, days=DAYS), now=DEFAULT_START + timedelta(days=9))
    yield store
    store.drop()


def test_every_series_is_scored_against_seasonal_naive(week, tiny) -> None:
    feeders = [d.observed_id for d in tiny.devices if d.category == "energy.feeder_load"]
    summary = forecast_store(week, category="energy.feeder_load", attribute="activePower",
                             start=DEFAULT_START, end=DEFAULT_START + timedelta(days=DAYS))
    assert {r.entity_id for r in summary.reports} == set(feeders)
    assert summary.skipped == ()
    assert summary.mae < summary.mae_naive
    assert summary.share_beating_naive >= 0.5
    r = summary.reports[0]
    assert len(r.times) == 24 and r.times[0] == DEFAULT_START + timedelta(days=DAYS - 1)


def test_series_with_large_gaps_are_skipped_not_invented(week, tiny) -> None:
    summary = forecast_store(week, category="air.no2", attribute="no2",
                             start=DEFAULT_START, end=DEFAULT_START + timedelta(days=DAYS + 2))
    assert summary.reports == () and len(summary.skipped) > 0
