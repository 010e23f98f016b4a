"""qcity gateway: the one door to the twin.

Post-quantum sessions (ML-DSA-65 login, RFC 9964 JWS tokens), permission checks answered
from an index of on-chain events (failing closed), every decision in a hash-chained audit
log anchored on chain as Merkle roots, and a read-only JSON-RPC door to the chain.

The exports load on first use (PEP 562): `import gateway.policy`, which the auditor's tool
needs, must not pull in what the app imports (py-evm, qiskit, numba: ~5 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and editors
    from gateway.app import app_for, create_app
    from gateway.audit.anchorer import AnchoredBatch, Anchorer
    from gateway.audit.log import AuditChainBroken, AuditLog, AuditReceipt, AuditUnavailable
    from gateway.audit.records import DecisionRecord
    from gateway.challenges import LOGIN_CONTEXT, Challenge, ChallengeBook
    from gateway.deps import (
        AuditorGrant,
        CategoryReadGrant,
        EntityReadGrant,
        Grant,
        IngestGrant,
        RuntimeDep,
        Session,
        SessionDep,
        authenticate,
        enforce,
        require,
    )
    from gateway.errors import (
        AgreementMissing,
        BadSignature,
        ChainStale,
        ChallengeExpired,
        ChallengeReused,
        ChallengeUnknown,
        ConsentMissing,
        GatewayError,
        IndexLagging,
        IngestConflict,
        InvalidRequest,
        KeyMismatch,
        NoRoles,
        NotFound,
        PermissionDenied,
        RoleMissing,
        RoleRevoked,
        SessionExpired,
        SessionInvalid,
        SubjectRequired,
        TooManyChallenges,
        UnknownCategory,
        UnknownPurpose,
        UnknownStakeholder,
        WrongAudience,
    )
    from gateway.index import PermissionIndex
    from gateway.permissions import Decision, PermissionEngine
    from gateway.policy import AccessRequest, Action, Verdict, decide
    from gateway.rpc import ALLOWED as RPC_METHODS
    from gateway.rpc import RpcDoor
    from gateway.runtime import Runtime, build_runtime, freeze_heap
    from gateway.sessions import LoginService, public_key_hash
    from gateway.settings import GatewaySettings
    from gateway.sync import IndexSyncer
    from gateway.tokens import SessionClaims, TokenService
    from gateway.twin import BBox, EntityRef, IngestItem, ObservationRow, TwinPort
    from gateway.twin_store import TwinCoreStore

_EXPORTS: dict[str, tuple[str, str]] = {
    "AccessRequest": ("gateway.policy", "AccessRequest"),
    "Action": ("gateway.policy", "Action"),
    "AgreementMissing": ("gateway.errors", "AgreementMissing"),
    "AnchoredBatch": ("gateway.audit.anchorer", "AnchoredBatch"),
    "Anchorer": ("gateway.audit.anchorer", "Anchorer"),
    "AuditChainBroken": ("gateway.audit.log", "AuditChainBroken"),
    "AuditLog": ("gateway.audit.log", "AuditLog"),
    "AuditReceipt": ("gateway.audit.log", "AuditReceipt"),
    "AuditUnavailable": ("gateway.audit.log", "AuditUnavailable"),
    "AuditorGrant": ("gateway.deps", "AuditorGrant"),
    "BBox": ("gateway.twin", "BBox"),
    "BadSignature": ("gateway.errors", "BadSignature"),
    "CategoryReadGrant": ("gateway.deps", "CategoryReadGrant"),
    "ChainStale": ("gateway.errors", "ChainStale"),
    "Challenge": ("gateway.challenges", "Challenge"),
    "ChallengeBook": ("gateway.challenges", "ChallengeBook"),
    "ChallengeExpired": ("gateway.errors", "ChallengeExpired"),
    "ChallengeReused": ("gateway.errors", "ChallengeReused"),
    "ChallengeUnknown": ("gateway.errors", "ChallengeUnknown"),
    "ConsentMissing": ("gateway.errors", "ConsentMissing"),
    "Decision": ("gateway.permissions", "Decision"),
    "DecisionRecord": ("gateway.audit.records", "DecisionRecord"),
    "EntityReadGrant": ("gateway.deps", "EntityReadGrant"),
    "EntityRef": ("gateway.twin", "EntityRef"),
    "GatewayError": ("gateway.errors", "GatewayError"),
    "GatewaySettings": ("gateway.settings", "GatewaySettings"),
    "Grant": ("gateway.deps", "Grant"),
    "IndexLagging": ("gateway.errors", "IndexLagging"),
    "IndexSyncer": ("gateway.sync", "IndexSyncer"),
    "IngestConflict": ("gateway.errors", "IngestConflict"),
    "IngestGrant": ("gateway.deps", "IngestGrant"),
    "IngestItem": ("gateway.twin", "IngestItem"),
    "InvalidRequest": ("gateway.errors", "InvalidRequest"),
    "KeyMismatch": ("gateway.errors", "KeyMismatch"),
    "LOGIN_CONTEXT": ("gateway.challenges", "LOGIN_CONTEXT"),
    "LoginService": ("gateway.sessions", "LoginService"),
    "NoRoles": ("gateway.errors", "NoRoles"),
    "NotFound": ("gateway.errors", "NotFound"),
    "ObservationRow": ("gateway.twin", "ObservationRow"),
    "PermissionDenied": ("gateway.errors", "PermissionDenied"),
    "PermissionEngine": ("gateway.permissions", "PermissionEngine"),
    "PermissionIndex": ("gateway.index", "PermissionIndex"),
    "RPC_METHODS": ("gateway.rpc", "ALLOWED"),
    "RoleMissing": ("gateway.errors", "RoleMissing"),
    "RoleRevoked": ("gateway.errors", "RoleRevoked"),
    "RpcDoor": ("gateway.rpc", "RpcDoor"),
    "Runtime": ("gateway.runtime", "Runtime"),
    "RuntimeDep": ("gateway.deps", "RuntimeDep"),
    "Session": ("gateway.deps", "Session"),
    "SessionClaims": ("gateway.tokens", "SessionClaims"),
    "SessionDep": ("gateway.deps", "SessionDep"),
    "SessionExpired": ("gateway.errors", "SessionExpired"),
    "SessionInvalid": ("gateway.errors", "SessionInvalid"),
    "SubjectRequired": ("gateway.errors", "SubjectRequired"),
    "TokenService": ("gateway.tokens", "TokenService"),
    "TooManyChallenges": ("gateway.errors", "TooManyChallenges"),
    "TwinCoreStore": ("gateway.twin_store", "TwinCoreStore"),
    "TwinPort": ("gateway.twin", "TwinPort"),
    "UnknownCategory": ("gateway.errors", "UnknownCategory"),
    "UnknownPurpose": ("gateway.errors", "UnknownPurpose"),
    "UnknownStakeholder": ("gateway.errors", "UnknownStakeholder"),
    "Verdict": ("gateway.policy", "Verdict"),
    "WrongAudience": ("gateway.errors", "WrongAudience"),
    "app_for": ("gateway.app", "app_for"),
    "authenticate": ("gateway.deps", "authenticate"),
    "build_runtime": ("gateway.runtime", "build_runtime"),
    "create_app": ("gateway.app", "create_app"),
    "decide": ("gateway.policy", "decide"),
    "enforce": ("gateway.deps", "enforce"),
    "freeze_heap": ("gateway.runtime", "freeze_heap"),
    "public_key_hash": ("gateway.sessions", "public_key_hash"),
    "require": ("gateway.deps", "require"),
}
"""Each exported name: the module that defines it, and its name there."""


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'gateway' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "LOGIN_CONTEXT",
    "RPC_METHODS",
    "AccessRequest",
    "Action",
    "AgreementMissing",
    "AnchoredBatch",
    "Anchorer",
    "AuditChainBroken",
    "AuditLog",
    "AuditReceipt",
    "AuditUnavailable",
    "AuditorGrant",
    "BBox",
    "BadSignature",
    "CategoryReadGrant",
    "ChainStale",
    "Challenge",
    "ChallengeBook",
    "ChallengeExpired",
    "ChallengeReused",
    "ChallengeUnknown",
    "ConsentMissing",
    "Decision",
    "DecisionRecord",
    "EntityReadGrant",
    "EntityRef",
    "GatewayError",
    "GatewaySettings",
    "Grant",
    "IndexLagging",
    "IndexSyncer",
    "IngestConflict",
    "IngestGrant",
    "IngestItem",
    "InvalidRequest",
    "KeyMismatch",
    "LoginService",
    "NoRoles",
    "NotFound",
    "ObservationRow",
    "PermissionDenied",
    "PermissionEngine",
    "PermissionIndex",
    "RoleMissing",
    "RoleRevoked",
    "RpcDoor",
    "Runtime",
    "RuntimeDep",
    "Session",
    "SessionClaims",
    "SessionDep",
    "SessionExpired",
    "SessionInvalid",
    "SubjectRequired",
    "TokenService",
    "TooManyChallenges",
    "TwinCoreStore",
    "TwinPort",
    "UnknownCategory",
    "UnknownPurpose",
    "UnknownStakeholder",
    "Verdict",
    "WrongAudience",
    "app_for",
    "authenticate",
    "build_runtime",
    "create_app",
    "decide",
    "enforce",
    "freeze_heap",
    "public_key_hash",
    "require",
]
