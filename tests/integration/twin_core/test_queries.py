"""Queries on SQLite and PostgreSQL: current state, ranges, places, windows, subjects."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from twin_core import (
    EntityNotFound,
    SubjectNotApplicable,
    UnknownCategory,
    aggregate,
    devices,
    generate_observations,
    get_entity,
    history,
    latest,
    link_subject,
    relink_subjects,
    subject_links,
)
from twin_core.demo.series import DEFAULT_START, generate_series

DAY = timedelta(days=1)


def test_the_city_loads_back_equal(loaded, tiny) -> None:
    back = loaded.load_city()
    assert back.meta.model_dump() == tiny.meta.model_dump()
    assert [e.model_dump() for e in back.entities()] == [e.model_dump() for e in tiny.entities()]


def test_latest_gives_each_entity_its_last_observation(loaded, tiny) -> None:
    current = latest(loaded)
    assert len(current) == len(tiny.devices)
    obs = generate_observations(tiny)
    last = {o.entity_id: o for o in obs}
    for o in current:
        assert o.observed_at == last[o.entity_id].observed_at
        assert dict(o.values) == pytest.approx(dict(last[o.entity_id].values))
    meters = latest(loaded, category="energy.household_meter")
    assert meters and all(o.data_subject and o.category == "energy.household_meter"
                          for o in meters)


def test_history_is_half_open_and_in_time_order(loaded, tiny) -> None:
    start, end = DEFAULT_START + timedelta(hours=6), DEFAULT_START + timedelta(hours=7)
    rows = history(loaded, start=start, end=end, category="traffic.flow")
    n_traffic = sum(d.category == "traffic.flow" for d in tiny.devices)
    assert len(rows) == 4 * n_traffic  # 06:00, 06:15, 06:30, 06:45
    assert min(o.observed_at for o in rows) == start
    assert max(o.observed_at for o in rows) < end
    assert [o.observed_at for o in rows] == sorted(o.observed_at for o in rows)
    assert history(loaded, start=start, end=end, category="traffic.flow", limit=5)[4] == rows[4]


def test_bounding_box_and_district_narrow_the_answer(loaded, tiny) -> None:
    d = tiny.districts[0]
    inside = latest(loaded, bbox=(d.lon_min, d.lat_min, d.lon_max, d.lat_max))
    ids = {o.device_id for o in inside}
    expected = {x.id for x in tiny.devices
                if d.lon_min <= x.lon <= d.lon_max and d.lat_min <= x.lat <= d.lat_max}
    assert ids == expected and 0 < len(ids) < len(tiny.devices)
    by_district = {x.id for x in devices(loaded, district=d.id)}
    assert by_district == {x.id for x in tiny.devices if x.district_id == d.id}
    assert {o.device_id for o in latest(loaded, district=d.id)} == by_district


def test_hourly_means_match_the_data(loaded, tiny) -> None:
    series = generate_series(tiny)
    rows = aggregate(loaded, category="air.no2", attribute="no2", window=timedelta(hours=1),
                     start=DEFAULT_START, end=DEFAULT_START + DAY, by="entity")
    got = {(r.group, r.window_start.hour): r for r in rows}
    no2 = series.values["air.no2"]["no2"].round(4)
    for k, dev in enumerate(series.devices["air.no2"]):
        for hour in (0, 8, 17):
            r = got[(dev.observed_id, hour)]
            assert r.count == 4
            assert r.value == pytest.approx(no2[k, 4 * hour:4 * hour + 4].mean(), rel=1e-9)
    city = aggregate(loaded, category="traffic.flow", attribute="intensity", window=DAY,
                     start=DEFAULT_START, end=DEFAULT_START + DAY, how="max", by="city")
    assert len(city) == 1 and city[0].group == "city"
    assert city[0].value == pytest.approx(series.values["traffic.flow"]["intensity"].round(4)
                                          .max())
    districts = aggregate(loaded, category="traffic.flow", attribute="intensity",
                          window=DAY, start=DEFAULT_START, end=DEFAULT_START + DAY,
                          how="count", by="district")
    assert sum(r.value for r in districts) == series.values["traffic.flow"]["intensity"].size


def test_unknown_categories_and_entities_fail_loudly(loaded) -> None:
    with pytest.raises(UnknownCategory):
        latest(loaded, category="air.ozone")
    with pytest.raises(EntityNotFound):
        get_entity(loaded, "urn:ngsi-ld:Junction:tiny:nope")


def test_get_entity_reads_any_static_entity(loaded, tiny) -> None:
    for entity in (tiny.junctions[3], tiny.buildings[0], tiny.alerts[0], tiny.devices[5]):
        assert get_entity(loaded, entity.id).model_dump() == entity.model_dump()


def test_subjects_can_be_relinked_to_real_addresses(store, tiny) -> None:
    links = subject_links(store)
    meters = [d for d in tiny.devices if d.category == "energy.household_meter"]
    assert len(links) == len(meters)
    alice, bob = "0x" + "a1" * 20, "0x" + "B2" * 20
    placeholder = links[0].subject
    assert relink_subjects(store, {placeholder: alice}) == 1
    assert [x.device_id for x in subject_links(store, alice)] == [links[0].device_id]
    assert link_subject(store, links[1].asset_id, bob) == 1  # by the household's building
    assert subject_links(store, bob)[0].subject == bob.lower()
    traffic = next(d for d in tiny.devices if d.category == "traffic.flow")
    with pytest.raises(SubjectNotApplicable):
        link_subject(store, traffic.id, alice)
    with pytest.raises(EntityNotFound):
        link_subject(store, "urn:ngsi-ld:Building:tiny:ghost", alice)
    # a chain of renames moves each set of devices once
    assert relink_subjects(store, {alice: bob, bob: alice}) == 2
    assert [x.device_id for x in subject_links(store, bob)] == [links[0].device_id]


def test_reads_can_be_limited_to_consenting_subjects(loaded, tiny) -> None:
    meters = [d for d in tiny.devices if d.category == "energy.household_meter"][:3]
    subjects = [m.data_subject for m in meters]
    rows = latest(loaded, category="energy.household_meter", subjects=subjects)
    assert {o.data_subject for o in rows} == set(subjects)
    assert latest(loaded, category="energy.household_meter", subjects=[]) == []
    window = history(loaded, start=DEFAULT_START, end=DEFAULT_START + DAY,
                     category="energy.household_meter", subjects=subjects[:1])
    assert len(window) == 96 and {o.data_subject for o in window} == {subjects[0]}
    assert np.isfinite([o.values["activePower"] for o in window]).all()


def test_latest_entities_are_served_as_ngsi_ld(loaded, tiny) -> None:
    from twin_core import latest_entities

    docs = latest_entities(loaded, category="air.pm")
    n_pm = sum(d.category == "air.pm" for d in tiny.devices)
    assert len(docs) == n_pm
    assert all(d["type"] == "AirQualityObserved" and d["pm10"]["unitCode"] == "GQ"
               and d["refDevice"]["type"] == "Relationship" for d in docs)
