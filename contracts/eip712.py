"""EIP-712 consent messages: build, sign (eth-account's typed-data signing) and recover.

A citizen signs a GrantConsent or RevokeConsent message off chain; anyone relays it to
ConsentLedger.grantConsentBySig / revokeConsentBySig and pays the gas. The domain binds the
signature to one chain id and one ConsentLedger address; the per-subject nonce and the
deadline stop replays. `typed_data()` gives the JSON a browser wallet signs with
eth_signTypedData_v4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

DOMAIN_NAME = "qcity ConsentLedger"
DOMAIN_VERSION = "1"

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_TERMS = [
    {"name": "subject", "type": "address"},
    {"name": "grantee", "type": "address"},
    {"name": "category", "type": "bytes32"},
    {"name": "purpose", "type": "bytes32"},
]
GRANT_TYPES = {
    "GrantConsent": [
        *_TERMS,
        {"name": "expiry", "type": "uint64"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
REVOKE_TYPES = {
    "RevokeConsent": [
        *_TERMS,
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class Eip712Domain:
    """The signing domain: one ConsentLedger on one chain."""

    chain_id: int
    verifying_contract: str
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


@dataclass(frozen=True)
class GrantConsentMessage:
    """A subject's signed wish to grant consent (ids, not names)."""

    subject: str
    grantee: str
    category: bytes
    purpose: bytes
    expiry: int
    nonce: int
    deadline: int

    primary_type = "GrantConsent"
    types = GRANT_TYPES

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": to_checksum_address(self.subject),
            "grantee": to_checksum_address(self.grantee),
            "category": self.category,
            "purpose": self.purpose,
            "expiry": self.expiry,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }


@dataclass(frozen=True)
class RevokeConsentMessage:
    """A subject's signed wish to revoke consent."""

    subject: str
    grantee: str
    category: bytes
    purpose: bytes
    nonce: int
    deadline: int

    primary_type = "RevokeConsent"
    types = REVOKE_TYPES

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": to_checksum_address(self.subject),
            "grantee": to_checksum_address(self.grantee),
            "category": self.category,
            "purpose": self.purpose,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }


ConsentMessage = GrantConsentMessage | RevokeConsentMessage


@dataclass(frozen=True)
class SignedConsent:
    """A message with its signature, ready for anyone to relay."""

    message: ConsentMessage
    v: int
    r: bytes
    s: bytes

    @property
    def signature(self) -> bytes:
        """The 65-byte r || s || v signature."""
        return self.r + self.s + bytes([self.v])


def typed_data(domain: Eip712Domain, message: ConsentMessage) -> dict[str, Any]:
    """The full EIP-712 structure (what eth_signTypedData_v4 takes; bytes32 as 0x-hex)."""
    body = {
        k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in message.as_dict().items()
    }
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, **message.types},
        "primaryType": message.primary_type,
        "domain": domain.as_dict(),
        "message": body,
    }


def sign_consent(
    account: LocalAccount, domain: Eip712Domain, message: ConsentMessage
) -> SignedConsent:
    """Sign `message` as `account` (the subject) for `domain`."""
    signed = account.sign_typed_data(full_message=typed_data(domain, message))
    return SignedConsent(
        message=message,
        v=int(signed.v),
        r=int(signed.r).to_bytes(32, "big"),
        s=int(signed.s).to_bytes(32, "big"),
    )


def recover_signer(domain: Eip712Domain, signed: SignedConsent) -> str:
    """The address that signed, as the contract will see it for this domain."""
    signable = encode_typed_data(full_message=typed_data(domain, signed.message))
    return str(Account.recover_message(signable, signature=signed.signature))
