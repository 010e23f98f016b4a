"""qcity's chain layer: the contracts' artifacts, a chain connection, deployment, typed
bindings, events, EIP-712 consent messages and Merkle trees for audit batches.

Everything the rest of qcity needs from the chain is exported here; see docs/chain.md.
"""

from . import errors, events
from .accounts import load_or_create_account
from .artifacts import Artifact, load_artifact, stale_sources
from .bindings import (
    AdminAction,
    AdminProposal,
    AuditTrail,
    ConsentLedger,
    Stakeholder,
    StakeholderRegistry,
    TxResult,
)
from .chain import BlockInfo, Chain, connect, wait_until_reachable
from .deploy import Deployment, QcityContracts, deploy, load_or_deploy, verify_deployment
from .eip712 import (
    Eip712Domain,
    GrantConsentMessage,
    RevokeConsentMessage,
    SignedConsent,
    recover_signer,
    sign_consent,
    typed_data,
)
from .errors import (
    ArtifactsStale,
    ChainError,
    ChainUnavailable,
    ContractRevert,
    DeploymentMissing,
    JournalMismatch,
)
from .events import ChainEvent, EventDecoder, EventReader
from .merkle import MerkleTree, encode_entry, hash_pair, leaf_hash, verify_inclusion
from .names import (
    DATA_CATEGORIES,
    DPV_PURPOSES,
    ORGANISATION_ROLES,
    ROLE_NAMES,
    Names,
    UnknownName,
    as_id,
    role_id,
    term_id,
)

__all__ = [
    "DATA_CATEGORIES",
    "DPV_PURPOSES",
    "ORGANISATION_ROLES",
    "ROLE_NAMES",
    "AdminAction",
    "AdminProposal",
    "Artifact",
    "ArtifactsStale",
    "AuditTrail",
    "BlockInfo",
    "Chain",
    "ChainError",
    "ChainEvent",
    "ChainUnavailable",
    "ConsentLedger",
    "ContractRevert",
    "Deployment",
    "DeploymentMissing",
    "Eip712Domain",
    "EventDecoder",
    "EventReader",
    "GrantConsentMessage",
    "JournalMismatch",
    "MerkleTree",
    "Names",
    "QcityContracts",
    "RevokeConsentMessage",
    "SignedConsent",
    "Stakeholder",
    "StakeholderRegistry",
    "TxResult",
    "UnknownName",
    "as_id",
    "connect",
    "deploy",
    "encode_entry",
    "errors",
    "events",
    "hash_pair",
    "leaf_hash",
    "load_artifact",
    "load_or_create_account",
    "load_or_deploy",
    "recover_signer",
    "role_id",
    "sign_consent",
    "stale_sources",
    "term_id",
    "typed_data",
    "verify_deployment",
    "verify_inclusion",
    "wait_until_reachable",
]
