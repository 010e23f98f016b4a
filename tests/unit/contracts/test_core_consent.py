"""ConsentLedger: consents, expiry, EIP-712 relay and every replay attempt, agreements.

Part of the core suite: tests/integration/contracts runs this module against a Hardhat node.
"""

from __future__ import annotations

import dataclasses

import pytest
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from contracts import (
    Eip712Domain,
    GrantConsentMessage,
    QcityContracts,
    SignedConsent,
    events,
    recover_signer,
    sign_consent,
    term_id,
    typed_data,
)
from contracts import errors as errs

METER = "energy.household_meter"
SERVICE = "dpv:ServiceProvision"
TRAFFIC = "traffic.flow"
PUBLIC = "dpv:PublicBenefit"
ZERO = "0x" + "00" * 20
HOUR = 3600


def expect(exc: pytest.ExceptionInfo, **facts: object) -> None:
    for name, value in facts.items():
        assert exc.value.facts[name] == value, (name, exc.value.facts)


# ---------------------------------------------------------------- direct consents


def test_grant_consent_allows_until_expiry_and_records_who_sent_it(
    qc: QcityContracts, chain, actors
):
    ledger, subject, grantee = qc.consent, actors.citizen, actors.org_a.address
    expiry = chain.timestamp() + HOUR
    assert not ledger.is_allowed(subject.address, grantee, METER, SERVICE)
    result = ledger.grant_consent(subject, grantee, METER, SERVICE, expiry)
    assert ledger.is_allowed(subject.address, grantee, METER, SERVICE)
    assert ledger.consent_expiry(subject.address, grantee, METER, SERVICE) == expiry
    # other purpose, other category, other grantee: not allowed
    assert not ledger.is_allowed(subject.address, grantee, METER, "dpv:CommercialResearch")
    assert not ledger.is_allowed(subject.address, grantee, "water.household_meter", SERVICE)
    assert not ledger.is_allowed(subject.address, actors.org_b.address, METER, SERVICE)
    event = result.event(events.ConsentGranted)
    assert (event.subject, event.grantee, event.category, event.purpose, event.expiry) == (
        subject.address,
        grantee,
        term_id(METER),
        term_id(SERVICE),
        expiry,
    )
    assert event.relayer == ZERO and not event.relayed


def test_consent_expires_at_the_first_block_whose_time_reaches_expiry(qc, chain, actors):
    ledger, subject, grantee = qc.consent, actors.citizen, actors.org_a.address
    expiry = chain.timestamp() + HOUR
    ledger.grant_consent(subject, grantee, METER, SERVICE, expiry)
    chain.time_travel(expiry - 1)
    assert ledger.is_allowed(subject.address, grantee, METER, SERVICE)
    block_before = chain.block_number()
    chain.time_travel(expiry)
    assert not ledger.is_allowed(subject.address, grantee, METER, SERVICE)
    # the answer is per block: the earlier block still says yes
    assert ledger.is_allowed(subject.address, grantee, METER, SERVICE, block=block_before)
    assert ledger.consent_expiry(subject.address, grantee, METER, SERVICE) == expiry


def test_revoke_consent_denies_from_its_block_on(qc: QcityContracts, chain, actors):
    ledger, subject, grantee = qc.consent, actors.citizen, actors.org_a.address
    ledger.grant_consent(subject, grantee, METER, SERVICE, chain.timestamp() + HOUR)
    result = ledger.revoke_consent(subject, grantee, METER, SERVICE)
    assert not ledger.is_allowed(subject.address, grantee, METER, SERVICE)
    assert ledger.is_allowed(
        subject.address, grantee, METER, SERVICE, block=result.block_number - 1
    )
    assert ledger.consent_expiry(subject.address, grantee, METER, SERVICE) == 0
    event = result.event(events.ConsentRevoked)
    assert (event.subject, event.grantee, event.relayed) == (subject.address, grantee, False)
    with pytest.raises(errs.ConsentNotFound) as exc:
        ledger.revoke_consent(subject, grantee, METER, SERVICE)
    expect(exc, subject=subject.address, grantee=grantee, category=term_id(METER))


def test_an_expired_consent_can_still_be_revoked(qc: QcityContracts, chain, actors):
    ledger, subject, grantee = qc.consent, actors.citizen, actors.org_a.address
    expiry = chain.timestamp() + 10
    ledger.grant_consent(subject, grantee, METER, SERVICE, expiry)
    chain.time_travel(expiry + 1)
    ledger.revoke_consent(subject, grantee, METER, SERVICE)
    assert ledger.consent_expiry(subject.address, grantee, METER, SERVICE) == 0


