"""qcity gateway: the one door to the twin.

Post-quantum sessions (ML-DSA-65 login, RFC 9964 JWS tokens), permission checks answered
from an index of on-chain events (failing closed), every decision in a hash-chained audit
log anchored on chain as Merkle roots, and a read-only JSON-RPC door to the chain.
"""

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
