"""POST /consents/relay on a real chain: citizens grant and revoke without gas.

The gateway's relayer sends the citizen's EIP-712 message; the contract's refusals come back
as 4xx with the contract error's code and facts; each subject has a relay budget that forged
messages cannot spend.
"""

from __future__ import annotations

import stat
import time
from typing import Any

from contracts import GrantConsentMessage, SignedConsent, sign_consent, term_id
from contracts.events import ConsentGranted, ConsentRevoked

HOUSEHOLD, SERVICE, PUBLIC = "energy.household_meter", "dpv:ServiceProvision", "dpv:PublicBenefit"


def body(signed: SignedConsent, **changes: Any) -> dict[str, Any]:
    """The JSON a wallet posts: the message's fields and the 65-byte signature."""
    m = signed.message
    fields: dict[str, Any] = {
        "kind": "grant" if hasattr(m, "expiry") else "revoke",
        "subject": m.subject, "grantee": m.grantee,
        "category": "0x" + m.category.hex(), "purpose": "0x" + m.purpose.hex(),
        "nonce": m.nonce, "deadline": m.deadline, "signature": "0x" + signed.signature.hex(),
    }
    if hasattr(m, "expiry"):
        fields["expiry"] = m.expiry
    fields.update(changes)
    return fields


def forge(world: Any, signer: Any, subject: str) -> SignedConsent:
    """`signer` signs a grant that names `subject` as the one granting."""
    message = GrantConsentMessage(subject, world["research"].address, term_id(HOUSEHOLD),
                                  term_id(PUBLIC), int(time.time()) + 3600,
                                  world.qc.consent.nonce(subject), int(time.time()) + 300)
    return sign_consent(signer.account, world.qc.consent.domain(), message)


def test_relayed_grant_and_revoke_flip_the_decision_and_cost_the_citizen_nothing(gateway) -> None:
    world, ledger = gateway.world, gateway.world.qc.consent
    citizen, agency = world["citizen"], world["research"]
    before = world.chain.balance(citizen.address)
    deadline = int(time.time()) + 300
    grant = ledger.sign_grant(citizen.account, agency.address, HOUSEHOLD, PUBLIC,
                              int(time.time()) + 3600, deadline)
    answer = gateway.client.post("/consents/relay", json=body(grant, category=HOUSEHOLD,
                                                               purpose=PUBLIC))
    assert answer.status_code == 200, answer.text
    done = answer.json()
    relayer = gateway.runtime.relay.address
    assert done["kind"] == "grant" and done["relayer"] == relayer and done["nonce"] == 0
    assert gateway.runtime.index.block >= done["block"]  # indexed before the answer
    assert ledger.is_allowed(citizen.address, agency.address, HOUSEHOLD, PUBLIC)
    receipt = world.chain.w3.eth.get_transaction_receipt(done["tx_hash"])
    assert receipt["from"] == relayer and receipt["blockNumber"] == done["block"]
    [event] = [e for e in world.qc.events.fetch(done["block"], done["block"])
               if isinstance(e, ConsentGranted)]
    assert event.relayer == relayer and event.relayed

    token = gateway.token(agency)
    read = gateway.get("/twin/entities/urn:ngsi-ld:ThreePhaseAcMeasurement:tiny:M-S00F0H00",
                       token, purpose=PUBLIC)
    assert read.status_code == 200 and read.json()["access"]["basis"] == "consent"

    revoke = ledger.sign_revoke(citizen.account, agency.address, HOUSEHOLD, PUBLIC, deadline)
    answer = gateway.client.post("/consents/relay", json=body(revoke))
    assert answer.status_code == 200, answer.text
    assert answer.json()["kind"] == "revoke" and answer.json()["nonce"] == 1
    assert any(isinstance(e, ConsentRevoked) and e.relayer == relayer
               for e in world.qc.events.fetch(answer.json()["block"], answer.json()["block"]))
    read = gateway.get("/twin/entities/urn:ngsi-ld:ThreePhaseAcMeasurement:tiny:M-S00F0H00",
                       token, purpose=PUBLIC)
    assert read.status_code == 403 and read.json()["code"] == "consent_missing"
    assert world.chain.balance(citizen.address) == before


