"""Typed dependencies: what a route needs is in its signature, and no route can forget a check.

`SessionDep` verifies the bearer token (cached per token) and that every role it names is
still held on chain. The permission dependencies build an `AccessRequest`, ask the engine,
append the decision to the audit log (before any response leaves) and raise on denial.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from web3 import Web3

from contracts import DPV_PURPOSES
from contracts.errors import ChainError
from gateway.audit.records import DecisionRecord
from gateway.errors import (
    AgreementMissing,
    ConsentMissing,
    GatewayError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RoleMissing,
    RoleRevoked,
    SessionInvalid,
    SubjectRequired,
    UnknownCategory,
    UnknownPurpose,
)
from gateway.permissions import Decision
from gateway.policy import AccessRequest, Action
from gateway.runtime import Runtime
from gateway.sealing import personal_data
from gateway.tokens import SessionClaims
from gateway.twin import EntityRef

_DENIALS: dict[str, type[GatewayError]] = {
    "consent_missing": ConsentMissing,
    "role_missing": RoleMissing,
    "agreement_missing": AgreementMissing,
    "subject_required": SubjectRequired,
    "invalid_request": InvalidRequest,
}


async def get_runtime(request: Request) -> Runtime:
    """The app's runtime (set by create_app). Async: FastAPI runs sync dependencies in a
    thread pool, which would cost more than everything else on the request path."""
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass(frozen=True, slots=True)
class Session:
    """A verified session whose roles are all still held on chain."""

    address: str
    roles: frozenset[str]
    claims: SessionClaims


async def authenticate(request: Request) -> Session:
    """Verify the bearer token, then check its roles against the index (fail closed).

    A plain coroutine that the dependencies below call directly: each nested FastAPI
    dependency costs more than the whole token check does once the token is cached.
    """
    runtime: Runtime = request.app.state.runtime
    header = request.headers.get("authorization")
    if header is None:
        raise SessionInvalid("Send the session token as 'Authorization: Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SessionInvalid("Send the session token as 'Authorization: Bearer <token>'.")
    claims = runtime.tokens.verify(token.strip())
    if runtime.engine.mode == "naive":  # the baseline: its checks ask the chain, not the index
        held = runtime.index.roles_of(claims.sub)
    else:
        await runtime.syncer.in_step()
        held = runtime.engine.roles_of(claims.sub)
    if not claims.roles <= held:
        raise RoleRevoked(roles=sorted(claims.roles - held), block=runtime.index.block)
    return Session(claims.sub, claims.roles, claims)


SessionDep = Annotated[Session, Depends(authenticate)]


async def personal_session(request: Request) -> Session:
    """A session for a route whose every answer is personal data (sealed, gateway.sealing)."""
    session = await authenticate(request)
    personal_data(request, session)
    return session


PersonalSessionDep = Annotated[Session, Depends(personal_session)]


@dataclass(frozen=True, slots=True)
class Grant:
    """An allowed decision, its place in the audit log, and who it was for."""

    decision: Decision
    seq: int
    session: Session
    runtime: Runtime

    @property
    def block(self) -> int:
        return self.decision.block


def _record(request: AccessRequest, allowed: bool, reason: str, block: int,
            decided_at_ms: int) -> DecisionRecord:
    return DecisionRecord(
        decided_at_ms=decided_at_ms, actor=request.actor, action=str(request.action),
        resource=request.resource[:256], category=request.category, purpose=request.purpose,
        subject=request.subject, provider=request.provider, allowed=allowed, reason=reason,
        block=block,
    )


async def enforce(runtime: Runtime, session: Session, request: AccessRequest) -> Grant:
    """Decide, record the decision, and raise unless allowed."""
    engine = runtime.engine
    try:
        if engine.mode == "naive":
            decision = await asyncio.to_thread(engine.check, request)
        else:
            await runtime.syncer.in_step()
            decision = engine.check(request)
    except (GatewayError, ChainError) as exc:  # fail closed: record the refusal, then refuse
        await runtime.audit.append(
            _record(request, False, exc.code, runtime.index.block, int(time.time() * 1000))
        )
        raise
    receipt = await runtime.audit.append(
        _record(request, decision.allowed, decision.reason, decision.block,
                decision.decided_at_ms)
    )
    if not decision.allowed:
        error = _DENIALS.get(decision.reason, PermissionDenied)
        raise error(block=decision.block, decision=receipt.seq, category=request.category,
                    purpose=request.purpose)
    return Grant(decision, receipt.seq, session, runtime)


# ------------------------------------------------------------------ parameter checks


def checksum(address: str, what: str = "address") -> str:
    """A checksummed address, or InvalidRequest."""
    if not Web3.is_address(address):
        raise InvalidRequest(f"{what} must be a 20-byte 0x address")
    return Web3.to_checksum_address(address)


_PURPOSES = frozenset(DPV_PURPOSES)


def known_purpose(purpose: str) -> str:
    if purpose not in _PURPOSES:
        raise UnknownPurpose(purpose=purpose[:64], known=sorted(_PURPOSES))
    return purpose


def known_category(runtime: Runtime, category: str) -> str:
    if category not in runtime.categories:
        raise UnknownCategory(category=category[:64])
    return category


PurposeQuery = Annotated[
    str, Query(min_length=3, max_length=64, description="A W3C DPV purpose, e.g. dpv:PublicBenefit")
]


# ------------------------------------------------------------------ permission dependencies
# Each is one flat dependency (session check, permission check, audit record) so that no
# route can reach data without all three, at the cost of one dependency resolution.


def require(action: Action) -> Callable[..., Awaitable[Grant]]:
    """A dependency allowing `action` (audit, ingest, launching jobs) by role alone."""

    async def dependency(request: Request) -> Grant:
        session = await authenticate(request)
        return await enforce(request.app.state.runtime, session,
                             AccessRequest(session.address, action, resource=request.url.path))

    return dependency


AuditorGrant = Annotated[Grant, Depends(require(Action.AUDIT))]
IngestGrant = Annotated[Grant, Depends(require(Action.INGEST))]


@dataclass(frozen=True, slots=True)
class EntityGrant:
    """Permission to read one entity."""

    entity: EntityRef
    grant: Grant


async def entity_read(request: Request, entity_id: str, purpose: PurposeQuery) -> EntityGrant:
    """Read access to one entity, judged on its category, data subject and provider."""
    session = await authenticate(request)
    runtime: Runtime = request.app.state.runtime
    entity = runtime.twin.entity(entity_id)
    if entity is None:
        raise NotFound("No such entity.", entity=entity_id[:256])
    if runtime.engine.is_personal(entity.category):
        personal_data(request, session)
    grant = await enforce(runtime, session, AccessRequest(
        session.address, Action.READ, resource=entity_id, category=entity.category,
        purpose=known_purpose(purpose), subject=entity.subject, provider=entity.provider,
    ))
    return EntityGrant(entity, grant)


EntityReadGrant = Annotated[EntityGrant, Depends(entity_read)]


@dataclass(frozen=True, slots=True)
class CategoryGrant:
    """Permission to read a category, narrowed to one subject and/or provider."""

    category: str
    subject: str | None
    provider: str | None
    grant: Grant


async def category_read(
    request: Request,
    category: Annotated[str, Query(min_length=3, max_length=64)],
    purpose: PurposeQuery,
    subject: Annotated[str | None, Query(max_length=42)] = None,
    provider: Annotated[str | None, Query(max_length=42)] = None,
) -> CategoryGrant:
    """Read access to a category: personal ones need `subject`, aggregates a role or an
    agreement with `provider`."""
    session = await authenticate(request)
    runtime: Runtime = request.app.state.runtime
    known_category(runtime, category)
    subject_addr = checksum(subject, "subject") if subject else None
    provider_addr = checksum(provider, "provider") if provider else None
    if runtime.engine.is_personal(category):
        personal_data(request, session)
    grant = await enforce(runtime, session, AccessRequest(
        session.address, Action.READ, resource=request.url.path, category=category,
        purpose=known_purpose(purpose), subject=subject_addr, provider=provider_addr,
    ))
    return CategoryGrant(category, subject_addr, provider_addr, grant)


CategoryReadGrant = Annotated[CategoryGrant, Depends(category_read)]
