"""Public, unauthenticated facts: the gateway's JWKS and its health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.deps import RuntimeDep

router = APIRouter(tags=["public"])


class HealthOut(BaseModel):
    status: str
    chain_id: int
    block: int
    head: int
    in_step: bool
    permission_mode: str
    unanchored: int
    contracts: dict[str, str]


@router.get("/.well-known/jwks.json")
async def jwks(runtime: RuntimeDep) -> dict[str, Any]:
    """The public ML-DSA-65 key (JWK kty AKP) that signs session tokens."""
    return runtime.tokens.jwks()


@router.get("/health", response_model=HealthOut)
async def health(runtime: RuntimeDep) -> HealthOut:
    """Always answers; `in_step` false means permission checks currently fail closed."""
    in_step = runtime.syncer.healthy
    return HealthOut(
        status="ok" if in_step else "degraded",
        chain_id=runtime.chain.chain_id,
        block=runtime.index.block,
        head=runtime.syncer.head,
        in_step=in_step,
        permission_mode=runtime.engine.mode,
        unanchored=runtime.audit.unanchored,
        contracts=runtime.contracts.deployment.addresses(),
    )