def test_granting_again_replaces_the_expiry(qc: QcityContracts, chain, actors):
    ledger, subject, grantee = qc.consent, actors.citizen, actors.org_a.address
    now = chain.timestamp()
    ledger.grant_consent(subject, grantee, METER, SERVICE, now + 10 * HOUR)
    ledger.grant_consent(subject, grantee, METER, SERVICE, now + HOUR)
    assert ledger.consent_expiry(subject.address, grantee, METER, SERVICE) == now + HOUR


def test_grant_consent_refusals(qc: QcityContracts, chain, actors):
    ledger, subject = qc.consent, actors.citizen
    later = chain.timestamp() + HOUR
    with pytest.raises(errs.InvalidGrantee) as exc:
        ledger.grant_consent(subject, ZERO, METER, SERVICE, later)
    expect(exc, subject=subject.address, grantee=ZERO)
    with pytest.raises(errs.InvalidGrantee):
        ledger.grant_consent(subject, subject.address, METER, SERVICE, later)
    with pytest.raises(errs.InvalidTerms) as exc:
        ledger.grant_consent(subject, actors.org_a.address, bytes(32), SERVICE, later)
    expect(exc, category=bytes(32), purpose=term_id(SERVICE))
    with pytest.raises(errs.InvalidTerms):
        ledger.grant_consent(subject, actors.org_a.address, METER, bytes(32), later)
    now = chain.timestamp()
    with pytest.raises(errs.ExpiryNotInFuture) as exc:
        ledger.grant_consent(subject, actors.org_a.address, METER, SERVICE, now)
    expect(exc, expiry=now)
    assert exc.value.http_status == 422


# ---------------------------------------------------------------- EIP-712 relay


def test_relayed_grant_and_revoke_need_no_gas_from_the_subject(qc: QcityContracts, chain, actors):
    ledger, grantee = qc.consent, actors.org_a.address
    subject = chain.new_account()  # never funded: cannot pay gas
    now = chain.timestamp()
    signed = ledger.sign_grant(subject, grantee, METER, SERVICE, now + HOUR, now + 600)
    assert recover_signer(ledger.domain(), signed) == subject.address
    result = ledger.grant_consent_by_sig(actors.relayer, signed)
    assert ledger.is_allowed(subject.address, grantee, METER, SERVICE)
    event = result.event(events.ConsentGranted)
    assert (event.subject, event.relayer, event.relayed) == (
        subject.address,
        actors.relayer.address,
        True,
    )
    assert ledger.nonce(subject.address) == 1
    revoke = ledger.sign_revoke(subject, grantee, METER, SERVICE, now + 600)
    result = ledger.revoke_consent_by_sig(actors.outsider, revoke)
    assert not ledger.is_allowed(subject.address, grantee, METER, SERVICE)
    assert result.event(events.ConsentRevoked).relayer == actors.outsider.address
    assert ledger.nonce(subject.address) == 2
    assert chain.balance(subject.address) == 0


def test_the_same_signed_message_cannot_be_relayed_twice(qc: QcityContracts, chain, actors):
    ledger, subject = qc.consent, actors.citizen
    now = chain.timestamp()
    signed = ledger.sign_grant(subject, actors.org_a.address, METER, SERVICE, now + HOUR, now + 600)
    ledger.grant_consent_by_sig(actors.relayer, signed)
    ledger.revoke_consent(subject, actors.org_a.address, METER, SERVICE)
    with pytest.raises(errs.InvalidNonce) as exc:
        ledger.grant_consent_by_sig(actors.relayer, signed)
    expect(exc, subject=subject.address, expected=1, given=0)
    assert not ledger.is_allowed(subject.address, actors.org_a.address, METER, SERVICE)


def test_a_signed_revocation_cannot_be_replayed(qc: QcityContracts, chain, actors):
    ledger, subject, grantee = qc.consent, actors.citizen, actors.org_a.address
    now = chain.timestamp()
    ledger.grant_consent(subject, grantee, METER, SERVICE, now + HOUR)
    revoke = ledger.sign_revoke(subject, grantee, METER, SERVICE, now + 600)
    ledger.revoke_consent_by_sig(actors.relayer, revoke)
    ledger.grant_consent(subject, grantee, METER, SERVICE, now + HOUR)
    with pytest.raises(errs.InvalidNonce):
        ledger.revoke_consent_by_sig(actors.relayer, revoke)
    assert ledger.is_allowed(subject.address, grantee, METER, SERVICE)


