"""The wallet's browser modules, run under Node, interoperate with the Python side.

EIP-712 consents signed by ethers.js recover to the citizen with eth-account; ML-DSA-65 keys
and signatures made by @noble/post-quantum (the wallet's signer, with contexts) and by
@oqs/liboqs-js (no contexts) verify with `cryptography` (OpenSSL), and back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey, MLDSA65PublicKey
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).parent / "js" / "interop.mjs"
LOGIN_CONTEXT = b"qcity-login-v1"
METER, PURPOSE = "energy.household_meter", "dpv:ServiceProvision"
HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
NEEDED = ("ethers", "@noble/post-quantum", "@oqs/liboqs-js")


def _node_or_skip() -> str:
    node = shutil.which("node")
    missing = [p for p in NEEDED if not (ROOT / "node_modules" / p).is_dir()]
    if node and not missing:
        return node
    reason = f"node or npm packages missing: {missing or 'node'}"
    if os.environ.get("QCITY_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def run_js(*requests: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer `requests` with the wallet's JS modules in one Node process."""
    proc = subprocess.run(
        [_node_or_skip(), str(SCRIPT)],
        input=json.dumps(list(requests)),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


GRANT_TYPES = [
    {"name": "subject", "type": "address"},
    {"name": "grantee", "type": "address"},
    {"name": "category", "type": "bytes32"},
    {"name": "purpose", "type": "bytes32"},
    {"name": "expiry", "type": "uint64"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
DOMAIN_TYPES = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def test_ethers_signed_grant_recovers_to_the_citizen_with_eth_account() -> None:
    citizen, grantee = Account.create(), Account.create()
    contract = "0x" + "ab" * 20
    terms = {
        "subject": citizen.address,
        "grantee": grantee.address,
        "category": "energy.household_meter",
        "purpose": "dpv:ServiceProvision",
        "expiry": 1_900_000_000,
        "nonce": 0,
        "deadline": 1_800_000_000,
    }
    [signed] = run_js(
        {
            "op": "sign-grant",
            "privateKey": citizen.key.hex(),
            "chainId": 131277322940537,
            "verifyingContract": contract,
            "terms": terms,
        }
    )
    message = {
        **terms,
        "category": keccak(text="energy.household_meter"),
        "purpose": keccak(text="dpv:ServiceProvision"),
    }
    typed = {
        "types": {"EIP712Domain": DOMAIN_TYPES, "GrantConsent": GRANT_TYPES},
        "primaryType": "GrantConsent",
        "domain": {
            "name": "qcity ConsentLedger",
            "version": "1",
            "chainId": 131277322940537,
            "verifyingContract": contract,
        },
        "message": message,
    }
    signable = encode_typed_data(full_message=typed)
    assert Account.recover_message(signable, signature=signed["signature"]) == citizen.address
    assert signed["category"] == "0x" + keccak(text="energy.household_meter").hex()
    assert signed["v"] in (27, 28)
    # ecrecover in the contract rejects the upper half of s (EIP-2): ethers must stay below.
    assert int(signed["s"], 16) <= HALF_ORDER
    # A signature over other terms does not recover to the citizen.
    typed["message"] = {**message, "expiry": 1_900_000_001}
    other = encode_typed_data(full_message=typed)
    assert Account.recover_message(other, signature=signed["signature"]) != citizen.address


def test_wallet_mldsa_seed_gives_the_same_key_as_cryptography() -> None:
    seed = os.urandom(32)
    [out] = run_js({"op": "noble-sign", "seed": seed.hex(), "message": "00", "context": ""})
    expected = MLDSA65PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()
    assert bytes.fromhex(out["publicKey"]) == expected


def test_wallet_login_signature_with_context_verifies_with_cryptography() -> None:
    seed, challenge = os.urandom(32), b"qcity-login-v1\naud: qcity\nnonce: abc"
    [out] = run_js(
        {
            "op": "noble-sign",
            "seed": seed.hex(),
            "message": challenge.hex(),
            "context": LOGIN_CONTEXT.hex(),
        }
    )
    public = MLDSA65PublicKey.from_public_bytes(bytes.fromhex(out["publicKey"]))
    signature = bytes.fromhex(out["signature"])
    public.verify(signature, challenge, context=LOGIN_CONTEXT)
    with pytest.raises(InvalidSignature):  # another domain (JWS uses the empty context)
        public.verify(signature, challenge)


def test_cryptography_signature_verifies_in_the_wallet() -> None:
    key = MLDSA65PrivateKey.generate()
    message = b"consent receipt"
    signature = key.sign(message, context=LOGIN_CONTEXT)
    pk = key.public_key().public_bytes_raw().hex()
    good, wrong_ctx = run_js(
        {
            "op": "noble-verify",
            "publicKey": pk,
            "message": message.hex(),
            "signature": signature.hex(),
            "context": LOGIN_CONTEXT.hex(),
        },
        {
            "op": "noble-verify",
            "publicKey": pk,
            "message": message.hex(),
            "signature": signature.hex(),
            "context": "",
        },
    )
    assert good["ok"] is True
    assert wrong_ctx["ok"] is False


def test_liboqs_js_signature_verifies_with_cryptography_under_the_empty_context() -> None:
    message = b"jws signing input"
    [out] = run_js({"op": "liboqs-sign", "message": message.hex()})
    public = MLDSA65PublicKey.from_public_bytes(bytes.fromhex(out["publicKey"]))
    public.verify(bytes.fromhex(out["signature"]), message)
    # liboqs-js 0.15 signs with the empty context only: it cannot produce login signatures.
    with pytest.raises(InvalidSignature):
        public.verify(bytes.fromhex(out["signature"]), message, context=LOGIN_CONTEXT)


def test_cryptography_signature_verifies_with_liboqs_js() -> None:
    key = MLDSA65PrivateKey.generate()
    message = b"session token"
    [ok] = run_js(
        {
            "op": "liboqs-verify",
            "message": message.hex(),
            "publicKey": key.public_key().public_bytes_raw().hex(),
            "signature": key.sign(message).hex(),
        }
    )
    assert ok["ok"] is True


def test_ethers_signed_grant_and_revoke_are_accepted_by_the_contract(audit_story: Any) -> None:
    from contracts.deploy import QcityContracts
    from contracts.eip712 import GrantConsentMessage, RevokeConsentMessage, SignedConsent

    chain = audit_story.chain
    qc = QcityContracts.attach(chain, audit_story.deployment)
    subject, relayer = Account.create(), audit_story.company
    snapshot = chain.snapshot()
    try:
        now, grantee = chain.timestamp(), audit_story.company.address
        terms = {
            "subject": subject.address,
            "grantee": grantee,
            "category": METER,
            "purpose": PURPOSE,
            "expiry": now + 3600,
            "nonce": 0,
            "deadline": now + 600,
        }
        common = {
            "privateKey": subject.key.hex(),
            "chainId": chain.chain_id,
            "verifyingContract": audit_story.deployment.consent_ledger,
        }
        [grant] = run_js({"op": "sign-grant", **common, "terms": terms})
        message = GrantConsentMessage(
            subject.address,
            grantee,
            keccak(text=METER),
            keccak(text=PURPOSE),
            terms["expiry"],
            0,
            terms["deadline"],
        )
        qc.consent.grant_consent_by_sig(relayer, _signed(SignedConsent, message, grant))
        chain.mine()
        assert qc.consent.is_allowed(subject.address, grantee, METER, PURPOSE)
        [revoke] = run_js({"op": "sign-revoke", **common, "terms": {**terms, "nonce": 1}})
        undo = RevokeConsentMessage(
            subject.address, grantee, keccak(text=METER), keccak(text=PURPOSE), 1, terms["deadline"]
        )
        qc.consent.revoke_consent_by_sig(relayer, _signed(SignedConsent, undo, revoke))
        assert not qc.consent.is_allowed(subject.address, grantee, METER, PURPOSE)
    finally:
        chain.revert(snapshot)


def _signed(cls: Any, message: Any, js: dict[str, Any]) -> Any:
    return cls(
        message=message, v=int(js["v"]), r=bytes.fromhex(js["r"][2:]), s=bytes.fromhex(js["s"][2:])
    )
