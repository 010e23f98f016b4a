"""Categories, addresses, coordinates and the error tree."""

from __future__ import annotations

import numpy as np
import pytest

from twin_core import (
    CATEGORIES,
    EntityNotFound,
    InvalidAddress,
    TwinError,
    UnknownCategory,
    category,
    personal_categories,
)
from twin_core.geo import LocalFrame, normalise_address


def test_categories_name_fiware_types_units_and_personal_data() -> None:
    assert category("traffic.flow").entity_type == "TrafficFlowObserved"
    assert category("air.no2").attribute("no2").unit_code == "GQ"
    assert personal_categories() == ("energy.household_meter",)
    assert {"traffic.flow", "air.no2", "energy.household_meter"} <= set(CATEGORIES)
    with pytest.raises(UnknownCategory):
        category("air.ozone")


def test_addresses_are_validated_and_lower_cased() -> None:
    mixed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert normalise_address(mixed) == mixed.lower()
    for bad in ("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x123", "0x" + "g" * 40, None):
        with pytest.raises(InvalidAddress):
            normalise_address(bad)  # type: ignore[arg-type]


def test_local_frame_round_trips_metres() -> None:
    frame = LocalFrame(11.4, 47.9)
    x, y = np.array([0.0, 1234.5, -300.0]), np.array([0.0, 2500.0, 10.0])
    lon, lat = frame.to_lonlat(x, y)
    bx, by = frame.to_xy(lon, lat)
    np.testing.assert_allclose(bx, x, atol=1e-6)
    np.testing.assert_allclose(by, y, atol=1e-6)
    # 1 km north is about 0.009 degrees of latitude
    assert frame.to_lonlat(0, 1000)[1] - 47.9 == pytest.approx(0.008993, rel=1e-3)


def test_errors_carry_a_stable_code_and_status(tiny_city) -> None:
    with pytest.raises(EntityNotFound) as info:
        tiny_city.get("urn:ngsi-ld:Device:tiny:nope")
    assert isinstance(info.value, TwinError)
    assert info.value.code == "entity_not_found" and info.value.http_status == 404
    assert info.value.facts == {"entity_id": "urn:ngsi-ld:Device:tiny:nope"}
