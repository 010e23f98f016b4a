"""Consent receipts: 27560 records from chain events, signed and checked as ML-DSA-65 JWS."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from jwcrypto import jwk

from clients.auditor import load_history
from clients.receipts import ReceiptInvalid, consent_record, sign_receipt, verify_receipt

METER, PURPOSE = "energy.household_meter", "dpv:ServiceProvision"


def _record(audit_story: Any) -> dict[str, Any]:
    snapshot = load_history(audit_story.chain, audit_story.deployment)
    events = snapshot.history.consent_changes(audit_story.citizen.address)
    return consent_record(
        events,
        snapshot.history.block_times,
        chain_id=snapshot.chain_id,
        ledger=audit_story.deployment.consent_ledger,
    )


def test_record_has_the_27560_fields_with_dpv_terms_and_chain_evidence(audit_story: Any) -> None:
    record = _record(audit_story)
    assert record["record"]["pii_principal_id"] == audit_story.citizen.address
    purpose = record["pii_processing"]["purposes"][0]
    assert purpose["purpose"] == PURPOSE and purpose["lawful_basis"] == "dpv:Consent"
    assert purpose["pii_information"][0]["pii_type"] == METER
    assert purpose["pii_controllers"] == [audit_story.company.address]
    assert [e["state"] for e in record["event"]] == ["given", "withdrawn"]
    assert record["event"][0]["evidence"]["block"] == audit_story.blocks["granted"]
    assert record["event"][0]["duration"] == audit_story.expiry - audit_story.times["granted"]


def test_signed_receipt_verifies_with_the_jwks_and_not_after_tampering(audit_story: Any) -> None:
    key = jwk.JWK.generate(kty="AKP", alg="ML-DSA-65")
    jwks = {"keys": [json.loads(key.export_public())]}
    record = _record(audit_story)
    token = sign_receipt(record, key)
    assert verify_receipt(token, jwks) == record
    head, _payload, sig = token.split(".")
    other = _record(audit_story)
    other["event"][1]["state"] = "given"
    forged = (
        base64.urlsafe_b64encode(json.dumps(other, sort_keys=True, separators=(",", ":")).encode())
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(ReceiptInvalid):
        verify_receipt(f"{head}.{forged}.{sig}", jwks)
    stranger = jwk.JWK.generate(kty="AKP", alg="ML-DSA-65")
    with pytest.raises(ReceiptInvalid):
        verify_receipt(token, {"keys": [json.loads(stranger.export_public())]})
