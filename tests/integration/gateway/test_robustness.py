"""No input of any shape yields a 500; a wallet's own transaction through /rpc takes effect
for the very next request; the embedded defaults survive a restart."""

from __future__ import annotations

import json
import stat
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import GatewaySettings, create_app

HOUSEHOLD, SERVICE = "energy.household_meter", "dpv:ServiceProvision"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:tiny:M-S00F0H00"

PATHS = [
    "/auth/challenge", "/auth/token", "/auth/session", "/twin/entities", "/twin/observations",
    f"/twin/entities/{METER_ID}", f"/twin/entities/{METER_ID}/observations",
    "/twin/entities/%00", "/audit/decisions/1", "/audit/decisions/-1", "/audit/decisions/x",
    "/audit/decisions/99999999999999999999999", "/audit/verify", "/me/decisions", "/health",
    "/.well-known/jwks.json", "/rpc", "/nowhere",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12,
)
params = st.dictionaries(
    st.sampled_from(["purpose", "category", "subject", "provider", "bbox", "start", "end",
                     "limit", "x"]),
    st.text(max_size=30) | st.sampled_from([SERVICE, HOUSEHOLD, "traffic.flow", "0,0,1,1",
                                            "0x" + "ab" * 20, "-1", "1e99"]),
    max_size=4,
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]), path=st.sampled_from(PATHS),
       query=params, body=json_values | st.binary(max_size=64),
       auth=st.sampled_from([None, "Bearer x.y.z", "Bearer", "Basic Zm9v", "Bearer GOOD"]))
def test_no_input_yields_a_500(gateway, method, path, query, body, auth) -> None:
    if not hasattr(gateway, "good_token"):
        gateway.good_token = gateway.token(gateway.world["enterprise"])
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth.replace("GOOD", gateway.good_token)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = gateway.client.request(method, path, params=query, content=content,
                                      headers={**headers, "Content-Type": "application/json"})
    assert response.status_code < 500 or response.status_code == 503, response.text
    if response.status_code >= 400:
        assert isinstance(response.json()["code"], str)


def test_wallet_revocation_through_rpc_denies_the_very_next_request(gateway) -> None:
    world = gateway.world
    gateway.ingest_sample(gateway.token(world["operator"]))
    token = gateway.token(world["enterprise"])
    assert gateway.get(f"/twin/entities/{METER_ID}", token, purpose=SERVICE).status_code == 200

    def rpc(method: str, params: list) -> object:
        answer = gateway.client.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                   "params": params}).json()
        assert "result" in answer, answer
        return answer["result"]

    citizen = world["citizen"].account
    ledger = world.qc.consent
    data = ledger.contract.encode_abi("revokeConsent", [
        world["enterprise"].address, bytes(ledger_id(HOUSEHOLD)), bytes(ledger_id(SERVICE))])
    tx = {
        "to": ledger.address, "data": data, "value": 0, "gas": 200_000,
        "nonce": int(rpc("eth_getTransactionCount", [citizen.address, "latest"]), 16),
        "chainId": int(rpc("eth_chainId", []), 16),
        "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9,
    }
    signed = citizen.sign_transaction(tx)
    tx_hash = rpc("eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()])
    receipt = rpc("eth_getTransactionReceipt", [tx_hash])
    assert receipt["status"] == "0x1"
    mined = int(receipt["blockNumber"], 16)
    response = gateway.get(f"/twin/entities/{METER_ID}", token, purpose=SERVICE)  # no waiting
    assert response.status_code == 403 and response.json()["code"] == "consent_missing"
    assert response.json()["block"] >= mined


def ledger_id(name: str) -> bytes:
    from contracts import term_id

    return term_id(name)


def test_embedded_defaults_persist_across_restart(tmp_path) -> None:
    from fastapi.testclient import TestClient

    settings = GatewaySettings(data_dir=tmp_path / "qcity", index_poll_s=0.02)
    with TestClient(create_app(settings)) as client:
        first = client.get("/health").json()
        kid = client.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
        assert first["in_step"] and first["block"] > 0
    key_file = settings.key_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    for name in ("recorder.key", "governance-admin.key"):
        assert stat.S_IMODE((settings.data_dir / name).stat().st_mode) == 0o600
    assert (settings.data_dir / "chain").is_dir()
    time.sleep(0.01)
    with TestClient(create_app(settings)) as client:  # the chain is replayed, not redeployed
        again = client.get("/health").json()
        assert again["contracts"] == first["contracts"]
        assert again["block"] >= first["block"]
        assert client.get("/.well-known/jwks.json").json()["keys"][0]["kid"] == kid
