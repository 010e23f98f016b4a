"""Shared fixtures: real services when present, a clear skip when absent.

`QCITY_REQUIRE_SERVICES=1` (set by `.ci/run`) turns every such skip into a failure,
so CI can never pass by skipping the tests that need PostgreSQL, Redis or a node.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

PG_URL = os.environ.get("QCITY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def services_required() -> bool:
    """True when a missing service must fail the run instead of skipping."""
    return os.environ.get("QCITY_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip with a reason on a developer's machine; fail in CI."""
    if services_required():
        pytest.fail(f"{reason} (QCITY_REQUIRE_SERVICES is set, so this is mandatory)")
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A reachable PostgreSQL URL (trust auth), or a skip naming why not."""
    try:
        import psycopg
    except ImportError:
        skip_or_fail("psycopg is not installed (pip install '.[postgres]')")
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        skip_or_fail(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    yield PG_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis URL, or a skip naming why not."""
    if not port_open(REDIS_HOST, REDIS_PORT):
        skip_or_fail(f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
