"""Stores for the twin's integration tests: every test runs on SQLite and on PostgreSQL.

A PostgreSQL store lives in a schema of its own, made for the test and dropped after it,
so runs never see each other's rows. Without PostgreSQL the postgres cases skip with a
reason (or fail when QCITY_REQUIRE_SERVICES=1), through the shared `pg_url` fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from twin_core import City, DemoCityConfig, TwinStore, generate_city, generate_observations, ingest
from twin_core.demo.series import DEFAULT_START

ENGINES = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = DEFAULT_START + timedelta(days=10)


def _open(request: pytest.FixtureRequest, path) -> TwinStore:
    if request.param == "sqlite":
        return TwinStore.open(f"sqlite:///{path}/twin.db")
    url = request.getfixturevalue("pg_url")
    return TwinStore.open(url, schema=f"qcity_twin_test_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def tiny() -> City:
    return generate_city(DemoCityConfig.tiny())


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path, tiny: City) -> Iterator[TwinStore]:
    """An empty-but-for-the-city store, per test."""
    s = _open(request, tmp_path)
    s.save_city(tiny)
    yield s
    s.drop()
    s.close()


@pytest.fixture(scope="module", params=ENGINES)
def loaded(request: pytest.FixtureRequest, tmp_path_factory, tiny: City) -> Iterator[TwinStore]:
    """The tiny city and one day of its observations, shared by read-only tests."""
    s = _open(request, tmp_path_factory.mktemp("twin"))
    s.save_city(tiny)
    report = ingest(s, generate_observations(tiny), now=NOW)
    assert report.ok and report.written > 0
    yield s
    s.drop()
    s.close()