def _sign_for(domain: Eip712Domain, qc: QcityContracts, chain, actors) -> SignedConsent:
    ledger, subject = qc.consent, actors.citizen
    now = chain.timestamp()
    signed = ledger.sign_grant(subject, actors.org_a.address, METER, SERVICE, now + HOUR, now + 600)
    return sign_consent(subject, domain, signed.message)


@pytest.mark.parametrize("where", ["other_chain", "other_contract"])
def test_a_signature_for_another_domain_is_refused(qc: QcityContracts, chain, actors, where):
    real = qc.consent.domain()
    domain = (
        dataclasses.replace(real, chain_id=real.chain_id + 1)
        if where == "other_chain"
        else dataclasses.replace(real, verifying_contract=qc.registry.address)
    )
    signed = _sign_for(domain, qc, chain, actors)
    with pytest.raises(errs.InvalidSignature) as exc:
        qc.consent.grant_consent_by_sig(actors.relayer, signed)
    expect(exc, subject=actors.citizen.address)
    assert exc.value.facts["recovered"] != actors.citizen.address
    assert qc.consent.nonce(actors.citizen.address) == 0


def test_an_expired_deadline_is_refused(qc: QcityContracts, chain, actors):
    now = chain.timestamp()
    signed = qc.consent.sign_grant(
        actors.citizen, actors.org_a.address, METER, SERVICE, now + HOUR, deadline=now - 1
    )
    with pytest.raises(errs.SignatureExpired) as exc:
        qc.consent.grant_consent_by_sig(actors.relayer, signed)
    expect(exc, deadline=now - 1)


def test_a_message_signed_by_someone_else_is_refused(qc: QcityContracts, chain, actors):
    now = chain.timestamp()
    genuine = qc.consent.sign_grant(
        actors.citizen, actors.org_a.address, METER, SERVICE, now + HOUR, now + 600
    )
    forged = sign_consent(actors.citizen2, qc.consent.domain(), genuine.message)
    with pytest.raises(errs.InvalidSignature) as exc:
        qc.consent.grant_consent_by_sig(actors.relayer, forged)
    expect(exc, subject=actors.citizen.address, recovered=actors.citizen2.address)


def test_a_relayer_cannot_change_what_was_signed(qc: QcityContracts, chain, actors):
    now = chain.timestamp()
    signed = qc.consent.sign_grant(
        actors.citizen, actors.org_a.address, METER, SERVICE, now + HOUR, now + 600
    )
    stretched = dataclasses.replace(signed.message, expiry=now + 1000 * HOUR)
    with pytest.raises(errs.InvalidSignature):
        qc.consent.grant_consent_by_sig(
            actors.relayer, dataclasses.replace(signed, message=stretched)
        )
    malleable = dataclasses.replace(signed, s=(2**256 - 1).to_bytes(32, "big"))
    with pytest.raises(errs.InvalidSignature) as exc:
        qc.consent.grant_consent_by_sig(actors.relayer, malleable)
    expect(exc, recovered=ZERO)


def test_a_relayed_revocation_of_nothing_reverts_and_keeps_the_nonce(qc, chain, actors):
    now = chain.timestamp()
    signed = qc.consent.sign_revoke(actors.citizen, actors.org_a.address, METER, SERVICE, now + 600)
    with pytest.raises(errs.ConsentNotFound):
        qc.consent.revoke_consent_by_sig(actors.relayer, signed)
    assert qc.consent.nonce(actors.citizen.address) == 0


def test_python_and_contract_agree_on_the_eip712_domain_and_types(qc: QcityContracts, chain):
    domain = qc.consent.domain()
    assert (domain.chain_id, domain.verifying_contract) == (chain.chain_id, qc.consent.address)
    assert (domain.name, domain.version) == ("qcity ConsentLedger", "1")
    message = GrantConsentMessage(ZERO, ZERO, bytes(32), bytes(32), 0, 0, 0)
    signable = encode_typed_data(full_message=typed_data(domain, message))
    assert signable.header == qc.consent.domain_separator()
    grant_hash, revoke_hash = qc.consent.type_hashes()
    assert grant_hash == keccak(
        text="GrantConsent(address subject,address grantee,bytes32 category,bytes32 purpose,"
        "uint64 expiry,uint256 nonce,uint256 deadline)"
    )
    assert revoke_hash == keccak(
        text="RevokeConsent(address subject,address grantee,bytes32 category,bytes32 purpose,"
        "uint256 nonce,uint256 deadline)"
    )


# ---------------------------------------------------------------- agreements


