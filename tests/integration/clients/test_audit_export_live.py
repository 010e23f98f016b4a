"""`qcity audit export` from a live gateway, then `qcity audit verify` from the chain alone;
a decision tampered with in the gateway's own store is named by verify (exit 1)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from clients.cli import cli
from clients.sdk import RoleMissing
from gateway.audit.records import AuditEntryRow

ALLOWED_WORD = 10
"""The `allowed` flag is the 11th head word of an audit entry (gateway.audit.records)."""


def _qcity(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _anchor_in_background(served: Any, stop: threading.Event) -> None:
    """The gateway's anchorer, sped up (its clock is an hour in these fixtures)."""
    while not stop.wait(0.3):
        served.app.state.runtime.anchorer.anchor_pending()


@pytest.fixture(scope="module")
def trail(served: Any) -> Any:
    """A few decisions: an operator's ingest, a refused read, an auditor's chain check."""
    with served.client("operator") as operator:
        operator.ingest([{"entity_id": "urn:ngsi-ld:TrafficFlowObserved:export-1",
                          "entity_type": "TrafficFlowObserved", "category": "traffic.flow",
                          "observed_at": int(time.time()) - 60, "values": {"intensity": 12.0},
                          "lon": 4.35, "lat": 50.85}])
    with served.client("citizen") as citizen, pytest.raises(RoleMissing):
        citizen.ingest([])
    stop = threading.Event()
    worker = threading.Thread(target=_anchor_in_background, args=(served, stop), daemon=True)
    worker.start()
    yield served
    stop.set()
    worker.join(10)


def _export(served: Any, out: Path, wait: str = "20") -> Result:
    return _qcity("audit", "export", "--gateway", served.url, "--keys",
                  str(served.files["auditor"]), "--out", str(out), "--wait-anchored", wait)


def _verify(served: Any, decisions: Path) -> Result:
    return _qcity("audit", "verify", "--rpc", f"{served.url}/rpc", "--deployment",
                  str(served.deployment_file), "--decisions", str(decisions))


def test_export_then_verify_from_the_chain_alone(trail: Any, tmp_path: Path) -> None:
    out = tmp_path / "decisions.jsonl"
    exported = _export(trail, out)
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1)) and len(rows) >= 3
    assert all(r["anchor"]["status"] == "anchored" for r in rows), "all anchored"
    assert "all anchored" in exported.output
    verified = _verify(trail, out)
    assert verified.exit_code == 0, verified.output


def test_a_decision_tampered_with_in_the_store_is_named(trail: Any, tmp_path: Path) -> None:
    runtime = trail.app.state.runtime
    row = runtime.audit.entry(2)  # the citizen's refused ingest
    forged = bytearray(row.entry)
    forged[32 * ALLOWED_WORD + 31] ^= 1  # refused -> allowed
    table = AuditEntryRow.__table__  # type: ignore[attr-defined]
    with runtime.audit.engine.begin() as conn:
        conn.execute(update(table).where(table.c.seq == 2).values(entry=bytes(forged)))
    out = tmp_path / "decisions.jsonl"
    assert _export(trail, out).exit_code == 0
    verified = _verify(trail, out)
    assert verified.exit_code == 1, verified.output
    text = " ".join(verified.output.split())
    assert "FAIL #2 not_anchored" in text  # its leaf is not under the root on chain
    assert "FAIL #2 not_permitted" in text  # and the chain never allowed it
    assert "FAIL #3 hash_chain_broken" in text  # the next entry names the original's hash
    # (#1 fails too: its proof is rebuilt from the stored batch, which now holds the forgery)
    assert "FAIL #4" not in text and "FAIL #5" not in text


def test_export_needs_an_auditor_and_a_url(trail: Any, tmp_path: Path) -> None:
    refused = _qcity("audit", "export", "--gateway", trail.url, "--keys",
                     str(trail.files["company"]), "--out", str(tmp_path / "x.jsonl"))
    assert refused.exit_code == 1 and "role_missing" in refused.output
    bad = _qcity("audit", "export", "--gateway", "ftp://x", "--keys",
                 str(trail.files["auditor"]), "--out", str(tmp_path / "x.jsonl"))
    assert bad.exit_code == 2 and "--gateway must be an http(s) URL" in bad.output
