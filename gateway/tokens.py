"""Session tokens: compact JWS signed with ML-DSA-65 (RFC 9964), verified once per token.

A token's first use costs one ML-DSA verification (~0.3 ms); later uses hit a bounded
cache keyed by the token itself, which only skips the signature check: expiry is checked
on every use, and live roles are checked by the caller against the permission index.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS, InvalidJWSSignature
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import BadSignature, SessionExpired, SessionInvalid, WrongAudience
from gateway.keys import ALG
from gateway.settings import MAX_TOKEN_TTL_S


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """The verified claims of a session token."""

    sub: str
    roles: frozenset[str]
    aud: str
    iss: str
    iat: int
    exp: int
    jti: str
    kem: str | None = None
    """`cnf` `kem#S256`: thumbprint of the KEM key this session's personal data is sealed to."""


KEM_CONFIRMATION = "kem#S256"
"""The `cnf` member naming the bound KEM key (as RFC 7800 / RFC 9449 name a bound key)."""


class _ClaimsIn(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    sub: str = Field(min_length=1, max_length=64)
    roles: list[str] = Field(max_length=16)
    aud: str | list[str]
    iss: str
    iat: int
    exp: int
    jti: str = Field(min_length=8, max_length=128)
    cnf: dict[str, str] | None = None


class TokenService:
    """Issues and verifies the gateway's session tokens."""

    def __init__(
        self,
        key: JWK,
        *,
        audience: str,
        issuer: str,
        ttl_s: int = MAX_TOKEN_TTL_S,
        clock_skew_s: int = 5,
        cache_size: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not key.has_private or key.get("alg") != ALG:
            raise ValueError("the gateway needs its ML-DSA-65 private key")
        self._key = key
        self._public = JWK(**key.export_public(as_dict=True))
        self.kid: str = key.get("kid") or key.thumbprint()
        self.audience = audience
        self.issuer = issuer
        self.ttl_s = min(ttl_s, MAX_TOKEN_TTL_S)
        self._skew = clock_skew_s
        self._clock = clock
        self._cache: dict[str, SessionClaims] = {}
        self._cache_size = cache_size

    # ------------------------------------------------------------------ issuing

    def issue(self, sub: str, roles: Iterable[str], *,
              kem: str | None = None) -> tuple[str, SessionClaims]:
        """Sign a new session token for `sub` holding `roles`, bound to a KEM key's
        thumbprint when `kem` is given."""
        now = int(self._clock())
        claims = SessionClaims(
            sub=sub,
            roles=frozenset(roles),
            aud=self.audience,
            iss=self.issuer,
            iat=now,
            exp=now + self.ttl_s,
            jti=secrets.token_urlsafe(16),
            kem=kem,
        )
        payload: dict[str, Any] = {
            "sub": claims.sub,
            "roles": sorted(claims.roles),
            "aud": claims.aud,
            "iss": claims.iss,
            "iat": claims.iat,
            "exp": claims.exp,
            "jti": claims.jti,
        }
        if kem is not None:
            payload["cnf"] = {KEM_CONFIRMATION: kem}
        jws = JWS(json.dumps(payload, separators=(",", ":")).encode())
        header = {"alg": ALG, "kid": self.kid, "typ": "JWT"}
        jws.add_signature(self._key, alg=ALG, protected=json.dumps(header))
        return jws.serialize(compact=True), claims

    @property
    def signing_key(self) -> JWK:
        """The private key, for the other documents the gateway signs (consent receipts);
        their `typ` keeps them apart from session tokens, which must say `JWT`."""
        return self._key

    def jwks(self) -> dict[str, Any]:
        """The public key set served at /.well-known/jwks.json."""
        public = self._public.export_public(as_dict=True)
        public.update(kid=self.kid, use="sig")
        return {"keys": [public]}

    # ------------------------------------------------------------------ verifying

    def verify(self, token: str) -> SessionClaims:
        """The claims of a valid token; raises a SessionInvalid subclass otherwise."""
        claims = self._cache.get(token)
        if claims is None:
            claims = self._verify_uncached(token)
            self._remember(token, claims)
        if self._clock() >= claims.exp + self._skew:
            self._cache.pop(token, None)
            raise SessionExpired(expired_at=claims.exp)
        return claims

    def _verify_uncached(self, token: str) -> SessionClaims:
        if not token or len(token) > 16_384 or token.count(".") != 2:
            raise SessionInvalid("The session token is not a compact JWS.")
        jws = JWS()
        jws.allowed_algs = [ALG]
        try:
            jws.deserialize(token)
            header = jws.jose_header
        except (JWException, ValueError, TypeError) as exc:
            raise SessionInvalid("The session token is not a compact JWS.") from exc
        if not isinstance(header, dict) or header.get("alg") != ALG:
            raise SessionInvalid(f"The session token must use alg {ALG}.")
        if header.get("typ", "JWT") != "JWT":  # e.g. a consent receipt the gateway signed
            raise SessionInvalid("The JWS is not a session token.")
        if header.get("kid") != self.kid:
            raise BadSignature("The session token was not signed by this gateway's key.")
        try:
            jws.verify(self._public, alg=ALG)
        except InvalidJWSSignature as exc:
            raise BadSignature("The session token's signature does not verify.") from exc
        except (JWException, ValueError, TypeError) as exc:
            raise SessionInvalid("The session token cannot be verified.") from exc
        return self._check_claims(jws.payload)

    def _check_claims(self, payload: bytes) -> SessionClaims:
        try:
            raw = _ClaimsIn.model_validate_json(payload)
        except ValidationError as exc:
            raise SessionInvalid("The session token's claims are malformed.") from exc
        audiences = [raw.aud] if isinstance(raw.aud, str) else raw.aud
        if self.audience not in audiences:
            raise WrongAudience(expected=self.audience)
        if raw.iss != self.issuer:
            raise SessionInvalid("The session token was issued by another gateway.")
        now = self._clock()
        if raw.iat > now + self._skew or raw.exp <= raw.iat:
            raise SessionInvalid("The session token's times are inconsistent.")
        if raw.exp - raw.iat > MAX_TOKEN_TTL_S:
            raise SessionInvalid("The session token lives longer than 15 minutes.")
        if now >= raw.exp + self._skew:
            raise SessionExpired(expired_at=raw.exp)
        return SessionClaims(
            sub=raw.sub,
            roles=frozenset(raw.roles),
            aud=self.audience,
            iss=raw.iss,
            iat=raw.iat,
            exp=raw.exp,
            jti=raw.jti,
            kem=(raw.cnf or {}).get(KEM_CONFIRMATION),
        )

    def _remember(self, token: str, claims: SessionClaims) -> None:
        if len(self._cache) >= self._cache_size:
            now = self._clock()
            for old in [t for t, c in self._cache.items() if c.exp + self._skew <= now]:
                del self._cache[old]
            if len(self._cache) >= self._cache_size:  # still full: drop the oldest half
                for old in list(self._cache)[: self._cache_size // 2]:
                    del self._cache[old]
        self._cache[token] = claims