def test_governance_agreement_lets_organisations_share_until_expiry(qc, chain, actors):
    ledger, a, b = qc.consent, actors.org_a.address, actors.org_b.address
    expiry = chain.timestamp() + HOUR
    assert not ledger.is_agreed(a, b, TRAFFIC, PUBLIC)
    result = ledger.grant_agreement(actors.admin, a, b, TRAFFIC, PUBLIC, expiry)
    assert ledger.is_agreed(a, b, TRAFFIC, PUBLIC)
    assert not ledger.is_agreed(b, a, TRAFFIC, PUBLIC)  # direction matters
    assert ledger.agreement_expiry(a, b, TRAFFIC, PUBLIC) == expiry
    event = result.event(events.AgreementGranted)
    assert (event.provider, event.consumer, event.expiry, event.sender) == (
        a,
        b,
        expiry,
        actors.admin.address,
    )
    chain.time_travel(expiry)
    assert not ledger.is_agreed(a, b, TRAFFIC, PUBLIC)


def test_revoke_agreement_ends_it(qc: QcityContracts, chain, actors):
    ledger, a, b = qc.consent, actors.org_a.address, actors.org_b.address
    ledger.grant_agreement(actors.admin, a, b, TRAFFIC, PUBLIC, chain.timestamp() + HOUR)
    result = ledger.revoke_agreement(actors.admin, a, b, TRAFFIC, PUBLIC)
    assert result.event(events.AgreementRevoked).sender == actors.admin.address
    assert not ledger.is_agreed(a, b, TRAFFIC, PUBLIC)
    assert ledger.agreement_expiry(a, b, TRAFFIC, PUBLIC) == 0
    with pytest.raises(errs.AgreementNotFound) as exc:
        ledger.revoke_agreement(actors.admin, a, b, TRAFFIC, PUBLIC)
    expect(exc, provider=a, consumer=b)


def test_agreement_refusals(qc: QcityContracts, chain, actors):
    ledger, a, b, admin = qc.consent, actors.org_a.address, actors.org_b.address, actors.admin
    later = chain.timestamp() + HOUR
    with pytest.raises(errs.AccountMissingRole) as exc:
        ledger.grant_agreement(actors.org_a, a, b, TRAFFIC, PUBLIC, later)
    expect(exc, account=a)
    with pytest.raises(errs.InvalidParties):
        ledger.grant_agreement(admin, a, a, TRAFFIC, PUBLIC, later)
    with pytest.raises(errs.InvalidParties):
        ledger.grant_agreement(admin, ZERO, b, TRAFFIC, PUBLIC, later)
    with pytest.raises(errs.InvalidTerms):
        ledger.grant_agreement(admin, a, b, bytes(32), PUBLIC, later)
    with pytest.raises(errs.PersonalCategory) as exc:
        ledger.grant_agreement(admin, a, b, METER, PUBLIC, later)
    expect(exc, category=term_id(METER))
    with pytest.raises(errs.ExpiryNotInFuture):
        ledger.grant_agreement(admin, a, b, TRAFFIC, PUBLIC, chain.timestamp())
    with pytest.raises(errs.NotOrganisation) as exc:
        ledger.grant_agreement(admin, a, actors.citizen.address, TRAFFIC, PUBLIC, later)
    expect(exc, account=actors.citizen.address)
    with pytest.raises(errs.NotOrganisation):
        ledger.grant_agreement(admin, actors.outsider.address, b, TRAFFIC, PUBLIC, later)
    ledger.grant_agreement(admin, a, b, TRAFFIC, PUBLIC, later)
    with pytest.raises(errs.AccountMissingRole):
        ledger.revoke_agreement(actors.org_b, a, b, TRAFFIC, PUBLIC)


def test_category_classification_is_governance_only(qc: QcityContracts, actors):
    ledger = qc.consent
    assert ledger.is_personal_category(METER)  # deploy marks the personal categories
    assert not ledger.is_personal_category(TRAFFIC)
    result = ledger.set_category_personal(actors.admin, TRAFFIC, True)
    event = result.event(events.CategoryClassified)
    assert (event.category, event.personal) == (term_id(TRAFFIC), True)
    assert ledger.is_personal_category(TRAFFIC)
    with pytest.raises(errs.AccountMissingRole):
        ledger.set_category_personal(actors.citizen, TRAFFIC, False)
    with pytest.raises(errs.InvalidTerms):
        ledger.set_category_personal(actors.admin, bytes(32), True)
    assert ledger.registry_address() == qc.registry.address