def test_relayer_key_is_generated_in_the_data_dir_with_mode_0600(gateway) -> None:
    path = gateway.runtime.settings.relayer_key_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert gateway.world.chain.balance(gateway.runtime.relay.address) > 0


def test_replay_is_refused_with_invalid_nonce(gateway) -> None:
    world = gateway.world
    citizen, agency = world["citizen"], world["research"]
    grant = world.qc.consent.sign_grant(citizen.account, agency.address, HOUSEHOLD, PUBLIC,
                                        int(time.time()) + 3600, int(time.time()) + 300)
    assert gateway.client.post("/consents/relay", json=body(grant)).status_code == 200
    again = gateway.client.post("/consents/relay", json=body(grant))
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_nonce"
    assert (again.json()["expected"], again.json()["given"]) == (1, 0)


def test_expired_deadline_is_refused_with_410(gateway) -> None:
    world = gateway.world
    citizen, agency = world["citizen"], world["research"]
    stale = world.qc.consent.sign_grant(citizen.account, agency.address, HOUSEHOLD, PUBLIC,
                                        int(time.time()) + 3600, int(time.time()) - 5)
    refused = gateway.client.post("/consents/relay", json=body(stale))
    assert refused.status_code == 410 and refused.json()["code"] == "signature_expired"


def test_wrong_signer_is_refused_naming_the_recovered_address(gateway) -> None:
    world = gateway.world
    citizen, stranger = world["citizen"], world["stranger"]
    forged = forge(world, stranger, citizen.address)
    refused = gateway.client.post("/consents/relay", json=body(forged))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_signature"
    assert refused.json()["recovered"] == stranger.address


def test_only_registered_citizens_are_relayed(gateway) -> None:
    world = gateway.world
    stranger, agency = world["stranger"], world["research"]
    grant = world.qc.consent.sign_grant(stranger.account, agency.address, HOUSEHOLD, PUBLIC,
                                        int(time.time()) + 3600, int(time.time()) + 300)
    refused = gateway.client.post("/consents/relay", json=body(grant))
    assert refused.status_code == 403 and refused.json()["code"] == "role_missing"
    assert world.qc.consent.nonce(stranger.address) == 0


def test_contract_refusals_of_the_terms_come_back_with_their_code(gateway) -> None:
    world = gateway.world
    neighbour, agency = world["neighbour"], world["research"]
    revoke = world.qc.consent.sign_revoke(neighbour.account, agency.address, HOUSEHOLD, PUBLIC,
                                          int(time.time()) + 300)
    refused = gateway.client.post("/consents/relay", json=body(revoke))
    assert refused.status_code == 404 and refused.json()["code"] == "consent_not_found"


def test_each_subject_has_a_relay_budget_that_forgeries_cannot_spend(make_gateway) -> None:
    gateway = make_gateway(relay_max_per_subject=2, relay_window_s=3600)
    world, ledger = gateway.world, gateway.world.qc.consent
    citizen, stranger, agency = world["neighbour"], world["stranger"], world["research"]
    forged = forge(world, stranger, citizen.address)
    for _ in range(3):  # a forger claiming the citizen's address is refused before the budget
        answer = gateway.client.post("/consents/relay", json=body(forged))
        assert answer.status_code == 401
    deadline, expiry = int(time.time()) + 300, int(time.time()) + 3600
    first = ledger.sign_grant(citizen.account, agency.address, HOUSEHOLD, PUBLIC, expiry, deadline)
    assert gateway.client.post("/consents/relay", json=body(first)).status_code == 200
    second = ledger.sign_revoke(citizen.account, agency.address, HOUSEHOLD, PUBLIC, deadline)
    assert gateway.client.post("/consents/relay", json=body(second)).status_code == 200
    third = ledger.sign_grant(citizen.account, agency.address, HOUSEHOLD, PUBLIC, expiry, deadline)
    limited = gateway.client.post("/consents/relay", json=body(third))
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_relays"
    assert 0 < limited.json()["retry_after_s"] <= 3600
    other = ledger.sign_grant(world["citizen"].account, agency.address, HOUSEHOLD, PUBLIC,
                              expiry, deadline)
    assert gateway.client.post("/consents/relay", json=body(other)).status_code == 200
