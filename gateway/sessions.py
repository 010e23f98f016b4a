"""Post-quantum login: challenge, ML-DSA-65 signature, key checked against the chain, token."""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PublicKey

from gateway.challenges import LOGIN_CONTEXT, Challenge, ChallengeBook
from gateway.errors import BadSignature, KeyMismatch, NoRoles, UnknownStakeholder
from gateway.permissions import PermissionEngine
from gateway.tokens import SessionClaims, TokenService

MLDSA65_PUBLIC_KEY_BYTES = 1952
MLDSA65_SIGNATURE_BYTES = 3309


def public_key_hash(public_key: bytes) -> bytes:
    """What StakeholderRegistry stores: sha256 of the raw 1,952-byte public key."""
    return hashlib.sha256(public_key).digest()


class LoginService:
    """Turns a signed challenge into a session token."""

    def __init__(self, challenges: ChallengeBook, tokens: TokenService,
                 engine: PermissionEngine) -> None:
        self.challenges = challenges
        self.tokens = tokens
        self.engine = engine

    def challenge(self, address: str, kem: str | None = None) -> Challenge:
        """A fresh single-use challenge for a checksummed address (and, to bind the session
        to a KEM key, that key's thumbprint)."""
        return self.challenges.issue(address, kem)

    def login(self, challenge_text: str, public_key: bytes,
              signature: bytes) -> tuple[str, SessionClaims]:
        """Verify the signed challenge against the on-chain key hash and issue a token.

        Raises ChallengeUnknown/Reused/Expired, UnknownStakeholder, KeyMismatch,
        BadSignature or NoRoles; ChainStale/IndexLagging (503) when the chain is not in view.
        """
        challenge = self.challenges.consume(challenge_text)  # single use, even when refused
        address = challenge.address
        registered = self.engine.key_hash(address)
        if registered is None:
            raise UnknownStakeholder(address=address)
        if len(public_key) != MLDSA65_PUBLIC_KEY_BYTES:
            raise KeyMismatch("An ML-DSA-65 public key has 1,952 bytes.")
        if public_key_hash(public_key) != registered:
            raise KeyMismatch(address=address)
        try:
            key = MLDSA65PublicKey.from_public_bytes(public_key)
            key.verify(signature, challenge_text.encode(), context=LOGIN_CONTEXT)
        except (InvalidSignature, ValueError) as exc:
            raise BadSignature("The challenge signature does not verify.") from exc
        roles = self.engine.roles_of(address)
        if not roles:
            raise NoRoles(address=address)
        return self.tokens.issue(address, roles, kem=challenge.kem)
