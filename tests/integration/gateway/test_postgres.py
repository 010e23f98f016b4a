"""`--db-url postgresql://...`: audit log, anchoring and twin reads on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest

PUBLIC = "dpv:PublicBenefit"
DETECTOR_ID = "urn:ngsi-ld:TrafficFlowObserved:tiny:TD-BE00-J0300"


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A SQLAlchemy URL whose connections live in a fresh schema, dropped afterwards."""
    schema = f"qcity_gw_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    base = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.postgres
def test_gateway_on_postgresql(make_gateway, pg_schema_url: str) -> None:
    gateway = make_gateway(db_url=pg_schema_url, anchor_every_n=4)
    gateway.ingest_sample(gateway.token(gateway.world["operator"]))
    token = gateway.token(gateway.world["agency"])
    seqs = []
    for _ in range(4):
        response = gateway.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC)
        assert response.status_code == 200, response.text
        assert response.json()["entity"]["values"] == {"intensity": 820.0}
        seqs.append(response.json()["access"]["decision"])
    assert seqs == [2, 3, 4, 5]
    gateway.run(gateway.runtime.anchorer.anchor_now)
    auditor = gateway.token(gateway.world["auditor"])
    proof = gateway.get(f"/audit/decisions/{seqs[-1]}", auditor).json()
    assert proof["anchor"]["status"] == "anchored"
    assert gateway.runtime.audit.engine.dialect.name == "postgresql"
    assert gateway.get("/audit/verify", auditor).json()["entries"] >= 6
