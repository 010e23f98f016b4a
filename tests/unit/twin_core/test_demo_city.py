"""The demo city: deterministic, sized as asked, with believable daily patterns."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from twin_core import DemoCityConfig, generate_city, generate_observations
from twin_core.demo import placeholder_subject
from twin_core.demo.series import generate_series
from twin_core.geo import normalise_address


def _dump(city):
    return [e.model_dump() for e in city.entities()] + [city.meta.model_dump()]


def test_same_seed_gives_the_same_city_and_observations() -> None:
    a, b = generate_city(DemoCityConfig.tiny(seed=3)), generate_city(DemoCityConfig.tiny(seed=3))
    assert _dump(a) == _dump(b)
    assert generate_observations(a) == generate_observations(b)


def test_another_seed_gives_another_city() -> None:
    a, b = generate_city(DemoCityConfig.tiny(seed=3)), generate_city(DemoCityConfig.tiny(seed=4))
    assert _dump(a) != _dump(b)


@pytest.mark.parametrize(("preset", "signals"), [("tiny", 16), ("small", 64), ("mid", 144)])
def test_presets_have_the_promised_number_of_signals(preset: str, signals: int) -> None:
    city = generate_city(DemoCityConfig.preset(preset))
    assert len(city.signalised) == signals
    ids = [e.id for e in city.entities()]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("urn:ngsi-ld:") for i in ids)


def test_mid_city_has_a_few_hundred_sensors_and_a_feeder_network() -> None:
    city = generate_city(DemoCityConfig.mid())
    assert 200 <= len(city.devices) <= 800
    cats = {d.category for d in city.devices}
    assert cats == {"traffic.flow", "air.no2", "air.pm", "energy.household_meter",
                    "energy.feeder_load"}
    assert sum(r.arterial for r in city.road_segments) > 0
    assert len(city.feeders) >= 9 and len(city.buildings) >= 100


def test_large_city_stays_within_500_signals_and_bigger_is_refused() -> None:
    assert len(generate_city(DemoCityConfig.large()).signalised) == 484
    with pytest.raises(ValueError):
        DemoCityConfig(nx=25, ny=25)


def test_personal_devices_carry_deterministic_placeholder_subjects(tiny_city) -> None:
    meters = [d for d in tiny_city.devices if d.category == "energy.household_meter"]
    assert meters and all(d.data_subject for d in meters)
    assert all(normalise_address(d.data_subject) == d.data_subject for d in meters)
    assert len({d.data_subject for d in meters}) == len(meters)
    local = meters[0].ref_asset.rsplit(":", 1)[1]
    assert meters[0].data_subject == placeholder_subject(tiny_city.meta.seed, local)
    others = [d for d in tiny_city.devices if d.category != "energy.household_meter"]
    assert all(d.data_subject is None for d in others)


def test_traffic_peaks_in_the_rush_hours_and_solar_at_noon(tiny_city) -> None:
    series = generate_series(tiny_city, step=timedelta(hours=1))
    hours = (series.epochs % 86_400) // 3600
    flow = series.values["traffic.flow"]["intensity"].mean(axis=0)
    assert flow[hours == 8].item() > 3 * flow[hours == 3].item()
    assert flow[hours == 17].item() > 3 * flow[hours == 3].item()
    meters = series.values["energy.household_meter"]["activePower"].mean(axis=0)
    assert meters[hours == 12].item() < meters[hours == 19].item()
    assert np.all(series.values["traffic.flow"]["occupancy"] <= 1.0)


def test_observations_arrive_in_time_order(tiny_city) -> None:
    obs = generate_observations(tiny_city, step=timedelta(hours=1))
    times = [o.observed_at for o in obs]
    assert times == sorted(times)
    assert len(obs) == 24 * len(tiny_city.devices)
