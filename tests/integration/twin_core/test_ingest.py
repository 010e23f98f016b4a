"""Ingest on SQLite and PostgreSQL: per-item rejections, idempotence, atomic batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from twin_core import IngestRejected, Observation, RejectionCode, ingest, latest
from twin_core.ngsi import observation_to_ngsi
from twin_core.queries import history

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def _ids(city):
    traffic = next(d for d in city.devices if d.category == "traffic.flow")
    no2 = next(d for d in city.devices if d.category == "air.no2")
    meter = next(d for d in city.devices if d.category == "energy.household_meter")
    return traffic, no2, meter


def _ok(traffic, no2, t=T0):
    return [Observation(traffic.observed_id, t, {"intensity": 420.0, "occupancy": 0.2,
                                                 "averageVehicleSpeed": 38.0}),
            Observation(no2.id, t, {"no2": 31.5})]


def test_valid_items_are_written_and_counted(store, tiny) -> None:
    traffic, no2, _ = _ids(tiny)
    report = ingest(store, _ok(traffic, no2), now=NOW)
    assert (report.received, report.written, report.duplicates, report.rejected) == (2, 2, 0, ())
    assert store.count_observations() == 2


CASES = [
    ("unknown_entity", lambda t, m: Observation("urn:ngsi-ld:Device:tiny:ghost", T0, {"no2": 1.0})),
    ("unknown_attribute", lambda t, m: Observation(t.id, T0, {"intensity": 1.0, "no2": 2.0})),
    ("missing_value", lambda t, m: Observation(t.id, T0, {"occupancy": 0.1})),
    ("not_a_number", lambda t, m: Observation(t.id, T0, {"intensity": "many"})),
    ("not_a_number", lambda t, m: Observation(t.id, T0, {"intensity": float("nan")})),
    ("bad_unit", lambda t, m: Observation(m.id, T0, {"activePower": 1.0}, {"activePower": "CEL"})),
    ("out_of_range", lambda t, m: Observation(t.id, T0, {"intensity": -5.0})),
    ("out_of_range", lambda t, m: Observation(t.id, T0, {"intensity": 10.0, "occupancy": 1.5})),
    ("out_of_range", lambda t, m: Observation(m.id, T0, {"activePower": 500.0},
                                              {"activePower": "KWT"})),
    ("bad_timestamp", lambda t, m: Observation(t.id, datetime(2026, 3, 2, 8), {"intensity": 1.0})),
    ("bad_timestamp", lambda t, m: Observation(t.id, "yesterday", {"intensity": 1.0})),
    ("future_timestamp", lambda t, m: Observation(t.id, NOW + timedelta(hours=1),
                                                  {"intensity": 1.0})),
    ("stale_timestamp", lambda t, m: Observation(t.id, datetime(1999, 1, 1, tzinfo=UTC),
                                                 {"intensity": 1.0})),
    ("malformed", lambda t, m: {"entity_id": t.id, "values": {}}),
]


@pytest.mark.parametrize(("code", "make"), CASES, ids=[c for c, _ in CASES])
def test_each_invalid_item_is_rejected_with_its_reason(store, tiny, code, make) -> None:
    traffic, no2, meter = _ids(tiny)
    bad = make(traffic, meter)
    report = ingest(store, [*_ok(traffic, no2), bad], now=NOW)
    assert report.written == 2
    assert [(r.index, r.code) for r in report.rejected] == [(2, RejectionCode(code))]
    assert report.rejected[0].reason
    assert store.count_observations() == 2
    with pytest.raises(IngestRejected) as info:
        report.raise_for_rejections()
    assert info.value.facts["rejected"] == {code: 1}


def test_units_are_converted_to_the_canonical_unit(store, tiny) -> None:
    _, no2, meter = _ids(tiny)
    ingest(store, [Observation(no2.id, T0, {"no2": 0.04}, {"no2": "GP"}),  # mg/m³
                   Observation(meter.id, T0, {"activePower": 2500.0}, {"activePower": "WTT"})],
           now=NOW)
    by_cat = {o.category: o for o in latest(store)}
    assert by_cat["air.no2"].values["no2"] == pytest.approx(40.0)
    assert by_cat["energy.household_meter"].values["activePower"] == pytest.approx(2.5)


def test_resubmitting_a_batch_is_idempotent(store, tiny) -> None:
    traffic, no2, _ = _ids(tiny)
    batch = [o for k in range(5) for o in _ok(traffic, no2, T0 + timedelta(minutes=5 * k))]
    first = ingest(store, batch, now=NOW)
    again = ingest(store, batch, now=NOW)
    assert first.written == 10 and first.duplicates == 0
    assert again.written == 0 and again.duplicates == 10 and again.ok
    assert store.count_observations() == 10
    mixed = ingest(store, [*batch[:4], Observation(no2.id, T0, {"no2": 1.0}),
                           Observation(no2.id, NOW, {"no2": -1.0}),
                           Observation(no2.id, NOW, {"no2": 3.0})], now=NOW)
    assert (mixed.written, mixed.duplicates, len(mixed.rejected)) == (1, 4, 2)
    assert mixed.received == mixed.written + mixed.duplicates + len(mixed.rejected)
    doubled = ingest(store, batch[:2] + batch[:2], now=NOW)  # duplicates inside one batch
    assert doubled.duplicates == 4 and doubled.ok


def test_a_resubmission_with_other_values_is_rejected_not_overwritten(store, tiny) -> None:
    traffic, no2, _ = _ids(tiny)
    ingest(store, _ok(traffic, no2), now=NOW)
    changed = Observation(no2.id, T0, {"no2": 99.0})
    report = ingest(store, [changed, _ok(traffic, no2)[0]], now=NOW)
    assert [r.code for r in report.rejected] == [RejectionCode.CONFLICTING_DUPLICATE]
    assert report.rejected[0].index == 0 and report.rejected[0].entity_id == no2.id
    assert report.duplicates == 1 and report.written == 0
    stored = history(store, start=T0, end=NOW, category="air.no2")
    assert [o.values["no2"] for o in stored] == [31.5]
    clash = ingest(store, [Observation(no2.id, T0 + timedelta(minutes=1), {"no2": 1.0}),
                           Observation(no2.id, T0 + timedelta(minutes=1), {"no2": 2.0})],
                   now=NOW)
    assert clash.written == 1 and clash.by_code() == {"conflicting_duplicate": 1}


def test_an_atomic_batch_with_one_bad_item_writes_nothing(store, tiny) -> None:
    traffic, no2, _ = _ids(tiny)
    bad = Observation(traffic.id, T0, {"intensity": -1.0})
    report = ingest(store, [*_ok(traffic, no2), bad], atomic=True, now=NOW)
    assert not report.committed and report.written == 0
    assert store.count_observations() == 0
    ingest(store, [Observation(no2.id, T0, {"no2": 5.0})], now=NOW)
    conflict = ingest(store, [Observation(no2.id, T0, {"no2": 6.0}),
                              Observation(no2.id, T0 + timedelta(minutes=1), {"no2": 7.0})],
                      atomic=True, now=NOW)
    assert not conflict.committed and conflict.written == 0
    assert store.count_observations() == 1
    assert latest(store, category="air.no2")[0].values["no2"] == 5.0


def test_ngsi_ld_notifications_are_ingested(store, tiny) -> None:
    traffic, no2, _ = _ids(tiny)
    obs = _ok(traffic, no2)[0]
    doc = observation_to_ngsi(obs, traffic)
    report = ingest(store, [doc], now=NOW)
    assert report.written == 1
    assert latest(store, entity_ids=[traffic.observed_id])[0].values == obs.values


def test_an_older_observation_does_not_replace_the_current_state(store, tiny) -> None:
    _, no2, _ = _ids(tiny)
    ingest(store, [Observation(no2.id, T0, {"no2": 10.0})], now=NOW)
    ingest(store, [Observation(no2.id, T0 - timedelta(minutes=5), {"no2": 99.0})], now=NOW)
    current = latest(store, category="air.no2")
    assert [(o.observed_at, o.values["no2"]) for o in current] == [(T0, 10.0)]
    assert len(history(store, start=T0 - timedelta(hours=1), end=NOW, category="air.no2")) == 2


def test_fiware_metadata_is_ignored_but_a_bad_measurement_is_not(store, tiny) -> None:
    traffic, _, _ = _ids(tiny)
    doc = observation_to_ngsi(_ok(traffic, traffic)[0], traffic)
    doc["laneDirection"] = {"type": "Property", "value": "forward"}
    doc["address"] = {"type": "Property", "value": {"streetAddress": "Ring 1"}}
    assert ingest(store, [doc], now=NOW).written == 1
    bad = dict(doc, intensity={"type": "Property", "value": "lots"},
               dateObserved={"type": "Property", "value": "2026-03-02T08:05:00Z"})
    report = ingest(store, [bad], now=NOW)
    assert report.by_code() == {"not_a_number": 1}


def test_an_optional_attribute_may_be_left_out_or_null(store, tiny) -> None:
    traffic, _, _ = _ids(tiny)
    report = ingest(store, [Observation(traffic.id, T0, {"intensity": 300.0}),
                            Observation(traffic.id, T0 + timedelta(minutes=1),
                                        {"intensity": 310.0, "occupancy": None})], now=NOW)
    assert report.written == 2 and report.ok
    assert latest(store, entity_ids=[traffic.id])[0].values == {"intensity": 310.0}
