"""GET /me/consents/receipts: each of the caller's consents as a signed ISO/IEC TS 27560 record.

Receipts are checked the way anyone would: against the gateway's published JWKS, with
`clients.receipts.verify_receipt` (jwcrypto), never with the gateway's own objects.
"""

from __future__ import annotations

import base64
import json

import pytest

from clients.receipts import ReceiptInvalid, verify_receipt

HOUSEHOLD, SERVICE = "energy.household_meter", "dpv:ServiceProvision"


def _receipts(gateway, who: str) -> dict:  # type: ignore[no-untyped-def]
    answer = gateway.get("/me/consents/receipts", gateway.token(gateway.world[who]))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_citizen_gets_a_verifiable_27560_receipt_per_consent(gateway) -> None:
    world = gateway.world
    body = _receipts(gateway, "citizen")
    jwks = gateway.client.get(body["jwks_uri"]).json()
    [receipt] = body["receipts"]
    assert (receipt["grantee"], receipt["category"], receipt["purpose"], receipt["state"]) == (
        world["enterprise"].address, HOUSEHOLD, SERVICE, "given")
    record = verify_receipt(receipt["jws"], jwks)
    assert record == receipt["record"]
    assert record["record"]["schema_version"] == "ISO/IEC TS 27560:2023"
    assert record["record"]["pii_principal_id"] == world["citizen"].address
    [purpose] = record["pii_processing"]["purposes"]
    assert purpose["purpose"] == SERVICE and purpose["lawful_basis"] == "dpv:Consent"
    assert purpose["pii_controllers"] == [world["enterprise"].address]
    [given] = record["event"]
    tx = world.chain.w3.eth.get_transaction(given["evidence"]["tx_hash"])
    assert tx["from"] == world["citizen"].address
    assert given["evidence"]["block"] == tx["blockNumber"] and given["state"] == "given"
    header = json.loads(base64.urlsafe_b64decode(receipt["jws"].split(".")[0] + "=="))
    assert header["alg"] == "ML-DSA-65" and header["kid"] == jwks["keys"][0]["kid"]


def test_revocation_shows_as_withdrawn_with_both_events(gateway) -> None:
    world = gateway.world
    revoked = world.qc.consent.revoke_consent(world["citizen"].account,
                                              world["enterprise"].address, HOUSEHOLD, SERVICE)
    gateway.wait_for_block(revoked.block_number)
    [receipt] = _receipts(gateway, "citizen")["receipts"]
    assert receipt["state"] == "withdrawn" and receipt["expiry"] is None
    assert [e["state"] for e in receipt["record"]["event"]] == ["given", "withdrawn"]
    assert receipt["record"]["event"][1]["evidence"]["tx_hash"] == revoked.tx_hash


def test_each_caller_sees_only_their_own_consents(gateway) -> None:
    assert _receipts(gateway, "neighbour")["receipts"] == []
    assert _receipts(gateway, "enterprise")["receipts"] == []  # the grantee is not the subject
    assert gateway.client.get("/me/consents/receipts").status_code == 401


def test_a_tampered_receipt_fails_and_a_receipt_is_no_session_token(gateway) -> None:
    body = _receipts(gateway, "citizen")
    jwks = gateway.client.get("/.well-known/jwks.json").json()
    token = body["receipts"][0]["jws"]
    head, payload, sig = token.split(".")
    record = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    record["pii_processing"]["purposes"][0]["purpose"] = "dpv:Marketing"
    forged = base64.urlsafe_b64encode(
        json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).rstrip(b"=").decode()
    with pytest.raises(ReceiptInvalid):
        verify_receipt(f"{head}.{forged}.{sig}", jwks)
    refused = gateway.get("/auth/session", token)
    assert refused.status_code == 401 and refused.json()["code"] == "session_invalid"
