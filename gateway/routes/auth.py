"""Post-quantum login: challenge, signed challenge -> session token, who am I."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.deps import RuntimeDep, SessionDep, checksum
from gateway.errors import InvalidRequest
from gateway.sealing import kem_thumbprint, parse_kem_key

router = APIRouter(prefix="/auth", tags=["sessions"])

B64Url = Annotated[str, Field(max_length=8192, pattern=r"^[A-Za-z0-9_-]*={0,2}$")]


def _b64url(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest(f"{what} is not base64url") from exc


class ChallengeIn(BaseModel):
    address: str = Field(min_length=40, max_length=42, description="The stakeholder's address.")
    kem_public_key: B64Url | None = Field(
        default=None,
        description="An X-Wing public key (base64url) to bind to the session: the challenge "
        "then names its thumbprint, and personal data is sealed to it (HNDL protection).",
    )


class ChallengeOut(BaseModel):
    challenge: str = Field(description="Sign exactly these UTF-8 bytes with ML-DSA-65.")
    context: str = Field(description="The ML-DSA context string to sign under.")
    expires_at: int


class TokenIn(BaseModel):
    challenge: str = Field(min_length=1, max_length=512)
    public_key: B64Url = Field(description="Raw ML-DSA-65 public key (1,952 bytes), base64url.")
    signature: B64Url = Field(description="ML-DSA-65 signature over the challenge, base64url.")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    sub: str
    roles: list[str]
    block: int = Field(description="The block whose roles the token names.")


class SessionOut(BaseModel):
    sub: str
    roles: list[str]
    expires_at: int
    block: int


@router.post("/challenge", response_model=ChallengeOut)
async def challenge(body: ChallengeIn, runtime: RuntimeDep) -> ChallengeOut:
    kem = None
    if body.kem_public_key:  # the session's personal data will be sealed to this key
        kem = kem_thumbprint(parse_kem_key(body.kem_public_key))
    issued = runtime.login.challenge(checksum(body.address), kem)
    return ChallengeOut(challenge=issued.text, context="qcity-login-v1",
                        expires_at=issued.expires_at)


@router.post("/token", response_model=TokenOut)
async def token(body: TokenIn, runtime: RuntimeDep) -> TokenOut:
    public_key = _b64url(body.public_key, "public_key")
    signature = _b64url(body.signature, "signature")
    await runtime.syncer.in_step()
    jws, claims = runtime.login.login(body.challenge, public_key, signature)
    return TokenOut(access_token=jws, expires_in=claims.exp - claims.iat, sub=claims.sub,
                    roles=sorted(claims.roles), block=runtime.index.block)


@router.get("/session", response_model=SessionOut)
async def session(current: SessionDep, runtime: RuntimeDep) -> SessionOut:
    return SessionOut(sub=current.address, roles=sorted(current.roles),
                      expires_at=current.claims.exp, block=runtime.index.block)
