"""The consent relay's own rules, without a chain: signer and deadline first, then a budget."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account

from contracts import Eip712Domain, GrantConsentMessage, RevokeConsentMessage, sign_consent
from contracts.errors import InvalidSignature, SignatureExpired
from contracts.names import term_id
from gateway.errors import InvalidRequest, TooManyRelays
from gateway.relay import ConsentRelay, RelayRateLimiter
from gateway.routes.consents import RelayIn, signed_consent

LEDGER = "0x" + "12" * 20
CHAIN_ID = 131277322940537
METER, SERVICE = "energy.household_meter", "dpv:ServiceProvision"


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _relay(clock: Any = time.time) -> ConsentRelay:
    contracts = SimpleNamespace(
        chain=SimpleNamespace(chain_id=CHAIN_ID),
        deployment=SimpleNamespace(consent_ledger=LEDGER),
    )
    return ConsentRelay(contracts, Account.create(), engine=None, syncer=None,  # type: ignore[arg-type]
                        limiter=RelayRateLimiter(1, 1), clock=clock)


def _grant(subject: str, deadline: int, nonce: int = 0) -> GrantConsentMessage:
    return GrantConsentMessage(subject, "0x" + "34" * 20, term_id(METER), term_id(SERVICE),
                               int(time.time()) + 3600, nonce, deadline)


def test_limiter_refuses_beyond_the_budget_and_forgives_after_the_window() -> None:
    clock = Clock()
    limiter = RelayRateLimiter(2, 60.0, clock=clock)
    limiter.hit("a")
    limiter.hit("a")
    with pytest.raises(TooManyRelays) as refused:
        limiter.hit("a")
    assert refused.value.facts["retry_after_s"] == 60
    limiter.hit("b")  # budgets are per subject
    clock.now += 30
    with pytest.raises(TooManyRelays) as again:
        limiter.hit("a")
    assert again.value.facts["retry_after_s"] == 30
    clock.now += 30.5
    limiter.hit("a")


def test_limiter_forgets_idle_subjects_when_many_are_tracked() -> None:
    clock = Clock()
    limiter = RelayRateLimiter(1, 10.0, clock=clock, max_subjects=3)
    for name in "abcd":
        limiter.hit(name)
    clock.now += 11
    limiter.hit("e")
    assert set(limiter._hits) == {"e"}


def test_precheck_accepts_the_subjects_signature() -> None:
    citizen = Account.create()
    relay = _relay()
    signed = sign_consent(citizen, relay.domain, _grant(citizen.address, int(time.time()) + 60))
    relay.precheck(signed)


def test_precheck_names_the_recovered_signer_of_a_forgery() -> None:
    citizen, forger = Account.create(), Account.create()
    relay = _relay()
    forged = sign_consent(forger, relay.domain, _grant(citizen.address, int(time.time()) + 60))
    with pytest.raises(InvalidSignature) as refused:
        relay.precheck(forged)
    assert refused.value.facts == {"subject": citizen.address, "recovered": forger.address}
    assert (refused.value.code, refused.value.http_status) == ("invalid_signature", 401)


def test_precheck_refuses_a_signature_for_another_ledger() -> None:
    citizen = Account.create()
    relay = _relay()
    other = Eip712Domain(CHAIN_ID, "0x" + "56" * 20)
    signed = sign_consent(citizen, other, _grant(citizen.address, int(time.time()) + 60))
    with pytest.raises(InvalidSignature):
        relay.precheck(signed)


def test_precheck_judges_the_deadline_by_the_wall_clock() -> None:
    citizen = Account.create()
    relay = _relay(clock=Clock(2_000_000_000))
    signed = sign_consent(citizen, relay.domain, _grant(citizen.address, 1_999_999_999))
    with pytest.raises(SignatureExpired) as refused:
        relay.precheck(signed)
    assert refused.value.facts["deadline"] == 1_999_999_999
    assert refused.value.http_status == 410


def _body(signed: Any, kind: str = "grant", **changes: Any) -> RelayIn:
    m = signed.message
    fields: dict[str, Any] = {
        "kind": kind, "subject": m.subject, "grantee": m.grantee,
        "category": METER, "purpose": SERVICE, "nonce": m.nonce, "deadline": m.deadline,
        "signature": "0x" + signed.signature.hex(),
    }
    if kind == "grant":
        fields["expiry"] = m.expiry
    fields.update(changes)
    return RelayIn(**fields)


RUNTIME = SimpleNamespace(categories=frozenset({METER}))


def test_request_body_becomes_the_message_the_subject_signed() -> None:
    citizen = Account.create()
    relay = _relay()
    signed = sign_consent(citizen, relay.domain, _grant(citizen.address, int(time.time()) + 60))
    parsed = signed_consent(RUNTIME, _body(signed))  # type: ignore[arg-type]
    assert parsed == signed
    relay.precheck(parsed)
    # wallets that write v as 0/1 (recovery id) are read as 27/28
    low_v = signed.r + signed.s + bytes([signed.v - 27])
    assert signed_consent(RUNTIME, _body(signed, signature="0x" + low_v.hex())) == signed  # type: ignore[arg-type]


def test_revoke_body_and_ids_in_place_of_names() -> None:
    citizen = Account.create()
    relay = _relay()
    message = RevokeConsentMessage(citizen.address, "0x" + "34" * 20, term_id(METER),
                                   term_id(SERVICE), 3, int(time.time()) + 60)
    signed = sign_consent(citizen, relay.domain, message)
    body = _body(signed, "revoke", category="0x" + term_id(METER).hex(),
                 purpose="0x" + term_id(SERVICE).hex())
    assert signed_consent(RUNTIME, body) == signed  # type: ignore[arg-type]


def test_grant_without_expiry_and_unknown_terms_are_invalid_requests() -> None:
    citizen = Account.create()
    signed = sign_consent(citizen, _relay().domain, _grant(citizen.address, 10))
    with pytest.raises(InvalidRequest):
        signed_consent(RUNTIME, _body(signed, expiry=None))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest) as unknown:
        signed_consent(RUNTIME, _body(signed, category="weather.secret"))  # type: ignore[arg-type]
    assert unknown.value.code == "unknown_category"
    with pytest.raises(InvalidRequest) as purpose:
        signed_consent(RUNTIME, _body(signed, purpose="dpv:Marketing?"))  # type: ignore[arg-type]
    assert purpose.value.code == "unknown_purpose"
