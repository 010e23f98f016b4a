"""Citizens' consents: gas-free relay of EIP-712 signed grants, and signed consent receipts.

The relay needs no session: the EIP-712 signature is the subject's authentication, and the
contract checks it again. Refusals are the contract's errors (see gateway.relay). Receipts
are personal data: only the subject's own session gets them (see gateway.receipts).
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from contracts import GrantConsentMessage, RevokeConsentMessage, SignedConsent
from contracts.names import as_id
from gateway.deps import (
    PersonalSessionDep,
    RuntimeDep,
    checksum,
    known_category,
    known_purpose,
)
from gateway.errors import InvalidRequest
from gateway.receipts import receipts_of
from gateway.runtime import Runtime

router = APIRouter(tags=["consents"])

Address = Annotated[str, Field(min_length=40, max_length=42)]
Term = Annotated[str, Field(min_length=3, max_length=66,
                            description="A name (energy.household_meter) or its 0x id.")]
Uint = Annotated[int, Field(ge=0, lt=2**256)]


class RelayIn(BaseModel):
    """A GrantConsent or RevokeConsent message and the subject's 65-byte signature."""

    kind: Literal["grant", "revoke"]
    subject: Address
    grantee: Address
    category: Term
    purpose: Term
    expiry: Annotated[int, Field(ge=1, lt=2**64)] | None = Field(
        default=None, description="Grants only: unix seconds until which the consent holds."
    )
    nonce: Uint
    deadline: Uint = Field(description="Last unix second at which the message may be relayed.")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="r || s || v, 0x-hex.")


class RelayOut(BaseModel):
    """The mined transaction; the consent holds (or ends) from `block`."""

    kind: Literal["grant", "revoke"]
    subject: str
    nonce: int
    tx_hash: str
    block: int
    relayer: str = Field(description="The gateway's account that paid the gas.")


def _term(runtime: Runtime, value: str, *, purpose: bool) -> bytes:
    if value.startswith("0x"):
        if len(value) != 66:
            raise InvalidRequest("ids are 0x followed by 64 hex digits")
        try:
            return as_id(value)
        except ValueError as exc:
            raise InvalidRequest("ids are 0x followed by 64 hex digits") from exc
    if purpose:
        known_purpose(value)
    else:
        known_category(runtime, value)
    return as_id(value)


def signed_consent(runtime: Runtime, body: RelayIn) -> SignedConsent:
    """The request as the contracts' SignedConsent (ids, checksummed addresses, v r s)."""
    raw = bytes.fromhex(body.signature[2:])
    v = raw[64] + 27 if raw[64] < 27 else raw[64]
    subject, grantee = checksum(body.subject, "subject"), checksum(body.grantee, "grantee")
    category = _term(runtime, body.category, purpose=False)
    purpose = _term(runtime, body.purpose, purpose=True)
    message: GrantConsentMessage | RevokeConsentMessage
    if body.kind == "grant":
        if body.expiry is None:
            raise InvalidRequest("a grant names its expiry")
        message = GrantConsentMessage(subject, grantee, category, purpose, body.expiry,
                                      body.nonce, body.deadline)
    else:
        message = RevokeConsentMessage(subject, grantee, category, purpose, body.nonce,
                                       body.deadline)
    return SignedConsent(message=message, v=v, r=raw[:32], s=raw[32:64])


@router.post("/consents/relay", response_model=RelayOut)
async def relay(body: RelayIn, runtime: RuntimeDep) -> RelayOut:
    """Send a citizen's signed consent with the gateway's relayer (the citizen pays no gas)."""
    done = await runtime.relay.relay(signed_consent(runtime, body))
    return RelayOut(kind=done.kind, subject=done.subject, nonce=done.nonce,
                    tx_hash=done.tx_hash, block=done.block_number, relayer=done.relayer)



class ReceiptOut(BaseModel):
    """One consent's receipt; `jws` is the compact JWS to keep (its payload is `record`)."""

    record_id: str
    grantee: str
    category: str
    purpose: str
    state: Literal["given", "expired", "withdrawn"]
    expiry: int | None = Field(description="Unix seconds; None once withdrawn.")
    jws: str = Field(description="ML-DSA-65 compact JWS, typ qcity-consent-receipt+jws.")
    record: dict[str, Any] = Field(description="The ISO/IEC TS 27560 record that `jws` signs.")


class ReceiptsOut(BaseModel):
    subject: str
    block: int = Field(description="The chain block the receipts were built at.")
    jwks_uri: str = "/.well-known/jwks.json"
    receipts: list[ReceiptOut]


@router.get("/me/consents/receipts", response_model=ReceiptsOut)
async def my_receipts(session: PersonalSessionDep, runtime: RuntimeDep) -> ReceiptsOut:
    """A signed ISO/IEC TS 27560 consent receipt for each consent the caller ever gave."""
    block = runtime.index.block
    now = max(int(time.time()), runtime.index.block_time)
    found = await asyncio.to_thread(receipts_of, runtime.contracts, session.address,
                                    runtime.tokens.signing_key, block=block, now=now)
    return ReceiptsOut(subject=session.address, block=block, receipts=[
        ReceiptOut(record_id=r.record_id, grantee=r.grantee, category=r.category,
                   purpose=r.purpose, state=r.state, expiry=r.expiry, jws=r.jws,
                   record=r.record) for r in found
    ])
