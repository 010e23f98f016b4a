"""An auditor proves a decision was anchored using only web3.py against /rpc and the proof
the gateway returned, over real HTTP (uvicorn on a loopback port)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
from web3 import HTTPProvider, Web3

HOUSEHOLD, SERVICE = "energy.household_meter", "dpv:ServiceProvision"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:tiny:M-S00F0H00"
ENTRY_TYPES = ["uint64", "bytes32", "uint64", "address", "string", "string", "string", "string",
               "address", "address", "bool", "string", "int64"]
AUDIT_TRAIL_ABI = json.loads(
    (Path(__file__).parents[3] / "contracts" / "build" / "AuditTrail.json").read_text()
)["abi"]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def login(client: httpx.Client, actor) -> dict[str, str]:
    text = client.post("/auth/challenge", json={"address": actor.address}).json()["challenge"]
    signature = actor.mldsa.sign(text.encode(), context=b"qcity-login-v1")
    token = client.post("/auth/token", json={
        "challenge": text, "public_key": b64(actor.public_key), "signature": b64(signature),
    }).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_auditor_verifies_anchored_decision_with_web3_only(live_gateway) -> None:
    world = live_gateway.world
    with httpx.Client(base_url=live_gateway.url, timeout=30) as client:
        operator = login(client, world["operator"])
        now = int(time.time())
        ingest = client.post("/twin/observations", headers=operator, json={"observations": [{
            "entity_id": METER_ID, "observed_at": now, "values": {"activePower": 2.0}}]})
        assert ingest.status_code == 201, ingest.text
        enterprise = login(client, world["enterprise"])
        read = client.get(f"/twin/entities/{METER_ID}", params={"purpose": SERVICE},
                          headers=enterprise)
        assert read.status_code == 200, read.text
        seq = read.json()["access"]["decision"]
        auditor = login(client, world["auditor"])
        deadline = time.monotonic() + 20
        while True:  # the anchorer runs every 0.5 s or every 4 decisions
            proof = client.get(f"/audit/decisions/{seq}", headers=auditor).json()
            if proof["anchor"] and proof["anchor"]["status"] == "anchored":
                break
            assert time.monotonic() < deadline, proof
            time.sleep(0.2)

    # ---- from here on: only web3.py, the JSON-RPC door, and what the gateway returned
    w3 = Web3(HTTPProvider(f"{live_gateway.url}/rpc"))
    anchor = proof["anchor"]
    assert w3.eth.chain_id == anchor["chain_id"]
    entry = bytes.fromhex(proof["entry"][2:])
    assert Web3.keccak(entry).hex() == proof["entry_hash"][2:]  # the local hash chain
    leaf = Web3.keccak(Web3.keccak(entry))
    assert leaf.hex() == proof["leaf"][2:]
    fields = dict(zip(
        ["seq", "prev_hash", "decided_at_ms", "actor", "action", "resource", "category",
         "purpose", "subject", "provider", "allowed", "reason", "block"],
        w3.codec.decode(ENTRY_TYPES, entry), strict=True))
    assert fields["seq"] == seq and fields["allowed"] is True and fields["reason"] == "consent"
    assert Web3.to_checksum_address(fields["actor"]) == world["enterprise"].address
    assert Web3.to_checksum_address(fields["subject"]) == world["citizen"].address
    assert (fields["category"], fields["purpose"]) == (HOUSEHOLD, SERVICE)

    node = leaf  # the proof, recomputed by hand: sorted-pair keccak256
    for sibling in (bytes.fromhex(p[2:]) for p in anchor["proof"]):
        node = Web3.keccak(min(node, sibling) + max(node, sibling))
    assert node.hex() == anchor["root"][2:]

    receipt = w3.eth.get_transaction_receipt(anchor["tx_hash"])
    assert receipt["status"] == 1 and receipt["blockNumber"] == anchor["block_number"]
    trail = w3.eth.contract(address=anchor["audit_trail"], abi=AUDIT_TRAIL_ABI)
    (event,) = trail.events.BatchAnchored().process_receipt(receipt)
    assert event["args"]["sequence"] == anchor["sequence"]
    assert event["args"]["root"].hex() == anchor["root"][2:]
    proof_bytes = [bytes.fromhex(p[2:]) for p in anchor["proof"]]
    assert trail.functions.verifyBatchInclusion(anchor["sequence"], leaf, proof_bytes).call()
    tampered = Web3.keccak(leaf)
    assert not trail.functions.verifyBatchInclusion(anchor["sequence"], tampered,
                                                    proof_bytes).call()


def test_rpc_door_answers_standard_methods_and_refuses_the_rest(live_gateway) -> None:
    w3 = Web3(HTTPProvider(f"{live_gateway.url}/rpc"))
    assert w3.eth.block_number >= 1
    assert w3.eth.get_block("latest")["number"] == w3.eth.block_number
    assert w3.eth.accounts == []  # no unlocked accounts
    with httpx.Client(base_url=live_gateway.url) as client:
        for method in ["eth_sendTransaction", "eth_sign", "personal_unlockAccount",
                       "evm_mine", "debug_traceTransaction", "admin_peers", "eth_coinbase"]:
            answer = client.post("/rpc", json={"jsonrpc": "2.0", "id": 7, "method": method,
                                               "params": []}).json()
            assert answer["error"]["code"] == -32601, method
        batch = client.post("/rpc", json=[
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance", "params": ["0x12", "latest"]},
        ]).json()
        assert batch[0]["result"] == hex(live_gateway.world.chain.chain_id)
        assert batch[1]["error"]["code"] == -32602
        assert client.post("/rpc", content=b"{nope").json()["error"]["code"] == -32700
