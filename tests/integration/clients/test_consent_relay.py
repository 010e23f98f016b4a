"""Gas-free consent from the terminal and the SDK: `qcity wallet grant/revoke --gateway`.

The citizen's account holds no ether at all; the gateway's relayer sends the EIP-712 message
the citizen signed, and the chain records the relayer beside the citizen's consent.
"""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from clients.cli import cli
from clients.receipts import verify_receipt
from clients.sdk import ConsentMissing, ConsentRefused
from contracts.events import ConsentGranted, ConsentRevoked

METER, SERVICE = "energy.household_meter", "dpv:ServiceProvision"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:relay-home"


def _wallet(served, action: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, [
        "wallet", action, "--keys", str(served.files["citizen"]),
        "--rpc", served.url + "/rpc", "--deployment", str(served.deployment_file),
        "--gateway", served.url, "--grantee", served.keys["company"].address,
        "--category", METER, "--purpose", SERVICE,
    ])


def test_wallet_grant_and_revoke_through_the_relay_cost_the_citizen_no_gas(served) -> None:
    citizen = served.keys["citizen"].address
    assert served.chain.balance(citizen) == 0
    served.client("operator").ingest([{
        "entity_id": METER_ID, "entity_type": "ThreePhaseAcMeasurement", "category": METER,
        "observed_at": int(time.time()) - 30, "values": {"activePower": 1.25},
        "lon": 4.35, "lat": 50.85, "subject": citizen,
    }])
    company = served.client("company")
    with pytest.raises(ConsentMissing):
        company.entity(METER_ID, purpose=SERVICE)

    granted = _wallet(served, "grant")
    assert granted.exit_code == 0, granted.output
    assert "granted at block" in granted.output
    # the relay indexes its block before answering: the very next read is allowed
    assert company.entity(METER_ID, purpose=SERVICE).access.basis == "consent"

    revoked = _wallet(served, "revoke")
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(ConsentMissing):
        company.entity(METER_ID, purpose=SERVICE)

    relayer = served.app.state.runtime.relay.address
    mine = [e for e in served.qc.events.fetch(served.qc.deployment.start_block)
            if isinstance(e, ConsentGranted | ConsentRevoked) and e.subject == citizen]
    assert [type(e).__name__ for e in mine] == ["ConsentGranted", "ConsentRevoked"]
    assert all(e.relayer == relayer for e in mine)
    assert served.chain.balance(citizen) == 0


def test_sdk_relay_refusals_are_typed(served) -> None:
    citizen = served.keys["citizen"]
    ledger = served.qc.consent
    signed = ledger.sign_grant(citizen.account, served.keys["auditor"].address, METER, SERVICE,
                               int(time.time()) + 3600, int(time.time()) + 300)
    with served.client("citizen", login=False) as client:
        done = client.relay_consent(signed)
        assert done.kind == "grant" and done.subject == citizen.address
        with pytest.raises(ConsentRefused) as replay:
            client.relay_consent(signed)
    assert replay.value.error_code == "invalid_nonce" and replay.value.status == 409
    assert replay.value.facts["given"] == done.nonce


def test_wallet_revoke_of_nothing_exits_1_naming_the_contract_error(served) -> None:
    result = CliRunner().invoke(cli, [
        "wallet", "revoke", "--keys", str(served.files["citizen"]),
        "--rpc", served.url + "/rpc", "--deployment", str(served.deployment_file),
        "--gateway", served.url, "--grantee", served.keys["operator"].address,
        "--category", METER, "--purpose", SERVICE,
    ])
    assert result.exit_code == 1 and "consent_not_found" in result.output


def test_sdk_fetches_receipts_that_verify_against_the_jwks(served) -> None:
    citizen = served.keys["citizen"]
    ledger = served.qc.consent
    signed = ledger.sign_grant(citizen.account, served.keys["operator"].address, METER, SERVICE,
                               int(time.time()) + 3600, int(time.time()) + 300)
    with served.client("citizen") as client:
        client.relay_consent(signed)
        receipts = client.consent_receipts()
        jwks = client.jwks()
    assert receipts.subject == citizen.address
    mine = {r.grantee: r for r in receipts.receipts}
    assert mine[served.keys["operator"].address].state == "given"
    for receipt in receipts.receipts:
        assert verify_receipt(receipt.jws, jwks) == receipt.record
