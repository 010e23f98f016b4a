"""`qcity twin get|query` against a live gateway: reads by entity, area and time range, each
permission-checked (the provider reads its own data; a company without agreement is refused)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from click.testing import CliRunner, Result

from clients.cli import cli

DETECTOR = "urn:ngsi-ld:TrafficFlowObserved:cli-test-1"
PUBLIC = "dpv:PublicBenefit"


def _twin(served: Any, who: str, *args: str) -> Result:
    common = ["--gateway", served.url, "--keys", str(served.files[who])]
    return CliRunner().invoke(cli, ["twin", *args, *common])


@pytest.fixture(scope="module")
def detector(served: Any) -> int:
    """Two readings of one detector, ingested by the operator; returns the first's time."""
    first = int(time.time()) - 600
    with served.client("operator") as operator:
        operator.ingest([
            {"entity_id": DETECTOR, "entity_type": "TrafficFlowObserved",
             "category": "traffic.flow", "observed_at": first + 300 * k,
             "values": {"intensity": 400.0 + 100 * k}, "lon": 4.35, "lat": 50.85}
            for k in range(2)])
    return first


def test_get_reads_latest_state_and_history_of_one_entity(served: Any, detector: int) -> None:
    latest = _twin(served, "operator", "get", DETECTOR, "--purpose", PUBLIC, "--json")
    assert latest.exit_code == 0, latest.output
    answer = json.loads(latest.output)
    assert answer["entity"]["values"]["intensity"] == 500.0
    assert answer["access"]["basis"] == "own_data"  # the operator reads what it provides

    history = _twin(served, "operator", "get", DETECTOR, "--purpose", PUBLIC,
                    "--start", str(detector), "--end", str(detector + 1), "--json")
    assert history.exit_code == 0, history.output
    rows = json.loads(history.output)["observations"]
    assert [r["values"]["intensity"] for r in rows] == [400.0]


def test_query_filters_by_area_and_time_range(served: Any, detector: int) -> None:
    mine = ["--provider", served.keys["operator"].address]  # a provider reads its own data
    refused = _twin(served, "operator", "query", "--category", "traffic.flow", "--purpose",
                    PUBLIC)
    assert refused.exit_code == 1 and "agreement_missing" in refused.output
    inside = _twin(served, "operator", "query", "--category", "traffic.flow", "--purpose",
                   PUBLIC, "--bbox", "4.3,50.8,4.4,50.9", "--json", *mine)
    assert inside.exit_code == 0, inside.output
    assert DETECTOR in [e["id"] for e in json.loads(inside.output)["entities"]]
    outside = _twin(served, "operator", "query", "--category", "traffic.flow", "--purpose",
                    PUBLIC, "--bbox", "5.0,51.0,5.1,51.1", "--json", *mine)
    assert json.loads(outside.output)["entities"] == []

    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(detector - 1))
    ranged = _twin(served, "operator", "query", "--category", "traffic.flow", "--purpose",
                   PUBLIC, "--start", start, *mine)
    assert ranged.exit_code == 0, ranged.output
    assert "2 traffic.flow observations" in ranged.output and "audit decision #" in ranged.output


def test_a_refusal_exits_1_and_bad_input_exits_2(served: Any, detector: int) -> None:
    refused = _twin(served, "company", "get", DETECTOR, "--purpose", PUBLIC)
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines()[-1].startswith("refused: ")
    assert "agreement_missing" in refused.output
    bad = _twin(served, "operator", "get", DETECTOR, "--purpose", PUBLIC, "--start", "yesterday")
    assert bad.exit_code == 2 and "--start is not a time" in bad.output
