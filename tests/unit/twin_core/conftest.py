"""Fixtures for the twin's unit tests: the tiny demo city, built once per session."""

from __future__ import annotations

import pytest

from twin_core import City, DemoCityConfig, generate_city
from twin_core.sim import TrafficInputs, build_traffic_inputs


@pytest.fixture(scope="session")
def tiny_city() -> City:
    return generate_city(DemoCityConfig.tiny())


@pytest.fixture(scope="session")
def tiny_traffic(tiny_city: City) -> TrafficInputs:
    return build_traffic_inputs(tiny_city)
